//! The real rpcproxyd binary on a temporary socket against fake RPC servers on
//! 127.0.0.1: sharing, xid rewriting, routing, security policy, fault handling,
//! idle close, statistics and shutdown.
mod proxy_support;
mod support;

use nfsmount::client::{Endpoint, Transport};
use nfsmount::proxy::frame::{Frame, WireError};
use nfsmount::rpc::msg::peek_xid;
use nfsmount::rpc::{AuthSys, Credential, Reply, ReplyBody};
use nix::sys::signal::Signal;
use proxy_support::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{success, Action, FakeServer};

const LO: &str = "127.0.0.1:0";

fn echo() -> support::Handler {
    Arc::new(|_, h, args| Action::Reply(success(h.xid, args)))
}

fn ep(s: &FakeServer, t: Transport) -> Endpoint {
    Endpoint::new(s.addr, 100_099, 1, t)
}

fn body_of(f: Frame) -> (u32, Vec<u8>) {
    match f {
        Frame::Reply(m) => {
            let r = Reply::decode(&m).unwrap();
            match r.body {
                ReplyBody::Accepted {
                    stat: nfsmount::rpc::AcceptStat::Success(b),
                    ..
                } => (r.xid, b),
                other => panic!("not a success: {other:?}"),
            }
        }
        other => panic!("expected REPLY, got {other:?}"),
    }
}

fn sys(uid: u32, gid: u32) -> Credential {
    Credential::Sys(AuthSys {
        stamp: 1,
        machine: "t".into(),
        uid,
        gid,
        gids: vec![gid],
    })
}

/// Many clients, all using the same xids, over one upstream connection: every
/// reply goes back to the client that asked, with its own xid.
fn many_clients_share(t: Transport) {
    let fake = match t {
        Transport::Tcp => FakeServer::tcp(LO, echo()),
        Transport::Udp => FakeServer::udp(LO, echo()),
    };
    let d = Daemon::start(&[]);
    let e = ep(&fake, t);
    let threads: Vec<_> = (0..16u32)
        .map(|c| {
            let sock = d.sock.clone();
            std::thread::spawn(move || {
                let mut r = Raw::open_path(&sock);
                assert!(r.connect(e, &Credential::None).is_ok());
                for xid in 1..=5u32 {
                    let arg = [c as u8, xid as u8, 0xab, 0xcd];
                    r.call(&quick(), call_msg(xid, &e, 1, &Credential::None, &arg));
                    let (rx, body) = body_of(r.recv().expect("reply"));
                    assert_eq!(rx, xid, "original xid restored");
                    assert_eq!(body, arg, "reply routed to the right client");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let seen = fake.seen();
    assert_eq!(seen.len(), 80);
    let xids: HashSet<u32> = seen.iter().map(|s| s.header.xid).collect();
    assert_eq!(xids.len(), 80, "proxy rewrote the clients' colliding xids");
    let ports: HashSet<u16> = seen.iter().map(|s| s.peer.port()).collect();
    assert_eq!(ports.len(), 1, "one upstream socket for all clients");
    if t == Transport::Tcp {
        assert_eq!(fake.connections(), 1);
    }
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "calls"), 80);
    assert_eq!(json_num(&j, "total", "conns_opened"), 1);
    assert_eq!(json_num(&j, "total", "conns_reused"), 79);
}

#[test]
fn tcp_clients_share_one_upstream_connection() {
    many_clients_share(Transport::Tcp);
}

#[test]
fn udp_clients_share_one_upstream_socket() {
    many_clients_share(Transport::Udp);
}

#[test]
fn udp_retransmits_on_the_proxy_side() {
    // Drop the first transmission of every call.
    let fake = FakeServer::udp(
        LO,
        Arc::new(|k, h, args| {
            if k % 2 == 1 {
                Action::Ignore
            } else {
                Action::Reply(success(h.xid, args))
            }
        }),
    );
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Udp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    r.call(
        &quick(),
        call_msg(7, &e, 1, &Credential::None, &[1, 2, 3, 4]),
    );
    let (x, b) = body_of(r.recv().unwrap());
    assert_eq!((x, b), (7, vec![1, 2, 3, 4]));
    assert_eq!(fake.calls(), 2);
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "retrans"), 1);
}

#[test]
fn different_credentials_get_different_connections() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    for cred in [Credential::None, sys(0, 0), sys(0, 0), sys(7, 7)] {
        let mut r = Raw::open(&d);
        assert!(r.connect(e, &cred).is_ok());
        r.call(&quick(), call_msg(1, &e, 1, &cred, &[9, 9, 9, 9]));
        body_of(r.recv().unwrap());
    }
    assert_eq!(fake.connections(), 3, "None, sys(0), sys(7)");
}

