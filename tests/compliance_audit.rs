//! Differential audit: more cases run against nfs-utils' mount.nfs (Debian 2.6.2)
//! and ours through the LD_PRELOAD shim of tests/compliance (same harness as
//! tests/compliance.rs), plus two private-mount-namespace setups nfs-utils needs to
//! be observable at all:
//!
//! * an nfsmount.conf: nfs-utils reads only `/etc/nfsmount.conf`, so the case runs
//!   under `unshare -m` with an overlay on `/etc` holding the test file (the real
//!   `/etc` is never written);
//! * a mount table: nfs-utils' umount reads `/proc/self/mountinfo` and `/proc/mounts`,
//!   so the case runs under `unshare -m` with a tmpfs on `/proc` holding both files
//!   (ours reads the same files there).
//!
//! Compared as in tests/compliance.rs: mount(2)/umount2(2) arguments, exit status,
//! stdout, stderr (nfs-utils' lines first and exact, at most one extra line of
//! ours) and the utab entries. Needs root, /sbin/mount.nfs, cc, unshare and
//! overlayfs:
//! `cargo test --test compliance_audit -- --ignored` (v3 cases: inside the test bed,
//! see docs/testing.md).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "compliance/shim.rs"]
mod shim;
use shim::{normalize_utab, Observed};

struct Bed {
    dir: tempfile::TempDir,
    shim: PathBuf,
}

/// What the private mount namespace holds for one case.
#[derive(Default, Clone, Copy)]
struct Setup<'a> {
    /// Contents of /etc/nfsmount.conf.
    conf: Option<&'a str>,
    /// Contents of /proc/self/mountinfo (and, derived, /proc/mounts).
    mountinfo: Option<&'a str>,
}

const PLAIN: Setup<'static> = Setup {
    conf: None,
    mountinfo: None,
};

impl Bed {
    fn new() -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let shim = shim::prepare(dir.path());
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        std::fs::create_dir(dir.path().join("other")).unwrap();
        std::fs::write(dir.path().join("afile"), "").unwrap();
        Bed { dir, shim }
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .canonicalize()
            .unwrap()
            .join(name)
            .to_string_lossy()
            .into_owned()
    }

    fn mnt(&self) -> String {
        self.path("mnt")
    }

    fn run(&self, who: &str, name: &str, args: &[&str], errnos: &str, s: Setup) -> Observed {
        let log = self.dir.path().join(format!("{who}.log"));
        let utab = self.dir.path().join(format!("{who}.utab"));
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&utab);
        let helper = self.dir.path().join(who).join(name);
        let mut cmd = if s.conf.is_none() && s.mountinfo.is_none() {
            Command::new(&helper)
        } else {
            let mut script = String::from("mount --make-rprivate / || exit 90\n");
            if let Some(conf) = s.conf {
                let ov = self.dir.path().join(format!("ov-{who}"));
                let _ = std::fs::remove_dir_all(&ov);
                std::fs::create_dir_all(ov.join("up")).unwrap();
                std::fs::create_dir_all(ov.join("work")).unwrap();
                std::fs::write(ov.join("up/nfsmount.conf"), conf).unwrap();
                script.push_str(&format!(
                    "mount -t overlay overlay -o lowerdir=/etc,upperdir={0}/up,workdir={0}/work /etc || exit 91\n",
                    ov.display()
                ));
            }
            if let Some(mi) = s.mountinfo {
                let mif = self.dir.path().join("mountinfo");
                std::fs::write(&mif, mi).unwrap();
                std::fs::write(self.dir.path().join("mounts"), proc_mounts(mi)).unwrap();
                script.push_str(&format!(
                    "mount -t tmpfs none /proc || exit 92\nmkdir -p /proc/self\n\
                     cp {0}/mountinfo /proc/self/mountinfo\ncp {0}/mounts /proc/mounts\n\
                     cp {0}/mounts /proc/self/mounts\n",
                    self.dir.path().display()
                ));
            }
            // The setup itself must not run under the shim (it would fake its mounts).
            script.push_str("exec env LD_PRELOAD=\"$AUDIT_SHIM\" \"$0\" \"$@\"\n");
            let mut c = Command::new("unshare");
            c.args(["-m", "sh", "-c", &script]).arg(&helper);
            c
        };
        let direct = s.conf.is_none() && s.mountinfo.is_none();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        if direct {
            cmd.env("LD_PRELOAD", &self.shim);
        } else {
            cmd.env("AUDIT_SHIM", &self.shim);
        }
        let out = cmd
            .env("SHIM_LOG", &log)
            .env("SHIM_ERRNOS", errnos)
            .env("LIBMOUNT_UTAB", &utab)
            .env("NFSMOUNT_UTAB", &utab)
            .env("NFSMOUNT_PROXY_SOCKET", self.dir.path().join("no-proxy"))
            .output()
            .expect("run helper");
        let read = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p)
                .map(|t| t.lines().map(String::from).collect())
                .unwrap_or_default()
        };
        let code = out.status.code().unwrap_or(-1);
        assert!(
            !(90..=92).contains(&code),
            "namespace setup failed ({code}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Observed {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(String::from)
                .collect(),
            calls: read(&log),
            utab: read(&utab).iter().map(|l| normalize_utab(l)).collect(),
        }
    }

    /// Run both and compare; returns nfs-utils' observation.
    fn check_in(&self, name: &str, args: &[&str], errnos: &str, s: Setup) -> Observed {
        // Without a private namespace to set up, the two runs share nothing (own
        // logs and utab): run them at once, which halves the cases that sleep in
        // retry loops.
        let (theirs, ours) = if s.conf.is_none() && s.mountinfo.is_none() {
            std::thread::scope(|sc| {
                let t = sc.spawn(|| self.run("theirs", name, args, errnos, s));
                let o = self.run("ours", name, args, errnos, s);
                (t.join().unwrap(), o)
            })
        } else {
            (
                self.run("theirs", name, args, errnos, s),
                self.run("ours", name, args, errnos, s),
            )
        };
        let ctx = format!("{name} {args:?} errnos={errnos} conf={:?}", s.conf);
        shim::assert_same(&theirs, &ours, &ctx);
        theirs
    }

    fn check(&self, name: &str, args: &[&str], errnos: &str) -> Observed {
        self.check_in(name, args, errnos, PLAIN)
    }
}

