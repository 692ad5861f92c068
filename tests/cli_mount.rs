//! mount.nfs / mount.nfs4 command line, messages, exit codes and mount(2) arguments
//! (through the NFSMOUNT_SYSCALL_LOG seam; no kernel NFS client needed).

mod helper;

use helper::Env;
use predicates::prelude::*;

const NAMES: [&str; 2] = ["mount.nfs", "mount.nfs4"];

#[test]
fn version_flag_prints_our_version_in_nfs_utils_shape() {
    let e = Env::new();
    for n in NAMES {
        for flag in ["-V", "--version", "--vers"] {
            e.cmd(n, "").arg(flag).assert().code(0).stdout(format!(
                "{n}: (nfsmount {}, drop-in for linux nfs-utils 2.6.2)\n",
                env!("CARGO_PKG_VERSION")
            ));
        }
    }
}

/// autofs' `check_nfs_mount_version` + `extract_version` (lib/mounts.c), as a rule:
/// in the helper's combined stdout/stderr find the first "nfs-utils"; from there go
/// to the next space; skip at most one non-digit; then three '.'-separated fields,
/// each read with atoi (a missing field crashes autofs: strtok returns NULL). The
/// result must be at least the `check` version autofs asks for (1.1.1).
fn autofs_nfs_utils_version(output: &str) -> Option<(u32, u32, u32)> {
    let start = output.find("nfs-utils")?;
    let rest = &output[start..];
    let sp = rest.find(' ')?;
    let mut v = &rest[sp..];
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        v = &v[1..];
        if v.is_empty() {
            return None;
        }
    }
    let atoi = |t: &str| -> u32 {
        t.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    let mut it = v.split('.').filter(|t| !t.is_empty());
    let (a, b, c) = (it.next()?, it.next()?, it.next()?);
    Some((atoi(a), atoi(b), atoi(c)))
}

#[test]
fn version_line_parses_with_autofs_rule() {
    let e = Env::new();
    for n in NAMES {
        let out = e.cmd(n, "").arg("-V").output().unwrap();
        let both = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(both.contains("nfsmount"), "{both}");
        let v = autofs_nfs_utils_version(&both);
        assert_eq!(v, Some((2, 6, 2)), "{both}");
        assert!(v.unwrap() >= (1, 1, 1));
    }
    // The rule itself: nfs-utils' own line parses; ours before this change did not.
    assert_eq!(
        autofs_nfs_utils_version("mount.nfs: (linux nfs-utils 2.6.2)\n"),
        Some((2, 6, 2))
    );
    assert_eq!(
        autofs_nfs_utils_version("mount.nfs: (nfsmount 0.1.0)\n"),
        None
    );
    assert_eq!(autofs_nfs_utils_version("nfs-utils-2.6.2"), None);
}

#[test]
fn help_prints_usage_on_stdout_and_exits_1() {
    let e = Env::new();
    for n in NAMES {
        e.cmd(n, "")
            .arg("-h")
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with(format!(
                "usage: {n} remotetarget dir [-rvVwfnsh] [-o nfsoptions]\noptions:\n\t-r\t\tMount file system readonly\n"
            )))
            .stderr("");
    }
}

#[test]
fn unknown_options_get_getopt_messages_usage_and_exit_1() {
    let e = Env::new();
    let argv0 = e.path("mount.nfs").to_string_lossy().into_owned();
    for (args, msg) in [
        (vec!["-Z"], "invalid option -- 'Z'".to_string()),
        (
            vec!["-t", "nfs", "a:/b", "/m"],
            "invalid option -- 't'".into(),
        ),
        (vec!["-N", "/proc/1/ns/mnt"], "invalid option -- 'N'".into()),
        (vec!["--bogus"], "unrecognized option '--bogus'".into()),
        (vec!["-o"], "option requires an argument -- 'o'".into()),
        (
            vec!["--re"],
            "option '--re' is ambiguous; possibilities: '--read-only' '--read-write'".into(),
        ),
    ] {
        e.cmd("mount.nfs", "")
            .args(&args)
            .assert()
            .code(1)
            .stderr(format!("{argv0}: {msg}\n"))
            .stdout(predicate::str::starts_with("usage: mount.nfs "));
    }
}

