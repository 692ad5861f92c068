//! rpcproxyd against the REAL test bed (rpcbind + ganesha in a network namespace).
//!
//! ```text
//! eval "$(scripts/testbed up --name proxydev)"
//! ip netns exec $TESTBED_NS cargo test --test proxy_testbed -- --ignored --test-threads=1
//! ```
//! Reads TESTBED_ADDR4, TESTBED_ADDR6, TESTBED_EXPORT, TESTBED_MNT_PORT (default 20048).
mod proxy_support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{CallOpts, Client, Cred, Endpoint, Pool, ProxyBackend, Transport};
use nfsmount::proto::mount::MntRes3;
use nfsmount::proto::prog;
use proxy_support::*;
use std::net::{IpAddr, SocketAddr};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set: run inside scripts/testbed"))
}

fn mnt_port() -> u16 {
    std::env::var("TESTBED_MNT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(20048)
}

fn via_proxy(d: &Daemon) -> Client {
    Client::with_backends(vec![
        Box::new(ProxyBackend::new(d.sock.clone()).with_autostart(false)),
        // No Pool: a call that did not go through the proxy fails the test.
    ])
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn getport_and_mnt_through_the_proxy() {
    let d = Daemon::start(&[]);
    let export = env("TESTBED_EXPORT");
    for ip in [env("TESTBED_ADDR4"), env("TESTBED_ADDR6")] {
        let ip: IpAddr = ip.parse().unwrap();
        for t in [Transport::Tcp, Transport::Udp] {
            let mut c = via_proxy(&d);
            let opts = CallOpts::probe(t.is_tcp());
            let port = calls::getport(
                &mut c,
                SocketAddr::new(ip, 0),
                Target::new(prog::MOUNT, 3, t),
                &opts,
            )
            .unwrap();
            assert_eq!(port, mnt_port());
            let e = Endpoint::new(SocketAddr::new(ip, port), prog::MOUNT, 3, t).privileged(true);
            let cred = Cred::sys_for_process();
            match calls::mnt3(&mut c, &e, &cred, &export, &opts).unwrap() {
                MntRes3::Ok { fhandle, .. } => assert!(!fhandle.is_empty()),
                MntRes3::Err(s) => panic!("MNT via proxy {ip} {t:?}: {}", s.name()),
            }
            calls::umnt(&mut c, &e, &cred, &export, &CallOpts::umnt()).unwrap();
        }
    }
    let j = d.stats_json();
    assert_eq!(json_num(&j, "total", "badcalls"), 0, "{j}");
    assert!(json_num(&j, "total", "calls") >= 12, "{j}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn many_helpers_one_connection_per_key() {
    let d = Daemon::start(&[]);
    let export = env("TESTBED_EXPORT");
    let ip: IpAddr = env("TESTBED_ADDR4").parse().unwrap();
    for _ in 0..50 {
        let mut c = Client::with_backends(vec![
            Box::new(ProxyBackend::new(d.sock.clone()).with_autostart(false)),
            Box::new(Pool::default()),
        ]);
        let opts = CallOpts::tcp_probe();
        let port = calls::getport(
            &mut c,
            SocketAddr::new(ip, 0),
            Target::new(prog::MOUNT, 3, Transport::Tcp),
            &opts,
        )
        .unwrap();
        let e = Endpoint::new(SocketAddr::new(ip, port), prog::MOUNT, 3, Transport::Tcp)
            .privileged(true);
        calls::null(&mut c, &e, &opts).unwrap();
        let cred = Cred::sys_for_process();
        assert!(matches!(
            calls::mnt3(&mut c, &e, &cred, &export, &opts).unwrap(),
            MntRes3::Ok { .. }
        ));
        assert_eq!(c.stats().total.calls, 3, "all three through the proxy");
    }
    let j = d.stats_json();
    // rpcbind (None), mountd NULL (None) and MNT (AUTH_SYS): three keys.
    assert_eq!(json_num(&j, "total", "conns_opened"), 3, "{j}");
    assert_eq!(json_num(&j, "total", "calls"), 150, "{j}");
}
