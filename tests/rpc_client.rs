//! Loopback tests of the shared-connection client against fake servers.
mod support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{
    Backend, CallOpts, Client, ClntStat, Cred, Endpoint, Pool, PoolConfig, RetryPolicy, RpcError,
    Transport,
};
use nfsmount::proto::mount::{self, ExportEntry, MntRes3, MountStat3};
use nfsmount::proto::{prog, IPPROTO_TCP, IPPROTO_UDP};
use nfsmount::rpc::{AcceptStat, AuthStat, Credential, OpaqueAuth, RejectStat, Reply, ReplyBody};
use nix::errno::Errno;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{portmapper, reply, success, Action, FakeServer};

const LO: &str = "127.0.0.1:0";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn quick() -> CallOpts {
    CallOpts::udp_probe()
        .with_timeout(ms(2000))
        .with_retry(RetryPolicy::fixed(ms(200)))
        .with_connect_timeout(ms(2000))
}

fn ep(s: &FakeServer, t: Transport) -> Endpoint {
    Endpoint::new(s.addr, 100_099, 1, t)
}

fn echo() -> support::Handler {
    Arc::new(|_, h, args| Action::Reply(success(h.xid, args)))
}

#[test]
fn tcp_getports_share_one_connection() {
    let pm = FakeServer::tcp(
        LO,
        portmapper(
            vec![
                (prog::NFS, 3, IPPROTO_TCP, 2049),
                (prog::MOUNT, 3, IPPROTO_UDP, 20048),
            ],
            None,
        ),
    );
    let mut c = Client::new();
    for _ in 0..5 {
        let p = calls::pmap_getport(
            &mut c,
            pm.addr,
            Transport::Tcp,
            Target::new(prog::NFS, 3, Transport::Tcp),
            &quick(),
        );
        assert_eq!(p, Ok(2049));
    }
    let p = calls::pmap_getport(
        &mut c,
        pm.addr,
        Transport::Tcp,
        Target::new(prog::MOUNT, 3, Transport::Udp),
        &quick(),
    );
    assert_eq!(p, Ok(20048));
    let r = calls::pmap_getport(
        &mut c,
        pm.addr,
        Transport::Tcp,
        Target::new(prog::MOUNT, 1, Transport::Udp),
        &quick(),
    );
    assert_eq!(r, Err(RpcError::ProgNotRegistered));
    assert_eq!(
        r.unwrap_err().clnt_sperrno_text(),
        "RPC: Program not registered"
    );
    let dump = calls::pmap_dump(&mut c, pm.addr, Transport::Tcp, &quick()).unwrap();
    assert_eq!(dump.len(), 2);
    assert_eq!(pm.connections(), 1);
    let s = c.stats();
    assert_eq!(s.total.calls, 8);
    assert_eq!(s.total.conns_opened, 1);
    assert_eq!(s.total.conns_reused, 7);
    // "Not registered" is a successful RPC whose answer is port 0.
    assert_eq!(s.total.badcalls, 0);
}