#[test]
fn missing_mount_point_exits_32_with_usage() {
    let e = Env::new();
    for args in [vec![], vec!["srv:/x"]] {
        e.cmd("mount.nfs", "")
            .args(&args)
            .assert()
            .code(32)
            .stderr("mount.nfs: no mount point provided\n")
            .stdout(predicate::str::starts_with("usage: mount.nfs "));
    }
}

#[test]
fn mount_point_problems() {
    let e = Env::new();
    let missing = e.path("nope").to_string_lossy().into_owned();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &missing])
        .assert()
        .code(32)
        .stderr(format!(
            "mount.nfs: mount point {missing} does not exist\nmount.nfs: create the mount point first (mkdir -p {missing})\n"
        ));
    let file = e.path("file");
    std::fs::write(&file, "").unwrap();
    let file = file.canonicalize().unwrap().to_string_lossy().into_owned();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &file])
        .assert()
        .code(32)
        .stderr(format!(
            "mount.nfs: mount point {file} is not a directory\nmount.nfs: the mount point must be a directory; {file} is not\n"
        ));
    assert!(e.syscalls().is_empty());
}

#[test]
fn default_v4_mount_arguments() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "retry=0"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    assert_eq!(
        e.syscalls(),
        [format!(
            "mount source=127.0.0.1:/x target={} type=nfs flags=0x0 data=retry=0,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1 => 0",
            e.mnt()
        )]
    );
}

#[test]
fn mount_nfs4_passes_type_nfs4() {
    let e = Env::new();
    e.cmd("mount.nfs4", "")
        .args(["127.0.0.1:/x", &e.mnt()])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert!(l[0].contains(" type=nfs4 "), "{l:?}");
    assert!(
        l[0].contains(" data=vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1 "),
        "{l:?}"
    );
}

#[test]
fn version_option_strings_of_spec_2_4() {
    let cases = [
        ("vers=4.1", "vers=4.1,addr=127.0.0.1,clientaddr=127.0.0.1"),
        ("v4.1", "v4.1,addr=127.0.0.1,clientaddr=127.0.0.1"),
        (
            "nfsvers=4,minorversion=1",
            "nfsvers=4,vers=4.1,addr=127.0.0.1,clientaddr=127.0.0.1",
        ),
        (
            "vers=4,minorversion=0",
            "vers=4,vers=4.0,addr=127.0.0.1,clientaddr=127.0.0.1",
        ),
        ("vers=4", "vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"),
        ("v4", "vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"),
        (
            "addr=10.9.9.9,soft",
            "soft,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1",
        ),
        (
            "clientaddr=0.0.0.0",
            "clientaddr=0.0.0.0,vers=4.2,addr=127.0.0.1",
        ),
    ];
    for (opts, want) in cases {
        let e = Env::new();
        e.cmd("mount.nfs", "")
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .assert()
            .code(0);
        assert_eq!(e.mount_data(), [want.to_string()], "options {opts}");
    }
}

#[test]
fn vfs_flags_and_userspace_options_stay_out_of_the_data_string() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            "127.0.0.1:/x",
            &e.mnt(),
            "-r",
            "-o",
            "sync,noexec,nodev,nosuid,noatime,_netdev,nofail,x-foo=1,vers=4.2",
        ])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert!(l[0].contains(" flags=0x41f "), "{l:?}");
    assert_eq!(
        e.mount_data(),
        ["vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"]
    );
    let utab = e.utab();
    assert_eq!(utab.len(), 1);
    assert!(
        utab[0].contains(" ATTRS=vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"),
        "{utab:?}"
    );
    assert!(utab[0].contains(" OPTS=_netdev,x-foo=1"), "{utab:?}");
}

#[test]
fn sloppy_goes_first() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["-s", "127.0.0.1:/x", &e.mnt(), "-o", "soft,sloppy"])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["sloppy,soft,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"]
    );
}

