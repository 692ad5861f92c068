//! The client against REAL servers: rpcbind, rpc.statd and nfs-ganesha started by
//! `scripts/testbed up` inside a network namespace.
//!
//! Run (as root) from the repository:
//! ```text
//! eval "$(scripts/testbed up)"          # or: set -a; . <(scripts/testbed env); set +a
//! ip netns exec $TESTBED_NS cargo test --test rpc_testbed -- --ignored --test-threads=1
//! ```
//! The tests read TESTBED_NS, TESTBED_ADDR4, TESTBED_ADDR6, TESTBED_EXPORT (and
//! TESTBED_NFS_PORT / TESTBED_MNT_PORT, default 2049 / 20048). Fault tests call
//! `scripts/testbed ctl --name $TESTBED_NS ...`; TESTBED_SCRIPT overrides the
//! script's path. Run them one at a time: some restart or block daemons.
mod support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{CallOpts, Client, ClntStat, Cred, Endpoint, RpcError, Transport};
use nfsmount::proto::mount::{MntRes3, MountStat3};
use nfsmount::proto::{prog, rpcbind};
use nix::errno::Errno;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

struct Bed {
    ns: String,
    v4: IpAddr,
    v6: IpAddr,
    export: String,
    nfs_port: u16,
    mnt_port: u16,
}

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} not set: run `scripts/testbed up` first"))
}

fn bed() -> Bed {
    Bed {
        ns: env("TESTBED_NS"),
        v4: env("TESTBED_ADDR4").parse().unwrap(),
        v6: env("TESTBED_ADDR6").parse().unwrap(),
        export: env("TESTBED_EXPORT"),
        nfs_port: std::env::var("TESTBED_NFS_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(2049),
        mnt_port: std::env::var("TESTBED_MNT_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(20048),
    }
}

fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn ctl(b: &Bed, args: &[&str]) {
    let script = std::env::var("TESTBED_SCRIPT")
        .unwrap_or_else(|_| format!("{}/scripts/testbed", env!("CARGO_MANIFEST_DIR")));
    let st = Command::new(&script)
        .arg("ctl")
        .arg("--name")
        .arg(&b.ns)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    assert!(st.success(), "testbed ctl {args:?} failed");
}

/// Unblocks a port when dropped, even if the test panics.
struct Blocked<'a>(&'a Bed, &'static str, String);
impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        ctl(self.0, &["unblock", self.1, &self.2]);
    }
}

