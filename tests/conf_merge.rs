//! nfsmount.conf merge: precedence, order, transforms, defaults, and the
//! deliberate fixes.

use nfsmount::conf::{merge, ConfError, Config, MemSource, Merged};
use nfsmount::options::{sloppy_fixup, Family, OptList};

fn cfg(text: &str) -> Config {
    let (c, w) = Config::parse_text(&MemSource::new(), "/etc/nfsmount.conf", text, &|_| None);
    assert!(w.is_empty(), "{w:?}");
    c
}

fn m(text: &str, user: &str) -> Merged {
    merge(&cfg(text), user, "/mnt/t", "127.0.0.1").unwrap()
}

fn warns(mm: &Merged) -> Vec<String> {
    mm.warnings.iter().map(ToString::to_string).collect()
}

/// A worked example: global, [ NFSMount_Global_Options ], [ Server ] and
/// [ MountPoint ] sections all contributing.
#[test]
fn worked_example() {
    let text = r#"
[ NFSMount_Global_Options ]
Defaultvers=3
Proto=tcp
Soft=False
Retrans=5
Sloppy=True
Background=True
rsize=32k
wsize=1m
[ Server "127.0.0.1" ]
timeo=100
retrans=2
mounthost=myhost.org
[ MountPoint "/MNT/T" ]
Foreground=True
actimeo=7
"#;
    let mm = m(text, "retry=0");
    assert!(mm.warnings.is_empty());
    assert_eq!(mm.default_vers, Some((3, Some(0))));
    let mut l = OptList::parse(&mm.opts).unwrap();
    sloppy_fixup(&mut l, false);
    // nfs-utils 2.6.2 (before the mount attempt appends addr= and mountaddr=):
    //   sloppy,retry=0,actimeo=7,fg,mounthost=0,retrans=2,timeo=100,wsize=1048576,
    //   rsize=32768,nosoft,proto=tcp
    // With the k/m/g fix `mounthost=myhost.org` is kept; with the Soft=False fix `nosoft`
    // (invalid in the kernel) becomes `hard`.
    assert_eq!(
        l.join(),
        "sloppy,retry=0,actimeo=7,fg,mounthost=myhost.org,retrans=2,timeo=100,\
         wsize=1048576,rsize=32768,hard,proto=tcp"
    );
}

#[test]
fn precedence_and_user_wins() {
    let text = r#"
[ NFSMount_Global_Options ]
timeo=1
retrans=1
rsize=1
[ Server "127.0.0.1" ]
timeo=2
retrans=2
[ MountPoint "/mnt/t" ]
timeo=3
"#;
    assert_eq!(m(text, "").opts, "timeo=3,retrans=2,rsize=1");
    assert_eq!(m(text, "rsize=9,timeo=8").opts, "rsize=9,timeo=8,retrans=2");
    // another mount point / server: only the global section
    let mm = merge(&cfg(text), "", "/other", "otherhost").unwrap();
    assert_eq!(mm.opts, "rsize=1,retrans=1,timeo=1");
}

#[test]
fn reverse_order_within_section() {
    // [R] Server lines timeo, retrans, mounthost gave mounthost,retrans,timeo
    let text = "[ Server \"127.0.0.1\" ]\ntimeo=100\nretrans=2\nmounthost=h\n";
    assert_eq!(m(text, "").opts, "mounthost=h,retrans=2,timeo=100");
    // a re-set tag moves to the latest position
    let text = "[ Server \"127.0.0.1\" ]\ntimeo=1\nretrans=2\ntimeo=3\n";
    assert_eq!(m(text, "").opts, "timeo=3,retrans=2");
}

#[test]
fn negation_and_bg_fg_exclusion() {
    let text = "[ NFSMount_Global_Options ]\nLock=True\nac=False\nbg=True\ncto=True\n";
    assert_eq!(m(text, "nolock,fg").opts, "nolock,fg,cto,noac");
    assert_eq!(m(text, "noac").opts, "noac,cto,bg,lock");
    assert_eq!(m(text, "").opts, "cto,bg,noac,lock");
    // a "no" tag in the configuration
    let text = "[ NFSMount_Global_Options ]\nnolock=True\n";
    assert_eq!(m(text, "lock").opts, "lock");
    assert_eq!(m(text, "").opts, "nolock");
}

#[test]
fn aliases_true_false() {
    let cases: &[(&str, &str)] = &[
        ("Background=True", "bg"),
        ("Background=False", "fg"),
        ("Foreground=True", "fg"),
        ("Foreground=False", "bg"),
        ("Sloppy=True", "sloppy"),
        ("Sloppy=False", ""),
        ("background=TRUE", "bg"),
        ("Lock=False", "nolock"),
        ("Intr=false", "nointr"),
        // fixes: no invalid "nosoft"/"nobg"
        ("Soft=False", "hard"),
        ("Hard=False", "soft"),
        ("bg=False", "fg"),
        ("fg=False", "bg"),
        ("nolock=False", "lock"),
        // unknown options keep the nfs-utils noX
        ("Frobnicate=False", "nofrobnicate"),
    ];
    for (line, want) in cases {
        let mm = m(&format!("[ NFSMount_Global_Options ]\n{line}\n"), "");
        assert_eq!(mm.opts, *want, "{line}");
        assert!(mm.warnings.is_empty(), "{line}");
    }
    // Sloppy=False in a more specific section suppresses Sloppy=True in the global one
    let text =
        "[ MountPoint \"/mnt/t\" ]\nSloppy=False\n[ NFSMount_Global_Options ]\nSloppy=True\n";
    assert_eq!(m(text, "").opts, "");
}