#[test]
fn autonegotiation_steps_minors_on_einval() {
    let e = Env::new();
    e.cmd("mount.nfs4", "EINVAL,EINVAL")
        .args(["127.0.0.1:/x", &e.mnt(), "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "mount.nfs4: trying text-based options 'vers=4,minorversion=1,addr=127.0.0.1,clientaddr=127.0.0.1'",
        ))
        .stderr(predicate::str::contains("mount.nfs4: mount(2): Invalid argument"));
    assert_eq!(
        e.mount_data(),
        [
            "vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1",
            "vers=4,minorversion=1,addr=127.0.0.1,clientaddr=127.0.0.1",
            "vers=4,addr=127.0.0.1,clientaddr=127.0.0.1",
        ]
    );
    // utab keeps the string that worked.
    assert!(e.utab()[0].contains("ATTRS=vers=4,addr=127.0.0.1,clientaddr=127.0.0.1"));
}

#[test]
fn general_v4_exhausted_reports_last_v4_error() {
    let e = Env::new();
    e.cmd(
        "mount.nfs",
        "EPROTONOSUPPORT,EPROTONOSUPPORT,EPROTONOSUPPORT",
    )
    .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4"])
    .assert()
    .code(32)
        .stderr(predicate::str::starts_with("mount.nfs: Protocol not supported\nmount.nfs: the kernel's NFSv4 mount of 127.0.0.1 failed: Protocol not supported; server 127.0.0.1: version or transport not supported"));
    assert_eq!(e.mount_data().len(), 3);
}

#[test]
fn permanent_errors_are_reported_with_nfs_utils_text() {
    for (errno, msg) in [
        ("EACCES", "mount.nfs: access denied by server while mounting 127.0.0.1:/x"),
        ("ENOENT", "mount.nfs: mounting 127.0.0.1:/x failed, reason given by server: No such file or directory"),
        ("EIO", "mount.nfs: mount system call failed"),
        ("ENODEV", "mount.nfs: No such device"),
    ] {
        let e = Env::new();
        e.cmd("mount.nfs", &format!("{errno},{errno},{errno},{errno}"))
            .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.1"])
            .assert()
            .code(32)
            .stderr(predicate::str::starts_with(format!("{msg}\n")));
        assert_eq!(e.mount_data().len(), 1, "{errno}: a permanent error is not retried");
    }
}

#[test]
fn temporary_errors_are_retried_within_the_window() {
    let e = Env::new();
    // NFSMOUNT_TIME_SCALE=1000: retry=1 (60 s) passes in well under a second.
    e.cmd("mount.nfs", "ECONNREFUSED,ECONNREFUSED,0")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.2,retry=1"])
        .assert()
        .code(0);
    assert_eq!(e.mount_data().len(), 3);
}

#[test]
fn ebusy_on_existing_mountpoint_is_success() {
    let e = Env::new();
    // "/" is always a mount point.
    e.cmd("mount.nfs", "EBUSY")
        .args(["127.0.0.1:/x", "/", "-o", "vers=4.2"])
        .assert()
        .code(0)
        .stderr("");
    let e = Env::new();
    e.cmd("mount.nfs", "EBUSY")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.2"])
        .assert()
        .code(32)
        .stderr(format!(
            "mount.nfs: {} is busy or already mounted or sharecache fail\n",
            e.mnt()
        ));
}

#[test]
fn bad_options_fail_before_any_syscall() {
    for (opts, msg) in [
        (
            "vers=3,nfsvers=3",
            "mount.nfs: multiple version options not permitted",
        ),
        ("vers=4.x", "mount.nfs: parsing error on 'vers=' option"),
        ("proto=foo", "mount.nfs: Failed to find 'foo' protocol"),
        (
            "vers=2",
            "mount.nfs: requested NFS version or transport protocol is not supported",
        ),
    ] {
        let e = Env::new();
        e.cmd("mount.nfs", "")
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .assert()
            .code(32)
            .stderr(format!("{msg}\n"));
        assert!(e.syscalls().is_empty(), "{opts}");
    }
}