fn opts(t: Transport) -> CallOpts {
    CallOpts::probe(t.is_tcp())
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn getport_ipv4_nfs_and_mount_over_tcp_and_udp() {
    let b = bed();
    let mut c = Client::new();
    for t in [Transport::Tcp, Transport::Udp] {
        let nfs = calls::getport(&mut c, sa(b.v4, 0), Target::new(prog::NFS, 3, t), &opts(t));
        assert_eq!(nfs, Ok(b.nfs_port), "{t:?}");
        let mnt = calls::getport(
            &mut c,
            sa(b.v4, 0),
            Target::new(prog::MOUNT, 3, t),
            &opts(t),
        );
        assert_eq!(mnt, Ok(b.mnt_port), "{t:?}");
    }
    // A program nobody registered.
    let r = calls::getport(
        &mut c,
        sa(b.v4, 0),
        Target::new(100_999, 1, Transport::Udp),
        &opts(Transport::Udp),
    );
    assert_eq!(r, Err(RpcError::ProgNotRegistered));
    let s = c.stats().total;
    assert_eq!(
        s.conns_opened, 2,
        "one TCP and one UDP rpcbind socket: {s:?}"
    );
    assert_eq!(s.conns_reused, 3);
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn getaddr_ipv6_and_ipv4_over_tcp_and_udp() {
    let b = bed();
    let mut c = Client::new();
    for t in [Transport::Tcp, Transport::Udp] {
        for ip in [b.v6, b.v4] {
            let a =
                calls::rpcb_getaddr(&mut c, sa(ip, 0), t, Target::new(prog::NFS, 3, t), &opts(t))
                    .unwrap_or_else(|e| panic!("{ip} {t:?}: {e}"));
            assert_eq!(a, sa(ip, b.nfs_port));
            let a = calls::rpcb_getaddr(
                &mut c,
                sa(ip, 0),
                t,
                Target::new(prog::MOUNT, 3, t),
                &opts(t),
            )
            .unwrap();
            assert_eq!(a.port(), b.mnt_port);
            // Explicit rpcbind v3 as well.
            let a = calls::rpcb_getaddr_vers(
                &mut c,
                sa(ip, 0),
                rpcbind::VERSION3,
                t,
                Target::new(prog::NFS, 3, t),
                &opts(t),
            )
            .unwrap();
            assert_eq!(a.port(), b.nfs_port);
        }
        // The nfs-utils choice for IPv6.
        let p = calls::getport(
            &mut c,
            sa(b.v6, 0),
            Target::new(prog::MOUNT, 3, t),
            &opts(t),
        );
        assert_eq!(p, Ok(b.mnt_port));
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn dump_lists_registrations() {
    let b = bed();
    let mut c = Client::new();
    for t in [Transport::Tcp, Transport::Udp] {
        let d = calls::pmap_dump(&mut c, sa(b.v4, 0), t, &opts(t)).unwrap();
        assert!(
            d.iter().any(|m| m.prog == prog::PORTMAP && m.port == 111),
            "{d:?}"
        );
        assert!(d
            .iter()
            .any(|m| m.prog == prog::NFS && m.vers == 3 && m.port == u32::from(b.nfs_port)));
        assert!(d
            .iter()
            .any(|m| m.prog == prog::MOUNT && m.port == u32::from(b.mnt_port)));
        assert!(d.iter().any(|m| m.prog == prog::STATUS));
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn null_pings_nfs_v3_v4_and_mount() {
    let b = bed();
    let mut c = Client::new();
    for ip in [b.v4, b.v6] {
        calls::nfs_null(
            &mut c,
            sa(ip, b.nfs_port),
            3,
            Transport::Tcp,
            &CallOpts::tcp_probe(),
        )
        .unwrap();
        calls::nfs_null(
            &mut c,
            sa(ip, b.nfs_port),
            4,
            Transport::Tcp,
            &CallOpts::tcp_probe(),
        )
        .unwrap();
        calls::nfs_null(
            &mut c,
            sa(ip, b.nfs_port),
            3,
            Transport::Udp,
            &CallOpts::udp_probe(),
        )
        .unwrap();
        let e = Endpoint::new(sa(ip, b.mnt_port), prog::MOUNT, 3, Transport::Udp);
        calls::null(&mut c, &e, &CallOpts::udp_probe()).unwrap();
    }
    // A version the server does not have.
    let r = calls::nfs_null(
        &mut c,
        sa(b.v4, b.nfs_port),
        7,
        Transport::Tcp,
        &CallOpts::tcp_probe(),
    );
    assert!(matches!(r, Err(RpcError::ProgVersMismatch { .. })), "{r:?}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn mnt_export_umnt() {
    let b = bed();
    let mut c = Client::new();
    for (ip, t) in [
        (b.v4, Transport::Udp),
        (b.v4, Transport::Tcp),
        (b.v6, Transport::Tcp),
    ] {
        let e = Endpoint::new(sa(ip, b.mnt_port), prog::MOUNT, 3, t);
        let cred = Cred::sys_for_process();
        match calls::mnt3(&mut c, &e, &cred, &b.export, &opts(t)).unwrap() {
            MntRes3::Ok {
                fhandle,
                auth_flavors,
            } => {
                assert!(!fhandle.is_empty());
                assert!(auth_flavors.contains(&1), "{auth_flavors:?}");
            }
            MntRes3::Err(s) => panic!("MNT {} via {ip} {t:?}: {}", b.export, s.name()),
        }
        let missing = format!("{}/does-not-exist", b.export);
        match calls::mnt3(&mut c, &e, &cred, &missing, &opts(t)).unwrap() {
            MntRes3::Err(s) => {
                assert_ne!(s, MountStat3::Ok);
                eprintln!("MNT of a missing path: {} ({})", s.name(), s.message());
            }
            ok => panic!("MNT of a missing path succeeded: {ok:?}"),
        }
        let ex = calls::export(&mut c, &e, &opts(t)).unwrap();
        assert!(ex.iter().any(|x| x.dir == b.export), "{ex:?}");
        calls::umnt(&mut c, &e, &cred, &b.export, &CallOpts::umnt()).unwrap();
    }
}

/// Local ports of TCP connections to `remote_port` (from /proc/net/tcp{,6}).
fn local_ports_to(remote_port: u16) -> Vec<u16> {
    let mut out = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(t) = std::fs::read_to_string(f) else {
            continue;
        };
        for l in t.lines().skip(1) {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let (Some(loc), Some(rem)) = (cols.get(1), cols.get(2)) else {
                continue;
            };
            let port = |s: &str| u16::from_str_radix(s.rsplit(':').next().unwrap_or(""), 16).ok();
            if port(rem) == Some(remote_port) && cols.get(3) == Some(&"01") {
                out.extend(port(loc));
            }
        }
    }
    out
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn umnt_from_reserved_port() {
    let b = bed();
    assert!(nix::unistd::geteuid().is_root(), "run as root");
    let mut c = Client::new();
    let e = Endpoint::new(sa(b.v4, b.mnt_port), prog::MOUNT, 3, Transport::Tcp).privileged(true);
    let before = local_ports_to(b.mnt_port);
    calls::umnt(
        &mut c,
        &e,
        &Cred::sys_for_process(),
        &b.export,
        &CallOpts::umnt(),
    )
    .unwrap();
    // The connection is cached, so it is visible now.
    let new: Vec<u16> = local_ports_to(b.mnt_port)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!((512..1024).contains(&new[0]), "UMNT from port {}", new[0]);
    // And over UDP.
    let e = Endpoint::new(sa(b.v4, b.mnt_port), prog::MOUNT, 3, Transport::Udp).privileged(true);
    calls::umnt(
        &mut c,
        &e,
        &Cred::sys_for_process(),
        &b.export,
        &CallOpts::umnt(),
    )
    .unwrap();
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn closed_port_is_refused_at_once() {
    let b = bed();
    let mut c = Client::new();
    for ip in [b.v4, b.v6] {
        let t0 = Instant::now();
        let r = calls::nfs_null(&mut c, sa(ip, 9), 3, Transport::Tcp, &CallOpts::tcp_probe());
        assert_eq!(r, Err(RpcError::CantConnect(Errno::ECONNREFUSED)));
        assert_eq!(r.unwrap_err().clnt_stat(), ClntStat::CantRecv);
        let r = calls::nfs_null(&mut c, sa(ip, 9), 3, Transport::Udp, &CallOpts::udp_probe());
        assert_eq!(r, Err(RpcError::CantRecv(Errno::ECONNREFUSED)));
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn black_holed_ports_are_bounded() {
    let b = bed();
    let mut c = Client::new();
    // TCP: the connect is dropped; connect timeout 2 s.
    ctl(&b, &["block", "tcp", &b.nfs_port.to_string()]);
    let g = Blocked(&b, "tcp", b.nfs_port.to_string());
    let o = CallOpts::tcp_probe().with_connect_timeout(Duration::from_secs(2));
    let t0 = Instant::now();
    let r = calls::nfs_null(&mut c, sa(b.v4, b.nfs_port), 3, Transport::Tcp, &o);
    let dt = t0.elapsed();
    drop(g);
    assert_eq!(r, Err(RpcError::CantConnect(Errno::ETIMEDOUT)));
    assert_eq!(r.unwrap_err().clnt_sperrno_text(), "RPC: Timed out");
    assert!(
        dt >= Duration::from_millis(1900) && dt < Duration::from_secs(4),
        "{dt:?}"
    );
    // UDP: nfs-utils' probe, 3 sends 1 s apart, 3 s in total.
    ctl(&b, &["block", "udp", &b.mnt_port.to_string()]);
    let g = Blocked(&b, "udp", b.mnt_port.to_string());
    let e = Endpoint::new(sa(b.v4, b.mnt_port), prog::MOUNT, 3, Transport::Udp);
    let t0 = Instant::now();
    let r = calls::null(&mut c, &e, &CallOpts::udp_probe());
    let dt = t0.elapsed();
    drop(g);
    assert_eq!(r, Err(RpcError::TimedOut));
    assert!(
        dt >= Duration::from_millis(2900) && dt < Duration::from_secs(5),
        "{dt:?}"
    );
    assert_eq!(c.stats().endpoint(&e).retrans, 2);
    eprintln!(
        "black hole: TCP connect {:?}, UDP call {dt:?}",
        o.connect_timeout
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn server_restart_between_calls_is_transparent() {
    let b = bed();
    let mut c = Client::new();
    // rpcbind restarted under a cached TCP connection.
    let t = Target::new(prog::PORTMAP, 2, Transport::Tcp);
    assert_eq!(
        calls::getport(&mut c, sa(b.v4, 0), t, &CallOpts::tcp_probe()),
        Ok(111)
    );
    ctl(&b, &["restart", "rpcbind"]);
    assert_eq!(
        calls::getport(&mut c, sa(b.v4, 0), t, &CallOpts::tcp_probe()),
        Ok(111)
    );
    // ganesha restarted under cached NFS and MOUNT connections. (Restarting
    // rpcbind dropped ganesha's registrations; the restart registers them again.)
    let nfs = Endpoint::new(sa(b.v4, b.nfs_port), prog::NFS, 3, Transport::Tcp);
    let mnt = Endpoint::new(sa(b.v4, b.mnt_port), prog::MOUNT, 3, Transport::Tcp);
    calls::null(&mut c, &nfs, &CallOpts::tcp_probe()).unwrap();
    calls::export(&mut c, &mnt, &CallOpts::tcp_probe()).unwrap();
    ctl(&b, &["restart", "ganesha"]);
    calls::null(&mut c, &nfs, &CallOpts::tcp_probe()).unwrap();
    calls::export(&mut c, &mnt, &CallOpts::tcp_probe()).unwrap();
    let s = c.stats().total;
    assert_eq!(s.badcalls, 0, "{s:?}");
    assert!(s.redials >= 3, "{s:?}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn mount_v1_and_statd_probe() {
    use nfsmount::proto::mount::FhStatus;
    let b = bed();
    let mut c = Client::new();
    let e = Endpoint::new(sa(b.v4, b.mnt_port), prog::MOUNT, 1, Transport::Udp);
    let cred = Cred::sys_for_process();
    // nfs-ganesha registers MOUNT v1 but, with NFSv2 disabled, answers its MNT
    // with PROC_UNAVAIL; a server that serves it must return a handle.
    match calls::mnt1(&mut c, &e, &cred, &b.export, &CallOpts::udp_probe()) {
        Ok(FhStatus::Ok(h)) => assert!(h.iter().any(|&x| x != 0)),
        Ok(FhStatus::Err(s)) => panic!("MNT v1 {}: status {s}", b.export),
        Err(RpcError::ProcUnavail) => eprintln!("MNT v1: PROC_UNAVAIL (server without NFSv2)"),
        Err(e) => panic!("MNT v1: {e}"),
    }
    // mount.nfs' statd check: GETPORT status v1 UDP on 127.0.0.1, then NULL.
    let t = Target::new(prog::STATUS, 1, Transport::Udp);
    let port = calls::getport(&mut c, sa(b.v4, 0), t, &CallOpts::udp_probe()).unwrap();
    let statd = Endpoint::new(sa(b.v4, port), prog::STATUS, 1, Transport::Udp);
    calls::null(&mut c, &statd, &CallOpts::udp_probe()).unwrap();
}