#[test]
fn false_without_negative_form_is_dropped() {
    let text = "[ NFSMount_Global_Options ]\nTcp=False\nRsize=False\nsoft=true\n";
    let mm = m(text, "");
    assert_eq!(mm.opts, "soft");
    assert_eq!(
        warns(&mm),
        [
            "config error at /etc/nfsmount.conf:3: 'Rsize' has no negative form; 'Rsize=False' ignored",
            "config error at /etc/nfsmount.conf:2: 'Tcp' has no negative form; 'Tcp=False' ignored",
        ]
    );
}

#[test]
fn exclusive_groups_user_wins() {
    // nfs-utils would append these and the later option would win over the user's
    let text = "[ NFSMount_Global_Options ]\nProto=udp\nHard=True\nRw=True\n";
    assert_eq!(m(text, "tcp,soft,ro").opts, "tcp,soft,ro");
    assert_eq!(m(text, "").opts, "rw,hard,proto=udp");
    // Soft=False gives hard, not added twice
    let text = "[ NFSMount_Global_Options ]\nSoft=False\n";
    assert_eq!(m(text, "hard").opts, "hard");
    assert_eq!(m(text, "soft").opts, "soft");
}

#[test]
fn one_version_keyword() {
    let text = r#"
[ NFSMount_Global_Options ]
Nfsvers=3
[ Server "127.0.0.1" ]
v4.1=True
"#;
    // the first one found (Server before Global) wins; the global Nfsvers is dropped
    assert_eq!(m(text, "").opts, "v4.1");
    // a user version option blocks all config ones
    assert_eq!(m(text, "vers=4.2").opts, "vers=4.2");
    assert_eq!(m(text, "v3").opts, "v3");
    assert_eq!(m(text, "minorversion=1").opts, "minorversion=1");
    let text = "[ NFSMount_Global_Options ]\nminorversion=1\nvers=4\n";
    assert_eq!(m(text, "").opts, "vers=4");
}

#[test]
fn size_suffixes() {
    let cases: &[(&str, &str)] = &[
        ("rsize=32k", "rsize=32768"),
        ("wsize=1m", "wsize=1048576"),
        ("wsize=1M", "wsize=1048576"),
        ("bsize=2g", "bsize=2147483648"),
        ("rsize=0x10k", "rsize=16384"),
        ("rsize=010k", "rsize=8192"),
        ("timeo=1k", "timeo=1024"),
        // fix: not numeric, or not a whole number → unchanged
        ("mounthost=myhost.org", "mounthost=myhost.org"),
        ("clientaddr=my.host.k", "clientaddr=my.host.k"),
        ("rsize=12xk", "rsize=12xk"),
        ("rsize=k", "rsize=k"),
        ("foo=8k", "foo=8k"),
        ("rsize=8192", "rsize=8192"),
    ];
    for (line, want) in cases {
        assert_eq!(
            m(&format!("[ NFSMount_Global_Options ]\n{line}\n"), "").opts,
            *want,
            "{line}"
        );
    }
}

#[test]
fn lower_case_enumerations() {
    let text = "[ NFSMount_Global_Options ]\nProto=Tcp\nMountproto=UDP\nSec=KRB5P\nLookupcache=None\nLocal_Lock=All\nXprtsec=TLS\nMounthost=My.Host\nClientaddr=FE80::1\nfatal_neterrors=ENETDOWN:ENETUNREACH\n";
    assert_eq!(
        m(text, "").opts,
        "fatal_neterrors=ENETDOWN:ENETUNREACH,clientaddr=FE80::1,mounthost=My.Host,\
         xprtsec=tls,local_lock=all,lookupcache=none,sec=krb5p,mountproto=udp,proto=tcp"
    );
}