#[test]
fn call_must_match_the_bound_credential() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &sys(0, 0)).is_ok());
    r.call(&quick(), call_msg(5, &e, 1, &sys(1000, 1000), &[]));
    match r.recv() {
        Some(Frame::CallError { xid: 5, err }) => assert_eq!(err.kind, WireError::REFUSED),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.calls(), 0, "nothing forwarded");
}

/// Child side of the uid tests (runs as uid 65534 when PROXY_CHILD is set).
#[test]
fn child_entry_nonroot() {
    let Ok(arg) = std::env::var("PROXY_CHILD") else {
        return;
    };
    let v: Vec<&str> = arg.split(',').collect();
    let sock = std::path::PathBuf::from(v[0]);
    let addr = v[1].parse().unwrap();
    let e = Endpoint::new(addr, 100_099, 1, Transport::Tcp);
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    assert_ne!(uid, 0);
    // 1. privileged endpoint refused
    let mut r = Raw::open_path(&sock);
    let st = r.connect(e.privileged(true), &Credential::None);
    println!("RESULT privileged={}", st.kind);
    // 2. AUTH_SYS claiming root refused
    let mut r = Raw::open_path(&sock);
    let st = r.connect(e, &sys(0, 0));
    println!("RESULT spoof={}", st.kind);
    // 3. own AUTH_SYS on an unprivileged endpoint works
    let mut r = Raw::open_path(&sock);
    let me = sys(uid, gid);
    let st = r.connect(e, &me);
    println!("RESULT own={}", st.kind);
    r.call(&quick(), call_msg(3, &e, 1, &me, &[1, 1, 1, 1]));
    let ok = matches!(r.recv(), Some(Frame::Reply(_)));
    println!("RESULT owncall={ok}");
    // 4. a non-root uid cannot hog the daemon: beyond 32 connections it is told
    //    "not served" at once (root keeps its share).
    let mut refused = 0;
    let mut many: Vec<Raw> = (0..40).map(|_| Raw::open_path(&sock)).collect();
    for x in &mut many {
        x.s.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        if let Some(Frame::Connected(e)) = x.recv() {
            if e.kind == WireError::NOT_SERVED {
                refused += 1;
            }
        }
    }
    println!("RESULT refused={refused}");
}

