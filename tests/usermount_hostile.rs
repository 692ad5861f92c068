//! Hostile users against the setuid helper (issue 17), side by side with
//! nfs-utils' setuid /sbin/mount.nfs where both should agree.
//!
//! Each case runs in a private mount namespace (`unshare -m`) with a test
//! /etc/fstab (and nfsmount.conf) bound over the real ones, a fresh tmpfs on
//! /run/mount, and the compliance shim (tests/compliance/mountshim.c) bound
//! over a system library name so that glibc preloads it even into a setuid
//! program (a name without a slash, in the default path, with the setuid bit):
//! mount(2)/umount2(2) are logged and answered, the kernel is never asked. For
//! umount a fake mount table is bound over the helper's own /proc/<pid>/mountinfo.
//! The helpers run as unprivileged users (created with useradd if absent) from
//! a setuid-root copy of the test build in a temporary directory.
//!
//! Needs root: `#[ignore]`, run by the test-bed step
//! `ip netns exec <ns> cargo test --profile citest -- --ignored` (scripts/test-all),
//! or alone: `cargo test --test usermount_hostile -- --ignored --test-threads 1`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NFS_UTILS: &str = "/sbin/mount.nfs";
const PRELOAD_NAME: &str = "libBrokenLocale.so.1";
const PRELOAD_DIR: &str = "/usr/lib/x86_64-linux-gnu";

fn ensure_user(name: &str) -> u32 {
    let id = || {
        Command::new("id")
            .args(["-u", name])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
    };
    if let Some(u) = id() {
        return u;
    }
    let st = Command::new("useradd")
        .args(["--system", "--no-create-home", "--user-group"])
        .args(["--shell", "/usr/sbin/nologin", name])
        .status()
        .expect("useradd");
    // a parallel test may have created it meanwhile
    id().unwrap_or_else(|| panic!("useradd {name}: {st}"))
}

