//! Tokenizer and option-list primitives (nfs-utils `po_*` semantics), with properties.

use nfsmount::options::{Numeric, Opt, OptList};
use proptest::prelude::*;

fn keys(l: &OptList) -> Vec<(String, Option<String>)> {
    l.iter().map(|o| (o.key.clone(), o.value.clone())).collect()
}

#[test]
fn tokenize_table() {
    type Case<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)]);
    let cases: &[Case] = &[
        ("", &[]),
        (",,,", &[]),
        ("ro", &[("ro", None)]),
        ("a,b", &[("a", None), ("b", None)]),
        (",a,,b,", &[("a", None), ("b", None)]),
        ("vers=4.1", &[("vers", Some("4.1"))]),
        ("key=", &[("key", Some(""))]),
        ("a=b=c", &[("a", Some("b=c"))]),
        (
            "foo=\"a,b\",bar",
            &[("foo", Some("\"a,b\"")), ("bar", None)],
        ),
        ("x=\"\",y", &[("x", Some("\"\"")), ("y", None)]),
        ("\"a=b\"", &[("\"a", Some("b\""))]),
        ("a=\"1,2\"\"3,4\"", &[("a", Some("\"1,2\"\"3,4\""))]),
        (" sp ", &[(" sp ", None)]),
    ];
    for (input, want) in cases {
        let l = OptList::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect();
        assert_eq!(keys(&l), want, "input {input:?}");
    }
}

#[test]
fn unterminated_quote_is_error() {
    for bad in ["a=\"x", "\"", "a,b=\"c,d", "x=\"1\",y=\"2"] {
        let e = OptList::parse(bad).unwrap_err();
        assert_eq!(e.to_string(), "unbalanced quotes in mount options", "{bad}");
    }
}

#[test]
fn join_and_roundtrip() {
    let l = OptList::parse("sloppy,vers=4.2,,x=\"a,b\",key=").unwrap();
    assert_eq!(l.join(), "sloppy,vers=4.2,x=\"a,b\",key=");
    assert_eq!(OptList::default().join(), "");
    assert_eq!(l.to_string(), l.join());
}

#[test]
fn get_is_rightmost() {
    let l = OptList::parse("retry=1,retry=5,lock,lock=x,flag=1,flag").unwrap();
    assert_eq!(l.get("retry"), Some("5"));
    assert_eq!(l.get("lock"), Some("x"));
    // the rightmost occurrence has no value
    assert_eq!(l.get("flag"), None);
    assert_eq!(l.get("absent"), None);
    assert!(l.contains("flag"));
    assert!(!l.contains("fla"));
    let e = OptList::parse("k=").unwrap();
    assert_eq!(e.get("k"), Some(""));
}

#[test]
fn rightmost_table() {
    let l = OptList::parse("bg,tcp,fg,proto=udp,nolock,lock").unwrap();
    assert_eq!(l.rightmost(&["bg", "fg"]), Some(1));
    assert_eq!(l.rightmost(&["udp", "tcp", "rdma", "proto"]), Some(3));
    assert_eq!(l.rightmost(&["lock", "nolock"]), Some(0));
    assert_eq!(l.rightmost(&["x", "y"]), None);
}

#[test]
fn numeric_like_strtol() {
    let cases: &[(&str, Numeric)] = &[
        ("retry=3", Numeric::Ok(3)),
        ("retry=3x", Numeric::Ok(3)),
        ("retry=-5", Numeric::Ok(-5)),
        ("retry=+7", Numeric::Ok(7)),
        ("retry= 12", Numeric::Ok(12)),
        ("retry=x", Numeric::Bad),
        ("retry=", Numeric::Bad),
        // No '=': no value, which po_get_numeric reports as not found.
        ("retry", Numeric::Absent),
        ("retry=x,retry", Numeric::Absent),
        ("retry=99999999999999999999", Numeric::Bad),
        ("retry=1,retry=abc", Numeric::Bad),
        ("other=1", Numeric::Absent),
        ("retry=010", Numeric::Ok(10)),
    ];
    for (s, want) in cases {
        let l = OptList::parse(s).unwrap();
        assert_eq!(l.get_numeric("retry"), *want, "{s}");
    }
}

#[test]
fn edits() {
    let mut l = OptList::parse("a,b=1,a=2,c").unwrap();
    l.remove_all("a");
    assert_eq!(l.join(), "b=1,c");
    l.append("addr", Some("127.0.0.1"));
    l.insert_head("sloppy", None);
    assert_eq!(l.join(), "sloppy,b=1,c,addr=127.0.0.1");
    l.remove_all("zzz");
    assert_eq!(l.len(), 4);
    assert_eq!(l.0[0], Opt::new("sloppy", None));
}

fn opt_strategy() -> impl Strategy<Value = Opt> {
    let key = "[a-z_][a-z0-9_.-]{0,10}";
    let plain = "[a-zA-Z0-9:/._-]{0,12}";
    let quoted = "\"[a-zA-Z0-9,= ]{0,10}\"";
    (key, prop::option::of(prop_oneof![plain, quoted])).prop_map(|(k, v)| Opt { key: k, value: v })
}

proptest! {
    #[test]
    fn parse_join_roundtrip(opts in prop::collection::vec(opt_strategy(), 0..12)) {
        let l = OptList(opts);
        let s = l.join();
        let back = OptList::parse(&s).unwrap();
        prop_assert_eq!(&back, &l);
        prop_assert_eq!(back.join(), s);
    }

    #[test]
    fn never_panics(s in ".{0,64}") {
        let _ = OptList::parse(&s);
        if let Ok(l) = OptList::parse(&s) {
            let _ = l.get_numeric("retry");
            let j = l.join();
            // re-parsing the join gives the same list
            prop_assert_eq!(OptList::parse(&j).unwrap(), l);
        }
    }

    #[test]
    fn quotes_preserved(inner in "[a-z0-9,=]{0,12}", k in "q[a-z]{0,6}") {
        let s = format!("a,{k}=\"{inner}\",b");
        let l = OptList::parse(&s).unwrap();
        prop_assert_eq!(l.len(), 3);
        let want = format!("\"{inner}\"");
        prop_assert_eq!(l.get(&k), Some(want.as_str()));
        prop_assert_eq!(l.join(), s);
    }

    #[test]
    fn unbalanced_always_err(prefix in "[a-z,=]{0,8}", rest in "[a-z,=]{0,8}") {
        let s = format!("{prefix}\"{rest}");
        prop_assert!(OptList::parse(&s).is_err());
    }
}

proptest! {
    #[test]
    fn interpreters_never_panic(s in "([a-z0-9=.,\"+ -]|\\PC){0,48}", nfs4 in any::<bool>()) {
        if let Ok(l) = OptList::parse(&s) {
            let _ = nfsmount::options::select_version(&l, nfs4, Some((4, Some(1))));
            let _ = nfsmount::options::validate(&l);
            let _ = nfsmount::options::nfs_family(&l);
            let _ = nfsmount::options::mount_protocol(&l);
            let _ = nfsmount::options::parse_retry(&l, nfs4);
            let sp = nfsmount::options::split(&l);
            // the split loses nothing but SELinux contexts and VFS flags
            prop_assert!(sp.fs.len() + sp.user.len() <= l.len());
        }
        let _ = nfsmount::spec::parse_spec(&s);
        let _ = nfsmount::spec::server_key(&s);
    }
}