/// Option values mount.nfs checks only on the NFSv3 path (`nfs_options2pmap`,
/// `nfs_mount_proto_family`): on every path the lines are nfs-utils 2.6.2's (taken
/// from /sbin/mount.nfs under the compliance shim), in its order, then exactly one
/// diagnosis line of ours naming the option. `errnos` scripts the kernel's answer
/// (a real kernel rejects `port=99999` or the unknown `nfsprog=` with EINVAL).
#[test]
fn option_values_get_nfs_utils_lines_on_every_path() {
    const INCORRECT: &str = "mount.nfs: an incorrect mount option was specified";
    const PROTO: &str = "mount.nfs: Protocol not supported";
    let cases: &[(&str, &str, &[&str], usize, &str)] = &[
        // NFSv3 path: the option's line, then EINVAL's.
        (
            "vers=3,nolock,port=99999",
            "",
            &["mount.nfs: invalid value for 'port=' option", INCORRECT],
            0,
            "port=99999",
        ),
        (
            "vers=3,nolock,port=-1",
            "",
            &["mount.nfs: invalid value for 'port=' option", INCORRECT],
            0,
            "port=-1",
        ),
        (
            "vers=3,nolock,mountport=x",
            "",
            &[
                "mount.nfs: invalid value for 'mountport=' option",
                INCORRECT,
            ],
            0,
            "mountport=x",
        ),
        (
            "vers=3,nolock,mountvers=9",
            "",
            &[
                "mount.nfs: invalid value for 'mountvers=' option",
                INCORRECT,
            ],
            0,
            "mountvers=9",
        ),
        (
            "vers=3,nolock,nfsprog=0",
            "",
            &["mount.nfs: invalid value for 'nfsprog=' option", INCORRECT],
            0,
            "nfsprog=0",
        ),
        (
            "vers=3,nolock,mountprog=0",
            "",
            &[
                "mount.nfs: invalid value for 'mountprog=' option",
                INCORRECT,
            ],
            0,
            "mountprog=0",
        ),
        (
            "nolock,mountvers=0",
            "",
            &[
                "mount.nfs: invalid value for 'mountvers=' option",
                INCORRECT,
            ],
            0,
            "mountvers=0",
        ),
        // nfs-utils checks in this order: nfsprog, port, mountprog, mountvers, mountport.
        (
            "vers=3,nolock,mountport=x,port=x",
            "",
            &["mount.nfs: invalid value for 'port=' option", INCORRECT],
            0,
            "port=x",
        ),
        // mountproto= is checked earlier, with the address family (EAFNOSUPPORT).
        (
            "vers=3,nolock,port=x,mountproto=sctp",
            "",
            &[
                "mount.nfs: Failed to find 'sctp' protocol",
                "mount.nfs: Address family not supported by protocol",
            ],
            0,
            "sctp",
        ),
        (
            "nolock,mountproto=sctp",
            "",
            &[
                "mount.nfs: Failed to find 'sctp' protocol",
                "mount.nfs: Address family not supported by protocol",
            ],
            0,
            "sctp",
        ),
        (
            "vers=3,nolock,mountaddr=bogus",
            "",
            &[INCORRECT],
            0,
            "mountaddr=bogus",
        ),
        (
            "bg,vers=3,nolock,port=99999",
            "",
            &["mount.nfs: invalid value for 'port=' option", INCORRECT],
            0,
            "port=99999",
        ),
        // Fallback: the v3 line, then the v4 errno (nfs-utils reports the v4 one).
        (
            "nolock,mountport=99999",
            "",
            &["mount.nfs: invalid value for 'mountport=' option", PROTO],
            0,
            "mountport=99999",
        ),
        (
            "nolock,port=99999",
            "EINVAL,EINVAL,EINVAL",
            &["mount.nfs: invalid value for 'port=' option", INCORRECT],
            3,
            "port=99999",
        ),
        (
            "nolock,nfsprog=0",
            "EINVAL,EINVAL,EINVAL",
            &["mount.nfs: invalid value for 'nfsprog=' option", INCORRECT],
            3,
            "nfsprog=0",
        ),
        // NFSv4 only: the kernel is the judge of port=/nfsprog=/mountprog=; the mount*
        // options make every v4 attempt EPROTONOSUPPORT whatever their value.
        (
            "vers=4.1,port=99999",
            "EINVAL",
            &[INCORRECT],
            1,
            "port=99999",
        ),
        (
            "vers=4.1,mountprog=x",
            "EINVAL",
            &[INCORRECT],
            1,
            "mountprog=x",
        ),
        (
            "vers=4,nfsprog=0",
            "EINVAL,EINVAL,EINVAL",
            &[INCORRECT],
            3,
            "nfsprog=0",
        ),
        ("vers=4.1,mountport=99999", "", &[PROTO], 0, "MOUNT"),
        ("vers=4,mountport=99999", "", &[PROTO], 0, "MOUNT"),
    ];
    for (opts, errnos, lines, calls, diag) in cases {
        let e = Env::new();
        let out = e
            .cmd("mount.nfs", errnos)
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let got: Vec<&str> = err.lines().collect();
        assert_eq!(out.status.code(), Some(32), "{opts}: {err}");
        assert_eq!(got.len(), lines.len() + 1, "{opts}: {err}");
        assert_eq!(&got[..lines.len()], *lines, "{opts}");
        assert!(
            got[lines.len()].contains(diag),
            "{opts}: diagnosis {:?}",
            got[lines.len()]
        );
        assert_eq!(e.syscalls().len(), *calls, "{opts}: {:?}", e.syscalls());
    }
}