fn gid_of(name: &str) -> u32 {
    let o = Command::new("id").args(["-g", name]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

struct Bed {
    /// Kept for its Drop (removes the directory).
    _dir: tempfile::TempDir,
    /// Canonical path of `dir`.
    root: PathBuf,
}

#[derive(Debug, Default)]
struct Run {
    code: i32,
    stdout: String,
    stderr: Vec<String>,
    calls: Vec<String>,
    utab: Vec<String>,
}

#[derive(Default)]
struct Opts<'a> {
    env: &'a [(&'a str, &'a str)],
    /// mountinfo text (umount cases)
    mountinfo: Option<&'a str>,
    utab: Option<&'a str>,
    conf: Option<&'a str>,
    /// shell redirections after the command (e.g. `>&- 2>&-`)
    redirect: &'a str,
}

impl Bed {
    fn new(fstab: &str) -> Bed {
        assert!(nix::unistd::geteuid().is_root(), "needs root");
        assert!(Path::new(NFS_UTILS).exists(), "apt-get install nfs-common");
        assert!(
            Path::new(PRELOAD_DIR).join(PRELOAD_NAME).exists(),
            "{PRELOAD_DIR}/{PRELOAD_NAME} missing"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let bed = Bed { _dir: dir, root };
        // the shim, setuid so that ld.so preloads it into a setuid program
        let shim = bed.p("mountshim.so");
        let st = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&shim)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/compliance/mountshim.c"
            ))
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o4755)).unwrap();
        // a setuid copy of our helper under the four names
        let ours = bed.p("ours");
        std::fs::create_dir(&ours).unwrap();
        std::fs::copy(
            assert_cmd::cargo::cargo_bin("mount-nfs"),
            ours.join("mount-nfs"),
        )
        .unwrap();
        std::fs::set_permissions(
            ours.join("mount-nfs"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        for n in ["mount.nfs", "umount.nfs", "mount.nfs4", "umount.nfs4"] {
            std::os::unix::fs::symlink("mount-nfs", ours.join(n)).unwrap();
        }
        std::fs::create_dir(bed.p("mnt")).unwrap();
        std::fs::set_permissions(bed.p("mnt"), std::fs::Permissions::from_mode(0o755)).unwrap();
        bed.fstab(fstab);
        bed
    }

    /// A path in the bed (canonical).
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.p(rel).to_string_lossy().into_owned()
    }

    /// `@` in `text` stands for the bed's directory.
    fn fill(&self, text: &str) -> String {
        text.replace('@', &self.root.to_string_lossy())
    }

    fn fstab(&self, text: &str) {
        let f = self.p("fstab");
        std::fs::write(&f, self.fill(text)).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.p(rel)).unwrap();
    }

    /// Runs `helper args` as `uid` in a private mount namespace.
    fn run(&self, uid: u32, gid: u32, helper: &str, args: &[&str], o: &Opts) -> Run {
        let log = self.p("log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let utab_out = self.p("utab.out");
        let _ = std::fs::remove_file(&utab_out);
        let mut script = String::from("set -e\n");
        script += &format!("mount --bind {} /etc/fstab\n", self.s("fstab"));
        if let Some(c) = o.conf {
            let cf = self.p("nfsmount.conf");
            std::fs::write(&cf, self.fill(c)).unwrap();
            script += &format!(
                "touch /etc/nfsmount.conf\nmount --bind {} /etc/nfsmount.conf\n",
                cf.display()
            );
        }
        script += "mount -t tmpfs tmpfs /run/mount\n";
        if let Some(u) = o.utab {
            std::fs::write(self.p("utab.in"), self.fill(u)).unwrap();
            script += &format!("cp {} /run/mount/utab\n", self.s("utab.in"));
        }
        script += &format!(
            "mount --bind {} {PRELOAD_DIR}/{PRELOAD_NAME}\nset +e\n",
            self.s("mountshim.so")
        );
        let mut inner = String::new();
        if let Some(mi) = o.mountinfo {
            let mi = self.fill(mi);
            std::fs::write(self.p("mountinfo"), &mi).unwrap();
            let mounts: String = mi
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    format!("{} {} {} {},{} 0 0\n", f[8], f[4], f[7], f[5], f[9])
                })
                .collect();
            std::fs::write(self.p("mounts"), mounts).unwrap();
            inner += &format!(
                "mount --bind {} /proc/$$/mountinfo && mount --bind {} /proc/$$/mounts || exit 99; ",
                self.s("mountinfo"),
                self.s("mounts")
            );
        }
        let mut env = format!("SHIM_LOG={} LD_PRELOAD={PRELOAD_NAME}", log.display());
        for (k, v) in o.env {
            env += &format!(" {k}='{}'", self.fill(v));
        }
        let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", self.fill(a))).collect();
        inner += &format!(
            "exec env {env} /usr/bin/setpriv --reuid={uid} --regid={gid} --clear-groups {helper} {} {}",
            quoted.join(" "),
            o.redirect
        );
        script += &format!(
            "sh -c \"{}\"\nrc=$?\ncat /run/mount/utab > {} 2>/dev/null\nexit $rc\n",
            inner.replace('"', "\\\"").replace('$', "\\$"),
            utab_out.display()
        );
        let out = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(str::to_string)
                .collect(),
            calls: calls.lines().map(str::to_string).collect(),
            utab: std::fs::read_to_string(&utab_out)
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    l.split_whitespace()
                        .filter(|f| !f.starts_with("ID="))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
        }
    }

    fn ours(&self, helper: &str) -> String {
        self.s(&format!("ours/{helper}"))
    }

    /// Both helpers, same user, same arguments.
    fn both(&self, uid: u32, gid: u32, helper: &str, args: &[&str], o: &Opts) -> (Run, Run) {
        let theirs = self.run(uid, gid, &format!("/sbin/{helper}"), args, o);
        let ours = self.run(uid, gid, &self.ours(helper), args, o);
        (theirs, ours)
    }
}