#[test]
fn udp_retransmits_until_answered() {
    let srv = FakeServer::udp(
        LO,
        Arc::new(|k, h, _| {
            if k <= 2 {
                Action::Ignore
            } else {
                Action::Reply(success(h.xid, &[0, 0, 0, 9]))
            }
        }),
    );
    let mut c = Client::new();
    let opts = quick().with_retry(RetryPolicy::fixed(ms(100)));
    let r = c.call(&ep(&srv, Transport::Udp), &Cred::None, 1, &[], &opts);
    assert_eq!(r, Ok(vec![0, 0, 0, 9]));
    assert_eq!(srv.calls(), 3);
    // All three sends carried the same xid.
    let xids: Vec<u32> = srv.seen().iter().map(|s| s.header.xid).collect();
    assert!(xids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(c.stats().total.retrans, 2);
}

#[test]
fn wrong_xids_are_counted_then_right_reply_accepted() {
    for t in [Transport::Udp, Transport::Tcp] {
        let h: support::Handler = Arc::new(|_, h, _| {
            Action::Many(vec![
                success(h.xid.wrapping_add(7), &[1, 1, 1, 1]),
                vec![1, 2], // runt
                success(h.xid, &[2, 2, 2, 2]),
            ])
        });
        let srv = match t {
            Transport::Udp => FakeServer::udp(LO, h),
            Transport::Tcp => FakeServer::tcp(LO, h),
        };
        let mut c = Client::new();
        let r = c.call(&ep(&srv, t), &Cred::None, 1, &[], &quick());
        assert_eq!(r, Ok(vec![2, 2, 2, 2]), "{t:?}");
        assert_eq!(c.stats().total.badxids, 2, "{t:?}");
    }
}

#[test]
fn garbage_reply_is_a_decode_error() {
    for t in [Transport::Udp, Transport::Tcp] {
        let h: support::Handler = Arc::new(|_, h, _| {
            let mut m = h.xid.to_be_bytes().to_vec();
            m.extend([0, 0, 0, 1, 0, 0, 0, 9]); // REPLY, reply_stat 9
            Action::Reply(m)
        });
        let srv = match t {
            Transport::Udp => FakeServer::udp(LO, h),
            Transport::Tcp => FakeServer::tcp(LO, h),
        };
        let mut c = Client::new();
        let e = c
            .call(&ep(&srv, t), &Cred::None, 1, &[], &quick())
            .unwrap_err();
        assert!(matches!(e, RpcError::Decode(_)), "{t:?}: {e:?}");
        assert_eq!(e.clnt_stat(), ClntStat::CantDecodeRes);
        assert_eq!(c.stats().total.badcalls, 1);
    }
}

#[test]
fn huge_record_length_refused_before_allocating() {
    let srv = FakeServer::tcp(
        LO,
        Arc::new(|_, _, _| Action::Raw(vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])),
    );
    let mut c = Client::new();
    let t0 = Instant::now();
    let e = c
        .call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &quick())
        .unwrap_err();
    assert!(
        matches!(e, RpcError::Decode(ref s) if s.contains("exceeds")),
        "{e:?}"
    );
    assert!(t0.elapsed() < ms(1500));
    // Also a record just over the cap in two fragments.
    let srv = FakeServer::tcp(
        LO,
        Arc::new(|_, _, _| {
            let mut b = vec![0x00, 0x08, 0x00, 0x00];
            b.extend(vec![0u8; 0x80000]);
            b.extend([0x80, 0x08, 0x00, 0x01]);
            Action::Raw(b)
        }),
    );
    let e = c
        .call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &quick())
        .unwrap_err();
    assert!(matches!(e, RpcError::Decode(_)), "{e:?}");
}

#[test]
fn every_accept_and_reject_status_maps() {
    let cases: Vec<(ReplyBody, RpcError)> = vec![
        (acc(AcceptStat::ProgUnavail), RpcError::ProgUnavail),
        (
            acc(AcceptStat::ProgMismatch { low: 2, high: 4 }),
            RpcError::ProgVersMismatch { low: 2, high: 4 },
        ),
        (acc(AcceptStat::ProcUnavail), RpcError::ProcUnavail),
        (acc(AcceptStat::GarbageArgs), RpcError::GarbageArgs),
        (acc(AcceptStat::SystemErr), RpcError::SystemErr),
        (
            ReplyBody::Denied(RejectStat::RpcMismatch { low: 3, high: 3 }),
            RpcError::RpcVersMismatch { low: 3, high: 3 },
        ),
        (
            ReplyBody::Denied(RejectStat::AuthError(AuthStat::TOOWEAK)),
            RpcError::AuthError(AuthStat::TOOWEAK),
        ),
    ];
    let bodies: Vec<ReplyBody> = cases.iter().map(|c| c.0.clone()).collect();
    let srv = FakeServer::tcp(
        LO,
        Arc::new(move |k, h, _| {
            Action::Reply(
                Reply {
                    xid: h.xid,
                    body: bodies[(k - 1) % bodies.len()].clone(),
                }
                .encode()
                .unwrap(),
            )
        }),
    );
    let mut c = Client::new();
    for (_, want) in cases {
        let got = c
            .call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &quick())
            .unwrap_err();
        assert_eq!(got, want);
    }
    // Errors at the RPC level do not kill the connection.
    assert_eq!(srv.connections(), 1);
}