#[test]
fn defaults() {
    let text = "[ NFSMount_Global_Options ]\nDefaultvers=4.1\nNfsvers=4\nDefaultproto=UDP\n";
    let mm = m(text, "");
    assert_eq!(mm.opts, "nfsvers=4");
    assert_eq!(mm.default_vers, Some((4, Some(1))));
    assert_eq!(mm.default_proto.map(|n| n.name), Some("udp"));
    assert_eq!(mm.default_family, Family::Inet);
    assert!(!mm.default_vers_invalid);

    let mm = m(
        "[ NFSMount_Global_Options ]\nDefaultvers=4\nDefaultproto=tcp6\n",
        "",
    );
    assert_eq!(mm.default_vers, Some((4, None)));
    assert_eq!(mm.default_family, Family::Inet6);
    assert_eq!(mm.opts, "");

    // the most specific section wins
    let text =
        "[ MountPoint \"/mnt/t\" ]\nDefaultvers=3\n[ NFSMount_Global_Options ]\nDefaultvers=4.2\n";
    assert_eq!(m(text, "").default_vers, Some((3, Some(0))));

    let mm = m("[ NFSMount_Global_Options ]\nDefaultfoo=1\n", "");
    assert_eq!(warns(&mm), ["Invalid default setting: 'defaultfoo=1'"]);
    assert_eq!(mm.opts, "");

    let mm = m("[ NFSMount_Global_Options ]\nDefaultvers=x\n", "");
    assert!(mm.default_vers_invalid);
    assert_eq!(
        warns(&mm),
        [
            "parsing error on 'vers=' option",
            "Unable to set default version: Invalid argument"
        ]
    );

    let mm = m("[ NFSMount_Global_Options ]\nDefaultproto=sctp\n", "");
    assert_eq!(mm.default_proto, None);
    assert_eq!(
        warns(&mm),
        [
            "Failed to find 'sctp' protocol",
            "Unable to set default protocol : Protocol not supported",
            "Failed to find 'sctp' protocol",
            "Unable to set default family : Protocol not supported",
        ]
    );
}

#[test]
fn mountpoint_and_server_matching() {
    let text = "[ MountPoint \"/MNT/T\" ]\na=1\n[ Server \"HOST.example\" ]\nb=2\n[ Server \"::1\" ]\nc=3\n[ Server \"[fe80::1]\" ]\nd=4\n";
    let c = cfg(text);
    assert_eq!(
        merge(&c, "", "/mnt/t", "host.EXAMPLE").unwrap().opts,
        "a=1,b=2"
    );
    // IPv6: the key is the bracket contents; both header forms match
    assert_eq!(merge(&c, "", "/x", "::1").unwrap().opts, "c=3");
    assert_eq!(merge(&c, "", "/x", "fe80::1").unwrap().opts, "d=4");
    assert_eq!(merge(&c, "", "/x", "[fe80::1]").unwrap().opts, "d=4");
    assert_eq!(
        merge(
            &c,
            "",
            "/x",
            nfsmount::spec::server_key("[::1]:/exp").as_str()
        )
        .unwrap()
        .opts,
        "c=3"
    );
}

#[test]
fn per_argument_override() {
    // nfs-utils loses timeo=1 for server a (its override ignores the argument)
    let text = "[ Server \"a\" ]\ntimeo=1\n[ Server \"b\" ]\ntimeo=2\n";
    let c = cfg(text);
    assert_eq!(merge(&c, "", "/m", "a").unwrap().opts, "timeo=1");
    assert_eq!(merge(&c, "", "/m", "b").unwrap().opts, "timeo=2");
}

#[test]
fn errors() {
    assert_eq!(
        merge(&cfg(""), "a=\"x", "/m", "h").unwrap_err(),
        ConfError::UnbalancedQuotes
    );
    let c = cfg("[ MountPoint ]\nsoft=true\n");
    let e = merge(&c, "ro", "/m", "h").unwrap_err();
    assert!(e
        .to_string()
        .starts_with("config error at /etc/nfsmount.conf:1: section 'MountPoint'"));
}

#[test]
fn user_options_untouched_and_defaults_stripped() {
    let mm = m("", "ro,x-foo=1,vers=4.1,sec=KRB5,defaults");
    // values the user typed are never lower-cased; default* is stripped (nfs-utils)
    assert_eq!(mm.opts, "ro,x-foo=1,vers=4.1,sec=KRB5");
    assert!(m("", "").warnings.is_empty());
}

#[test]
fn unicode_tags_and_values() {
    let text = "[ NFSMount_Global_Options ]\ndéfaultx=1\nrsize=é\nmounthost=hôte.k\nDefault=ü\n";
    let mm = m(text, "é=ü");
    assert_eq!(mm.opts, "é=ü,mounthost=hôte.k,rsize=é,défaultx=1");
    assert_eq!(warns(&mm), ["Invalid default setting: 'default=ü'"]);
}

/// Within one section nfs-utils 2.6.2 emits both members of a keyword group
/// (`hard=True` + `soft=True` → `soft,hard`, reverse order; the kernel takes the last).
/// Our exclusivity (differences #16) applies only against the command line and
/// earlier sections.
#[test]
fn groups_within_one_section_are_both_emitted() {
    let g = "[ NFSMount_Global_Options ]\n";
    assert_eq!(
        m(&format!("{g}hard=True\nsoft=True\n"), "").opts,
        "soft,hard"
    );
    assert_eq!(m(&format!("{g}udp=True\ntcp=True\n"), "").opts, "tcp,udp");
    assert_eq!(
        m(&format!("{g}soft=True\nhard=True\n"), "soft").opts,
        "soft"
    );
    assert_eq!(
        m(
            &format!("{g}hard=True\n[ Server \"127.0.0.1\" ]\nsoft=True\n"),
            ""
        )
        .opts,
        "soft"
    );
    // bg/fg stay exclusive inside a section too, as in nfs-utils
    assert_eq!(m(&format!("{g}bg=True\nfg=True\n"), "").opts, "fg");
}