/// Our mount(2)/umount2(2) go to the pinned directory: `/proc/self/fd/N` for
/// the mount point (`/proc/self/fd/N/<name>` with UMOUNT_NOFOLLOW for umount).
/// Map them back to the path for the comparison (docs/differences.md #2).
fn unpin(calls: &[String], target: &str) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let mut w: Vec<String> = c.split(' ').map(str::to_string).collect();
            let i = if w[0] == "mount" { 2 } else { 1 };
            if w.len() > 3 && w[i].starts_with("/proc/self/fd/") {
                let rest = w[i].trim_start_matches("/proc/self/fd/").to_string();
                w[i] = match rest.split_once('/') {
                    Some((_, name)) => {
                        // umount2 <parent-fd>/<name> 0x8 (UMOUNT_NOFOLLOW)
                        if w[0] == "umount2" && w[2] == "0x8" {
                            w[2] = "0".into();
                        }
                        let parent = Path::new(target).parent().unwrap().join(name);
                        parent.to_string_lossy().into_owned()
                    }
                    None => target.to_string(),
                };
            }
            w.join(" ")
        })
        .collect()
}

/// nfs-utils' lines first and exact; at most one more line of ours.
fn assert_lines(theirs: &Run, ours: &Run, ctx: &str) {
    let ctx = format!("{ctx}\n theirs: {theirs:#?}\n ours: {ours:#?}");
    assert_eq!(ours.code, theirs.code, "exit status: {ctx}");
    assert!(
        ours.stderr.len() >= theirs.stderr.len()
            && ours.stderr[..theirs.stderr.len()] == theirs.stderr[..],
        "stderr: {ctx}"
    );
    assert!(
        ours.stderr.len() <= theirs.stderr.len() + 1,
        "extra lines: {ctx}"
    );
    assert_eq!(ours.stdout, theirs.stdout, "stdout: {ctx}");
}

const FSTAB: &str = "\
127.0.0.1:/export/u  @/mnt/u  nfs  vers=4.2,user,noauto  0 0
127.0.0.1:/export/s  @/mnt/s  nfs  vers=4.2,users,_netdev  0 0
127.0.0.1:/export/n  @/mnt/n  nfs  vers=4.2  0 0
127.0.0.1:/export/b  @/mnt/b  nfs  vers=4.2,user=bob  0 0
127.0.0.1:/export/e  @/mnt/e  nfs  vers=4.2,ro,user,exec,dev  0 0
127.0.0.1:/export/o  @/mnt/o  nfs  vers=4.2,owner  0 0
127.0.0.1:/export/l  @/mnt/link  nfs  vers=4.2,user  0 0
127.0.0.1:/export/g  @/mnt/g  nfs  vers=4.2,group  0 0
";

fn standard_bed() -> (Bed, u32, u32) {
    let bed = Bed::new(FSTAB);
    for d in ["u", "s", "n", "b", "e", "o", "g", "other"] {
        bed.mkdir(&format!("mnt/{d}"));
    }
    std::os::unix::fs::symlink(bed.p("mnt/u"), bed.p("mnt/ulink")).unwrap();
    std::os::unix::fs::symlink(bed.p("mnt/other"), bed.p("mnt/link")).unwrap();
    let uid = ensure_user("nfsmtest1");
    (bed, uid, gid_of("nfsmtest1"))
}