fn acc(stat: AcceptStat) -> ReplyBody {
    ReplyBody::Accepted {
        verf: OpaqueAuth::none(),
        stat,
    }
}

#[test]
fn udp_black_hole_is_bounded() {
    let srv = FakeServer::udp(LO, Arc::new(|_, _, _| Action::Ignore));
    let mut c = Client::new();
    let opts = quick()
        .with_timeout(ms(600))
        .with_retry(RetryPolicy::fixed(ms(200)));
    let t0 = Instant::now();
    let e = c
        .call(&ep(&srv, Transport::Udp), &Cred::None, 1, &[], &opts)
        .unwrap_err();
    let dt = t0.elapsed();
    assert_eq!(e, RpcError::TimedOut);
    assert!(dt >= ms(550) && dt < ms(2000), "{dt:?}");
    let s = c.stats().total;
    assert_eq!((s.timeouts, s.retrans), (1, 2));
    assert_eq!(srv.calls(), 3);
}

#[test]
fn tcp_black_hole_is_bounded_and_connection_dropped() {
    let srv = FakeServer::tcp(LO, Arc::new(|_, _, _| Action::Ignore));
    let mut c = Client::new();
    let opts = quick().with_timeout(ms(500));
    let t0 = Instant::now();
    let e = c
        .call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &opts)
        .unwrap_err();
    let dt = t0.elapsed();
    assert_eq!(e, RpcError::TimedOut);
    assert!(dt >= ms(450) && dt < ms(2000), "{dt:?}");
    let _ = c.call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &opts);
    assert_eq!(
        srv.connections(),
        2,
        "a timed-out TCP connection is not reused"
    );
}

#[test]
fn closed_port_refused_fast() {
    let port = {
        let u = UdpSocket::bind(LO).unwrap();
        u.local_addr().unwrap()
    };
    let mut c = Client::new();
    let t0 = Instant::now();
    let e = c
        .call(
            &Endpoint::new(port, 1, 1, Transport::Udp),
            &Cred::None,
            0,
            &[],
            &CallOpts::udp_probe(),
        )
        .unwrap_err();
    assert_eq!(e, RpcError::CantRecv(Errno::ECONNREFUSED));
    assert!(t0.elapsed() < ms(1000), "{:?}", t0.elapsed());
    let port = {
        let l = TcpListener::bind(LO).unwrap();
        l.local_addr().unwrap()
    };
    let t0 = Instant::now();
    let e = c
        .call(
            &Endpoint::new(port, 1, 1, Transport::Tcp),
            &Cred::None,
            0,
            &[],
            &CallOpts::tcp_probe(),
        )
        .unwrap_err();
    assert_eq!(e, RpcError::CantConnect(Errno::ECONNREFUSED));
    assert_eq!(e.clnt_stat(), ClntStat::CantRecv);
    assert!(t0.elapsed() < ms(1000));
    assert_eq!(c.stats().total.cantconn, 1);
}

#[test]
fn server_closing_cached_connection_is_redialled_transparently() {
    let srv = FakeServer::tcp(
        LO,
        Arc::new(|_, h, _| Action::ReplyThenClose(success(h.xid, &[]))),
    );
    let mut c = Client::new();
    // Not idempotent: the dead connection is noticed before sending, so even this
    // call is safe to redial.
    let opts = quick().with_idempotent(false);
    for _ in 0..3 {
        std::thread::sleep(ms(50));
        c.call(&ep(&srv, Transport::Tcp), &Cred::None, 0, &[], &opts)
            .unwrap();
    }
    assert_eq!(srv.connections(), 3);
    let s = c.stats().total;
    assert_eq!((s.redials, s.badcalls), (2, 0));
}