/// The kernel gets port=/nfsprog= on the NFSv4 path as nfs-utils passes them
/// (with `sloppy` the kernel ignores an unknown nfsprog=, and the mount succeeds).
#[test]
fn nfsv4_passes_unchecked_option_values_to_the_kernel() {
    for opts in [
        "vers=4.1,port=99999",
        "sloppy,vers=4.1,nfsprog=0",
        "remount,port=99999",
    ] {
        let e = Env::new();
        e.cmd("mount.nfs", "")
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .assert()
            .code(0)
            .stderr("");
        assert_eq!(e.syscalls().len(), 1, "{opts}");
    }
}

/// Values from nfsmount.conf take the same paths as command-line ones.
#[test]
fn conf_supplied_option_values_get_the_same_lines() {
    let e = Env::new();
    e.write_conf("[ NFSMount_Global_Options ]\nmountport=99999\n");
    let out = e
        .cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "nolock"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let got: Vec<&str> = err.lines().collect();
    assert_eq!(out.status.code(), Some(32), "{err}");
    assert_eq!(
        &got[..2],
        [
            "mount.nfs: invalid value for 'mountport=' option",
            "mount.nfs: Protocol not supported"
        ],
        "{err}"
    );
    assert_eq!(got.len(), 3, "{err}");
    let e = Env::new();
    e.write_conf("[ NFSMount_Global_Options ]\nport=99999\n");
    let out = e
        .cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=3,nolock"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("mount.nfs: invalid value for 'port=' option\nmount.nfs: an incorrect mount option was specified\n"),
        "{err}"
    );
}

#[test]
fn spec_errors() {
    for (spec, msg) in [
        (
            "nocolon",
            "mount.nfs: remote share not in 'host:dir' format",
        ),
        (
            "[::1:/x",
            "mount.nfs: closing bracket missing from server address",
        ),
        ("nfs://srv/x", "mount.nfs: NFS URLs are not supported"),
    ] {
        let e = Env::new();
        e.cmd("mount.nfs", "")
            .args([spec, &e.mnt()])
            .assert()
            .code(32)
            .stderr(format!("{msg}\n"));
        assert!(e.syscalls().is_empty());
    }
}

#[test]
fn ipv6_spec_and_unresolvable_host() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["[::1]:/x", &e.mnt()])
        .assert()
        .code(0);
    assert_eq!(e.mount_data(), ["vers=4.2,addr=::1,clientaddr=::1"]);
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["[::1]:/x", &e.mnt(), "-o", "vers=4.1,tcp"])
        .assert()
        .code(32)
        .stderr(
            "mount.nfs: Failed to resolve server ::1: Address family for hostname not supported\n",
        );
}

#[test]
fn nomtab_and_fake() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["-n", "127.0.0.1:/x", &e.mnt()])
        .assert()
        .code(0);
    assert!(e.utab().is_empty());
    let e = Env::new();
    e.cmd("mount.nfs", "ENODEV")
        .args(["-f", "127.0.0.1:/x", &e.mnt(), "-o", "vers=4.1,_netdev"])
        .assert()
        .code(0);
    assert!(e.syscalls().is_empty(), "-f skips only the syscall");
    assert_eq!(e.utab().len(), 1);
    assert!(
        e.utab()[0].ends_with("ATTRS=vers=4.1,addr=127.0.0.1,clientaddr=127.0.0.1 OPTS=_netdev")
    );
}

