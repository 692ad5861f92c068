//! Helpers for the rpcproxyd tests: start the real daemon on a temporary socket,
//! speak its framed protocol by hand, run a client as another uid.
#![allow(dead_code)]

use nfsmount::client::{CallOpts, Endpoint, RetryPolicy};
use nfsmount::proxywire::{CallReq, ConnectReq, Frame, FrameDecoder, WireError};
use nfsmount::rpc::msg::{encode_call, CallHeader};
use nfsmount::rpc::{Credential, OpaqueAuth};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn quick() -> CallOpts {
    CallOpts::udp_probe()
        .with_timeout(ms(2000))
        .with_retry(RetryPolicy::fixed(ms(200)))
        .with_connect_timeout(ms(2000))
}

pub struct Daemon {
    pub child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(extra: &[&str]) -> Daemon {
        Daemon::start_wrapped(&[], extra)
    }

    /// Starts the daemon under `wrapper` (a command that execs it in place, e.g.
    /// `prlimit --nofile=20:20 --`), so the child's pid is still the daemon's.
    pub fn start_wrapped(wrapper: &[&str], extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        // Other uids (the setuid children) must reach the socket.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = dir.path().join("rpcproxyd.sock");
        Daemon::spawn(dir, sock, wrapper, extra)
    }

    /// Starts the daemon on `sock` (in a directory the caller prepared).
    pub fn start_at(sock: &std::path::Path, extra: &[&str]) -> Daemon {
        Daemon::spawn(tempfile::tempdir().unwrap(), sock.to_path_buf(), &[], extra)
    }

    fn spawn(dir: tempfile::TempDir, sock: PathBuf, wrapper: &[&str], extra: &[&str]) -> Daemon {
        let log = dir.path().join("log");
        let daemon = assert_cmd::cargo::cargo_bin("rpcproxyd");
        let mut cmd = match wrapper.split_first() {
            Some((prog, args)) => {
                let mut c = Command::new(prog);
                c.args(args).arg(&daemon);
                c
            }
            None => Command::new(&daemon),
        };
        let mut child = cmd
            .arg("-d")
            .arg("--socket")
            .arg(&sock)
            .args(extra)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&sock).is_err() {
            let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                Instant::now() < until,
                "rpcproxyd did not start: {}",
                log_text()
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "rpcproxyd exited: {}",
                log_text()
            );
            std::thread::sleep(ms(10));
        }
        Daemon {
            child: Some(child),
            dir,
            sock,
            log,
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().unwrap().id() as i32)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `sig` and waits (bounded) for the exit; returns the exit status.
    pub fn stop(&mut self, sig: Signal) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = kill(Pid::from_raw(c.id() as i32), sig);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(ms(10));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    pub fn stats_json(&self) -> String {
        let out = Command::new(assert_cmd::cargo::cargo_bin("rpcproxyd"))
            .args(["--stats", "--json", "--socket"])
            .arg(&self.sock)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(Signal::SIGKILL);
    }
}

/// Reads a number out of flat JSON: the first `"key":N` after `after`.
pub fn json_num(j: &str, after: &str, key: &str) -> u64 {
    let start = j
        .find(after)
        .unwrap_or_else(|| panic!("{after} not in {j}"));
    let k = format!("\"{key}\":");
    let i = j[start..].find(&k).unwrap() + start + k.len();
    j[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A hand-driven protocol client.
pub struct Raw {
    pub s: UnixStream,
    dec: FrameDecoder,
}

impl Raw {
    pub fn open(d: &Daemon) -> Raw {
        Raw::open_path(&d.sock)
    }
    pub fn open_path(p: &std::path::Path) -> Raw {
        Raw::try_open_path(p).unwrap()
    }
    pub fn try_open_path(p: &std::path::Path) -> std::io::Result<Raw> {
        let s = UnixStream::connect(p)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Raw {
            s,
            dec: FrameDecoder::default(),
        })
    }
    pub fn send(&mut self, f: &Frame) {
        self.s.write_all(&f.encode()).unwrap();
    }
    /// Sends, ignoring errors (the daemon may already have closed).
    pub fn try_send(&mut self, f: &Frame) -> bool {
        self.s.write_all(&f.encode()).is_ok()
    }
    /// Next frame, or None on EOF/error/timeout.
    pub fn recv(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 8192];
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => return Some(f),
                Ok(None) => {}
                Err(_) => return None,
            }
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.dec.feed(&buf[..n]).ok()?,
            }
        }
    }
    pub fn connect(&mut self, ep: Endpoint, cred: &Credential) -> WireError {
        self.send(&Frame::Connect(ConnectReq {
            ep,
            connect_timeout: Duration::from_secs(2),
            cred: cred.to_opaque().unwrap(),
        }));
        match self.recv() {
            Some(Frame::Connected(e)) => e,
            other => panic!("expected CONNECTED, got {other:?}"),
        }
    }
    pub fn call(&mut self, opts: &CallOpts, msg: Vec<u8>) {
        self.send(&Frame::Call(CallReq::new(opts, msg)));
    }
}

pub fn call_msg(xid: u32, ep: &Endpoint, proc_: u32, cred: &Credential, args: &[u8]) -> Vec<u8> {
    encode_call(
        &CallHeader {
            xid,
            prog: ep.prog,
            vers: ep.vers,
            proc_,
            cred: cred.clone(),
            verf: OpaqueAuth::none(),
        },
        args,
    )
    .unwrap()
}

/// The command that runs the named test of the current test binary as
/// `uid`/`gid` (supplementary groups dropped) with `PROXY_CHILD=<arg>`, under
/// `wrapper` if given (e.g. `unshare -U -r --`).
pub fn child_cmd(uid: u32, gid: u32, wrapper: &[&str], test: &str, arg: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap();
    let mut c = match wrapper.split_first() {
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("PROXY_CHILD", arg)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null());
    c
}

/// Runs the named test of the current test binary as `uid`/`gid` with
/// `PROXY_CHILD=<arg>`; returns its stdout.
pub fn run_as(uid: u32, gid: u32, test: &str, arg: &str) -> String {
    run_as_wrapped(uid, gid, &[], test, arg)
}

/// [`run_as`] under a wrapper command.
pub fn run_as_wrapped(uid: u32, gid: u32, wrapper: &[&str], test: &str, arg: &str) -> String {
    let out = child_cmd(uid, gid, wrapper, test, arg).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

/// True if we are root; otherwise says why the calling test is skipped. Tests
/// that need another uid (setuid to nobody) or chown run where root is (the
/// CI runs `cargo test` as root; `scripts/test-all` warns when it is not).
pub fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("{test}: SKIPPED: needs root (runs clients as uid 65534)");
    }
    root
}

/// `RESULT key=value` from a child's output.
pub fn result<'a>(out: &'a str, key: &str) -> &'a str {
    let k = format!("{key}=");
    out.lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .flat_map(|l| l.split_whitespace())
        .find_map(|w| w.strip_prefix(k.as_str()))
        .unwrap_or_else(|| panic!("no RESULT {k} in {out}"))
}

/// Runs rpcproxyd in the foreground with `args`, expecting it to exit within
/// 10 s (it is killed otherwise, and the test fails); returns (status, stderr).
pub fn daemon_exits(args: &[&std::ffi::OsStr]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rpcproxyd"))
        .arg("-d")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st, err);
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rpcproxyd {args:?} did not exit (it started?)");
        }
        std::thread::sleep(ms(10));
    }
}

/// Resident set size (KiB) and open fds of a process.
pub fn rss_and_fds(pid: Pid) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}
