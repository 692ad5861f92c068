//! SIGTERM (autofs `mount_wait`, systemd's mount timeout) in the middle of a
//! mount: one final line naming the step, the server and the time spent, on
//! stderr and to syslog, then exit 32 (nfs-utils' mount failure status).
//! Needs no root beyond what the CLI tests need, and only loopback.

mod helper;

use helper::Env;
use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn sigterm(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}

/// Runs mount.nfs with `opts`, sends SIGTERM after `after`, returns (exit
/// status, stderr, syslog messages, time from SIGTERM to exit).
fn stop_after(opts: &str, errnos: &str, after: Duration) -> (i32, String, Vec<String>, Duration) {
    let e = Env::new();
    let log = UnixDatagram::bind(e.path("syslog")).unwrap();
    log.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut c = e.std_cmd("mount.nfs", errnos);
    let mut child = c
        .env("NFSMOUNT_SYSLOG_SOCKET", e.path("syslog"))
        .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
        .env("NFSMOUNT_TIME_SCALE", "1")
        .args(["127.0.0.1:/export", &e.mnt(), "-o", opts])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the helper ended before the signal"
    );
    let t = Instant::now();
    sigterm(child.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = t.elapsed();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut msgs = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = log.recv(&mut buf) {
        msgs.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    (status.code().unwrap_or(-1), err, msgs, took)
}

#[test]
fn sigterm_during_a_black_holed_call_names_the_call() {
    // A UDP "mountd" that never answers; everything else pinned, so the helper's
    // own MNT is the call it is stuck in.
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let opts =
        format!("vers=3,proto=udp,port={port},mountport={port},mountproto=udp,nolock,retry=0");
    let (code, err, msgs, took) = stop_after(&opts, "", Duration::from_millis(1500));
    assert_eq!(code, 32, "stderr: {err}");
    let last = err.lines().last().unwrap_or("");
    let re = regex_lite(&format!(
        "mount.nfs: stopped by SIGTERM after 1.[0-9] s, while procedure 1 call to mountd (100005 v3) at 127.0.0.1 port {port}/udp (for 1.[0-9] s)"
    ));
    assert!(re(last), "last line: {last:?}\nstderr: {err}");
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("<35>mount.nfs[") && m.ends_with(last)),
        "syslog: {msgs:?}"
    );
    drop(hole);
}

#[test]
fn sigterm_between_attempts_says_it_was_waiting() {
    // mount(2) is refused (the fake kernel's answer; our own MNT to the pinned
    // port, where nothing listens, is refused too), so the foreground loop
    // sleeps before its next attempt.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let opts =
        format!("vers=3,proto=tcp,port={port},mountport={port},mountproto=tcp,nolock,retry=1");
    let (code, err, _msgs, _took) = stop_after(
        &opts,
        "ECONNREFUSED,ECONNREFUSED,ECONNREFUSED",
        Duration::from_millis(700),
    );
    assert_eq!(code, 32, "stderr: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("mount.nfs: stopped by SIGTERM after 0.")
            && last.contains(", while waiting ")
            && last.contains(" s before the next attempt (for 0."),
        "last line: {last:?}\nstderr: {err}"
    );
}

/// A tiny matcher for the patterns above: `[0-9]` matches one digit, `.` a
/// literal dot, everything else itself (keeps the test free of a regex crate).
fn regex_lite(pat: &str) -> impl Fn(&str) -> bool {
    let pat = pat.to_string();
    move |s: &str| {
        let (p, t) = (pat.as_bytes(), s.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < p.len() {
            if p[i..].starts_with(b"[0-9]") {
                if j >= t.len() || !t[j].is_ascii_digit() {
                    return false;
                }
                i += 5;
            } else {
                if j >= t.len() || p[i] != t[j] {
                    return false;
                }
                i += 1;
            }
            j += 1;
        }
        j == t.len()
    }
}