#[test]
fn remount_passes_options_without_negotiation() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            "10.0.0.1:/x",
            &e.mnt(),
            "-o",
            "remount,ro,vers=3,rsize=4096,addr=10.0.0.1",
        ])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert!(
        l[0].contains(" flags=0x21 data=vers=3,rsize=4096 => 0"),
        "{l:?}"
    );
}

#[test]
fn clientaddr_not_local_warns() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "clientaddr=192.0.2.55"])
        .assert()
        .code(0)
        .stderr("mount.nfs: [warning] supplied clientaddr=192.0.2.55 does not match any existing network addresses\n");
    assert_eq!(
        e.mount_data(),
        ["clientaddr=192.0.2.55,vers=4.2,addr=127.0.0.1"]
    );
}

#[test]
fn nfsmount_conf_is_merged() {
    let e = Env::new();
    e.write_conf(
        "[ NFSMount_Global_Options ]\nrsize=32k\nsoft=True\n[ Server \"127.0.0.1\" ]\ntimeo=100\n",
    );
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "retry=0"])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["retry=0,timeo=100,soft,rsize=32768,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"]
    );
}

#[test]
fn messages_carry_the_invoked_name() {
    for n in NAMES {
        let e = Env::new();
        e.cmd(n, "")
            .arg("srv:/x")
            .assert()
            .code(32)
            .stderr(format!("{n}: no mount point provided\n"));
        e.cmd(n, "")
            .args(["nfs://srv/x", &e.mnt()])
            .assert()
            .code(32)
            .stderr(format!("{n}: NFS URLs are not supported\n"));
        e.cmd(n, "")
            .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.1,proto=bogus"])
            .assert()
            .code(32)
            .stderr(format!("{n}: Failed to find 'bogus' protocol\n"));
    }
}

#[test]
fn statd_missing_gives_the_two_line_hint() {
    // No statd on this host's loopback and a start-statd that fails: nfs-utils'
    // two lines, exit 32, no mount(2). (Takes ~10 s: the bounded statd wait.)
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .env("NFSMOUNT_START_STATD", "/bin/false")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=3"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(32)
        .stderr(
            "mount.nfs: rpc.statd is not running but is required for remote locking.\n\
             mount.nfs: Either use '-o nolock' to keep locks local, or start statd.\n",
        );
    assert!(e.syscalls().is_empty());
}

#[test]
fn hostname_with_comma_warns_and_uses_the_first() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1,127.0.0.2:/x", &e.mnt(), "-o", "vers=4.2"])
        .assert()
        .code(0)
        .stderr("mount.nfs: warning: multiple hostnames not supported\n");
    assert_eq!(
        e.mount_data(),
        ["vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"]
    );
}

#[test]
fn verbose_v4_trace() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-v", "-o", "vers=4.2"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            "^mount.nfs: timeout set for [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\nmount.nfs: trying text-based options 'vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1'\n$",
        )
        .unwrap());
}

#[test]
fn nfs_mount_conf_errors_are_clear() {
    let e = Env::new();
    e.write_conf("[ Server ]\nretrans=4\n");
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt()])
        .assert()
        .code(32)
        .stderr(predicate::str::contains("requires an argument"));
    assert!(e.syscalls().is_empty());
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.2,foo=\"a,b"])
        .assert()
        .code(32)
        .stderr("mount.nfs: unbalanced quotes in mount options\n");
}

#[test]
fn non_root_callers_are_refused_with_both_lines() {
    let e = Env::new();
    // Run as nobody through setpriv (tests run as root).
    let helper = e.path("mount.nfs");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&helper)
        .args(["127.0.0.1:/x", &e.mnt()])
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(32));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "mount.nfs: not installed setuid - \"user\" NFS mounts not supported.\n\
         mount.nfs: mounting needs root: run it as root (this helper does not do \"user\" mounts from fstab)\n"
    );
}

