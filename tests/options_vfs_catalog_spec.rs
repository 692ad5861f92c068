//! libmount split, option catalogue, mount-spec parsing.

use nfsmount::options::catalog::{self, OptKind, Scope, OPTIONS};
use nfsmount::options::vfs::ms;
use nfsmount::options::{split, OptList};
use nfsmount::spec::{parse_spec, server_key, Spec};
use std::collections::HashSet;

fn l(s: &str) -> OptList {
    OptList::parse(s).unwrap()
}

#[test]
fn split_flags_observed() {
    // [R] -r plus sync,noexec,nodev,nosuid,noatime gave 0x41f
    let s = split(&l("sync,noexec,nodev,nosuid,noatime,ro"));
    assert_eq!(s.ms_flags, 0x41f);
    assert!(s.fs.is_empty() && s.user.is_empty());
}

#[test]
fn split_rightmost_wins() {
    assert_eq!(split(&l("ro,rw")).ms_flags, 0);
    assert_eq!(split(&l("rw,ro")).ms_flags, ms::RDONLY);
    assert_eq!(split(&l("noexec,exec")).ms_flags, 0);
    assert_eq!(split(&l("sync,async")).ms_flags, 0);
    assert_eq!(split(&l("defaults")).ms_flags, 0);
    assert_eq!(
        split(&l("relatime,norelatime,strictatime")).ms_flags,
        ms::STRICTATIME
    );
    assert_eq!(
        split(&l("remount,dirsync,lazytime")).ms_flags,
        ms::REMOUNT | ms::DIRSYNC | ms::LAZYTIME
    );
}

#[test]
fn split_user_implies() {
    let s = split(&l("user"));
    assert_eq!(s.ms_flags, ms::NOEXEC | ms::NOSUID | ms::NODEV);
    let s = split(&l("users,exec"));
    assert_eq!(s.ms_flags, ms::NOSUID | ms::NODEV);
    // an earlier exec does not override
    let s = split(&l("exec,dev,suid,user"));
    assert_eq!(s.ms_flags, ms::NOEXEC | ms::NOSUID | ms::NODEV);
    let s = split(&l("owner"));
    assert_eq!(s.ms_flags, ms::NOSUID | ms::NODEV);
}

#[test]
fn split_classes_and_utab() {
    // the utab example options (libmount `mount_libmount.c:store_mount_options`)
    let s = split(&l(
        "vers=4.2,_netdev,nofail,noatime,ro,x-systemd.automount,rsize=8192",
    ));
    assert_eq!(s.ms_flags, ms::NOATIME | ms::RDONLY);
    assert_eq!(s.fs.join(), "vers=4.2,rsize=8192");
    assert_eq!(s.user.join(), "_netdev,nofail,x-systemd.automount");
    assert_eq!(s.utab_user.join(), "_netdev,x-systemd.automount");
    let s = split(&l("defaults,auto,noauto,comment=x,X-foo=1,user=joe,users,owner,group,uhelper=u,helper=h,nolock"));
    assert_eq!(s.fs.join(), "nolock");
    assert_eq!(s.utab_user.join(), "user=joe,uhelper=u,helper=h");
    assert_eq!(s.user.len(), 11);
    // SELinux contexts are dropped
    let s = split(&l("context=\"system_u:object_r:nfs_t:s0\",fscontext=x,defcontext=y,rootcontext=z,seclabel,soft"));
    assert_eq!(s.fs.join(), "soft");
    assert!(s.user.is_empty());
}

