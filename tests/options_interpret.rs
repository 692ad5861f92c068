//! Transport/family, validation, retry, bg/fg, sloppy.

use nfsmount::options::netid::{lookup_netid, NETIDS};
use nfsmount::options::{
    is_bg, mount_family, mount_protocol, nfs_family, nfs_family_with_default, nfs_protocol,
    parse_retry, sloppy_fixup, validate, Family, NetidTransport, OptList,
};

fn l(s: &str) -> OptList {
    OptList::parse(s).unwrap()
}

#[test]
fn nfs_protocol_rightmost() {
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("udp", Some("udp")),
        ("tcp", Some("tcp")),
        ("rdma", Some("rdma")),
        ("proto=tcp6", Some("tcp6")),
        ("proto=udp6", Some("udp6")),
        ("proto=rdma6", Some("rdma6")),
        ("udp,proto=tcp", Some("tcp")),
        ("proto=tcp,udp", Some("udp")),
        ("proto=udp,tcp,rdma", Some("rdma")),
        // a valueless proto: nothing chosen
        ("proto", None),
    ];
    for (o, want) in cases {
        let got = nfs_protocol(&l(o)).unwrap().map(|n| n.name);
        assert_eq!(got, *want, "{o}");
    }
    for bad in ["proto=foo", "proto=Tcp", "proto=", "tcp,proto=local"] {
        let e = nfs_protocol(&l(bad)).unwrap_err();
        let v = bad.rsplit('=').next().unwrap();
        assert_eq!(
            e.to_string(),
            format!("Failed to find '{v}' protocol"),
            "{bad}"
        );
        assert_eq!(e.errno_like(), nix::errno::Errno::EPROTONOSUPPORT);
    }
}

#[test]
fn families() {
    let cases: &[(&str, Family)] = &[
        ("", Family::Unspec),
        ("tcp", Family::Inet),
        ("udp", Family::Inet),
        ("rdma", Family::Inet),
        ("proto=tcp", Family::Inet),
        ("proto=tcp6", Family::Inet6),
        ("proto=udp6", Family::Inet6),
        ("proto=rdma6", Family::Inet6),
        ("proto=tcp6,tcp", Family::Inet),
        ("proto", Family::Unspec),
    ];
    for (o, f) in cases {
        assert_eq!(nfs_family(&l(o)).unwrap(), *f, "{o}");
    }
    assert_eq!(
        nfs_family_with_default(&l(""), Family::Inet6).unwrap(),
        Family::Inet6
    );
    assert_eq!(
        nfs_family_with_default(&l("udp"), Family::Inet6).unwrap(),
        Family::Inet
    );
    assert!(nfs_family(&l("proto=xyz")).is_err());
    assert_eq!(
        mount_family(&l("mountproto=udp6,tcp"), Family::Unspec).unwrap(),
        Family::Inet6
    );
    assert_eq!(
        mount_family(&l("proto=tcp6"), Family::Unspec).unwrap(),
        Family::Inet6
    );
}

#[test]
fn mount_protocol_derivation() {
    assert_eq!(mount_protocol(&l("")).unwrap(), None);
    assert_eq!(
        mount_protocol(&l("mountproto=udp,proto=tcp"))
            .unwrap()
            .unwrap()
            .name,
        "udp"
    );
    assert_eq!(
        mount_protocol(&l("proto=tcp6")).unwrap().unwrap().name,
        "tcp6"
    );
    // RDMA for NFS means TCP for MNT
    let m = mount_protocol(&l("rdma")).unwrap().unwrap();
    assert_eq!((m.name, m.transport), ("tcp", NetidTransport::Tcp));
    assert_eq!(
        mount_protocol(&l("proto=rdma6")).unwrap().unwrap().name,
        "tcp6"
    );
    assert_eq!(
        mount_protocol(&l("mountproto=bogus"))
            .unwrap_err()
            .to_string(),
        "Failed to find 'bogus' protocol"
    );
}

