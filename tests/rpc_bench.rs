//! GETPORT throughput: one reused TCP connection vs a new connection per call (what
//! nfs-utils does), plus the TIME_WAIT sockets each leaves behind. Prints numbers;
//! asserts nothing about speed.
//!
//! Against the testbed's real rpcbind (inside its namespace):
//!   ip netns exec $TESTBED_NS cargo test --release --test rpc_bench -- --ignored --nocapture
//! Without TESTBED_ADDR4 it runs against a local fake portmapper. See
//! scripts/bench-getport.
mod support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{CallOpts, Client, Transport};
use nfsmount::proto::{prog, IPPROTO_TCP};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// TIME_WAIT sockets whose remote port is `port`.
fn time_wait_to(port: u16) -> usize {
    let mut n = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(t) = std::fs::read_to_string(f) else {
            continue;
        };
        for l in t.lines().skip(1) {
            let c: Vec<&str> = l.split_whitespace().collect();
            let rport = c
                .get(2)
                .and_then(|r| r.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if rport == Some(port) && c.get(3) == Some(&"06") {
                n += 1;
            }
        }
    }
    n
}

fn phase(
    name: &str,
    server: SocketAddr,
    calls_max: usize,
    budget: Duration,
    mut one: impl FnMut(),
) {
    let tw0 = time_wait_to(server.port());
    let t0 = Instant::now();
    let mut n = 0;
    while n < calls_max && t0.elapsed() < budget {
        one();
        n += 1;
    }
    let dt = t0.elapsed();
    let tw = time_wait_to(server.port()).saturating_sub(tw0);
    println!(
        "{name:<34} {n:>6} calls in {:>7.3} s = {:>9.0} calls/s, +{tw} TIME_WAIT",
        dt.as_secs_f64(),
        n as f64 / dt.as_secs_f64()
    );
}

#[test]
#[ignore = "benchmark: prints numbers"]
fn bench_getport() {
    let (server, _fake, label) = match std::env::var("TESTBED_ADDR4") {
        Ok(a) => (
            SocketAddr::new(a.parse::<IpAddr>().unwrap(), 111),
            None,
            "testbed rpcbind",
        ),
        Err(_) => {
            let f = support::FakeServer::tcp(
                "127.0.0.1:0",
                support::portmapper(vec![(prog::NFS, 3, IPPROTO_TCP, 2049)], None),
            );
            (f.addr, Some(f), "fake portmapper")
        }
    };
    println!("GETPORT(NFS v3 tcp) over TCP to {server} ({label})");
    let target = Target::new(prog::NFS, 3, Transport::Tcp);
    let opts = CallOpts::tcp_probe();
    let budget = Duration::from_secs(10);
    let mut shared = Client::new();
    phase(
        "reused connection (this client)",
        server,
        20_000,
        budget,
        || {
            calls::pmap_getport(&mut shared, server, Transport::Tcp, target, &opts).unwrap();
        },
    );
    let s = shared.stats().total;
    println!(
        "  counters: calls={} opened={} reused={}",
        s.calls, s.conns_opened, s.conns_reused
    );
    drop(shared);
    phase(
        "new connection per call (nfs-utils)",
        server,
        2_000,
        budget,
        || {
            let mut c = Client::new();
            calls::pmap_getport(&mut c, server, Transport::Tcp, target, &opts).unwrap();
        },
    );
    if _fake.is_none() {
        let mut udp = Client::new();
        phase(
            "UDP, reused socket (reference)",
            server,
            20_000,
            budget,
            || {
                calls::pmap_getport(
                    &mut udp,
                    server,
                    Transport::Udp,
                    target,
                    &CallOpts::udp_probe(),
                )
                .unwrap();
            },
        );
    }
}