#[test]
#[allow(clippy::unnecessary_cast)] // c_ulong is u32 on 32-bit targets
fn ms_constants_match_libc() {
    assert_eq!(ms::RDONLY, libc::MS_RDONLY as u64);
    assert_eq!(ms::NOSUID, libc::MS_NOSUID as u64);
    assert_eq!(ms::NODEV, libc::MS_NODEV as u64);
    assert_eq!(ms::NOEXEC, libc::MS_NOEXEC as u64);
    assert_eq!(ms::SYNCHRONOUS, libc::MS_SYNCHRONOUS as u64);
    assert_eq!(ms::REMOUNT, libc::MS_REMOUNT as u64);
    assert_eq!(ms::MANDLOCK, libc::MS_MANDLOCK as u64);
    assert_eq!(ms::DIRSYNC, libc::MS_DIRSYNC as u64);
    assert_eq!(ms::NOATIME, libc::MS_NOATIME as u64);
    assert_eq!(ms::NODIRATIME, libc::MS_NODIRATIME as u64);
    assert_eq!(ms::BIND, libc::MS_BIND as u64);
    assert_eq!(ms::REC, libc::MS_REC as u64);
    assert_eq!(ms::SILENT, libc::MS_SILENT as u64);
    assert_eq!(ms::RELATIME, libc::MS_RELATIME as u64);
    assert_eq!(ms::I_VERSION, libc::MS_I_VERSION as u64);
    assert_eq!(ms::STRICTATIME, libc::MS_STRICTATIME as u64);
    assert_eq!(ms::LAZYTIME, libc::MS_LAZYTIME as u64);
}

/// Every parameter in the kernel's `nfs_fs_parameters` table (fs/nfs/fs_context.c, 6.x).
const KERNEL: &[&str] = &[
    "ac",
    "acdirmax",
    "acdirmin",
    "acl",
    "acregmax",
    "acregmin",
    "actimeo",
    "addr",
    "alignwrite",
    "bg",
    "bsize",
    "cert_serial",
    "clientaddr",
    "cto",
    "fatal_neterrors",
    "fg",
    "fsc",
    "hard",
    "intr",
    "local_lock",
    "lock",
    "lookupcache",
    "max_connect",
    "migration",
    "minorversion",
    "mountaddr",
    "mounthost",
    "mountport",
    "mountproto",
    "mountvers",
    "namlen",
    "nconnect",
    "nfsvers",
    "port",
    "posix",
    "privkey_serial",
    "proto",
    "rdirplus",
    "rdma",
    "resvport",
    "retrans",
    "retry",
    "rsize",
    "sec",
    "sharecache",
    "sloppy",
    "soft",
    "softerr",
    "softreval",
    "source",
    "tcp",
    "timeo",
    "trunkdiscovery",
    "udp",
    "v2",
    "v3",
    "v4",
    "v4.0",
    "v4.1",
    "v4.2",
    "vers",
    "write",
    "wsize",
    "xprtsec",
];

#[test]
fn catalog_complete_and_unique() {
    let mut seen = HashSet::new();
    for o in OPTIONS {
        assert!(seen.insert(o.name), "duplicate {}", o.name);
        assert!(!o.summary.is_empty(), "{}", o.name);
    }
    for k in KERNEL {
        let i = catalog::lookup(k).unwrap_or_else(|| panic!("missing {k}"));
        assert!(matches!(i.scope, Scope::Kernel | Scope::Helper), "{k}");
    }
    for k in [
        "nfsprog",
        "mountprog",
        "_netdev",
        "nofail",
        "x-*",
        "ro",
        "rw",
        "noatime",
    ] {
        let ok = catalog::lookup_key(k).is_some();
        assert!(ok, "{k}");
    }
}

#[test]
fn catalog_kinds() {
    use OptKind::*;
    let cases: &[(&str, OptKind)] = &[
        ("soft", Flag),
        ("hard", Flag),
        ("bg", Flag),
        ("ac", Negatable),
        ("lock", Negatable),
        ("rsize", NumericValue),
        ("port", NumericValue),
        ("mounthost", Value),
        ("sec", Value),
    ];
    for (n, k) in cases {
        assert_eq!(catalog::lookup(n).unwrap().kind, *k, "{n}");
    }
    assert_eq!(
        catalog::lookup_key("noac").map(|(i, neg)| (i.name, neg)),
        Some(("ac", true))
    );
    assert!(catalog::lookup_key("nosoft").is_none());
    assert!(catalog::lookup_key("nobg").is_none());
    assert_eq!(
        catalog::lookup("lookupcache").unwrap().values,
        ["all", "none", "pos", "positive"]
    );
    assert_eq!(
        catalog::lookup("xprtsec").unwrap().values,
        ["none", "tls", "mtls"]
    );
    assert!(catalog::is_numeric("wsize") && !catalog::is_numeric("mounthost"));
    assert!(catalog::lowercase_value("proto") && !catalog::lowercase_value("mounthost"));
    assert!(!catalog::lowercase_value("fatal_neterrors"));
}