#[test]
fn netids_hard_coded() {
    let names: Vec<&str> = NETIDS.iter().map(|n| n.name).collect();
    assert_eq!(names, ["tcp", "udp", "tcp6", "udp6", "rdma", "rdma6"]);
    assert_eq!(lookup_netid("udp").unwrap().ipproto(), Some(17));
    assert_eq!(lookup_netid("tcp6").unwrap().ipproto(), Some(6));
    assert_eq!(lookup_netid("rdma").unwrap().ipproto(), None);
    assert!(lookup_netid("local").is_none());
    assert!(lookup_netid("TCP").is_none());
}

#[test]
fn validate_table() {
    let ok = [
        "",
        "port=0",
        "port=65535",
        "mountport=2049",
        "mountvers=1",
        "mountvers=4",
        "nfsprog=100003",
        "mountprog=1",
        "port=2049x",
        // Without '=' the option has no value: nfs-utils' po_get_numeric says "not
        // found", even over an earlier bad value.
        "port",
        "port=x,port",
        "mountvers",
        "proto=tcp,mountproto=udp6",
        "vers=3",
        "vers=4.1",
        "soft,timeo=1,whatever=unknown",
    ];
    for o in ok {
        assert_eq!(validate(&l(o)), Ok(()), "{o}");
    }
    let bad: &[(&str, &str)] = &[
        ("port=65536", "invalid value for 'port=' option"),
        ("port=-1", "invalid value for 'port=' option"),
        ("port=x", "invalid value for 'port=' option"),
        ("mountport=70000", "invalid value for 'mountport=' option"),
        ("mountvers=0", "invalid value for 'mountvers=' option"),
        ("mountvers=5", "invalid value for 'mountvers=' option"),
        ("nfsprog=0", "invalid value for 'nfsprog=' option"),
        ("nfsprog=abc", "invalid value for 'nfsprog=' option"),
        ("mountprog=-3", "invalid value for 'mountprog=' option"),
        ("proto=sctp", "Failed to find 'sctp' protocol"),
        ("mountproto=sctp", "Failed to find 'sctp' protocol"),
        ("vers=3,nfsvers=3", "multiple version options not permitted"),
        ("vers=x", "parsing error on 'vers=' option"),
        // order: nfsprog is checked before port
        (
            "port=99999,nfsprog=0",
            "invalid value for 'nfsprog=' option",
        ),
    ];
    for (o, msg) in bad {
        assert_eq!(validate(&l(o)).unwrap_err().to_string(), *msg, "{o}");
    }
}

#[test]
fn retry_minutes() {
    let cases: &[(&str, bool, u64, bool)] = &[
        ("", false, 2, false),
        ("", true, 10000, false),
        ("retry=0", false, 0, false),
        ("retry=5", true, 5, false),
        ("retry=3x", false, 3, false),
        ("retry=-1", false, 2, true),
        ("retry=-1", true, 10000, true),
        ("retry=abc", false, 2, true),
        ("retry", true, 10000, false),
        ("retry=1,retry=7", false, 7, false),
    ];
    for &(o, bg, min, inval) in cases {
        assert_eq!(parse_retry(&l(o), bg), (min, inval), "{o} bg={bg}");
    }
}

#[test]
fn bg_fg() {
    assert!(!is_bg(&l("")));
    assert!(is_bg(&l("bg")));
    assert!(!is_bg(&l("bg,fg")));
    assert!(is_bg(&l("fg,bg")));
    assert!(!is_bg(&l("nobg")));
}

#[test]
fn sloppy() {
    let mut a = l("vers=3,sloppy,rsize=1,sloppy");
    sloppy_fixup(&mut a, false);
    assert_eq!(a.join(), "sloppy,vers=3,rsize=1");
    let mut b = l("vers=3");
    sloppy_fixup(&mut b, true);
    assert_eq!(b.join(), "sloppy,vers=3");
    let mut c = l("vers=3");
    sloppy_fixup(&mut c, false);
    assert_eq!(c.join(), "vers=3");
    let mut d = l("sloppy");
    sloppy_fixup(&mut d, true);
    assert_eq!(d.join(), "sloppy");
}
