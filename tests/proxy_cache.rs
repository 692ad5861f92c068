//! rpcproxyd's answer cache (src/portcache.rs, docs/rpcproxyd.md "Answer
//! cache"): GETPORT answers and NULL pings answered by the daemon within the
//! TTL, the "fresh" bypass the helpers use after a failure, TTL expiry, the
//! switch-off, and invalidation when the upstream dies. Against a fake TCP
//! portmapper that counts what reaches it.
mod proxy_support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{Client, Endpoint, ProxyBackend, Transport};
use proxy_support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Seen {
    getport: AtomicUsize,
    null: AtomicUsize,
    conns: AtomicUsize,
}

/// A portmapper on 127.0.0.1 answering GETPORT with 2049 and NULL; closes a
/// connection after `close_after` replies (0 = never). Runs until the test ends.
fn fake_portmapper(close_after: usize) -> (SocketAddr, Arc<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            s2.conns.fetch_add(1, Ordering::SeqCst);
            let seen = s2.clone();
            std::thread::spawn(move || {
                c.set_read_timeout(Some(Duration::from_secs(20))).ok();
                let mut replies = 0;
                loop {
                    let mut h = [0u8; 4];
                    if c.read_exact(&mut h).is_err() {
                        return;
                    }
                    let len = (u32::from_be_bytes(h) & 0x7fff_ffff) as usize;
                    if len > 65536 {
                        return;
                    }
                    let mut m = vec![0u8; len];
                    if c.read_exact(&mut m).is_err() || m.len() < 24 {
                        return;
                    }
                    let xid = &m[0..4];
                    let proc_ = u32::from_be_bytes([m[20], m[21], m[22], m[23]]);
                    let mut r = Vec::new();
                    r.extend_from_slice(xid);
                    for w in [1u32, 0, 0, 0, 0] {
                        r.extend_from_slice(&w.to_be_bytes());
                    }
                    match proc_ {
                        0 => {
                            seen.null.fetch_add(1, Ordering::SeqCst);
                        }
                        3 => {
                            seen.getport.fetch_add(1, Ordering::SeqCst);
                            r.extend_from_slice(&2049u32.to_be_bytes());
                        }
                        _ => return,
                    }
                    let mut rec = ((r.len() as u32) | 0x8000_0000).to_be_bytes().to_vec();
                    rec.extend_from_slice(&r);
                    if c.write_all(&rec).is_err() {
                        return;
                    }
                    replies += 1;
                    if close_after > 0 && replies >= close_after {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn client(d: &Daemon) -> Client {
    // the daemon only: a call it does not serve fails instead of going elsewhere
    Client::with_backends(vec![Box::new(ProxyBackend::new(d.sock.clone()))])
}

fn getport(c: &mut Client, pm: SocketAddr) -> u16 {
    calls::pmap_getport(
        c,
        pm,
        Transport::Tcp,
        Target::new(100003, 3, Transport::Tcp),
        &quick(),
    )
    .expect("GETPORT")
}

fn null(c: &mut Client, pm: SocketAddr) {
    let ep = Endpoint::new(pm, 100000, 2, Transport::Tcp);
    calls::null(c, &ep, &quick()).expect("NULL");
}

#[test]
fn getport_is_answered_from_the_cache_within_the_ttl_and_fresh_bypasses_it() {
    let (pm, seen) = fake_portmapper(0);
    let d = Daemon::start(&["--cache-ttl", "30"]);
    let mut a = client(&d);
    assert_eq!(getport(&mut a, pm), 2049);
    assert!(!a.last_from_cache());
    // another helper, same question: the daemon answers
    let mut b = client(&d);
    assert_eq!(getport(&mut b, pm), 2049);
    assert!(b.last_from_cache(), "second GETPORT should be a cache hit");
    assert_eq!(b.take_cache_used(), 1);
    assert_eq!(seen.getport.load(Ordering::SeqCst), 1);
    // after a failure the helper asks with the cache bypassed
    b.set_fresh(true);
    assert_eq!(getport(&mut b, pm), 2049);
    assert!(!b.last_from_cache());
    assert_eq!(seen.getport.load(Ordering::SeqCst), 2);
    b.set_fresh(false);
    assert_eq!(getport(&mut b, pm), 2049);
    assert!(b.last_from_cache());
    assert_eq!(seen.getport.load(Ordering::SeqCst), 2);
}

#[test]
fn answers_expire_after_the_ttl_and_ttl_zero_turns_the_cache_off() {
    let (pm, seen) = fake_portmapper(0);
    let d = Daemon::start(&["--cache-ttl", "0.3"]);
    let mut a = client(&d);
    getport(&mut a, pm);
    getport(&mut a, pm);
    assert_eq!(seen.getport.load(Ordering::SeqCst), 1);
    std::thread::sleep(ms(400));
    getport(&mut a, pm);
    assert!(!a.last_from_cache(), "expired answer must not be used");
    assert_eq!(seen.getport.load(Ordering::SeqCst), 2);

    let (pm, seen) = fake_portmapper(0);
    let d = Daemon::start(&["--cache-ttl", "0"]);
    let mut a = client(&d);
    for _ in 0..3 {
        getport(&mut a, pm);
        null(&mut a, pm);
        assert!(!a.last_from_cache());
    }
    assert_eq!(seen.getport.load(Ordering::SeqCst), 3);
    assert_eq!(seen.null.load(Ordering::SeqCst), 3);
}

#[test]
fn null_is_skipped_only_on_a_live_connection_and_a_dead_upstream_drops_the_answers() {
    // the server closes each connection after 2 replies
    let (pm, seen) = fake_portmapper(2);
    let d = Daemon::start(&["--cache-ttl", "30"]);
    let mut a = client(&d);
    null(&mut a, pm); // reply 1 on connection 1: the service is alive
    assert!(!a.last_from_cache());
    getport(&mut a, pm); // reply 2, then the server closes connection 1
    assert_eq!(seen.null.load(Ordering::SeqCst), 1);
    assert_eq!(seen.getport.load(Ordering::SeqCst), 1);
    // give the daemon time to see the close (bounded)
    let mut waited = 0;
    while waited < 2000 && nfsmount_upstreams(&d) > 0 {
        std::thread::sleep(ms(20));
        waited += 20;
    }
    assert_eq!(
        nfsmount_upstreams(&d),
        0,
        "daemon should have dropped the closed upstream"
    );
    // the connection died: nothing kept about this port is used
    null(&mut a, pm);
    assert!(
        !a.last_from_cache(),
        "NULL after the upstream died must reach the server"
    );
    assert_eq!(seen.null.load(Ordering::SeqCst), 2);
    getport(&mut a, pm);
    assert!(
        !a.last_from_cache(),
        "GETPORT answers of a failed rpcbind are dropped"
    );
    assert_eq!(seen.getport.load(Ordering::SeqCst), 2);
    assert!(seen.conns.load(Ordering::SeqCst) >= 2);
    // on the new live connection (its 2 replies are used up, it closes):
    // the third connection serves this NULL, then a NULL within the TTL is skipped
    std::thread::sleep(ms(200));
    null(&mut a, pm);
    let before = seen.null.load(Ordering::SeqCst);
    null(&mut a, pm);
    assert!(
        a.last_from_cache(),
        "NULL on a live connection within the TTL is skipped"
    );
    assert_eq!(seen.null.load(Ordering::SeqCst), before);
}

/// Upstream connections the daemon holds (from `--stats --json`).
fn nfsmount_upstreams(d: &Daemon) -> u64 {
    let j = d.stats_json();
    json_num(&j, "", "upstreams")
}

/// `c.peers()` once it equals `want`, or its last value after 1 s.
fn peers_settled(c: &mut Client, want: u32) -> Option<u32> {
    let mut n = c.peers();
    for _ in 0..50 {
        if n == Some(want) {
            break;
        }
        std::thread::sleep(ms(20));
        n = c.peers();
    }
    n
}

/// `Client::peers` (the adaptive stormsafe signal, negotiate::pressure): the
/// number of connections to the daemon's socket, counted in /proc/net/unix
/// while the helper has one of its own; none without one, none from the
/// in-process pool, and the connection keeps working for calls afterwards.
#[test]
fn peers_counts_the_daemons_local_clients_on_the_open_connection() {
    let (pm, _seen) = fake_portmapper(0);
    let d = Daemon::start(&["--cache-ttl", "0"]);
    let mut a = client(&d);
    assert_eq!(
        a.peers(),
        None,
        "no local connection yet: nothing is opened for it"
    );
    assert_eq!(getport(&mut a, pm), 2049);
    assert_eq!(a.peers(), Some(1));
    let others: Vec<Raw> = (0..5).map(|_| Raw::open(&d)).collect();
    assert_eq!(peers_settled(&mut a, 6), Some(6));
    assert_eq!(
        getport(&mut a, pm),
        2049,
        "the connection still serves calls"
    );
    drop(others);
    // the daemon closes its ends when it sees them gone
    assert_eq!(peers_settled(&mut a, 1), Some(1));
    let mut pool_only = Client::new();
    assert_eq!(pool_only.peers(), None);
}