#[test]
fn non_root_peer_policy() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let out = run_as(
        65534,
        65534,
        "child_entry_nonroot",
        &format!("{},{}", d.sock.display(), fake.addr),
    );
    assert!(
        out.contains(&format!("RESULT privileged={}", WireError::REFUSED)),
        "{out}"
    );
    assert!(
        out.contains(&format!("RESULT spoof={}", WireError::REFUSED)),
        "{out}"
    );
    assert!(out.contains("RESULT own=0"), "{out}");
    assert!(out.contains("RESULT owncall=true"), "{out}");
    let refused: usize = out
        .split("RESULT refused=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("refused count");
    assert!((8..=11).contains(&refused), "{refused} refused\n{out}");
    assert_eq!(fake.calls(), 1, "only the legitimate call was forwarded");
    let seen = fake.seen();
    match &seen[0].header.cred {
        Credential::Sys(s) => assert_eq!(s.uid, 65534),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_frame_drops_only_that_client() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut good = Raw::open(&d);
    assert!(good.connect(e, &Credential::None).is_ok());
    // Oversized length prefix, then an unknown type: both clients are dropped.
    for junk in [
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],
        vec![0, 0, 0, 2, 0x55, 0x66],
    ] {
        let mut bad = Raw::open(&d);
        use std::io::Write;
        bad.s.write_all(&junk).unwrap();
        assert!(bad.recv().is_none(), "garbage client must be disconnected");
    }
    // A CALL before CONNECT is a violation too.
    let mut early = Raw::open(&d);
    early.call(&quick(), call_msg(1, &e, 1, &Credential::None, &[]));
    assert!(early.recv().is_none());
    good.call(
        &quick(),
        call_msg(1, &e, 1, &Credential::None, &[4, 3, 2, 1]),
    );
    assert_eq!(body_of(good.recv().unwrap()).1, vec![4, 3, 2, 1]);
}

#[test]
fn silent_client_dropped_after_handshake_timeout_others_unaffected() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    // 200 idle connections that never speak, plus one slow reader that never reads.
    let idle: Vec<_> = (0..200).map(|_| Raw::open(&d)).collect();
    let mut good = Raw::open(&d);
    assert!(good.connect(e, &Credential::None).is_ok());
    let t0 = Instant::now();
    good.call(
        &quick(),
        call_msg(1, &e, 1, &Credential::None, &[1, 2, 3, 4]),
    );
    body_of(good.recv().unwrap());
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The silent ones are disconnected once the handshake deadline (5 s) passes.
    let mut idle = idle;
    let t1 = Instant::now();
    assert!(idle[0].recv().is_none());
    assert!(t1.elapsed() < Duration::from_secs(7));
    assert!(idle[199].recv().is_none());
    // The bound client is still served.
    good.call(
        &quick(),
        call_msg(2, &e, 1, &Credential::None, &[1, 2, 3, 4]),
    );
    body_of(good.recv().unwrap());
}

#[test]
fn upstream_closing_mid_call_fails_fast_then_redials() {
    // First call: the server closes the connection without answering.
    let fake = FakeServer::tcp(
        LO,
        Arc::new(|k, h, args| {
            if k == 1 {
                Action::Close
            } else {
                Action::Reply(success(h.xid, args))
            }
        }),
    );
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    let opts = quick().with_timeout(Duration::from_secs(20));
    let t0 = Instant::now();
    r.call(&opts, call_msg(11, &e, 1, &Credential::None, &[]));
    match r.recv() {
        Some(Frame::CallError { xid: 11, err }) => {
            assert_eq!(err.kind, WireError::CANT_RECV, "{err:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "failed fast, not after 20 s"
    );
    // Same client, next call: redialled transparently.
    r.call(&opts, call_msg(12, &e, 1, &Credential::None, &[5, 5, 5, 5]));
    assert_eq!(body_of(r.recv().unwrap()), (12, vec![5, 5, 5, 5]));
    assert_eq!(fake.connections(), 2);
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "redials"), 1);
    assert_eq!(json_num(&j, "total", "badcalls"), 1);
}

