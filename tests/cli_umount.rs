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
// Loopback only: the UMNT of a v3 entry really goes out (to a closed port here).
const NFS3: &str = "100 22 0:51 / /mnt/v3 rw,relatime - nfs 127.0.0.1:/y rw,vers=3,proto=tcp,mountaddr=127.0.0.1,mountvers=3,mountport=9,mountproto=udp,addr=127.0.0.1";
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
        .args(["-v", "127.0.0.1:/y"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "127.0.0.1:/y: nfs mount point detected\n",
        ))
        .stdout(predicate::str::ends_with("127.0.0.1:/y: umounted\n"));
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

/// A one-shot mountd on 127.0.0.1/UDP: answers every call with an empty success
/// and reports the export path of each UMNT (proc 3) it saw. Bounded: stops after
/// `secs` seconds or the first UMNT.
fn fake_mountd(secs: u64) -> (u16, std::sync::mpsc::Receiver<String>) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let mut buf = [0u8; 2048];
        while std::time::Instant::now() < until {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let b = &buf[..n];
            let word = |i: usize| -> Option<u32> {
                b.get(i..i + 4)
                    .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
            };
            let pad = |l: u32| (l as usize).div_ceil(4) * 4;
            let Some(proc_) = word(20) else { continue };
            let mut reply = b[..4].to_vec();
            reply.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            let _ = sock.send_to(&reply, from);
            if proc_ == 3 {
                // cred (flavor, len, body), verf (flavor, len, body), then the path.
                let Some(cl) = word(28) else { continue };
                let v = 32 + pad(cl);
                let Some(vl) = word(v + 4) else { continue };
                let a = v + 8 + pad(vl);
                let Some(pl) = word(a) else { continue };
                let path = b
                    .get(a + 4..a + 4 + pl as usize)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                let _ = tx.send(path);
                return;
            }
        }
    });
    (port, rx)
}

/// The mount point may arrive as `/mnt/x/`, `/mnt//x`, `/mnt/./x`, `/mnt/a/../x`
/// or through a symlink: every form finds the mount in mountinfo (and utab) under
/// its canonical path, umount2(2) gets that path, the utab entry goes, and the
/// UMNT for the export is sent. (nfs-utils finds only the slash forms; see
/// docs/differences.md.) A relative path stays a usage error, as in nfs-utils.
#[test]
fn every_path_form_of_the_mount_point() {
    let probe = Env::new();
    let base = std::path::Path::new(&probe.mnt())
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    drop(probe);
    let root = nix::unistd::geteuid().is_root();
    for form in [
        "{b}/mnt",
        "{b}/mnt/",
        "{b}//mnt",
        "{b}/./mnt",
        "{b}/sub/../mnt",
        "{b}/link",
        "{b}/link/",
        "{b}/rel",
        "{b}//sub/../link/.",
    ] {
        let e = Env::new();
        let mnt = e.mnt();
        let b = std::path::Path::new(&mnt)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        std::fs::create_dir(e.path("sub")).unwrap();
        std::os::unix::fs::symlink(&mnt, e.path("link")).unwrap();
        std::os::unix::fs::symlink("sub/../mnt", e.path("rel")).unwrap();
        let (port, umnt) = fake_mountd(8);
        let line = format!(
            "100 22 0:51 / {mnt} rw,relatime - nfs 127.0.0.1:/export rw,vers=3,proto=tcp,mountaddr=127.0.0.1,mountvers=3,mountport={port},mountproto=udp,addr=127.0.0.1"
        );
        let mi = mountinfo(&e, &[PROC, &line]);
        std::fs::write(
            e.path("utab"),
            format!("SRC=127.0.0.1:/export TARGET={mnt} ROOT=/ ATTRS=vers=3,mountport={port},mountproto=udp,mountvers=3,addr=127.0.0.1\n"),
        )
        .unwrap();
        let arg = form.replace("{b}", &b);
        e.cmd("umount.nfs", "")
            .env("NFSMOUNT_MOUNTINFO", &mi)
            .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
            .arg(&arg)
            .assert()
            .code(0)
            .stderr("");
        assert_eq!(
            e.syscalls(),
            [format!("umount2 target={mnt} flags=0x0 => 0")],
            "{arg}"
        );
        assert!(e.utab().is_empty(), "{arg}: utab {:?}", e.utab());
        if root {
            // UMNT comes from a reserved port, which needs root.
            let got = umnt.recv_timeout(std::time::Duration::from_secs(8));
            assert_eq!(got.as_deref(), Ok("/export"), "{arg}: UMNT");
        }
    }
    let _ = base;
}