/// Permitted user mounts: the same mount(2) call (flags from fstab plus the
/// implied nosuid/nodev/noexec, options from fstab only — the caller's `-o`
/// are dropped), the same exit status, messages and utab (`user=<name>`).
#[test]
#[ignore]
fn user_mounts_side_by_side() {
    let (bed, uid, gid) = standard_bed();
    let cases: &[(&[&str], &str)] = &[
        (&["127.0.0.1:/export/u", "@/mnt/u"], "@/mnt/u"),
        // option injection: everything on the command line is ignored
        (
            &[
                "127.0.0.1:/export/u",
                "@/mnt/u",
                "-o",
                "suid,dev,exec,vers=3,addr=10.9.9.9,clientaddr=10.1.1.1,remount",
            ],
            "@/mnt/u",
        ),
        // -r is honoured (it only takes away)
        (&["127.0.0.1:/export/u", "@/mnt/u", "-r"], "@/mnt/u"),
        (&["127.0.0.1:/export/s", "@/mnt/s"], "@/mnt/s"),
        // fstab may turn the implied flags back on after `user`
        (&["127.0.0.1:/export/e", "@/mnt/e", "-w"], "@/mnt/e"),
        // trailing slashes, a symlink to the mount point, extra positionals, -s -v
        (&["127.0.0.1:/export/u/", "@/mnt/u/"], "@/mnt/u"),
        (&["127.0.0.1:/export/u", "@/mnt/ulink"], "@/mnt/u"),
        (&["127.0.0.1:/export/u", "@/mnt/u", "extra"], "@/mnt/u"),
        (&["127.0.0.1:/export/u", "@/mnt/u", "-s"], "@/mnt/u"),
        (&["127.0.0.1:/export/u", "@/mnt/u", "-n"], "@/mnt/u"),
    ];
    for (args, target) in cases {
        let target = bed.fill(target);
        let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
        let ctx = format!("mount.nfs {args:?}");
        assert_lines(&t, &o, &ctx);
        assert_eq!(t.code, 0, "{ctx}: {t:#?}");
        assert_eq!(t.calls.len(), 1, "{ctx}: {t:#?}");
        assert_eq!(unpin(&o.calls, &target), t.calls, "{ctx}");
        assert!(o.calls[0].contains(" /proc/self/fd/"), "pinned: {o:#?}");
        assert_eq!(o.utab, t.utab, "{ctx}");
    }
    // the flags really are the implied ones
    let (_, o) = bed.both(
        uid,
        gid,
        "mount.nfs",
        &["127.0.0.1:/export/u", "@/mnt/u"],
        &Opts::default(),
    );
    assert!(o.calls[0].contains(" nfs 0xe "), "{o:#?}");
    assert!(o.utab[0].ends_with("OPTS=user=nfsmtest1"), "{o:#?}");
}

/// Refusals: nfs-utils' line and exit status, one line of ours, no mount(2).
#[test]
#[ignore]
fn refusals_side_by_side() {
    let (bed, uid, gid) = standard_bed();
    std::fs::write(bed.p("mnt/file"), "").unwrap();
    let cases: &[&[&str]] = &[
        // not in fstab at all
        &["127.0.0.1:/export/x", "@/mnt/other"],
        // a source that differs from the entry for this mount point
        &["127.0.0.1:/etc", "@/mnt/u"],
        &["10.0.0.1:/export/u", "@/mnt/u"],
        // the right source on another mount point
        &["127.0.0.1:/export/u", "@/mnt/other"],
        // an entry without user/users, one with user=<name>
        &["127.0.0.1:/export/n", "@/mnt/n"],
        &["127.0.0.1:/export/b", "@/mnt/b"],
        // mount point missing, not a directory, relative to a dir we cannot see
        &["127.0.0.1:/export/u", "@/mnt/missing"],
        &["127.0.0.1:/export/u", "@/mnt/file"],
        // `..` and a crafted path that resolves elsewhere
        &["127.0.0.1:/export/u", "@/mnt/u/../n"],
        &["127.0.0.1:/export/u", "/etc"],
    ];
    for args in cases {
        let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
        let ctx = format!("mount.nfs {args:?}");
        assert_lines(&t, &o, &ctx);
        assert_ne!(t.code, 0, "{ctx}");
        assert!(t.calls.is_empty() && o.calls.is_empty(), "{ctx}: {o:#?}");
        assert!(o.utab.is_empty(), "{ctx}");
    }
}