#[test]
fn upstream_server_gone_mid_call() {
    let fake = FakeServer::tcp(LO, Arc::new(|_, _, _| Action::Ignore));
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    r.call(
        &quick().with_timeout(Duration::from_secs(30)),
        call_msg(21, &e, 1, &Credential::None, &[]),
    );
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    drop(fake); // server process gone: its sockets close
    match r.recv() {
        Some(Frame::CallError { xid: 21, err }) => assert_eq!(err.kind, WireError::CANT_RECV),
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(3));
    // Nobody listens any more: the redial fails with a connect error, promptly.
    r.call(&quick(), call_msg(22, &e, 1, &Credential::None, &[]));
    match r.recv() {
        Some(Frame::CallError { xid: 22, err }) => {
            assert_eq!(err.kind, WireError::CANT_CONNECT, "{err:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tcp_call_timeout_is_reported() {
    let fake = FakeServer::tcp(LO, Arc::new(|_, _, _| Action::Ignore));
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    let t0 = Instant::now();
    r.call(
        &quick().with_timeout(Duration::from_millis(300)),
        call_msg(31, &e, 1, &Credential::None, &[]),
    );
    match r.recv() {
        Some(Frame::CallError { xid: 31, err }) => assert_eq!(err.kind, WireError::TIMED_OUT),
        other => panic!("{other:?}"),
    }
    let el = t0.elapsed();
    assert!(
        el >= Duration::from_millis(250) && el < Duration::from_secs(3),
        "{el:?}"
    );
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "timeouts"), 1);
    // Nothing came back on that connection since the call was sent: treated as
    // wedged (seed 001) and replaced, so the next call opens a new one.
    r.call(
        &quick().with_timeout(Duration::from_millis(200)),
        call_msg(32, &e, 1, &Credential::None, &[]),
    );
    assert!(matches!(r.recv(), Some(Frame::CallError { xid: 32, .. })));
    assert_eq!(fake.connections(), 2);
}

#[test]
fn idle_upstream_closed_after_configured_timeout() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&["--idle-timeout", "0.3"]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    r.call(&quick(), call_msg(1, &e, 1, &Credential::None, &[]));
    body_of(r.recv().unwrap());
    std::thread::sleep(Duration::from_millis(1200));
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "closed_idle"), 1, "{j}");
    assert_eq!(json_num(&j, "", "upstreams"), 0);
    r.call(&quick(), call_msg(2, &e, 1, &Credential::None, &[]));
    body_of(r.recv().unwrap());
    assert_eq!(fake.connections(), 2);
}

#[test]
fn stats_text_and_json() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    for x in 0..3 {
        r.call(&quick(), call_msg(x, &e, 1, &Credential::None, &[]));
        body_of(r.recv().unwrap());
    }
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rpcproxyd"))
        .args(["--stats", "--socket"])
        .arg(&d.sock)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(text.contains("Client rpc stats:"), "{text}");
    assert!(
        text.contains("calls      badcalls   retrans    badxids    timeouts   cantconn\n3 "),
        "{text}"
    );
    assert!(text.contains("rpcproxyd: 2 clients"), "{text}");
    assert!(
        text.contains(&format!("Server {} prog 100099 vers 1 tcp:", fake.addr)),
        "{text}"
    );
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "calls"), 3);
    assert_eq!(json_num(&j, "servers", "calls"), 3);
    assert!(j.contains(&format!("\"server\":\"{}\"", fake.addr)));
}

#[test]
fn sigterm_removes_socket_and_pidfile() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let mut d = Daemon::start(&["--pidfile", pidfile.to_str().unwrap()]);
    let until = Instant::now() + Duration::from_secs(5);
    while !pidfile.exists() {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid as i32, d.pid().as_raw());
    let st = d.stop(Signal::SIGTERM).unwrap();
    assert!(st.success(), "{st:?} {}", d.log());
    assert!(!d.sock.exists(), "socket removed");
    assert!(!pidfile.exists(), "pid file removed");
}

#[test]
fn second_instance_refused_by_lock() {
    let d = Daemon::start(&[]);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rpcproxyd"))
        .args(["-d", "--socket"])
        .arg(&d.sock)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another rpcproxyd"));
    // The first one still serves.
    let mut r = Raw::open(&d);
    r.send(&Frame::Stats);
    assert!(matches!(r.recv(), Some(Frame::StatsReply(_))));
}