/// /proc/mounts lines for a mountinfo text.
fn proc_mounts(mountinfo: &str) -> String {
    let mut out = String::new();
    for l in mountinfo.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < dash + 4 || f.len() < 6 {
            continue;
        }
        out.push_str(&format!(
            "{} {} {} {},{} 0 0\n",
            f[dash + 2],
            f[4],
            f[dash + 1],
            f[5],
            f[dash + 3]
        ));
    }
    out
}

const IGN: &str = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc";

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn v4_option_lists() {
    let _ = IGN;
    let b = Bed::new();
    let m = b.mnt();
    let long = format!("vers=4,{}", "soft,".repeat(2000));
    let huge = format!("vers=4,rsize={}", "9".repeat(100));
    let opts: Vec<&str> = vec![
        // versions: rightmost wins, aliases, minorversion
        "vers=4.2,vers=4.1",
        "vers=4.1,nfsvers=4.2",
        "v4.1,vers=4.2",
        "vers=4.2,v4.1",
        "vers=4,minorversion=2",
        "minorversion=1,vers=4",
        "minorversion=1",
        "vers=4.1,minorversion=2",
        "v4,minorversion=1",
        "v4.0",
        "v4.3",
        "vers=4.3",
        "vers=40",
        "vers=4.",
        "vers=",
        "vers=abc",
        "minorversion=abc",
        "minorversion=",
        "vers=4.1,v3,vers=4.2",
        "v3,vers=4",
        "vers=3,vers=4",
        "vers=4,nfsvers=3",
        "VERS=4",
        "vers=\"4.1\"",
        // transports
        "udp,vers=4",
        "proto=udp,vers=4",
        "proto=tcp6,vers=4",
        "proto=rdma,vers=4",
        "proto=tcp,proto=udp,vers=4",
        "vers=4,port=2049",
        "vers=4,port=0",
        // sec, timers, retry, bg/fg, sloppy
        "vers=4,sec=krb5:krb5i:sys",
        "vers=4,sec=bogus",
        "vers=4,sec=",
        "vers=4,sec=sys,sec=krb5",
        "vers=4,timeo=0",
        "vers=4,timeo=abc",
        "vers=4,retrans=abc",
        "vers=4,retry=abc",
        "vers=4,retry=-1",
        "vers=4,retry=",
        "vers=4,retry=10000000000",
        "vers=4,bg",
        "vers=4,bg,fg",
        "vers=4,sloppy,foo=bar",
        "vers=4,foo=bar",
        "vers=4,foo",
        "vers=4,Soft",
        // empty and quoted items
        ",,vers=4,,",
        ",",
        "vers=4,\"sec=sys\"",
        "vers=4,'sec=sys'",
        "vers=4,\"a,b\"",
        "vers=4,x=\"a b\"",
        "vers=4,=foo",
        "vers=4,=",
        "vers=4,a=b=c",
        "vers=4 ,soft",
        // VFS flags and userspace options
        "vers=4,ro,rw",
        "vers=4,rw,ro",
        "vers=4,defaults",
        "vers=4,auto,noauto",
        "vers=4,exec,suid,dev",
        "vers=4,noexec,nosuid,nodev",
        "vers=4,sync,async",
        "vers=4,dirsync,mand",
        "vers=4,relatime,norelatime,strictatime,lazytime,iversion",
        "vers=4,silent,loud",
        "vers=4,move",
        "vers=4,nosymfollow",
        "vers=4,comment=foo,x-foo=bar",
        // addresses
        "vers=4,addr=1.2.3.4",
        "vers=4,addr=::1",
        "vers=4,clientaddr=1.2.3.4",
        "vers=4,clientaddr=bogus",
        "vers=4,clientaddr=0.0.0.0,clientaddr=1.1.1.1",
        &long,
        &huge,
    ];
    for o in opts {
        b.check("mount.nfs", &["127.0.0.1:/x", &m, "-o", o], "");
    }
    for o in ["tcp", "udp", "proto=tcp", "proto=udp6", "proto=tcp6,tcp"] {
        b.check(
            "mount.nfs",
            &["[::1]:/x", &m, "-o", &format!("vers=4,{o}")],
            "",
        );
    }
    b.check(
        "mount.nfs",
        &["[::1]:/x", &m, "-o", "vers=4,clientaddr=127.0.0.1"],
        "",
    );
}