/// The environment of a hostile caller changes nothing: test hooks
/// (NFSMOUNT_*) are ignored, locale and PATH too; nfsmount.conf `$VAR`
/// expansion sees an empty environment.
#[test]
#[ignore]
fn environment_attacks_are_ignored() {
    let (bed, uid, gid) = standard_bed();
    std::fs::write(
        bed.p("evil.conf"),
        "[ NFSMount_Global_Options ]\nretrans=9\n",
    )
    .unwrap();
    std::fs::create_dir(bed.p("evilbin")).unwrap();
    let env: &[(&str, &str)] = &[
        ("NFSMOUNT_SYSCALL_LOG", "@/evil.log"),
        ("NFSMOUNT_SYSCALL_ERRNOS", "EPERM"),
        ("NFSMOUNT_UTAB", "@/evil.utab"),
        ("NFSMOUNT_CONF", "@/evil.conf"),
        ("NFSMOUNT_MOUNTINFO", "@/evil.mi"),
        ("NFSMOUNT_PROXY_SOCKET", "@/evil.sock"),
        ("NFSMOUNT_PORTPOOL_DIR", "@/evilpool"),
        ("NFSMOUNT_START_STATD", "@/evilbin/statd"),
        ("NFSMOUNT_TIME_SCALE", "1000"),
        ("NFSMOUNT_PROXY_AUTOSTART", "1"),
        ("PATH", "@/evilbin"),
        ("LANG", "de_DE.UTF-8"),
        ("LC_ALL", "de_DE.UTF-8"),
        ("LANGUAGE", "de"),
        ("MYRETRANS", "9"),
        ("LOCALDOMAIN", "evil.example"),
        ("RES_OPTIONS", "ndots:15"),
        ("HOSTALIASES", "@/evil.hosts"),
    ];
    let conf = "[ NFSMount_Global_Options ]\nretrans=$MYRETRANS\n";
    let o = bed.run(
        uid,
        gid,
        &bed.ours("mount.nfs"),
        &["127.0.0.1:/export/u", "@/mnt/u"],
        &Opts {
            env,
            conf: Some(conf),
            ..Default::default()
        },
    );
    assert_eq!(o.code, 0, "{o:#?}");
    // the real mount(2) was made (through the shim), with fstab's options only
    assert_eq!(o.calls.len(), 1, "{o:#?}");
    assert!(!o.calls[0].contains("retrans"), "{o:#?}");
    for f in ["evil.log", "evil.utab", "evilpool"] {
        assert!(!bed.p(f).exists(), "{f} was used: {o:#?}");
    }
    assert_eq!(o.utab.len(), 1, "{o:#?}");
    assert!(
        o.utab[0].contains(&format!("TARGET={}", bed.s("mnt/u"))),
        "{o:#?}"
    );
}

/// While it waits on the network the helper runs with the caller's effective
/// ids (root only saved), is not dumpable, has RLIMIT_CORE 0 and an
/// environment of PATH only.
#[test]
#[ignore]
fn privileges_are_lowered_while_waiting() {
    // a server that accepts and never answers
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let bed = Bed::new(&FSTAB_BLK.replace("PORT", &port.to_string()));
    bed.mkdir("mnt/blk");
    let uid = ensure_user("nfsmtest1");
    let gid = gid_of("nfsmtest1");
    let script = format!(
        "mount --bind {} /etc/fstab && exec env LANG=C MYVAR=1 setpriv --reuid={uid} --regid={gid} --clear-groups {} 127.0.0.1:/blk {}",
        bed.s("fstab"),
        bed.ours("mount.nfs"),
        bed.s("mnt/blk")
    );
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _conn = {
        l.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Ok((c, _)) = l.accept() {
                break c;
            }
            assert!(
                std::time::Instant::now() < until,
                "the helper never connected"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let status_owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{pid}/environ"))
            .unwrap()
            .uid()
    };
    // A signal from the caller mid-mount (it is their process): the helper
    // stops with its one-line report and exit 32, nothing half done.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status_code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the helper ignored SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status_code, Some(32), "SIGTERM mid-mount");
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse::<u32>().unwrap())
            .collect::<Vec<_>>()
    };
    // real, effective, saved, fs
    assert_eq!(line("Uid:"), vec![uid, uid, 0, uid], "{status}");
    assert_eq!(line("Gid:")[..2], [gid, gid], "{status}");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(core.split_whitespace().nth(4) == Some("0"), "{core}");
    // The environment block in /proc/<pid>/environ is the one exec(2) saw (the
    // clearing only changes what getenv sees, environment_attacks_are_ignored);
    // but nobody except root can read it: the process is not dumpable, so its
    // /proc files belong to root even while its effective uid is the caller's
    // (otherwise the caller could ptrace it and take back the saved root uid).
    assert!(!environ.is_empty());
    assert_eq!(
        status_owner, 0,
        "/proc/<pid> of the helper belongs to uid {status_owner}"
    );
}