/// What mount(8) passes through that is not a kernel option, handled as nfs-utils
/// 2.6.2 with libmount 2.38.1 does (each row observed with /sbin/mount.nfs under the
/// compliance shim): `(extra options, mount(2) flags, what the kernel string gains,
/// utab OPTS=)`. Dropped: defaults, auto/noauto, nouser/users/nousers, owner/group
/// and their no- forms, nofail, comment=, X-*, offset=/sizelimit=/encryption=,
/// verity.*; kept in utab: user[=], _netdev, x-*, uhelper=, helper=, loop (first
/// occurrence of each known one); the flag-only ones written with a value reach the
/// kernel; propagation flags go into the same mount(2) call.
#[test]
fn userspace_options_are_dropped_or_kept_as_libmount_does() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("defaults", "0x0", "", ""),
        ("defaults=1", "0x0", "", ""),
        ("auto", "0x0", "", ""),
        ("noauto", "0x0", "", ""),
        ("nofail", "0x0", "", ""),
        ("_netdev", "0x0", "", "_netdev"),
        ("_netdev,_netdev", "0x0", "", "_netdev"),
        ("user", "0xe", "", "user"),
        ("user=", "0xe", "", "user="),
        ("user=bob", "0x0", "", "user=bob"),
        ("user,nouser", "0xe", "", ""),
        ("nouser,user", "0xe", "", "user"),
        ("user=bob,user", "0xe", "", "user=bob"),
        ("user,user=bob", "0xe", "", "user"),
        ("user,nouser,user=bob", "0xe", "", "user"),
        ("user,exec", "0x6", "", "user"),
        ("exec,user", "0xe", "", "user"),
        ("users", "0xe", "", ""),
        ("users,suid", "0xc", "", ""),
        ("owner", "0x6", "", ""),
        ("owner,dev", "0x2", "", ""),
        ("group", "0x6", "", ""),
        ("nouser", "0x0", "", ""),
        ("nousers", "0x0", "", ""),
        ("noowner", "0x0", "", ""),
        ("nogroup", "0x0", "", ""),
        ("comment=abc", "0x0", "", ""),
        ("comment", "0x0", "", ""),
        ("x-systemd.automount", "0x0", "", "x-systemd.automount"),
        ("x-a,x-a", "0x0", "", "x-a,x-a"),
        ("x-foo=1", "0x0", "", "x-foo=1"),
        ("X-mount.mkdir", "0x0", "", ""),
        ("uhelper=foo", "0x0", "", "uhelper=foo"),
        ("helper=x,helper=y", "0x0", "", "helper=x"),
        ("loop", "0x0", "", "loop"),
        ("loop=c,loop=d", "0x0", "", "loop=c"),
        ("offset=5", "0x0", "", ""),
        ("sizelimit=9", "0x0", "", ""),
        ("encryption=x", "0x0", "", ""),
        ("verity.roothash=1", "0x0", "", ""),
        ("verity.x=1", "0x0", "verity.x=1,", ""),
        (
            "_netdev,user=a,_netdev,x-b,nouser,user",
            "0xe",
            "",
            "_netdev,user=a,x-b",
        ),
        // Flag-only userspace options with a value are file-system options.
        ("nofail=1", "0x0", "nofail=1,", ""),
        ("_netdev=1", "0x0", "_netdev=1,", ""),
        ("auto=x", "0x0", "auto=x,", ""),
        ("noauto=1", "0x0", "noauto=1,", ""),
        ("owner=x", "0x0", "owner=x,", ""),
        ("users=x", "0x0", "users=x,", ""),
        ("private=1", "0x0", "private=1,", ""),
        // Propagation flags.
        ("private", "0x40000", "", ""),
        ("rprivate", "0x44000", "", ""),
        ("shared", "0x100000", "", ""),
        ("rshared", "0x104000", "", ""),
        ("slave", "0x80000", "", ""),
        ("rslave", "0x84000", "", ""),
        ("unbindable", "0x20000", "", ""),
        ("runbindable", "0x24000", "", ""),
        ("private,shared", "0x140000", "", ""),
    ];
    for (extra, flags, data, opts) in cases {
        let e = Env::new();
        e.cmd("mount.nfs", "")
            .args(["127.0.0.1:/x", &e.mnt(), "-o", &format!("vers=4.2,{extra}")])
            .assert()
            .code(0)
            .stderr("");
        let mnt = e.mnt();
        assert_eq!(
            e.syscalls(),
            [format!(
                "mount source=127.0.0.1:/x target={mnt} type=nfs flags={flags} data=vers=4.2,{data}addr=127.0.0.1,clientaddr=127.0.0.1 => 0"
            )],
            "{extra}"
        );
        let tail = if opts.is_empty() {
            String::new()
        } else {
            format!(" OPTS={opts}")
        };
        assert_eq!(
            e.utab(),
            [format!(
                "SRC=127.0.0.1:/x TARGET={mnt} ROOT=/ ATTRS=vers=4.2,{data}addr=127.0.0.1,clientaddr=127.0.0.1{tail}"
            )],
            "{extra}"
        );
    }
}

