//! Version selection (nfs-utils network.c `nfs_nfs_version`, stropts.c
//! `nfs_set_version`): vers=, nfsvers=, v2/v3/v4, minorversion=, mount.nfs4.

use nfsmount::options::{
    select_version, select_version_ext, strip_version_tokens, DefaultVers, OptError, OptList,
    VersionMode::{self, *},
};

fn sel(
    opts: &str,
    nfs4: bool,
    conf: Option<(u32, Option<u32>)>,
) -> Result<(u32, u32, VersionMode, bool), OptError> {
    let l = OptList::parse(opts).unwrap();
    select_version(&l, nfs4, conf).map(|s| (s.major, s.minor, s.mode, s.minor_explicit))
}

#[test]
fn spec_table() {
    // (options, mount.nfs4?, expected major, minor, mode, minor_explicit)
    let cases: &[(&str, bool, u32, u32, VersionMode, bool)] = &[
        ("", false, 4, 2, Default, false),
        ("rsize=8192", false, 4, 2, Default, false),
        ("vers=4", false, 4, 2, General, false),
        ("nfsvers=4", false, 4, 2, General, false),
        ("v4", false, 4, 2, General, false),
        ("", true, 4, 2, General, false),
        ("vers=4.1", false, 4, 1, Specific, true),
        ("vers=4.0", false, 4, 0, Specific, true),
        ("vers=4.2", false, 4, 2, Specific, true),
        ("v4.1", false, 4, 1, Specific, true),
        ("v4.0", false, 4, 0, Specific, true),
        ("nfsvers=4,minorversion=1", false, 4, 1, Specific, true),
        ("vers=4,minorversion=0", false, 4, 0, Specific, true),
        ("minorversion=1", true, 4, 1, Specific, true),
        ("vers=3", false, 3, 0, Specific, false),
        ("nfsvers=3", false, 3, 0, Specific, false),
        ("v3", false, 3, 0, Specific, false),
        ("mountvers=3", false, 3, 0, Specific, false),
        ("mounthost=x", false, 3, 0, Specific, false),
        ("mountaddr=1.2.3.4", false, 3, 0, Specific, false),
        ("mountproto=udp", false, 3, 0, Specific, false),
        // mountport does not force v3
        ("mountport=20048", false, 4, 2, Default, false),
        // mount.nfs4 with vers=3: still v3
        ("vers=3", true, 3, 0, Specific, false),
        // v2: selected; the caller fails it with EOPNOTSUPP
        ("vers=2", false, 2, 0, Specific, false),
        ("v2", false, 2, 0, Specific, false),
        // vers=5: general major 5; the mount attempt fails with EIO
        ("vers=5", false, 5, 2, General, false),
        // a minorversion alone does nothing for mount.nfs
        ("minorversion=1", false, 4, 2, Default, false),
        // whitespace and sign accepted like strtol
        ("vers=+3", false, 3, 0, Specific, false),
    ];
    for &(o, nfs4, maj, min, mode, ex) in cases {
        assert_eq!(
            sel(o, nfs4, None),
            Ok((maj, min, mode, ex)),
            "{o} nfs4={nfs4}"
        );
    }
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        ("vers=3,nfsvers=3", "multiple version options not permitted"),
        ("vers=4,vers=4.1", "multiple version options not permitted"),
        ("v3,v4", "multiple version options not permitted"),
        ("v4.1,vers=4", "multiple version options not permitted"),
        ("vers=abc", "parsing error on 'vers=' option"),
        ("vers", "parsing error on 'vers=' option"),
        ("vers=", "parsing error on 'vers=' option"),
        ("vers=3.0", "parsing error on 'vers=' option"),
        ("vers=4.", "parsing error on 'vers=' option"),
        ("vers=4.x", "parsing error on 'vers=' option"),
        ("vers=4.1x", "parsing error on 'vers=' option"),
        ("vers=4x", "parsing error on 'vers=' option"),
        ("nfsvers=x", "parsing error on 'nfsvers=' option"),
        ("v4.x", "parsing error on 'v' option"),
        ("v3x", "parsing error on 'v' option"),
        (
            "vers=4,minorversion=x",
            "parsing error on 'minorversion=' option",
        ),
        (
            "vers=4,minorversion=1x",
            "parsing error on 'minorversion=' option",
        ),
    ];
    for (o, msg) in cases {
        let e = sel(o, false, None).unwrap_err();
        assert_eq!(e.to_string(), *msg, "{o}");
        assert_eq!(e.errno_like(), nix::errno::Errno::EINVAL);
    }
}

