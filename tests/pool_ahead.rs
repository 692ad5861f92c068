//! Pipelined rpcbind queries in the in-process pool (`Client::send_ahead`,
//! `calls::getport_ahead`): the queries a mount needs leave together on one
//! connection per transport, the later ordinary calls only wait for their
//! replies, and every failure ends exactly as the ordinary call would.
mod support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{CallOpts, Client, RetryPolicy, RpcError, Transport};
use nfsmount::proto::{prog, IPPROTO_TCP, IPPROTO_UDP};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{portmapper, Action, FakeServer};

const LO: &str = "127.0.0.1:0";

fn quick() -> CallOpts {
    CallOpts::udp_probe()
        .with_timeout(Duration::from_millis(1500))
        .with_retry(RetryPolicy::fixed(Duration::from_millis(500)))
        .with_connect_timeout(Duration::from_millis(1500))
}

fn table() -> Vec<(u32, u32, u32, u16)> {
    vec![
        (prog::NFS, 3, IPPROTO_TCP, 2049),
        (prog::MOUNT, 3, IPPROTO_TCP, 20048),
        (prog::MOUNT, 3, IPPROTO_UDP, 20049),
    ]
}

fn nfs_tcp() -> Target {
    Target::new(prog::NFS, 3, Transport::Tcp)
}
fn mnt_tcp() -> Target {
    Target::new(prog::MOUNT, 3, Transport::Tcp)
}

/// Waits (bounded) until the fake has seen `n` calls.
fn seen_within(s: &FakeServer, n: usize) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if s.calls() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn queries_sent_ahead_leave_together_on_one_connection_and_are_not_sent_twice() {
    let pm = FakeServer::tcp(LO, portmapper(table(), None));
    let mut c = Client::new();
    assert!(calls::getport_ahead(&mut c, pm.addr, nfs_tcp(), &quick()));
    assert!(calls::getport_ahead(&mut c, pm.addr, mnt_tcp(), &quick()));
    // both are at the server before anything waited for a reply
    assert!(seen_within(&pm, 2), "both GETPORTs should be sent at once");
    // the ordinary calls, in the other order: each gets its own answer
    let m = calls::getport(&mut c, pm.addr, mnt_tcp(), &quick());
    let n = calls::getport(&mut c, pm.addr, nfs_tcp(), &quick());
    assert_eq!((n, m), (Ok(2049), Ok(20048)));
    assert_eq!(pm.calls(), 2, "picked up, not sent again");
    assert_eq!(pm.connections(), 1);
    // a later, not pipelined call still works on the same connection
    assert_eq!(
        calls::getport(&mut c, pm.addr, nfs_tcp(), &quick()),
        Ok(2049)
    );
    assert_eq!(pm.calls(), 3);
}

#[test]
fn udp_queries_sent_ahead_are_picked_up_without_a_retransmission() {
    let pm = FakeServer::udp(LO, portmapper(table(), None));
    let mut c = Client::new();
    let t = Target::new(prog::MOUNT, 3, Transport::Udp);
    assert!(calls::getport_ahead(&mut c, pm.addr, t, &quick()));
    assert!(seen_within(&pm, 1));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls::getport(&mut c, pm.addr, t, &quick()), Ok(20049));
    assert_eq!(pm.calls(), 1);
}

#[test]
fn an_unanswered_early_send_ends_as_the_ordinary_call_within_its_budget() {
    let silent = FakeServer::udp(LO, Arc::new(|_, _, _| Action::Ignore));
    let t = Target::new(prog::MOUNT, 3, Transport::Udp);
    // ordinary call, for comparison
    let mut plain = Client::new();
    let t0 = Instant::now();
    let want = calls::getport(&mut plain, silent.addr, t, &quick());
    let plain_time = t0.elapsed();
    let mut c = Client::new();
    let t0 = Instant::now();
    assert!(calls::getport_ahead(&mut c, silent.addr, t, &quick()));
    let got = calls::getport(&mut c, silent.addr, t, &quick());
    let took = t0.elapsed();
    assert_eq!(got, want);
    assert_eq!(got, Err(RpcError::TimedOut));
    assert!(
        took < plain_time + Duration::from_millis(600),
        "early send must not add more than one retransmit interval: {took:?} vs {plain_time:?}"
    );
}

#[test]
fn a_refused_early_connect_gives_the_ordinary_error_without_a_second_connect() {
    // a port nobody listens on
    let l = TcpListener::bind(LO).unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    drop(l);
    let mut plain = Client::new();
    let want = calls::getport(&mut plain, addr, nfs_tcp(), &quick());
    assert!(matches!(want, Err(RpcError::CantConnect(_))), "{want:?}");
    let mut c = Client::new();
    assert!(!calls::getport_ahead(&mut c, addr, nfs_tcp(), &quick()));
    // the second query to the same rpcbind does not try again
    assert!(!calls::getport_ahead(&mut c, addr, mnt_tcp(), &quick()));
    assert_eq!(calls::getport(&mut c, addr, nfs_tcp(), &quick()), want);
    // and after that the pool dials as usual
    assert_eq!(calls::getport(&mut c, addr, mnt_tcp(), &quick()), want);
}

#[test]
fn ipv6_and_non_idempotent_calls_are_not_sent_ahead() {
    let pm = FakeServer::tcp(LO, portmapper(table(), None));
    let mut c = Client::new();
    let v6: SocketAddr = "[::1]:9".parse().unwrap();
    assert!(!calls::getport_ahead(&mut c, v6, nfs_tcp(), &quick()));
    assert!(!calls::getport_ahead(
        &mut c,
        pm.addr,
        nfs_tcp(),
        &quick().with_idempotent(false)
    ));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(pm.calls(), 0);
}