/// EPERM from mount(2) as root is the server's or the kernel's refusal, not a
/// missing privilege (non-root callers are refused before mount(2)): nfs-utils'
/// line, then a hint that fits the case.
#[test]
fn eperm_as_root_gets_a_hint_per_case() {
    for (opts, want) in [
        ("vers=4.1", "WRONGSEC"),
        ("vers=4.1", "client id"),
        ("nolock,vers=4", "WRONGSEC"),
        ("vers=4.1,xprtsec=tls", "tlshd"),
        ("vers=4.2,xprtsec=mtls", "TLS handshake"),
        ("vers=4.1,sec=krb5p", "rpc.gssd"),
        (
            "vers=3,nolock,proto=tcp,port=2049,mountport=9,mountproto=udp",
            "export's options",
        ),
    ] {
        let e = Env::new();
        let out = e
            .cmd("mount.nfs", "EPERM,EPERM,EPERM")
            .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(out.status.code(), Some(32), "{opts}: {err}");
        assert_eq!(lines.len(), 2, "{opts}: {err}");
        assert_eq!(lines[0], "mount.nfs: Operation not permitted", "{opts}");
        assert!(lines[1].contains(want), "{opts}: {err}");
        assert!(!lines[1].contains("needs root"), "{opts}: {err}");
    }
}

/// nfs-utils 2.6.2 hands a bind mount to mount(2) with type "none" and libmount
/// records it without ROOT= (observed through the compliance shim).
#[test]
fn bind_mount_type_none_and_utab_without_root() {
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.2,rbind,private"])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert!(l[0].contains(" type=none flags=0x45000 "), "{l:?}");
    let u = e.utab();
    assert_eq!(u.len(), 1, "{u:?}");
    assert!(!u[0].contains("ROOT="), "{u:?}");
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", &e.mnt(), "-o", "vers=4.2"])
        .assert()
        .code(0);
    assert!(e.syscalls()[0].contains(" type=nfs flags=0x0 "));
    assert!(e.utab()[0].contains(" ROOT=/ "));
}

/// An empty mount point: nfs-utils cannot canonicalise it and reports EFAULT.
#[test]
fn empty_mount_point_is_efault() {
    let e = Env::new();
    let out = e
        .cmd("mount.nfs", "")
        .args(["127.0.0.1:/x", "", "-o", "vers=4.2"])
        .assert()
        .code(32)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.starts_with(
            "mount.nfs: encountered unexpected error condition.\n\
             mount.nfs: please report the error tolinux-nfs@vger.kernel.org\n"
        ),
        "{err}"
    );
    assert!(e.syscalls().is_empty());
}

/// NFS over TLS: nfs-utils passes `xprtsec=` to the kernel unchecked, and so do we
/// (same first line and exit code); the second line says what the kernel refused:
/// a value other than none/tls/mtls, TLS over a non-TCP transport.
#[test]
fn xprtsec_refusals_are_explained() {
    for (opts, want) in [
        (
            "vers=4.2,xprtsec=ssl",
            "xprtsec=ssl is not valid: xprtsec= takes none, tls or mtls",
        ),
        ("vers=4.2,proto=rdma,xprtsec=tls", "only over TCP"),
    ] {
        let e = Env::new();
        let out = e
            .cmd("mount.nfs", "EINVAL,EINVAL,EINVAL")
            .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
            .args(["127.0.0.1:/x", &e.mnt(), "-o", opts])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(out.status.code(), Some(32), "{opts}: {err}");
        assert_eq!(
            lines[0], "mount.nfs: an incorrect mount option was specified",
            "{opts}: {err}"
        );
        assert!(lines.last().unwrap().contains(want), "{opts}: {err}");
        // handed to the kernel as given
        assert!(
            e.syscalls()[0].contains(opts.rsplit(',').next().unwrap()),
            "{opts}"
        );
    }
}