const FSTAB_BLK: &str =
    "127.0.0.1:/blk  @/mnt/blk  nfs  vers=3,proto=tcp,mountproto=tcp,port=PORT,mountport=PORT,retry=0,nolock,user  0 0\n";

/// Closed stdout/stderr: nothing the helper prints lands in a file it opens
/// (utab): fds 0-2 are reopened on /dev/null first.
#[test]
#[ignore]
fn closed_standard_fds_are_reopened() {
    let (bed, uid, gid) = standard_bed();
    let o = bed.run(
        uid,
        gid,
        &bed.ours("mount.nfs"),
        &["127.0.0.1:/export/u", "@/mnt/u", "-v"],
        &Opts {
            redirect: "<&- >&- 2>&-",
            ..Default::default()
        },
    );
    assert_eq!(o.code, 0, "{o:#?}");
    assert_eq!(o.utab.len(), 1, "{o:#?}");
    assert!(o.utab[0].starts_with("SRC="), "{o:#?}");
}

/// Who may unmount: the user who mounted a `user` entry, anyone for `users`,
/// nobody else; not an entry without user options, not a path that is not
/// mounted. Same exit status and first lines as nfs-utils; the utab entry goes
/// with the mount.
#[test]
#[ignore]
fn umount_permissions_side_by_side() {
    let (bed, uid1, gid1) = standard_bed();
    let uid2 = ensure_user("nfsmtest2");
    let gid2 = gid_of("nfsmtest2");
    let mi = "\
22 1 0:20 / / rw,relatime - ext4 /dev/root rw
40 22 0:40 / @/mnt/u rw,nosuid,nodev,noexec,relatime - nfs4 127.0.0.1:/export/u rw,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1
41 22 0:41 / @/mnt/s rw,nosuid,nodev,noexec,relatime - nfs4 127.0.0.1:/export/s rw,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1
42 22 0:42 / @/mnt/n rw,relatime - nfs4 127.0.0.1:/export/n rw,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1
";
    let utab = "\
SRC=127.0.0.1:/export/u TARGET=@/mnt/u ROOT=/ ATTRS=vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1 OPTS=user=nfsmtest1
SRC=127.0.0.1:/export/s TARGET=@/mnt/s ROOT=/ ATTRS=vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1 OPTS=_netdev
";
    let o = Opts {
        mountinfo: Some(mi),
        utab: Some(utab),
        ..Default::default()
    };
    // (uid, gid, target, allowed)
    let cases = [
        (uid1, gid1, "@/mnt/u", true),
        (uid2, gid2, "@/mnt/u", false),
        (uid2, gid2, "@/mnt/s", true),
        (uid1, gid1, "@/mnt/n", false),
        (uid1, gid1, "@/mnt/other", false),
        (uid1, gid1, "/proc", false),
    ];
    for (uid, gid, target, allowed) in cases {
        let (t, ours) = bed.both(uid, gid, "umount.nfs", &[target], &o);
        let target = bed.fill(target);
        let ctx = format!("umount.nfs {target} as {uid}");
        assert_lines(&t, &ours, &ctx);
        // nfs-utils' libmount first probes umount2("", UMOUNT_UNUSED), then
        // unmounts the last component from inside the parent directory.
        let real = |r: &Run| -> Vec<String> {
            r.calls
                .iter()
                .filter(|c| !c.starts_with("umount2  "))
                .cloned()
                .collect()
        };
        if allowed {
            assert_eq!(t.code, 0, "{ctx}: {t:#?}");
            let name = Path::new(&target)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert_eq!(real(&t), vec![format!("umount2 {name} 0 => 0")], "{ctx}");
            assert_eq!(
                unpin(&ours.calls, &target),
                vec![format!("umount2 {target} 0 => 0")],
                "{ctx}"
            );
            assert!(
                !ours
                    .utab
                    .iter()
                    .any(|l| l.contains(&format!("TARGET={target} "))),
                "{ctx}: {ours:#?}"
            );
        } else {
            assert_eq!(t.code, 32, "{ctx}: {t:#?}");
            assert!(
                real(&t).is_empty() && ours.calls.is_empty(),
                "{ctx}: {ours:#?}"
            );
            assert_eq!(ours.utab.len(), 2, "{ctx}: utab untouched");
        }
        assert_eq!(ours.utab, t.utab, "{ctx}");
    }
}