#[test]
fn connection_dying_mid_call_redials_only_idempotent_calls() {
    // Call 2 kills the connection without answering.
    let mk = || {
        FakeServer::tcp(
            LO,
            Arc::new(|k, h, _| {
                if k == 2 {
                    Action::Close
                } else {
                    Action::Reply(success(h.xid, &[]))
                }
            }),
        )
    };
    let srv = mk();
    let mut c = Client::new();
    let e = ep(&srv, Transport::Tcp);
    c.call(&e, &Cred::None, 0, &[], &quick()).unwrap();
    c.call(&e, &Cred::None, 0, &[], &quick()).unwrap();
    assert_eq!(srv.calls(), 3);
    assert_eq!(srv.connections(), 2);

    let srv = mk();
    let e = ep(&srv, Transport::Tcp);
    let opts = quick().with_idempotent(false);
    c.call(&e, &Cred::None, 0, &[], &opts).unwrap();
    let err = c.call(&e, &Cred::None, 0, &[], &opts).unwrap_err();
    assert_eq!(err, RpcError::CantRecv(Errno::ECONNRESET));
    assert_eq!(srv.calls(), 2);
}

#[test]
fn credentials_and_bindings_never_share_a_connection() {
    let srv = FakeServer::tcp(LO, echo());
    let mut c = Client::new();
    let e = ep(&srv, Transport::Tcp);
    let sys = Cred::Sys {
        machine: "client.example".into(),
        uid: 1000,
        gid: 100,
        gids: vec![100, 27],
    };
    let other = Cred::Sys {
        machine: "client.example".into(),
        uid: 0,
        gid: 0,
        gids: vec![0],
    };
    for cred in [&Cred::None, &sys, &other, &sys, &Cred::None] {
        c.call(&e, cred, 1, &[0, 0, 0, 1], &quick()).unwrap();
    }
    assert_eq!(srv.connections(), 3);
    let seen = srv.seen();
    match &seen[1].header.cred {
        Credential::Sys(a) => {
            assert_eq!((a.uid, a.gid, a.gids.clone()), (1000, 100, vec![100, 27]));
            assert_eq!(a.machine, "client.example");
        }
        other => panic!("{other:?}"),
    }
    // Different peers of the same credential on the same connection.
    assert_eq!(seen[1].peer, seen[3].peer);
    assert_ne!(seen[0].peer, seen[1].peer);
    assert_ne!(seen[1].peer, seen[2].peer);
}

#[test]
fn idle_connections_are_closed() {
    let srv = FakeServer::tcp(LO, echo());
    let mut c = Client::with_pool_config(PoolConfig {
        idle_timeout: ms(100),
        ..Default::default()
    });
    let e = ep(&srv, Transport::Tcp);
    c.call(&e, &Cred::None, 1, &[], &quick()).unwrap();
    std::thread::sleep(ms(200));
    c.call(&e, &Cred::None, 1, &[], &quick()).unwrap();
    let s = c.stats();
    assert_eq!(s.total.closed_idle, 1);
    assert_eq!(s.total.conns_opened, 2);
    assert_eq!(s.endpoint(&e).calls, 2);
    assert_eq!(srv.connections(), 2);
}

#[test]
fn reserved_port_binding() {
    let root = nix::unistd::geteuid().is_root();
    for t in [Transport::Udp, Transport::Tcp] {
        let srv = match t {
            Transport::Udp => FakeServer::udp(LO, echo()),
            Transport::Tcp => FakeServer::tcp(LO, echo()),
        };
        let mut c = Client::new();
        let r = c.call(&ep(&srv, t).privileged(true), &Cred::None, 1, &[], &quick());
        if root {
            r.unwrap();
            let port = srv.seen()[0].peer.port();
            assert!((512..1024).contains(&port), "{t:?} from port {port}");
        } else {
            let e = r.unwrap_err();
            assert!(
                matches!(e, RpcError::ReservedPort(Errno::EACCES | Errno::EPERM)),
                "{e:?}"
            );
        }
        // Probes use ephemeral ports.
        c.call(&ep(&srv, t), &Cred::None, 1, &[], &quick()).unwrap();
        assert!(srv.seen().last().unwrap().peer.port() >= 1024);
    }
}

#[test]
fn ipv6_loopback_calls() {
    let Ok(probe) = UdpSocket::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    drop(probe);
    for t in [Transport::Udp, Transport::Tcp] {
        let srv = match t {
            Transport::Udp => FakeServer::udp("[::1]:0", echo()),
            Transport::Tcp => FakeServer::tcp("[::1]:0", echo()),
        };
        let mut c = Client::new();
        let r = c.call(&ep(&srv, t), &Cred::None, 1, &[0, 0, 0, 5], &quick());
        assert_eq!(r, Ok(vec![0, 0, 0, 5]));
    }
}