fn sp(host: &str, path: &str, bracketed: bool) -> Spec {
    Spec {
        host: host.into(),
        path: path.into(),
        bracketed,
    }
}

#[test]
fn spec_ok() {
    let cases: &[(&str, Spec, &[&str])] = &[
        ("server:/path", sp("server", "/path", false), &[]),
        ("127.0.0.1:/x", sp("127.0.0.1", "/x", false), &[]),
        ("[::1]:/x", sp("::1", "/x", true), &[]),
        ("[fe80::1%eth0]:/exp", sp("fe80::1%eth0", "/exp", true), &[]),
        ("host:", sp("host", "", false), &[]),
        ("host:/a:b", sp("host", "/a:b", false), &[]),
        (":/x", sp("", "/x", false), &[]),
        (
            "host1,host2:/x",
            sp("host1", "/x", false),
            &["warning: multiple hostnames not supported"],
        ),
    ];
    for (d, want, warns) in cases {
        let (s, w) = parse_spec(d).unwrap();
        assert_eq!(&s, want, "{d}");
        assert_eq!(w, *warns, "{d}");
    }
}

#[test]
fn spec_errors() {
    let long_host = format!("{}:/x", "h".repeat(256));
    let long_path = format!("h:/{}", "p".repeat(1024));
    let long_v6 = format!("[{}]:/x", "a".repeat(256));
    let ok_host = format!("{}:/x", "h".repeat(255));
    assert!(parse_spec(&ok_host).is_ok());
    let cases: &[(&str, &str)] = &[
        ("server", "remote share not in 'host:dir' format"),
        ("", "remote share not in 'host:dir' format"),
        ("[::1]/x", "remote share not in 'host:dir' format"),
        ("[::1", "closing bracket missing from server address"),
        ("nfs://server/x", "NFS URLs are not supported"),
        (&long_host, "server hostname is too long"),
        (&long_v6, "server hostname is too long"),
        (&long_path, "export pathname is too long"),
    ];
    for (d, msg) in cases {
        assert_eq!(parse_spec(d).unwrap_err().to_string(), *msg, "{d}");
    }
}

#[test]
fn server_keys() {
    assert_eq!(server_key("server:/x"), "server");
    assert_eq!(server_key("[::1]:/x"), "::1");
    assert_eq!(server_key("h1,h2:/x"), "h1,h2");
    assert_eq!(server_key("[::1"), "[");
}

/// nfs-utils 2.6.2 passes propagation flags in the same mount(2) call (observed
/// through the compliance shim: `private` → 0x40000, `rshared` → 0x104000).
#[test]
fn split_propagation_flags() {
    for (o, bits) in [
        ("private", ms::PRIVATE),
        ("rprivate", ms::PRIVATE | ms::REC),
        ("shared", ms::SHARED),
        ("rshared", ms::SHARED | ms::REC),
        ("slave", ms::SLAVE),
        ("rslave", ms::SLAVE | ms::REC),
        ("unbindable", ms::UNBINDABLE),
        ("runbindable", ms::UNBINDABLE | ms::REC),
    ] {
        let s = split(&l(&format!("vers=4,{o}")));
        assert_eq!(s.ms_flags, bits, "{o}");
        assert_eq!(s.fs.join(), "vers=4", "{o}");
        assert!(s.user.is_empty(), "{o}");
    }
    assert_eq!(ms::PRIVATE, 0x40000);
    assert_eq!(split(&l("private,shared")).ms_flags, 0x140000);
}