/// libmount compares the caller's name with utab's `user=` by prefix only
/// (strncmp with the recorded length): `nfsmtest1x` may unmount what
/// `nfsmtest1` mounted. We compare exactly (docs/differences.md #2).
#[test]
#[ignore]
fn umount_by_a_user_whose_name_extends_the_owner_is_refused() {
    let (bed, _, _) = standard_bed();
    let uid = ensure_user("nfsmtest1x");
    let gid = gid_of("nfsmtest1x");
    let mi = "22 1 0:20 / / rw,relatime - ext4 /dev/root rw\n\
              40 22 0:40 / @/mnt/u rw,nosuid,nodev,noexec,relatime - nfs4 127.0.0.1:/export/u rw,vers=4.2,addr=127.0.0.1\n";
    let utab = "SRC=127.0.0.1:/export/u TARGET=@/mnt/u ROOT=/ ATTRS=vers=4.2,addr=127.0.0.1 OPTS=user=nfsmtest1\n";
    let o = Opts {
        mountinfo: Some(mi),
        utab: Some(utab),
        ..Default::default()
    };
    let (t, ours) = bed.both(uid, gid, "umount.nfs", &["@/mnt/u"], &o);
    assert_eq!(t.code, 0, "nfs-utils' prefix comparison: {t:#?}");
    assert_eq!(ours.code, 32, "{ours:#?}");
    assert!(ours.calls.is_empty(), "{ours:#?}");
    assert!(
        ours.stderr
            .iter()
            .any(|l| l.contains("mounted by user nfsmtest1, not by you")),
        "{ours:#?}"
    );
}

/// Files a user can write are not trusted: a user-owned or world-writable
/// /etc/fstab, a world-writable nfsmount.conf (nfs-utils uses them).
#[test]
#[ignore]
fn untrusted_fstab_or_conf_is_refused() {
    let (bed, uid, gid) = standard_bed();
    let args = &["127.0.0.1:/export/u", "@/mnt/u"];
    let f = bed.p("fstab");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = bed.run(uid, gid, &bed.ours("mount.nfs"), args, &Opts::default());
    assert_eq!(o.code, 32, "{o:#?}");
    assert!(o.calls.is_empty(), "{o:#?}");
    assert!(
        o.stderr
            .iter()
            .any(|l| l.contains("writable by group or others")),
        "{o:#?}"
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&f, Some(uid), None).unwrap();
    let o = bed.run(uid, gid, &bed.ours("mount.nfs"), args, &Opts::default());
    assert_eq!(o.code, 32, "{o:#?}");
    assert!(
        o.stderr
            .iter()
            .any(|l| l.contains(&format!("owned by uid {uid}"))),
        "{o:#?}"
    );
    std::os::unix::fs::chown(&f, Some(0), None).unwrap();
    // nfsmount.conf writable by others
    let conf = "[ NFSMount_Global_Options ]\nretrans=9\n";
    let run_conf = |mode: u32| {
        let cf = bed.p("nfsmount.conf");
        let _ = std::fs::remove_file(&cf);
        std::fs::write(&cf, conf).unwrap();
        std::fs::set_permissions(&cf, std::fs::Permissions::from_mode(mode)).unwrap();
        // Opts::conf rewrites the file; write the same text
        bed.run(
            uid,
            gid,
            &bed.ours("mount.nfs"),
            args,
            &Opts {
                conf: Some(conf),
                ..Default::default()
            },
        )
    };
    let o = run_conf(0o666);
    assert_eq!(o.code, 32, "{o:#?}");
    assert!(o.calls.is_empty(), "{o:#?}");
    let o = run_conf(0o644);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(
        o.calls[0].contains("retrans=9"),
        "a trusted conf is used: {o:#?}"
    );
}