#[test]
fn config_default() {
    // Defaultvers=3 with no version option: v3 first and only
    assert_eq!(
        sel("", false, Some((3, Some(0)))),
        Ok((3, 0, Default, false))
    );
    // Defaultvers=4.1 with Nfsvers=4: general 4, minor 1 (vers=4,minorversion=1)
    assert_eq!(
        sel("nfsvers=4", false, Some((4, Some(1)))),
        Ok((4, 1, General, false))
    );
    // Defaultvers=4 (general): minor stays the default 2
    assert_eq!(sel("", false, Some((4, None))), Ok((4, 2, Default, false)));
    assert_eq!(
        sel("vers=4", false, Some((4, None))),
        Ok((4, 2, General, false))
    );
    // general 4 with a v3 default: minor 2
    assert_eq!(
        sel("vers=4", false, Some((3, Some(0)))),
        Ok((4, 2, General, false))
    );
    // specific options ignore the default
    assert_eq!(
        sel("vers=4.1", false, Some((3, Some(0)))),
        Ok((4, 1, Specific, true))
    );
    assert_eq!(
        sel("mounthost=h", false, Some((4, Some(1)))),
        Ok((3, 0, Specific, false))
    );
    // Defaultvers that did not parse: every non-specific mount fails
    let l = OptList::parse("").unwrap();
    let e = select_version_ext(&l, false, DefaultVers::Invalid).unwrap_err();
    assert_eq!(e, OptError::DefaultVersInvalid);
    let l = OptList::parse("vers=3").unwrap();
    assert!(select_version_ext(&l, false, DefaultVers::Invalid).is_ok());
}

#[test]
fn strip_tokens() {
    let mut l = OptList::parse("vers=4,rsize=1,nfsvers=4,v4,v3,v4.1,minorversion=1").unwrap();
    strip_version_tokens(&mut l);
    assert_eq!(l.join(), "rsize=1,v3,v4.1,minorversion=1");
}

#[test]
fn v4_version_tokens() {
    use nfsmount::options::apply_v4_version;
    // (user options, mount.nfs4?, minor being tried, resulting options)
    let cases: &[(&str, bool, Option<u32>, &str)] = &[
        ("", false, Some(2), "vers=4.2"),
        ("", false, Some(1), "vers=4,minorversion=1"),
        ("", false, Some(0), "vers=4"),
        ("vers=4,rsize=1", false, Some(2), "rsize=1,vers=4.2"),
        ("v4", false, Some(1), "vers=4,minorversion=1"),
        ("", true, Some(2), "vers=4.2"),
        ("vers=4.1", false, None, "vers=4.1"),
        ("v4.1", false, None, "v4.1"),
        (
            "nfsvers=4,minorversion=1,rsize=1",
            false,
            None,
            "nfsvers=4,rsize=1,vers=4.1",
        ),
        ("vers=4,minorversion=0", false, None, "vers=4,vers=4.0"),
    ];
    for &(o, nfs4, minor, want) in cases {
        let mut l = OptList::parse(o).unwrap();
        let s = select_version(&l, nfs4, None).unwrap();
        if s.mode != Specific {
            strip_version_tokens(&mut l);
        }
        apply_v4_version(&mut l, &s, minor.unwrap_or(s.minor));
        assert_eq!(l.join(), want, "{o}");
    }
}