#[test]
fn reply_xid_from_server_that_matches_nothing_is_counted() {
    // The server answers with a stale xid first, then the right one.
    let fake = FakeServer::tcp(
        LO,
        Arc::new(|_, h, args| {
            Action::Many(vec![
                success(h.xid.wrapping_add(1000), b"zzzz"),
                success(h.xid, args),
            ])
        }),
    );
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    r.call(
        &quick(),
        call_msg(77, &e, 1, &Credential::None, &[1, 2, 3, 4]),
    );
    let f = r.recv().unwrap();
    if let Frame::Reply(m) = &f {
        assert_eq!(peek_xid(m), Some(77));
    }
    assert_eq!(body_of(f).1, vec![1, 2, 3, 4]);
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "badxids"), 1);
}

#[test]
fn systemd_socket_activation() {
    let Ok(tool) = which("systemd-socket-activate") else {
        eprintln!("systemd-socket-activate not installed; skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("act.sock");
    let mut child = std::process::Command::new(tool)
        .arg("-l")
        .arg(&sock)
        .arg(assert_cmd::cargo::cargo_bin("rpcproxyd"))
        .args(["-d", "--socket", "/nonexistent/ignored"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(10));
    }
    // The first connection starts the daemon on the inherited fd 3.
    let st = nfsmount::proxy::query_stats(&sock, Duration::from_secs(5));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
    let until = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(st.unwrap().clients, 1, "served over the activated socket");
    assert!(!std::path::Path::new("/nonexistent/ignored").exists());
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .ok_or(())
}

#[test]
fn slow_reader_is_dropped_others_unaffected() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    // 64 calls with 128 KiB arguments echoed back = 8 MiB of replies, never read.
    let mut slow = Raw::open(&d);
    assert!(slow.connect(e, &Credential::None).is_ok());
    let big = vec![0x5a; 128 * 1024];
    let mut sent = 0;
    for x in 0..64 {
        let f = Frame::Call(nfsmount::proxy::frame::CallReq::new(
            &quick(),
            call_msg(x, &e, 1, &Credential::None, &big),
        ));
        use std::io::Write;
        if slow.s.write_all(&f.encode()).is_err() {
            break; // already cut off
        }
        sent += 1;
    }
    assert!(sent > 0);
    let mut good = Raw::open(&d);
    assert!(good.connect(e, &Credential::None).is_ok());
    let t0 = Instant::now();
    good.call(
        &quick(),
        call_msg(1, &e, 1, &Credential::None, &[1, 2, 3, 4]),
    );
    assert_eq!(body_of(good.recv().unwrap()).1, vec![1, 2, 3, 4]);
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The slow client was cut off once its queue passed the cap: reading now
    // yields at most what fit in the queue and socket buffers, then EOF.
    std::thread::sleep(Duration::from_millis(500));
    let mut got = 0;
    while let Some(Frame::Reply(_)) = slow.recv() {
        got += 1;
    }
    assert!(
        got < 64,
        "all {got} replies delivered: slow reader never dropped"
    );
}

#[test]
fn udp_port_unreachable_fails_fast() {
    let s = std::net::UdpSocket::bind(LO).unwrap();
    let addr = s.local_addr().unwrap();
    drop(s);
    let d = Daemon::start(&[]);
    let e = Endpoint::new(addr, 100_099, 1, Transport::Udp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    let t0 = Instant::now();
    r.call(
        &quick().with_timeout(Duration::from_secs(10)),
        call_msg(1, &e, 1, &Credential::None, &[]),
    );
    match r.recv() {
        Some(Frame::CallError { xid: 1, err }) => {
            assert_eq!(err.kind, WireError::CANT_RECV);
            assert_eq!(err.errno, nix::errno::Errno::ECONNREFUSED as i32);
        }
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn ipv6_upstream() {
    let fake = FakeServer::tcp("[::1]:0", echo());
    let d = Daemon::start(&[]);
    let e = ep(&fake, Transport::Tcp);
    let mut r = Raw::open(&d);
    assert!(r.connect(e, &Credential::None).is_ok());
    r.call(
        &quick(),
        call_msg(6, &e, 1, &Credential::None, &[6, 6, 6, 6]),
    );
    assert_eq!(body_of(r.recv().unwrap()), (6, vec![6, 6, 6, 6]));
    let j = d.stats_json();
    assert!(j.contains(&format!("\"server\":\"{}\"", fake.addr)), "{j}");
}

/// Child side of the namespace test: runs in a fresh network namespace.
#[test]
fn child_entry_netns() {
    let Ok(sock) = std::env::var("PROXY_NETNS_CHILD") else {
        return;
    };
    let mut r = Raw::open_path(std::path::Path::new(&sock));
    let e = Endpoint::new("127.0.0.1:111".parse().unwrap(), 100_000, 2, Transport::Tcp);
    // The daemon refuses at accept time and may have closed already (EPIPE
    // here); its "not served" frame is still there to read.
    use std::io::Write;
    let _ = r.s.write_all(
        &Frame::Connect(nfsmount::proxy::frame::ConnectReq {
            ep: e,
            connect_timeout: Duration::from_secs(1),
            cred: nfsmount::rpc::OpaqueAuth::none(),
        })
        .encode(),
    );
    let kind = match r.recv() {
        Some(Frame::Connected(e)) => e.kind,
        _ => 255,
    };
    println!("RESULT netns={kind}");
}

#[test]
fn peer_in_other_network_namespace_is_not_served() {
    let Ok(unshare) = which("unshare") else {
        eprintln!("unshare not installed; skipping");
        return;
    };
    let d = Daemon::start(&[]);
    let out = std::process::Command::new(unshare)
        .arg("--net")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry_netns",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PROXY_NETNS_CHILD", &d.sock)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains(&format!("RESULT netns={}", WireError::NOT_SERVED)),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.log().contains("other network namespace"), "{}", d.log());
}

/// CPU time (user + system, in clock ticks) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    (stat_field(pid, 14) + stat_field(pid, 15)) as u64
}

#[test]
fn out_of_fds_pauses_accepting_instead_of_spinning() {
    let Ok(prlimit) = which("prlimit") else {
        panic!("prlimit (util-linux) is needed for this test");
    };
    let fake = FakeServer::tcp(LO, echo());
    // 20 fds: the client cap (16) is above what is left after the daemon's own fds
    let limit = "--nofile=20:20";
    let d = Daemon::start_wrapped(&[prlimit.to_str().unwrap(), limit, "--"], &[]);
    let pid = d.pid().as_raw() as u32;
    let e = ep(&fake, Transport::Tcp);
    // More clients than fds: the rest wait in the listen backlog.
    let mut held: Vec<Raw> = (0..40).map(|_| Raw::open(&d)).collect();
    std::thread::sleep(ms(300));
    let t0 = cpu_ticks(pid);
    std::thread::sleep(ms(1000));
    let used = cpu_ticks(pid) - t0;
    assert!(
        used < 30,
        "rpcproxyd used {used} ticks in 1 s with a full fd table: spinning on accept"
    );
    assert!(d.log().contains("pausing accepts"), "{}", d.log());
    // Once fds are free again, new clients are served.
    held.clear();
    std::thread::sleep(ms(500));
    let mut c = Raw::open(&d);
    assert!(c.connect(e, &Credential::None).is_ok(), "{}", d.log());
    c.call(&quick(), call_msg(7, &e, 1, &Credential::None, &[9, 9]));
    assert_eq!(body_of(c.recv().unwrap()).1, vec![9, 9]);
}

/// Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat.
fn stat_field(pid: u32, n: usize) -> i64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    after.split(' ').nth(n - 3).unwrap().parse().unwrap()
}

#[test]
fn daemon_runs_ahead_of_the_helpers_it_serves() {
    let d = Daemon::start(&[]);
    let pid = d.pid().as_raw() as u32;
    if nix::unistd::geteuid().is_root() {
        assert_eq!(stat_field(pid, 19), -10, "nice of a root rpcproxyd");
    }
    let d2 = Daemon::start(&["--nice", "5"]);
    assert_eq!(stat_field(d2.pid().as_raw() as u32, 19), 5);
}
