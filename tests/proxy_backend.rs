//! ProxyBackend in front of the Pool: through a running rpcproxyd, without one, and
//! when the daemon dies in the middle of a call.
mod proxy_support;
mod support;

use nfsmount::client::{
    Backend, CallOpts, Client, Cred, Endpoint, Pool, ProxyBackend, RpcError, Transport,
};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use proxy_support::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{success, Action, FakeServer};

const LO: &str = "127.0.0.1:0";

fn echo() -> support::Handler {
    Arc::new(|_, h, args| Action::Reply(success(h.xid, args)))
}

fn client(sock: &std::path::Path) -> Client {
    Client::with_backends(vec![
        Box::new(ProxyBackend::new(sock.to_path_buf()).with_autostart(false)),
        Box::new(Pool::default()),
    ])
}

fn slow_echo(ms_: u64) -> support::Handler {
    Arc::new(move |_, h, args| {
        std::thread::sleep(Duration::from_millis(ms_));
        Action::Reply(success(h.xid, args))
    })
}

#[test]
fn no_proxy_falls_back_to_pool_without_delay() {
    let fake = FakeServer::tcp(LO, echo());
    let dir = tempfile::tempdir().unwrap();
    let mut c = client(&dir.path().join("nothing-here"));
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    let t0 = Instant::now();
    for i in 0..5u8 {
        let r = c
            .call(&ep, &Cred::None, 1, &[i, 0, 0, 0], &quick())
            .unwrap();
        assert_eq!(r, vec![i, 0, 0, 0]);
    }
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(fake.connections(), 1, "the pool's own cached connection");
    assert_eq!(c.stats().total.calls, 5, "counted once, by the pool");
}