/// An fstab target reached through a symbolic link: libmount canonicalises
/// the fstab side too, so whoever can replace a directory on the way points
/// the entry anywhere (here: at a directory fstab does not name). nfs-utils
/// mounts there; we refuse (docs/differences.md #2).
#[test]
#[ignore]
fn fstab_target_through_a_symlink_is_refused() {
    let (bed, uid, gid) = standard_bed();
    let args = &["127.0.0.1:/export/l", "@/mnt/other"];
    let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
    assert_eq!(t.code, 0, "nfs-utils follows the link: {t:#?}");
    assert_eq!(t.calls.len(), 1);
    assert!(t.calls[0].contains(&bed.s("mnt/other")), "{t:#?}");
    assert_eq!(o.code, 32, "{o:#?}");
    assert!(o.calls.is_empty(), "{o:#?}");
    assert!(
        o.stderr
            .iter()
            .any(|l| l.contains("through a symbolic link")),
        "{o:#?}"
    );
}

/// `owner`/`group`: libmount checks the owner of a /dev/ source, so it never allows an
/// NFS mount; we check the mount point's owner (docs/differences.md #2).
/// `-f` writes no utab entry for a user (it would claim a mount that is not
/// there; nfs-utils writes one).
#[test]
#[ignore]
fn owner_and_fake_differences() {
    let (bed, uid, gid) = standard_bed();
    let args = &["127.0.0.1:/export/o", "@/mnt/o"];
    let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
    assert_eq!(t.code, 32, "{t:#?}");
    assert_eq!(o.code, 32, "not the owner yet: {o:#?}");
    assert!(o.calls.is_empty());
    std::os::unix::fs::chown(bed.p("mnt/o"), Some(uid), None).unwrap();
    let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
    assert_eq!(t.code, 32, "{t:#?}");
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(
        o.calls[0].contains(" nfs 0x6 "),
        "owner implies nosuid,nodev: {o:#?}"
    );
    assert!(o.utab[0].ends_with("OPTS=user=nfsmtest1"), "{o:#?}");
    // group: the caller is in the mount point's group
    let args = &["127.0.0.1:/export/g", "@/mnt/g"];
    let o = bed.run(uid, gid, &bed.ours("mount.nfs"), args, &Opts::default());
    assert_eq!(o.code, 32, "root's group: {o:#?}");
    assert!(o.stderr.iter().any(|l| l.contains("'group'")), "{o:#?}");
    std::os::unix::fs::chown(bed.p("mnt/g"), None, Some(gid)).unwrap();
    let (t, o) = bed.both(uid, gid, "mount.nfs", args, &Opts::default());
    assert_eq!(t.code, 32, "{t:#?}");
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(
        o.calls[0].contains(" nfs 0x6 "),
        "group implies nosuid,nodev: {o:#?}"
    );
    // -f
    let (t, o) = bed.both(
        uid,
        gid,
        "mount.nfs",
        &["127.0.0.1:/export/u", "@/mnt/u", "-f"],
        &Opts::default(),
    );
    assert_eq!((t.code, o.code), (0, 0));
    assert!(t.calls.is_empty() && o.calls.is_empty());
    assert_eq!(t.utab.len(), 1, "{t:#?}");
    assert!(o.utab.is_empty(), "{o:#?}");
}