#[test]
fn rpcbind_getaddr_falls_back_and_validates() {
    // v4 answers PROC_UNAVAIL, v3 answers.
    let srv = FakeServer::udp(
        "[::1]:0",
        Arc::new(|_, h, _| {
            if h.vers == 4 {
                Action::Reply(reply(h.xid, AcceptStat::ProgMismatch { low: 2, high: 3 }))
            } else {
                Action::Reply(success(
                    h.xid,
                    &nfsmount::proto::rpcbind::encode_getaddr_reply("::1.8.1"),
                ))
            }
        }),
    );
    let mut c = Client::new();
    let tgt = Target::new(prog::NFS, 3, Transport::Udp);
    assert_eq!(calls::getport(&mut c, srv.addr, tgt, &quick()), Ok(2049));
    let seen = srv.seen();
    assert_eq!(
        seen.iter().map(|s| s.header.vers).collect::<Vec<_>>(),
        vec![4, 3]
    );
    let q = nfsmount::proto::rpcbind::Rpcb::decode(&seen[0].args).unwrap();
    assert_eq!(q.netid, "udp6");
    assert_eq!(
        q.addr,
        format!("::1.{}.{}", srv.addr.port() >> 8, srv.addr.port() & 255)
    );
    assert_eq!(q.owner, "");

    // Over TCP the v4 query and the v3 fallback share one connection.
    let srv = FakeServer::tcp(
        "[::1]:0",
        Arc::new(|_, h, _| {
            if h.vers == 4 {
                Action::Reply(reply(h.xid, AcceptStat::ProcUnavail))
            } else {
                Action::Reply(success(
                    h.xid,
                    &nfsmount::proto::rpcbind::encode_getaddr_reply("::1.78.80"),
                ))
            }
        }),
    );
    let tgt = Target::new(prog::MOUNT, 3, Transport::Tcp);
    assert_eq!(calls::getport(&mut c, srv.addr, tgt, &quick()), Ok(20048));
    assert_eq!((srv.calls(), srv.connections()), (2, 1));

    for (answer, want) in [
        ("", RpcError::ProgNotRegistered),
        ("::1.8", RpcError::N2AXlateFailure("::1.8".into())),
    ] {
        let srv = FakeServer::tcp("[::1]:0", portmapper(vec![], Some(answer.to_string())));
        let tgt = Target::new(prog::NFS, 3, Transport::Tcp);
        assert_eq!(calls::getport(&mut c, srv.addr, tgt, &quick()), Err(want));
    }
}

#[test]
fn mount_protocol_calls() {
    let srv = FakeServer::udp(
        LO,
        Arc::new(|_, h, args| {
            let body = match h.proc_ {
                0 | 3 | 4 => vec![],
                1 => {
                    let p = mount::decode_dirpath(args).unwrap();
                    if p == "/export" {
                        MntRes3::Ok {
                            fhandle: vec![7; 28],
                            auth_flavors: vec![1],
                        }
                    } else {
                        MntRes3::Err(MountStat3::NoEnt)
                    }
                    .encode()
                    .unwrap()
                }
                5 => mount::encode_export_reply(&[ExportEntry {
                    dir: "/export".into(),
                    groups: vec!["127.0.0.1".into(), "*.lan".into()],
                }]),
                _ => return Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
            };
            Action::Reply(success(h.xid, &body))
        }),
    );
    let mut c = Client::new();
    let e = Endpoint::new(srv.addr, prog::MOUNT, 3, Transport::Udp);
    let o = quick();
    calls::null(&mut c, &e, &o).unwrap();
    let cred = Cred::sys_for_process();
    assert_eq!(
        calls::mnt3(&mut c, &e, &cred, "/export", &o).unwrap(),
        MntRes3::Ok {
            fhandle: vec![7; 28],
            auth_flavors: vec![1]
        }
    );
    assert_eq!(
        calls::mnt3(&mut c, &e, &cred, "/nope", &o).unwrap(),
        MntRes3::Err(MountStat3::NoEnt)
    );
    let ex = calls::export(&mut c, &e, &o).unwrap();
    assert_eq!(ex[0].groups, vec!["127.0.0.1", "*.lan"]);
    calls::umnt(&mut c, &e, &cred, "/export", &o).unwrap();
    calls::umntall(&mut c, &e, &cred, &o).unwrap();
    assert_eq!(
        calls::mnt3(&mut c, &e, &cred, &"x".repeat(2000), &o).map(|_| ()),
        Err(RpcError::CantEncodeArgs(
            "XDR: length 2000 exceeds the limit 1024".into()
        ))
    );
    let umnt = srv
        .seen()
        .into_iter()
        .find(|s| s.header.proc_ == 3)
        .unwrap();
    assert!(matches!(umnt.header.cred, Credential::Sys(_)));
}

