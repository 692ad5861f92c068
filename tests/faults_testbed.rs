//! Seed 001 against the REAL server: a cached connection to ganesha goes silent
//! (nftables drops that one flow, as after a failover; new connections pass), and
//! the next call must be answered on a new connection within the call, through
//! rpcproxyd and through the in-process pool.
//!
//! ```text
//! eval "$(scripts/testbed up --name tblive)"
//! ip netns exec $TESTBED_NS cargo test --test faults_testbed -- --ignored --test-threads=1
//! ```
//! Reads TESTBED_ADDR4 and TESTBED_NFS_PORT (default 2049). Adds (and removes)
//! its own nftables table `nfsmount_faults_test` in the test bed's namespace.
mod proxy_support;

use nfsmount::client::{calls, CallOpts, Client, ProxyBackend, Transport};
use proxy_support::*;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

const TABLE: &str = "nfsmount_faults_test";

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set: run inside scripts/testbed"))
}

fn nfs_addr() -> SocketAddr {
    let ip: IpAddr = env("TESTBED_ADDR4").parse().unwrap();
    let port = std::env::var("TESTBED_NFS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2049);
    SocketAddr::new(ip, port)
}

/// Local ports of established IPv4 TCP connections towards `port`.
fn local_ports_to(port: u16) -> HashSet<u16> {
    let t = std::fs::read_to_string("/proc/net/tcp").unwrap();
    t.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local = f.get(1)?;
            let remote = f.get(2)?;
            let state = f.get(3)?;
            let rport = u16::from_str_radix(remote.rsplit(':').next()?, 16).ok()?;
            let lport = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (*state == "01" && rport == port).then_some(lport)
        })
        .collect()
}

fn nft(args: &str) {
    let st = Command::new("nft").args(args.split(' ')).status().unwrap();
    assert!(st.success(), "nft {args}");
}

/// Drops every packet of the flows from local ports `lports` to the server:
/// those connections go silent, no reset. Removed when dropped.
struct Silence;
impl Silence {
    fn flow(lport: u16, dport: u16) -> Silence {
        Silence::flows(&[lport], dport)
    }
    fn flows(lports: &[u16], dport: u16) -> Silence {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", TABLE])
            .stderr(std::process::Stdio::null())
            .status();
        nft(&format!("add table inet {TABLE}"));
        nft(&format!(
            "add chain inet {TABLE} input {{ type filter hook input priority -5 ; policy accept ; }}"
        ));
        for lport in lports {
            nft(&format!(
                "add rule inet {TABLE} input tcp sport {lport} tcp dport {dport} drop"
            ));
        }
        Silence
    }
}
impl Drop for Silence {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", TABLE])
            .status();
    }
}

/// NFS NULL twice with a silence in between; returns the second call's time.
fn null_across_silence(c: &mut Client) -> Duration {
    let addr = nfs_addr();
    let opts = CallOpts::tcp_probe();
    let before = local_ports_to(addr.port());
    calls::nfs_null(c, addr, 3, Transport::Tcp, &opts).unwrap();
    let new: Vec<u16> = local_ports_to(addr.port())
        .difference(&before)
        .copied()
        .collect();
    assert_eq!(new.len(), 1, "one new cached connection: {new:?}");
    let _s = Silence::flow(new[0], addr.port());
    std::thread::sleep(Duration::from_millis(1300));
    let t0 = Instant::now();
    calls::nfs_null(c, addr, 3, Transport::Tcp, &opts).unwrap();
    t0.elapsed()
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns, as root)"]
fn silent_cached_connection_to_ganesha_via_rpcproxyd() {
    let d = Daemon::start(&[]);
    let mut c = Client::with_backends(vec![Box::new(
        ProxyBackend::new(d.sock.clone()).with_autostart(false),
    )]);
    let dt = null_across_silence(&mut c);
    println!("rpcproxyd, silent cached connection to ganesha: {dt:?}");
    assert!(dt < Duration::from_secs(3), "{dt:?}");
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "redials"), 1, "{j}");
    assert_eq!(json_num(&j, "total", "badcalls"), 0, "{j}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns, as root)"]
fn silent_cached_connection_to_ganesha_in_process() {
    let mut c = Client::new();
    let dt = null_across_silence(&mut c);
    println!("pool, silent cached connection to ganesha: {dt:?}");
    assert!(dt < Duration::from_secs(3), "{dt:?}");
    let s = c.stats().total;
    assert_eq!((s.redials, s.badcalls), (1, 0));
}

/// Keepalive (5 s idle, 2 s interval, 3 probes): a cached connection that went
/// silent while idle is failed by the kernel within ~11 s, so the next call
/// redials before sending and pays nothing — through rpcproxyd and in-process.
#[test]
#[ignore = "needs scripts/testbed (run inside its netns, as root)"]
fn keepalive_fails_an_idle_silent_connection_before_the_next_call() {
    let d = Daemon::start(&[]);
    let mut proxy = Client::with_backends(vec![Box::new(
        ProxyBackend::new(d.sock.clone()).with_autostart(false),
    )]);
    let mut pool = Client::new();
    let addr = nfs_addr();
    let opts = CallOpts::tcp_probe();
    let before = local_ports_to(addr.port());
    calls::nfs_null(&mut proxy, addr, 3, Transport::Tcp, &opts).unwrap();
    calls::nfs_null(&mut pool, addr, 3, Transport::Tcp, &opts).unwrap();
    let new: Vec<u16> = local_ports_to(addr.port())
        .difference(&before)
        .copied()
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    let _s = Silence::flows(&new, addr.port());
    std::thread::sleep(Duration::from_secs(13));
    for (name, c) in [("rpcproxyd", &mut proxy), ("pool", &mut pool)] {
        let t0 = Instant::now();
        calls::nfs_null(c, addr, 3, Transport::Tcp, &opts).unwrap();
        let dt = t0.elapsed();
        println!("{name}: call after a keepalive-failed connection: {dt:?}");
        assert!(dt < Duration::from_millis(500), "{name}: {dt:?}");
    }
    assert_eq!(pool.stats().total.redials, 1);
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "redials"), 1, "{j}");
}