#[test]
fn stale_socket_file_falls_back_too() {
    // A socket file nobody listens on (daemon crashed): ECONNREFUSED.
    let fake = FakeServer::udp(LO, echo());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stale");
    drop(std::os::unix::net::UnixListener::bind(&p).unwrap());
    let mut c = client(&p);
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Udp);
    assert_eq!(
        c.call(&ep, &Cred::None, 1, &[1, 2, 3, 4], &quick())
            .unwrap(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn two_helpers_share_the_daemons_connection() {
    let fake = FakeServer::tcp(LO, echo());
    let d = Daemon::start(&[]);
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    let cred = Cred::Sys {
        machine: "m".into(),
        uid: 0,
        gid: 0,
        gids: vec![0],
    };
    for helper in 0..4u8 {
        let mut c = client(&d.sock);
        for i in 0..3u8 {
            let r = c.call(&ep, &cred, 1, &[helper, i, 0, 0], &quick()).unwrap();
            assert_eq!(r, vec![helper, i, 0, 0]);
        }
        assert_eq!(c.stats().total.calls, 3);
    }
    assert_eq!(
        fake.connections(),
        1,
        "all helpers over one upstream connection"
    );
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "calls"), 12);
    // The server saw AUTH_SYS as the helpers sent it.
    match &fake.seen()[0].header.cred {
        nfsmount::rpc::Credential::Sys(s) => assert_eq!(s.machine, "m"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_errors_come_back_unchanged() {
    let fake = FakeServer::tcp(
        LO,
        Arc::new(|_, h, _| {
            Action::Reply(support::reply(
                h.xid,
                nfsmount::rpc::AcceptStat::ProcUnavail,
            ))
        }),
    );
    let d = Daemon::start(&[]);
    let mut c = client(&d.sock);
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    assert_eq!(
        c.call(&ep, &Cred::None, 1, &[], &quick()),
        Err(RpcError::ProcUnavail)
    );
    // A refused upstream port is a connect error, as with the pool.
    let l = std::net::TcpListener::bind(LO).unwrap();
    let gone = l.local_addr().unwrap();
    drop(l);
    let ep = Endpoint::new(gone, 100_099, 1, Transport::Tcp);
    assert_eq!(
        c.call(&ep, &Cred::None, 1, &[], &quick()),
        Err(RpcError::CantConnect(Errno::ECONNREFUSED))
    );
}

fn proxy_dies_during_call(idempotent: bool) -> (Result<Vec<u8>, RpcError>, usize) {
    let fake = FakeServer::tcp(LO, slow_echo(800));
    let mut d = Daemon::start(&[]);
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    let pid = d.pid();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    });
    let mut c = client(&d.sock);
    let opts = quick()
        .with_timeout(Duration::from_secs(5))
        .with_idempotent(idempotent);
    let r = c.call(&ep, &Cred::None, 1, &[7, 7, 7, 7], &opts);
    killer.join().unwrap();
    d.stop(Signal::SIGKILL);
    std::thread::sleep(Duration::from_millis(900));
    (r, fake.calls())
}

#[test]
fn proxy_death_idempotent_call_falls_back_to_pool() {
    let (r, calls) = proxy_dies_during_call(true);
    assert_eq!(r, Ok(vec![7, 7, 7, 7]));
    assert_eq!(calls, 2, "sent by the proxy, then again by the pool");
}

#[test]
fn proxy_death_non_idempotent_call_is_not_repeated() {
    let (r, calls) = proxy_dies_during_call(false);
    assert_eq!(r, Err(RpcError::CantRecv(Errno::ECONNRESET)));
    assert_eq!(calls, 1, "never sent twice");
}

#[test]
fn autostart_is_opt_in_and_starts_one_daemon() {
    let fake = FakeServer::tcp(LO, echo());
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("auto.sock");
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    std::env::set_var(
        "NFSMOUNT_RPCPROXYD",
        assert_cmd::cargo::cargo_bin("rpcproxyd"),
    );
    // Off: nothing is started.
    let mut off = ProxyBackend::new(sock.clone()).with_autostart(false);
    assert_eq!(
        off.call(&ep, &Cred::None, 1, &[], &quick()),
        Err(RpcError::BackendUnavailable)
    );
    assert!(!sock.exists());
    // Whatever happens below, stop the daemon we may have started.
    struct Reap(std::path::PathBuf);
    impl Drop for Reap {
        fn drop(&mut self) {
            if let Some(pid) = std::fs::read_to_string(&self.0)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
    }
    let _reap = Reap(dir.path().join("auto.sock.pid"));
    // On: the daemon is started (it daemonises) and serves the call.
    let mut on = ProxyBackend::new(sock.clone()).with_autostart(true);
    assert_eq!(
        on.call(&ep, &Cred::None, 1, &[3, 3, 3, 3], &quick()),
        Ok(vec![3, 3, 3, 3])
    );
    let st = nfsmount::proxy::query_stats(&sock, Duration::from_secs(2)).unwrap();
    assert_eq!(st.total.calls, 1);
    // Stop the daemonised process (its pid file sits next to the socket).
    let pidfile = dir.path().join("auto.sock.pid");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while sock.exists() {
        assert!(Instant::now() < until, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn default_backends_order() {
    let c = Client::with_default_backends();
    assert_eq!(
        format!("{c:?}"),
        "Client { backends: [\"rpcproxyd\", \"in-process\"] }"
    );
    let _ = CallOpts::umnt();
}

/// A daemon that is alive but never accepts (stopped, wedged) fills its listen
/// backlog; the next helper's connect must give up after its bound, not hang.
#[test]
fn local_connect_is_bounded_when_the_listener_never_accepts() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s");
    let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&p).unwrap()).unwrap();
    l.listen(0).unwrap();
    // in a thread, so that a connect that does hang fails the test instead
    let (tx, rx) = std::sync::mpsc::channel();
    let path = p.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..8 {
            match nfsmount::sys::net::unix_connect(&path, std::time::Duration::from_millis(300)) {
                Ok(s) => held.push(s),
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            }
        }
        let _ = tx.send(Ok(held.len()));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("{n} connects to a full backlog all succeeded"),
        Err(_) => panic!("connect to a listener that never accepts hung"),
    }
    drop(l);
}

/// What a daemon receives in the first read on a new local connection: CONNECT
/// and CALL together for an idempotent call (one local round trip), CONNECT
/// alone otherwise (a non-idempotent call is sent only once the daemon has
/// confirmed the CONNECT, so a daemon dying in between cannot have forwarded it).
fn frames_in_first_read(idempotent: bool) -> (Vec<&'static str>, Result<Vec<u8>, RpcError>) {
    use nfsmount::proxywire::{Frame, FrameDecoder};
    use std::io::Read;
    let fake = FakeServer::tcp(LO, echo());
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("fake-daemon");
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        std::thread::sleep(Duration::from_millis(200)); // let a pipelined CALL arrive
        let mut buf = [0u8; 65536];
        let n = s.read(&mut buf).unwrap();
        let mut dec = FrameDecoder::default();
        dec.feed(&buf[..n]).unwrap();
        let mut kinds = Vec::new();
        while let Ok(Some(f)) = dec.next_frame() {
            kinds.push(match f {
                Frame::Connect(_) => "CONNECT",
                Frame::Call(_) => "CALL",
                _ => "other",
            });
        }
        kinds // then hang up without answering: the client falls back
    });
    let mut c = client(&sock);
    let ep = Endpoint::new(fake.addr, 100_099, 1, Transport::Tcp);
    let r = c.call(
        &ep,
        &Cred::None,
        1,
        &[5, 5, 5, 5],
        &quick().with_idempotent(idempotent),
    );
    (t.join().unwrap(), r)
}