/// A backend that declines every call, to show the fall-through order.
struct Declines(u32);
impl Backend for Declines {
    fn name(&self) -> &'static str {
        "declines"
    }
    fn call(
        &mut self,
        _: &Endpoint,
        _: &Cred,
        _: u32,
        _: &[u8],
        _: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        self.0 += 1;
        Err(RpcError::BackendUnavailable)
    }
}

#[test]
fn backends_are_tried_in_order() {
    let srv = FakeServer::udp(LO, echo());
    let mut c = Client::new();
    c.push_front(Box::new(Declines(0)));
    assert_eq!(
        c.call(
            &ep(&srv, Transport::Udp),
            &Cred::None,
            1,
            &[0, 0, 0, 3],
            &quick()
        ),
        Ok(vec![0, 0, 0, 3])
    );
    let mut only = Client::with_backends(vec![Box::new(Declines(0))]);
    assert_eq!(
        only.call(&ep(&srv, Transport::Udp), &Cred::None, 1, &[], &quick()),
        Err(RpcError::BackendUnavailable)
    );
    let _: SocketAddr = srv.addr;
}

/// Without the privilege to bind ports below 1024 a privileged endpoint fails with
/// a typed error. As root, the test re-runs itself with CAP_NET_BIND_SERVICE
/// removed from the bounding set (setpriv), which is what an unprivileged caller has.
#[test]
fn reserved_port_without_privilege() {
    let child = std::env::var_os("NFSMOUNT_TEST_NO_BIND_CAP").is_some();
    if nix::unistd::geteuid().is_root() && !child {
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let st = std::process::Command::new("setpriv")
            .args(["--bounding-set", "-net_bind_service", "--"])
            .arg(exe)
            .args(["--exact", "reserved_port_without_privilege", "--quiet"])
            .env("NFSMOUNT_TEST_NO_BIND_CAP", "1")
            // Keep the child's summary line out of this run's output.
            .stdout(std::process::Stdio::null())
            .status();
        match st {
            Ok(st) => assert!(st.success(), "child run failed"),
            Err(e) => eprintln!("setpriv unavailable ({e}); skipped"),
        }
        return;
    }
    let srv = FakeServer::udp(LO, echo());
    let mut c = Client::new();
    for t in [Transport::Udp, Transport::Tcp] {
        let e = c
            .call(&ep(&srv, t).privileged(true), &Cred::None, 1, &[], &quick())
            .unwrap_err();
        assert_eq!(e, RpcError::ReservedPort(Errno::EACCES), "{t:?}");
        assert_eq!(e.clnt_stat(), ClntStat::SystemError);
        assert!(e.to_string().contains("needs root"), "{e}");
    }
    assert_eq!(c.stats().total.cantconn, 2);
}

/// A UDP socket that got ECONNREFUSED is not reused: once the service is up on
/// that port, the next call works.
#[test]
fn udp_socket_replaced_after_refusal() {
    let addr = UdpSocket::bind(LO).unwrap().local_addr().unwrap();
    let mut c = Client::new();
    let e = Endpoint::new(addr, 100_099, 1, Transport::Udp);
    assert_eq!(
        c.call(&e, &Cred::None, 1, &[], &quick()),
        Err(RpcError::CantRecv(Errno::ECONNREFUSED))
    );
    let srv = FakeServer::udp(&addr.to_string(), echo());
    assert_eq!(
        c.call(&e, &Cred::None, 1, &[0, 0, 0, 4], &quick()),
        Ok(vec![0, 0, 0, 4])
    );
    assert_eq!(srv.calls(), 1);
    assert_eq!(c.stats().endpoint(&e).conns_opened, 2);
}