/// Propagation flags go into the same mount(2) call; a bind mount is handed to the
/// kernel with type "none" and recorded without ROOT=.
#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn v4_propagation_and_bind_flags() {
    let b = Bed::new();
    let m = b.mnt();
    for o in [
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
        "private,shared",
        "shared,ro",
        "bind",
        "rbind",
        "rbind,private",
        "remount,bind",
    ] {
        b.check(
            "mount.nfs",
            &["127.0.0.1:/x", &m, "-o", &format!("vers=4,{o}")],
            "",
        );
        b.check(
            "mount.nfs",
            &["127.0.0.1:/x", &m, "-o", &format!("vers=4,{o}")],
            "EINVAL",
        );
    }
    b.check("mount.nfs4", &["127.0.0.1:/x", &m, "-o", "bind"], "");
}

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn v4_errnos_with_retries() {
    let b = Bed::new();
    let m = b.mnt();
    // Permanent errors, every minor version, both personalities.
    for e in [
        "EPROTONOSUPPORT",
        "EINVAL",
        "ENOENT",
        "EPERM",
        "EACCES",
        "ENODEV",
        "EIO",
        "EPROTO",
        "ENOTDIR",
        "EFAULT",
        "ESTALE",
        "EOPNOTSUPP",
    ] {
        let four = format!("{e},{e},{e},{e}");
        for o in ["vers=4", "vers=4.1", "vers=4.0"] {
            b.check("mount.nfs", &["127.0.0.1:/x", &m, "-o", o], &four);
        }
        b.check("mount.nfs4", &["127.0.0.1:/x", &m], &four);
        b.check("mount.nfs4", &["127.0.0.1:/x", &m], e);
    }
    // Temporary errors (and ESTALE, tried three times): retried, then success
    // (default retry window), and a single failure of each.
    for e in ["ETIMEDOUT", "ECONNREFUSED", "EHOSTUNREACH", "ESTALE"] {
        b.check("mount.nfs4", &["127.0.0.1:/x", &m], e);
        b.check("mount.nfs4", &["127.0.0.1:/x", &m], &format!("{e},0"));
        b.check(
            "mount.nfs",
            &["127.0.0.1:/x", &m, "-o", "vers=4"],
            &format!("{e},{e},{e},0"),
        );
    }
}

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn command_line_forms() {
    let b = Bed::new();
    let m = b.mnt();
    let file = b.path("afile");
    let lnk = b.path("lnk");
    let dangling = b.path("dangling");
    std::os::unix::fs::symlink(&m, &lnk).unwrap();
    std::os::unix::fs::symlink(b.path("nowhere"), &dangling).unwrap();
    let slash = format!("{m}/");
    let v4 = ["-o", "vers=4"];
    let cases: Vec<Vec<&str>> = vec![
        vec!["-h"],
        vec!["127.0.0.1:/x", &m, "-h"],
        vec!["127.0.0.1:/x"],
        vec!["127.0.0.1:/x", &m, "-v", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-vv", "-o", "vers=4.1"],
        vec!["127.0.0.1:/x", &m, "-f", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-fv", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-n", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-s", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-r", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "-w", "-o", "vers=4,ro"],
        vec!["127.0.0.1:/x", &m, "-r", "-o", "vers=4,rw"],
        vec!["127.0.0.1:/x", &m, "-o", "vers=4", "-o", "soft"],
        vec!["127.0.0.1:/x", &m, "-o", ""],
        vec!["127.0.0.1:/x", &m, "-overs=4"],
        vec!["127.0.0.1:/x", &m, "--options", "vers=4"],
        vec!["--", "127.0.0.1:/x", &m, v4[0], v4[1]],
        vec!["127.0.0.1:/x", &m, "extra", v4[0], v4[1]],
        vec![
            "127.0.0.1:/x",
            &m,
            "-s",
            "-s",
            "-n",
            "-n",
            "-f",
            v4[0],
            v4[1],
        ],
        vec!["127.0.0.1:/x", "mnt", v4[0], v4[1]],
        vec!["127.0.0.1:/x", "./mnt", v4[0], v4[1]],
        vec!["127.0.0.1:/x", &file, v4[0], v4[1]],
        vec!["127.0.0.1:/x", &lnk, v4[0], v4[1]],
        vec!["127.0.0.1:/x", &dangling, v4[0], v4[1]],
        vec!["127.0.0.1:/x", &slash, v4[0], v4[1]],
        vec!["127.0.0.1:/x", "/", v4[0], v4[1]],
        vec!["", &m],
        // an empty mount point: nfs-utils reports it as EFAULT
        vec!["127.0.0.1:/x", ""],
        vec!["127.0.0.1:/x", "", v4[0], v4[1]],
    ];
    for args in &cases {
        b.check("mount.nfs", args, "");
    }
    b.check("mount.nfs4", &["127.0.0.1:/x", &m, "-v"], "");
    b.check("mount.nfs4", &["-h"], "");
}

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn spec_forms() {
    // Only literal addresses and names from /etc/hosts: a name that needs DNS would
    // send a query to the machine's resolver.
    let b = Bed::new();
    let m = b.mnt();
    let long_path = format!("127.0.0.1:{}", "/p".repeat(3000));
    for s in [
        "127.0.0.1:x",
        "127.0.0.1:",
        ":/x",
        "127.0.0.1:/",
        "[::1]:/x",
        "[::1]:x",
        "[::1]",
        "[::1]:",
        "[fe80::1%lo]:/x",
        "localhost:/x",
        "127.0.0.1:/x:y",
        "127.0.0.1:/x y",
        "127.1:/x",
        "127.0.0.1::/x",
        "/x",
        "127.0.0.1",
        "127.0.0.1://x",
        &long_path,
    ] {
        b.check("mount.nfs", &[s, &m, "-o", "vers=4"], "");
    }
}

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn remount_forms() {
    let b = Bed::new();
    let m = b.mnt();
    for o in [
        "remount",
        "remount,ro",
        "remount,vers=4.1",
        "remount,soft",
        "remount,nfsvers=3",
        "remount,foo",
        "remount,sloppy,foo",
        "remount,bg",
        "remount,mountport=1",
    ] {
        for e in ["", "EINVAL", "EBUSY", "ENOENT", "EACCES"] {
            b.check("mount.nfs", &["127.0.0.1:/x", &m, "-o", o], e);
        }
    }
    b.check(
        "mount.nfs4",
        &["127.0.0.1:/x", &m, "-o", "remount"],
        "EPERM",
    );
}

#[test]
#[ignore = "needs root, unshare, overlayfs, nfs-utils' /sbin/mount.nfs and cc"]
fn nfsmount_conf_sections() {
    let b = Bed::new();
    let m = b.mnt();
    let g = "[ NFSMount_Global_Options ]\n";
    let per = format!(
        "{g}rsize=32k\n[ Server \"127.0.0.1\" ]\nrsize=64k\n[ MountPoint \"{m}\" ]\nrsize=16k\n"
    );
    let upper = format!("[ MountPoint \"{}\" ]\nvers=4.1\n", m.to_uppercase());
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (format!("{g}Defaultvers=4.1\n"), "mount.nfs", vec![]),
        (format!("{g}Defaultvers=4\n"), "mount.nfs", vec![]),
        (format!("{g}Defaultvers=5\n"), "mount.nfs", vec![]),
        (format!("{g}Defaultvers=3\n"), "mount.nfs4", vec![]),
        (
            format!("{g}Defaultvers=4.1\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (format!("{g}Nfsvers=4.1\n"), "mount.nfs", vec![]),
        (
            format!("{g}vers=4.0\n"),
            "mount.nfs",
            vec!["-o", "vers=4.2"],
        ),
        (
            format!("{g}vers=4.1\n"),
            "mount.nfs",
            vec!["-o", "nfsvers=4.2"],
        ),
        (format!("{g}nfsvers=4.1\n"), "mount.nfs", vec!["-o", "v4.2"]),
        (format!("{g}vers=4.1\n"), "mount.nfs", vec!["-o", "v4"]),
        (
            format!("{g}minorversion=1\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}rsize=32k\nwsize=1m\n"),
            "mount.nfs",
            vec!["-o", "vers=4.2"],
        ),
        (per.clone(), "mount.nfs", vec!["-o", "vers=4.2"]),
        (per, "mount.nfs", vec!["-o", "vers=4.2,rsize=4096"]),
        (
            "[ Server \"127.0.0.1\" ]\nvers=4.1\ntimeo=10\n".into(),
            "mount.nfs",
            vec![],
        ),
        (upper, "mount.nfs", vec![]),
        (
            format!("{g}bg=True\nvers=4\n"),
            "mount.nfs",
            vec!["-o", "fg"],
        ),
        (format!("{g}ac=False\nvers=4\n"), "mount.nfs", vec![]),
        (format!("{g}foo=bar\nvers=4\n"), "mount.nfs", vec![]),
        (
            format!("{g}sec=krb5\n"),
            "mount.nfs",
            vec!["-o", "sec=sys,vers=4"],
        ),
        (format!("{g}proto=udp\n"), "mount.nfs", vec!["-o", "vers=4"]),
        (
            format!("{g}Defaultproto=udp\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            "# c\n\n[NFSMount_Global_Options]\n  timeo = 50  \n".into(),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            "[ nfsmount_global_options ]\ntimeo=50\n".into(),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}timeo=50\nretrans=3\nretry=1\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}nosuid=True\nro=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}mountport=20048\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("garbage line\n{g}timeo=5\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            "[ NFSMount_Global_Options \ntimeo=5\n".into(),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            "[ Unknown_Section ]\ntimeo=5\n".into(),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (format!("{g}timeo\n"), "mount.nfs", vec!["-o", "vers=4"]),
        (format!("{g}=5\n"), "mount.nfs", vec!["-o", "vers=4"]),
        (
            format!("{g}timeo=\"5\"\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (format!("{g}vers=4.1\n"), "mount.nfs", vec!["-o", "remount"]),
        (
            format!("{g}vers=4.1\nsloppy=True\n"),
            "mount.nfs",
            vec!["-o", "foo"],
        ),
        // keyword groups inside one section: both emitted, as nfs-utils
        (
            format!("{g}hard=True\nsoft=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}soft=True\nhard=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}udp=True\ntcp=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}proto=udp\ntcp=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}ro=True\nrw=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}sync=True\nasync=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}softerr=True\nsoft=True\n"),
            "mount.nfs",
            vec!["-o", "vers=4"],
        ),
        (
            format!("{g}bg=True\nfg=True\nvers=4\n"),
            "mount.nfs",
            vec![],
        ),
        (
            format!("{g}fg=True\nbg=True\nvers=4\n"),
            "mount.nfs",
            vec![],
        ),
    ];
    for (i, (conf, name, extra)) in cases.iter().enumerate() {
        let mut args = vec!["127.0.0.1:/x", m.as_str()];
        args.extend(extra.iter().copied());
        let theirs = b.check_in(
            name,
            &args,
            "",
            Setup {
                conf: Some(conf),
                mountinfo: None,
            },
        );
        if i == 0 {
            // The conf really was read (Defaultvers=4.1).
            assert!(
                theirs.calls.iter().any(|c| c.contains("minorversion=1")),
                "{theirs:?}"
            );
        }
    }
    b.check_in(
        "mount.nfs",
        &["localhost:/x", &m],
        "",
        Setup {
            conf: Some("[ Server \"localhost\" ]\nvers=4.1\n"),
            mountinfo: None,
        },
    );
}

fn mountinfo(b: &Bed, nfs_type: &str, opts: &str) -> String {
    format!(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
         50 22 0:50 / {} rw,relatime shared:30 - {nfs_type} 127.0.0.1:/x {opts}\n\
         51 22 0:51 / {} rw,relatime shared:31 - tmpfs tmpfs rw\n",
        b.mnt(),
        b.path("other")
    )
}

#[test]
#[ignore = "needs root, unshare, nfs-utils' /sbin/mount.nfs and cc"]
fn umount_against_a_mount_table() {
    let b = Bed::new();
    let m = b.mnt();
    let other = b.path("other");
    let v4 = mountinfo(
        &b,
        "nfs4",
        "rw,vers=4.2,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=127.0.0.1,local_lock=none,addr=127.0.0.1",
    );
    // v3, everything pinned so UMNT needs no rpcbind; nothing listens on 127.0.0.1:20048
    // outside the test bed, so the UMNT fails at once (ignored by both).
    let v3 = mountinfo(
        &b,
        "nfs",
        "rw,vers=3,hard,nolock,proto=tcp,sec=sys,mountaddr=127.0.0.1,mountvers=3,mountport=20048,mountproto=udp,local_lock=all,addr=127.0.0.1",
    );
    for table in [&v4, &v3] {
        let s = Setup {
            conf: None,
            mountinfo: Some(table),
        };
        for e in [
            "",
            "EBUSY",
            "EINVAL",
            "EPERM",
            "ENOENT",
            "EIO",
            "EBUSY,EBUSY",
        ] {
            for args in [
                vec![m.as_str()],
                vec!["-f", &m],
                vec!["-l", &m],
                vec!["-fl", &m],
                vec!["-r", &m],
                vec!["-n", &m],
                vec!["127.0.0.1:/x"],
                vec![&other],
                vec!["-v", &other],
                vec!["/"],
                vec!["-h"],
                vec![],
                vec![&m, "extra"],
            ] {
                b.check_in("umount.nfs", &args, e, s);
            }
            // The table really was read: /proc is not NFS.
            let theirs = b.check_in("umount.nfs", &["/"], e, s);
            assert_eq!(theirs.code, 1, "{theirs:?}");
            b.check_in("umount.nfs4", &[&m], e, s);
        }
        // -v: our UMNT report (differences.md #28) comes after nfs-utils' lines.
        for e in ["", "EBUSY", "EINVAL"] {
            b.check_in("umount.nfs", &["-v", &m], e, s);
            b.check_in("umount.nfs", &["-v", "127.0.0.1:/x"], e, s);
            b.check_in("umount.nfs", &["-rv", &m], e, s);
        }
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns), nfs-utils' /sbin/mount.nfs and cc"]
fn v3_against_the_test_bed() {
    let export =
        std::env::var("TESTBED_EXPORT").expect("TESTBED_EXPORT: run inside scripts/testbed");
    let b = Bed::new();
    let m = b.mnt();
    let spec = format!("127.0.0.1:{export}");
    let spec6 = format!("[::1]:{export}");
    let slash = format!("127.0.0.1:{export}/");
    let local = format!("localhost:{export}");
    let cases: Vec<(&str, &str, &str)> = vec![
        (&spec, "vers=3,nolock,udp", ""),
        (&spec, "vers=3,nolock,tcp", ""),
        (&spec, "vers=3,nolock,proto=udp,mountproto=tcp", ""),
        (&spec, "vers=3,nolock,port=2049", ""),
        (&spec, "vers=3,nolock,port=0", ""),
        (&spec, "vers=3,nolock,mountport=20048", ""),
        (&spec, "vers=3,nolock,mountport=0", ""),
        (&spec, "vers=3,nolock,mountvers=1", ""),
        (&spec, "vers=3,nolock,mountvers=2", ""),
        (&spec, "vers=3,nolock,mountvers=4", ""),
        (&spec, "vers=3,nolock,mounthost=localhost", ""),
        (&spec, "vers=3,nolock,mountaddr=127.0.0.1", ""),
        (&spec, "vers=3,nolock,sec=sys:krb5", ""),
        (&spec, "vers=3,nolock,sec=krb5", ""),
        (&spec, "vers=3,nolock,timeo=5,retrans=1", ""),
        (&spec, "nolock,v3", ""),
        (&spec, "nolock,nfsvers=3,vers=3", ""),
        (&spec, "nolock,vers=3,vers=4", ""),
        (&spec, "nolock,vers=4,vers=3", ""),
        (&spec, "nolock,vers=2", ""),
        (&spec, "nolock,mountproto=udp", ""),
        (&spec, "nolock,mountvers=3", ""),
        (&spec, "vers=3", ""),
        (&spec, "vers=3,lock", ""),
        (&spec, "vers=3,nolock,bg", ""),
        (&spec, "vers=3,nolock,sloppy,foo", ""),
        (&spec, "vers=3,nolock,foo", ""),
        (&spec, "vers=3,nolock,nfsprog=100003", ""),
        (&spec, "vers=3,nolock,mountprog=100005", ""),
        (&spec, "vers=3,nolock,rsize=1k", ""),
        (&spec, "vers=3,nolock,addr=1.2.3.4", ""),
        (&spec, "vers=3,nolock,clientaddr=1.2.3.4", ""),
        (&spec, "vers=3,nolock,private", ""),
        (&slash, "vers=3,nolock", ""),
        (&local, "nolock,vers=3", ""),
        (&spec6, "nolock,vers=3,proto=udp6", ""),
        (&spec6, "nolock,vers=3,tcp", ""),
        (&spec6, "nolock,vers=3,proto=tcp6,mountproto=udp6", ""),
        (&spec6, "nolock,vers=3,proto=tcp,mountproto=udp", ""),
        (&spec, "nolock", "ENOENT"),
        (&spec, "nolock", "EPERM"),
        (&spec, "nolock", "EACCES,EACCES,EACCES"),
        (&spec, "nolock", "EINVAL,EINVAL,EINVAL"),
        (&spec, "nolock", "ECONNREFUSED,0"),
        (
            &spec,
            "nolock",
            "EPROTONOSUPPORT,EPROTONOSUPPORT,EPROTONOSUPPORT,EACCES",
        ),
        (&spec, "nolock,vers=3", "EACCES"),
        (&spec, "nolock,vers=3", "EINVAL"),
        (&spec, "nolock,vers=3", "ENOENT"),
        (&spec, "nolock,vers=3", "EIO"),
        (&spec, "nolock,vers=3", "EPROTONOSUPPORT"),
        (&spec, "nolock,vers=3", "ETIMEDOUT,0"),
    ];
    for (s, o, e) in cases {
        b.check("mount.nfs", &[s, &m, "-o", o], e);
    }
    // (-v is not compared for v3: our RPC step lines are deliberate, differences.md #25.)
}

/// nfs-utils adds "an incorrect mount option was specified" after an invalid v3
/// port value.
#[test]
#[ignore = "needs scripts/testbed, nfs-utils' /sbin/mount.nfs and cc"]
fn v3_invalid_values_second_line() {
    let export =
        std::env::var("TESTBED_EXPORT").expect("TESTBED_EXPORT: run inside scripts/testbed");
    let b = Bed::new();
    let m = b.mnt();
    let spec = format!("127.0.0.1:{export}");
    for o in ["vers=3,nolock,port=abc", "vers=3,nolock,nfsprog=abc"] {
        b.check("mount.nfs", &[&spec, &m, "-o", o], "");
    }
}

/// EAGAIN's text is the C library's ("Resource temporarily unavailable").
/// With `retry=0` nfs-utils makes two attempts and we one (differences #7), so only
/// the exit status and the first stderr line are compared.
#[test]
#[ignore = "needs root, nfs-utils' /sbin/mount.nfs and cc"]
fn v4_eagain_text() {
    let b = Bed::new();
    let m = b.mnt();
    let errs = "EAGAIN,".repeat(12);
    for (name, o) in [("mount.nfs", "vers=4,retry=0"), ("mount.nfs4", "retry=0")] {
        let args = ["127.0.0.1:/x", m.as_str(), "-o", o];
        let theirs = b.run("theirs", name, &args, &errs, PLAIN);
        let ours = b.run("ours", name, &args, &errs, PLAIN);
        assert_eq!(ours.code, theirs.code, "{theirs:?}\n{ours:?}");
        assert_eq!(
            ours.stderr.first(),
            theirs.stderr.first(),
            "{theirs:?}\n{ours:?}"
        );
    }
}

/// `mounthost=` that fails with EAI_AGAIN (no route to any resolver in an empty
/// network namespace, so no packet leaves): nfs-utils 2.6.2 prints its two lines on
/// every attempt, keeps retrying and ends with EAGAIN's text, exit 32 (observed:
/// 10 attempts in `retry=1`, then `mount.nfs: Resource temporarily unavailable`).
/// Ours used to stop at once with "an incorrect mount option was specified".
/// nfs-utils takes the whole minute, so only ours runs here (time scaled).
#[test]
#[ignore = "needs root (unshare -n) and the mount.nfs binary"]
fn v3_mounthost_temporary_dns_failure_is_retried() {
    let b = Bed::new();
    let m = b.mnt();
    let out = Command::new("unshare")
        .args(["-n", "--"])
        .arg(b.dir.path().join("ours/mount.nfs"))
        .args([
            "127.0.0.1:/x",
            &m,
            "-o",
            "vers=3,nolock,mounthost=nonexist.invalid,retry=1",
        ])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("NFSMOUNT_TIME_SCALE", "100")
        .env("NFSMOUNT_SYSCALL_LOG", b.dir.path().join("sys.log"))
        .env("NFSMOUNT_UTAB", b.dir.path().join("utab"))
        .env("NFSMOUNT_PROXY_SOCKET", b.dir.path().join("no-proxy"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(out.status.code(), Some(32), "{err}");
    let dns = "mount.nfs: DNS resolution failed for nonexist.invalid: Temporary failure in name resolution";
    let n = lines.iter().filter(|l| **l == dns).count();
    assert!(n >= 3, "expected retries: {err}");
    assert!(
        !err.contains("an incorrect mount option was specified"),
        "{err}"
    );
    let i = lines.iter().rposition(|l| *l == dns).unwrap();
    assert_eq!(
        lines[i + 1],
        "mount.nfs: unable to determine mount server's address"
    );
    assert!(
        lines[i + 2] == "mount.nfs: Resource temporarily unavailable"
            || lines[i + 2] == "mount.nfs: Try again",
        "{err}"
    );
    assert!(
        !b.dir.path().join("sys.log").exists() || {
            let l = std::fs::read_to_string(b.dir.path().join("sys.log")).unwrap();
            l.is_empty()
        }
    );
}