/// A path that is not mounted (missing, or a symlink to an unmounted directory)
/// goes to umount2(2) as given, as nfs-utils does; the kernel's errno decides.
#[test]
fn unmounted_and_missing_paths_go_to_the_kernel_as_given() {
    let e = Env::new();
    let mi = mountinfo(&e, &[PROC]);
    let missing = format!("{}/nonexistent", e.mnt());
    e.cmd("umount.nfs", "ENOENT")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .arg(&missing)
        .assert()
        .code(16)
        .stderr(format!("umount.nfs: {missing}: not found\n"));
    assert_eq!(
        e.syscalls(),
        [format!("umount2 target={missing} flags=0x0 => ENOENT")]
    );
    let e = Env::new();
    let mi = mountinfo(&e, &[PROC]);
    std::os::unix::fs::symlink(e.mnt(), e.path("link")).unwrap();
    let link = e.path("link").to_string_lossy().into_owned();
    e.cmd("umount.nfs", "EINVAL")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .arg(&link)
        .assert()
        .code(16)
        .stderr(format!("umount.nfs: {link}: not mounted\n"));
}

/// `umount.nfs server:/path` finds the mount by its source, unmounts its target
/// and names the spec in messages (libmount's lookup by source).
#[test]
fn spec_argument_finds_the_mount_by_source() {
    let e = Env::new();
    let mnt = e.mnt();
    let (port, umnt) = fake_mountd(8);
    let line = format!(
        "100 22 0:51 / {mnt} rw,relatime - nfs 127.0.0.1:/export rw,vers=3,mountaddr=127.0.0.1,mountvers=3,mountport={port},mountproto=udp,addr=127.0.0.1"
    );
    let mi = mountinfo(&e, &[PROC, &line]);
    e.cmd("umount.nfs", "EBUSY")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
        .arg("127.0.0.1:/export")
        .assert()
        .code(16)
        .stderr("umount.nfs: 127.0.0.1:/export: device is busy\n");
    assert_eq!(
        e.syscalls(),
        [format!("umount2 target={mnt} flags=0x0 => EBUSY")]
    );
    if nix::unistd::geteuid().is_root() {
        let got = umnt.recv_timeout(std::time::Duration::from_secs(8));
        assert_eq!(got.as_deref(), Ok("/export"));
    }
}

/// A resolved form of a mount point that is not NFS is refused like the plain path
/// (exit 1, nothing unmounted); nfs-utils would not find it and umount(2) it.
#[test]
fn resolved_forms_of_a_non_nfs_mount_are_refused() {
    let e = Env::new();
    let mnt = e.mnt();
    let line = format!("101 22 0:52 / {mnt} rw,relatime - tmpfs tmpfs rw");
    let mi = mountinfo(&e, &[PROC, &line]);
    std::os::unix::fs::symlink(&mnt, e.path("link")).unwrap();
    for arg in [
        format!("{mnt}/."),
        e.path("link").to_string_lossy().into_owned(),
    ] {
        e.cmd("umount.nfs", "")
            .env("NFSMOUNT_MOUNTINFO", &mi)
            .arg(&arg)
            .assert()
            .code(1)
            .stderr(format!("umount.nfs: {arg}: is not an NFS filesystem\n"));
        assert!(e.syscalls().is_empty(), "{arg}");
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