#[test]
fn idempotent_calls_are_pipelined_with_the_connect() {
    let (kinds, r) = frames_in_first_read(true);
    assert_eq!(kinds, ["CONNECT", "CALL"]);
    assert_eq!(
        r,
        Ok(vec![5, 5, 5, 5]),
        "answered by the pool after the hang-up"
    );
}

#[test]
fn non_idempotent_calls_wait_for_the_connect_to_be_confirmed() {
    let (kinds, r) = frames_in_first_read(false);
    assert_eq!(kinds, ["CONNECT"]);
    assert_eq!(
        r,
        Ok(vec![5, 5, 5, 5]),
        "nothing was forwarded: the pool may send it"
    );
}

#[test]
fn one_local_connection_is_rebound_across_endpoints_and_credentials() {
    let tcp = FakeServer::tcp(LO, echo());
    let udp = FakeServer::udp(LO, echo());
    let d = Daemon::start(&[]);
    let mut c = client(&d.sock);
    let a = Endpoint::new(tcp.addr, 100_099, 1, Transport::Tcp);
    let b = Endpoint::new(udp.addr, 100_098, 1, Transport::Udp);
    let root = Cred::Sys {
        machine: "m".into(),
        uid: 0,
        gid: 0,
        gids: vec![0],
    };
    // Non-idempotent calls too: they wait for each re-bind to be confirmed.
    let steps: [(&Endpoint, &Cred, bool); 5] = [
        (&a, &Cred::None, true),
        (&b, &Cred::None, true),
        (&a, &root, false),
        (&a, &root, true),
        (&b, &Cred::None, false),
    ];
    for (i, (ep, cred, idem)) in steps.into_iter().enumerate() {
        let r = c.call(
            ep,
            cred,
            1,
            &[i as u8, 0, 0, 0],
            &quick().with_idempotent(idem),
        );
        assert_eq!(r, Ok(vec![i as u8, 0, 0, 0]), "call {i}");
    }
    let j = d.stats_json();
    assert_eq!(
        json_num(&j, "{", "clients"),
        2,
        "this helper's one connection plus the --stats query: {j}"
    );
    assert_eq!(json_num(&j, "total", "calls"), 5, "all through the daemon");
    // Two credentials towards `a`: never shared (seed 002).
    assert_eq!(tcp.connections(), 2);
    assert_eq!(udp.seen().len(), 2);
}
