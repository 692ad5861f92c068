//! nfsmount.conf syntax, files and warnings.

use nfsmount::conf::{ConfError, ConfWarning, Config, MemSource};
use std::path::Path;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> (Config, Vec<String>) {
    let (c, w) = Config::parse_text(&MemSource::new(), "/etc/nfsmount.conf", text, &no_env);
    (c, w.iter().map(ToString::to_string).collect())
}

const G: &str = "nfsmount_global_options";

#[test]
fn syntax_basics() {
    let text = "\
# comment
; another comment
   
[ NFSMount_Global_Options ]
  Rsize = 8k   # trailing comment
Wsize=1m;comment
Sec = \"krb5:sys # not a comment\"
Lookupcache = 'none'
Empty =
Timeo=  30   
[nfsmount_global_options]
Retrans=\\
5
";
    let (c, w) = parse(text);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.get(G, None, "rsize"), Some("8k"));
    assert_eq!(c.get(G, None, "WSIZE"), Some("1m"));
    assert_eq!(c.get(G, None, "sec"), Some("krb5:sys # not a comment"));
    assert_eq!(c.get(G, None, "lookupcache"), Some("none"));
    assert_eq!(c.get(G, None, "empty"), None);
    assert_eq!(c.get(G, None, "timeo"), Some("30"));
    // the continuation: backslash and newline both become blanks
    assert_eq!(c.get(G, None, "retrans"), Some("5"));
}