/// Seed 001: a cached connection that silently stops answering. An idempotent call
/// gives it one retransmit interval, then redials; a non-idempotent one waits out
/// its timeout.
#[test]
fn wedged_cached_connection_is_replaced_for_idempotent_calls() {
    let mk = || {
        FakeServer::tcp(
            LO,
            Arc::new(|k, h, _| {
                if k == 2 {
                    Action::Ignore
                } else {
                    Action::Reply(success(h.xid, &[]))
                }
            }),
        )
    };
    let srv = mk();
    let mut c = Client::new();
    let e = ep(&srv, Transport::Tcp);
    let opts = quick().with_timeout(ms(1500)); // retry.initial = 200 ms
    c.call(&e, &Cred::None, 0, &[], &opts).unwrap();
    let t0 = Instant::now();
    c.call(&e, &Cred::None, 0, &[], &opts).unwrap();
    let dt = t0.elapsed();
    assert!(dt >= ms(180) && dt < ms(1200), "{dt:?}");
    assert_eq!(srv.connections(), 2);
    let s = c.stats().total;
    assert_eq!((s.redials, s.timeouts, s.badcalls), (1, 0, 0));

    let srv = mk();
    let e = ep(&srv, Transport::Tcp);
    let opts = opts.with_idempotent(false).with_timeout(ms(800));
    c.call(&e, &Cred::None, 0, &[], &opts).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        c.call(&e, &Cred::None, 0, &[], &opts),
        Err(RpcError::TimedOut)
    );
    assert!(t0.elapsed() >= ms(750));
    assert_eq!(srv.connections(), 1);
}

/// The pool is usable on its own (as rpcproxyd will): connections per key, closed
/// on demand.
#[test]
fn pool_as_a_backend() {
    let srv = FakeServer::tcp(LO, echo());
    let mut p = Pool::default();
    let e = ep(&srv, Transport::Tcp);
    p.call(&e, &Cred::None, 1, &[], &quick()).unwrap();
    p.call(&e.privileged(false), &Cred::None, 1, &[], &quick())
        .unwrap();
    p.call(&Endpoint { vers: 2, ..e }, &Cred::None, 1, &[], &quick())
        .unwrap();
    assert_eq!(p.open_connections(), 2);
    assert_eq!(p.name(), "in-process");
    p.close_all();
    assert_eq!(p.open_connections(), 0);
    assert_eq!(Backend::stats(&p).total.calls, 3);
}

/// bindresvport: ports listed in the blacklist are skipped; with all of 600–1023
/// listed, the port comes from 512–599.
#[test]
fn reserved_port_blacklist_is_honoured() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("needs root; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindresvport.blacklist");
    let list: String = (600..=1023).map(|p| format!("{p}\t# busy\n")).collect();
    std::fs::write(&path, format!("# test\n{list}")).unwrap();
    let mut c = Client::with_pool_config(PoolConfig {
        blacklist_path: path,
        ..Default::default()
    });
    for t in [Transport::Udp, Transport::Tcp] {
        let srv = match t {
            Transport::Udp => FakeServer::udp(LO, echo()),
            Transport::Tcp => FakeServer::tcp(LO, echo()),
        };
        c.call(&ep(&srv, t).privileged(true), &Cred::None, 1, &[], &quick())
            .unwrap();
        let port = srv.seen()[0].peer.port();
        assert!((512..600).contains(&port), "{t:?}: port {port}");
    }
}

/// A reply split into many small fragments is reassembled.
#[test]
fn multi_fragment_tcp_reply() {
    let srv = FakeServer::tcp(
        LO,
        Arc::new(|_, h, _| {
            let m = success(h.xid, &[9; 40]);
            Action::Raw(nfsmount::rpc::record::encode_record(&m, 3))
        }),
    );
    let mut c = Client::new();
    let r = c.call(&ep(&srv, Transport::Tcp), &Cred::None, 1, &[], &quick());
    assert_eq!(r, Ok(vec![9; 40]));
}
