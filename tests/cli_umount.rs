//! umount.nfs / umount.nfs4: usage, lookup in mountinfo, refusal of non-NFS file
//! systems, umount2 flags, -r, utab cleanup, exit codes (through the syscall seam).

mod helper;

use helper::Env;
use predicates::prelude::*;

fn mountinfo(e: &Env, lines: &[&str]) -> std::path::PathBuf {
    let p = e.path("mountinfo");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

const NFS4: &str = "99 22 0:50 / /mnt/v4 rw,relatime - nfs4 10.0.0.1:/x rw,vers=4.2,addr=10.0.0.1,clientaddr=10.0.0.2";
const NFS3: &str = "100 22 0:51 / /mnt/v3 rw,relatime - nfs 10.0.0.1:/y rw,vers=3,proto=tcp,mountaddr=10.0.0.1,mountvers=3,mountport=20048,mountproto=udp,addr=10.0.0.1";
const PROC: &str = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw";

#[test]
fn usage_errors_exit_1() {
    let e = Env::new();
    for n in ["umount.nfs", "umount.nfs4"] {
        e.cmd(n, "")
            .assert()
            .code(1)
            .stderr(format!("{n}: no mount point provided\n"))
            .stdout(predicate::str::starts_with(format!(
                "usage: {n} dir [-fvnrlh]\n"
            )));
        e.cmd(n, "")
            .arg("relative")
            .assert()
            .code(1)
            .stderr(format!("{n}: no mount point provided\n"));
        e.cmd(n, "")
            .arg("-h")
            .assert()
            .code(1)
            .stdout(predicate::str::contains("\t-l\tlazy unmount\n"));
        e.cmd(n, "")
            .args(["-t", "nfs", "/m"])
            .assert()
            .code(1)
            .stderr(predicate::str::ends_with("invalid option -- 't'\n"));
    }
}

#[test]
fn non_nfs_is_refused() {
    let e = Env::new();
    let mi = mountinfo(&e, &[PROC]);
    e.cmd("umount.nfs", "")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .arg("/proc")
        .assert()
        .code(1)
        .stderr("umount.nfs: /proc: is not an NFS filesystem\n");
    assert!(e.syscalls().is_empty());
}

#[test]
fn not_mounted_exits_16() {
    let e = Env::new();
    let mi = mountinfo(&e, &[PROC]);
    e.cmd("umount.nfs", "EINVAL")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .arg("/mnt/nothing")
        .assert()
        .code(16)
        .stderr("umount.nfs: /mnt/nothing: not mounted\n");
}

#[test]
fn flags_map_to_umount2() {
    for (args, flags) in [
        (vec![], "0x0"),
        (vec!["-f"], "0x1"),
        (vec!["-l"], "0x2"),
        (vec!["-f", "-l"], "0x3"),
    ] {
        let e = Env::new();
        let mi = mountinfo(&e, &[PROC, NFS4]);
        e.cmd("umount.nfs4", "")
            .env("NFSMOUNT_MOUNTINFO", &mi)
            .args(&args)
            .arg("/mnt/v4")
            .assert()
            .code(0);
        assert_eq!(
            e.syscalls(),
            [format!("umount2 target=/mnt/v4 flags={flags} => 0")]
        );
    }
}

#[test]
fn lookup_by_source_and_verbose_output() {
    let e = Env::new();
    let mi = mountinfo(&e, &[PROC, NFS3]);
    e.cmd("umount.nfs", "")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-v", "10.0.0.1:/y"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "10.0.0.1:/y: nfs mount point detected\n",
        ))
        .stdout(predicate::str::ends_with("10.0.0.1:/y: umounted\n"));
    assert_eq!(e.syscalls(), ["umount2 target=/mnt/v3 flags=0x0 => 0"]);
}

#[test]
fn busy_with_r_remounts_read_only() {
    let e = Env::new();
    let mi = mountinfo(&e, &[NFS4]);
    e.cmd("umount.nfs", "EBUSY,0")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-r", "/mnt/v4"])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert_eq!(l[0], "umount2 target=/mnt/v4 flags=0x0 => EBUSY");
    assert!(
        l[1].starts_with(
            "mount source=10.0.0.1:/x target=/mnt/v4 type=(null) flags=0x21 data=(null) "
        ),
        "{l:?}"
    );
    let e = Env::new();
    let mi = mountinfo(&e, &[NFS4]);
    e.cmd("umount.nfs", "EBUSY")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .arg("/mnt/v4")
        .assert()
        .code(16)
        .stderr("umount.nfs: /mnt/v4: device is busy\n");
}

#[test]
fn utab_entry_is_removed_unless_n() {
    for (nflag, left) in [(false, 0usize), (true, 1)] {
        let e = Env::new();
        let mi = mountinfo(&e, &[NFS4]);
        std::fs::write(
            e.path("utab"),
            "SRC=10.0.0.1:/x TARGET=/mnt/v4 ROOT=/ ATTRS=vers=4.2,addr=10.0.0.1\n",
        )
        .unwrap();
        let mut c = e.cmd("umount.nfs4", "");
        c.env("NFSMOUNT_MOUNTINFO", &mi);
        if nflag {
            c.arg("-n");
        }
        c.arg("/mnt/v4").assert().code(0);
        assert_eq!(e.utab().len(), left);
    }
}

/// With -v, our UMNT report (differences.md #28) comes after nfs-utils' own lines, so
/// those stay first and exact. (UMNT to 127.0.0.1 port 9, where nothing listens.)
#[test]
fn verbose_umnt_report_comes_after_the_error_line() {
    let e = Env::new();
    let mi = mountinfo(
        &e,
        &["100 22 0:51 / /mnt/v3 rw,relatime - nfs 127.0.0.1:/y rw,vers=3,proto=tcp,mountaddr=127.0.0.1,mountvers=3,mountport=9,mountproto=udp,addr=127.0.0.1"],
    );
    let out = e
        .cmd("umount.nfs", "EBUSY")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-v", "/mnt/v3"])
        .assert()
        .code(16)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let l: Vec<&str> = err.lines().collect();
    assert_eq!(l.len(), 2, "{err}");
    assert_eq!(l[0], "umount.nfs: /mnt/v3: device is busy", "{err}");
    assert!(l[1].contains("UMNT of 127.0.0.1:/y"), "{err}");
}