#[test]
fn warnings_exact() {
    let text = "\
orphan=1
[ MountPoint \"/a\"
x=1
[ Server \"host ]
y=2
just words
=novalue
[ Global ]
a=\"unterminated
b='also
ok=1
last=line";
    let (c, w) = parse(text);
    let f = "/etc/nfsmount.conf";
    assert_eq!(
        w,
        vec![
            format!("config error at {f}:1: ignoring line not in a section"),
            format!("config error at {f}:2: non-matched ']', ignoring until next section"),
            format!("config error at {f}:3: ignoring line not in a section"),
            format!("config error at {f}:4: non-matched '\"', ignoring until next section"),
            format!("config error at {f}:5: ignoring line not in a section"),
            format!("config error at {f}:6: line not empty and not an assignment"),
            format!("config error at {f}:7: ignoring line not in a section"),
            format!("config error at {f}:9: unmatched quotes"),
            format!("config error at {f}:10: unmatched quotes"),
            "conf_parse: last line non-terminated, ignored.".to_string(),
        ]
    );
    assert_eq!(c.get("global", None, "ok"), Some("1"));
    assert_eq!(c.get("global", None, "last"), None);
    // "missing tag" needs a section
    let (_, w) = parse("[G]\n = 5\n");
    assert_eq!(
        w,
        ["config error at /etc/nfsmount.conf:2: missing tag in assignment"]
    );
}

#[test]
fn line_numbers_after_continuation() {
    // nfs-utils does not count a continued line
    let (_, w) = parse("[G]\na=1\\\n2\nbad line\n");
    assert_eq!(
        w,
        ["config error at /etc/nfsmount.conf:3: line not empty and not an assignment"]
    );
}

#[test]
fn case_insensitive_names_and_override() {
    let (c, _) = parse(
        "[ SERVER \"Host.Example\" ]\nTimeo=1\ntimeo=2\n[server \"host.example\"]\nTIMEO=3\n",
    );
    assert_eq!(c.get("Server", Some("HOST.EXAMPLE"), "timeo"), Some("3"));
}

#[test]
fn section_without_argument_is_error() {
    for hdr in ["[ MountPoint ]", "[Server]", "[ server ]"] {
        let (c, w) = parse(&format!("# x\n{hdr}\nsoft=true\n"));
        assert!(w.is_empty());
        let e = &c.errors()[0];
        assert!(
            matches!(e, ConfError::SectionWithoutArg { line: 2, .. }),
            "{e:?}"
        );
        let name = hdr.trim_matches(|c| c == '[' || c == ']' || c == ' ');
        assert_eq!(
            e.to_string(),
            format!(
                "config error at /etc/nfsmount.conf:2: section '{name}' requires an argument, as in [ {name} \"name\" ]"
            )
        );
    }
    // an empty one is harmless (nfs-utils only crashes when it has bindings)
    let (c, _) = parse("[ MountPoint ]\n[ NFSMount_Global_Options ]\nsoft=true\n");
    assert!(c.errors().is_empty());
}

#[test]
fn include_files() {
    let src = MemSource::new()
        .with("/etc/nfsmount.conf", "[ NFSMount_Global_Options ]\ninclude = sub/extra.conf\ntimeo=1\ninclude=-missing.conf\ninclude=/abs/x.conf\n[Server \"s\"]\ninclude=missing2.conf\n")
        .with("/etc/sub/extra.conf", "retrans=7\n[ Server \"h\" ]\nproto=udp\n")
        .with("/abs/x.conf", "rsize=4096\n");
    let (c, w) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        ["config error at /etc/nfsmount.conf:7: error loading included config"]
    );
    // inherits the section
    assert_eq!(c.get(G, None, "retrans"), Some("7"));
    assert_eq!(c.get(G, None, "rsize"), Some("4096"));
    assert_eq!(c.get("server", Some("h"), "proto"), Some("udp"));
    // the section change inside the include does not leak back
    assert_eq!(c.get(G, None, "timeo"), Some("1"));
}

#[test]
fn include_loop_is_bounded() {
    let src = MemSource::new().with("/etc/nfsmount.conf", "[G]\ninclude=nfsmount.conf\na=1\n");
    let (c, w) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    assert_eq!(c.get("g", None, "a"), Some("1"));
    assert_eq!(w.len(), 1);
    assert!(matches!(w[0], ConfWarning::IncludeError { .. }));
}

/// Regression (fuzz target `conf`): fan-out within the depth bound was exponential —
/// a file including itself k times read k^10 files, and a chain of eight files each
/// including the next 8 times took 38 s and 16 million warnings. The total number of
/// included files is now bounded.
#[test]
fn include_fan_out_is_bounded() {
    let mut src = MemSource::new().with(
        "/etc/nfsmount.conf",
        &format!("[G]\na=1\n{}", "include=nfsmount.conf\n".repeat(10)),
    );
    let t = std::time::Instant::now();
    let (c, w) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    assert_eq!(c.get("g", None, "a"), Some("1"));
    assert!(
        w.len() <= 10 * (nfsmount::conf::MAX_INCLUDES + 1),
        "{}",
        w.len()
    );
    for i in 0..8 {
        let name = if i == 0 {
            "/etc/nfsmount.conf".to_string()
        } else {
            format!("/etc/f{i}")
        };
        let body = format!(
            "[G]\nb{i}=1\n{}",
            format!("include=/etc/f{}\n", i + 1).repeat(8)
        );
        src = src.with(&name, &body);
    }
    let (c, w) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    // Every file of the chain is still read (the first include of each level).
    assert_eq!(c.get("g", None, "b7"), Some("1"));
    assert!(
        w.len() <= 8 * (nfsmount::conf::MAX_INCLUDES + 1),
        "{}",
        w.len()
    );
    assert!(w
        .iter()
        .all(|w| matches!(w, ConfWarning::IncludeError { .. })));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn variables() {
    let text = "[ environment ]\nMYRETRANS=4\nCHAIN=$MYRETRANS\nLOOP=$LOOP\n\
[ NFSMount_Global_Options ]\nretrans=$MYRETRANS\ntimeo=$FROMENV\nrsize=$EMPTY\nwsize=$CHAIN\nacregmin=$NOPE\nacregmax=$LOOP\n\
[ Server \"s\" ]\nretrans=$MYRETRANS\n";
    let env = |n: &str| match n {
        "FROMENV" => Some("600".to_string()),
        "EMPTY" => Some(String::new()),
        "MYRETRANS" => None,
        _ => None,
    };
    let (c, _) = Config::parse_text(&MemSource::new(), "f", text, &env);
    assert_eq!(c.get(G, None, "retrans"), Some("4"));
    assert_eq!(c.get(G, None, "timeo"), Some("600"));
    // empty environment value → [ environment ] → absent → unresolved
    assert_eq!(c.get(G, None, "rsize"), None);
    assert_eq!(c.get(G, None, "wsize"), Some("4"));
    assert_eq!(c.get(G, None, "acregmin"), None);
    assert_eq!(c.get(G, None, "acregmax"), None);
    // Difference: [ environment ] also resolves in sections with an argument
    assert_eq!(c.get("server", Some("s"), "retrans"), Some("4"));
    // the environment wins over [ environment ]
    let env2 = |n: &str| (n == "MYRETRANS").then(|| "9".to_string());
    let (c, _) = Config::parse_text(&MemSource::new(), "f", text, &env2);
    assert_eq!(c.get(G, None, "retrans"), Some("9"));
}

#[test]
fn conf_d_order_and_filter() {
    let src = MemSource::new()
        .with(
            "/etc/nfsmount.conf",
            "[ NFSMount_Global_Options ]\ntimeo=1\nretrans=1\nrsize=1\n",
        )
        .with(
            "/etc/nfsmount.conf.d/10-a.conf",
            "[ NFSMount_Global_Options ]\ntimeo=10\nretrans=10\n",
        )
        .with(
            "/etc/nfsmount.conf.d/20-b.conf",
            "[ NFSMount_Global_Options ]\ntimeo=20\n",
        )
        .with(
            "/etc/nfsmount.conf.d/9-c.conf",
            "[ NFSMount_Global_Options ]\ntimeo=9\nretrans=9\nwsize=9\n",
        )
        .with(
            "/etc/nfsmount.conf.d/30-c.txt",
            "[ NFSMount_Global_Options ]\ntimeo=30\n",
        )
        .with(
            "/etc/nfsmount.conf.d/.99-hidden.conf",
            "[ NFSMount_Global_Options ]\ntimeo=99\n",
        )
        .with(
            "/etc/nfsmount.conf.d/.conf",
            "[ NFSMount_Global_Options ]\ntimeo=98\n",
        );
    let (c, w) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    assert!(w.is_empty());
    assert_eq!(c.get(G, None, "timeo"), Some("20"));
    assert_eq!(c.get(G, None, "retrans"), Some("10"));
    assert_eq!(c.get(G, None, "wsize"), Some("9"));
    assert_eq!(c.get(G, None, "rsize"), Some("1"));
    // no main file: the .d files still count; nothing at all: empty
    let src = MemSource::new().with("/etc/nfsmount.conf.d/a.conf", "[G]\nx=1\n");
    let (c, _) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &no_env);
    assert_eq!(c.get("g", None, "x"), Some("1"));
    let (c, w) = Config::load(&MemSource::new(), Path::new("/etc/nfsmount.conf"), &no_env);
    assert!(c.is_empty() && w.is_empty());
}

mod props {
    use super::*;
    use nfsmount::conf::merge;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parser_and_merge_never_panic(text in "([\\[\\]\"'=#;$ a-zA-Z0-9/\\\\\n\t.:-]|\\PC){0,200}",
                                        user in "([a-z=,\"0-9]|\\PC){0,30}") {
            let src = MemSource::new().with("/etc/nfsmount.conf", &text);
            let env = |n: &str| (n == "A").then(|| "1".to_string());
            let (c, _) = Config::load(&src, Path::new("/etc/nfsmount.conf"), &env);
            let _ = merge(&c, &user, "/mnt", "host");
        }

        #[test]
        fn user_options_kept_in_front(user in "[a-z]{1,6}(=[0-9]{1,3})?(,[a-z]{1,6}(=[0-9]{1,3})?){0,4}") {
            let c = Config::parse_text(&MemSource::new(), "f",
                "[ NFSMount_Global_Options ]\nrsize=1k\nSoft=True\nLock=False\n", &|_| None).0;
            let mm = merge(&c, &user, "/m", "h").unwrap();
            let u = nfsmount::options::OptList::parse(&user).unwrap();
            let merged = nfsmount::options::OptList::parse(&mm.opts).unwrap();
            // the user's options (minus default*) are a prefix of the result
            let kept: Vec<_> = u.iter().filter(|o| !o.key.starts_with("default")).cloned().collect();
            prop_assert_eq!(&merged.0[..kept.len()], &kept[..]);
        }
    }
}
