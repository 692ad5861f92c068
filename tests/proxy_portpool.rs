//! The cross-process reserved-port pool: two concurrent processes never get the
//! same port, and the real bind path uses it.
use nfsmount::sys::portpool::PortPool;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

const PER_CHILD: usize = 150;

/// Child side: takes PER_CHILD ports from the pool in PORTPOOL_CHILD's dir (all
/// towards the same peer, same candidate order, no real bind so only the pool
/// can keep them apart), prints them, holds them briefly.
#[test]
fn portpool_child() {
    let Ok(dir) = std::env::var("PORTPOOL_CHILD") else {
        return;
    };
    let pool = PortPool::new(std::path::Path::new(&dir)).unwrap();
    let peer: SocketAddr = "127.0.0.1:635".parse().unwrap();
    let cands: Vec<u16> = (600..=1023).collect();
    let mut leases = Vec::new();
    for _ in 0..PER_CHILD {
        let l = pool
            .acquire(peer, true, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .expect("a free port");
        println!("PORT {}", l.port);
        leases.push(l);
    }
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn two_processes_never_share_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "portpool_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PORTPOOL_CHILD", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let ports = |c: std::process::Child| -> Vec<u16> {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.find("PORT ").map(|i| &l[i + 5..]))
            .map(|p| p.parse().unwrap())
            .collect()
    };
    let (pa, pb) = (ports(a), ports(b));
    assert_eq!(pa.len(), PER_CHILD);
    assert_eq!(pb.len(), PER_CHILD);
    let sa: HashSet<u16> = pa.iter().copied().collect();
    let sb: HashSet<u16> = pb.iter().copied().collect();
    assert_eq!(sa.len(), PER_CHILD, "no duplicates within a process");
    assert!(
        sa.is_disjoint(&sb),
        "overlap: {:?}",
        sa.intersection(&sb).collect::<Vec<_>>()
    );
    // Both released; towards the same peer none of the 300 is offered again.
    let pool = PortPool::new(dir.path()).unwrap();
    assert!(pool.held().is_empty());
    let peer: SocketAddr = "127.0.0.1:635".parse().unwrap();
    let l = pool
        .acquire(peer, true, &(600..=1023).collect::<Vec<_>>(), |_| {
            Ok::<_, ()>(true)
        })
        .unwrap()
        .unwrap();
    assert!(!sa.contains(&l.port) && !sb.contains(&l.port));
}

/// The real reserved-port bind path records its port in the pool.
#[test]
fn reserved_udp_transport_uses_the_pool() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // NFSMOUNT_PORTPOOL_DIR is read at bind time; this test binary sets it only here.
    std::env::set_var("NFSMOUNT_PORTPOOL_DIR", dir.path());
    let srv = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = nfsmount::sys::net::UdpTransport::open(
        srv.local_addr().unwrap(),
        nfsmount::sys::net::Bind::Reserved,
        &[],
    )
    .unwrap();
    let port = t.local_addr().unwrap().port();
    assert!(port < 1024);
    let pool = PortPool::new(dir.path()).unwrap();
    assert_eq!(pool.held(), vec![port]);
    drop(t);
    assert!(pool.held().is_empty());
    let state = std::fs::read_to_string(dir.path().join("reserved-ports")).unwrap();
    assert!(
        state.starts_with(&format!("R {port} udp {}", srv.local_addr().unwrap())),
        "{state}"
    );
}
