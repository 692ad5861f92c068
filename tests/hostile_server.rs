//! Hostile servers (issue 13 §2): a hand-written fake rpcbind/mountd/NFS server on
//! 127.0.0.1 ephemeral ports (TCP and UDP) that answers with truncated replies, a
//! record mark of 2^31−1, endless fragments, wrong xids, garbage, every
//! accept_stat/reject_stat/auth_stat, thousands of auth flavours, a file handle over
//! 64 bytes, a uaddr that is no address, a one-byte-a-second trickle and bad reply
//! verifiers. Driven through the library's RPC client, through the mount.nfs binary
//! (mount(2) faked by the NFSMOUNT_SYSCALL_LOG seam; every port pinned so rpcbind on
//! port 111 is not needed), and through rpcproxyd (which must keep serving another
//! client meanwhile).
//!
//! Every case asserts a bound on time (at most twice the configured timeout plus
//! slack), the error kind and text, and no panic; the framing cases also assert that
//! memory stays bounded (the decoder refuses before allocating, RSS barely moves).
mod support;

use nfsmount::client::calls::{self, Target};
use nfsmount::client::{
    CallOpts, Client, ClntStat, Cred, Endpoint, RetryPolicy, RpcError, Transport,
};
use nfsmount::proto::mount::{self, MntRes3};
use nfsmount::proto::{prog, rpcbind};
use nfsmount::rpc::msg::decode_call;
use nfsmount::rpc::record::{encode_record, RecordLimits, RecordReader};
use nfsmount::rpc::{AcceptStat, AuthStat, OpaqueAuth, RejectStat, Reply, ReplyBody};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::{reply, success, Action, FakeServer};

const LO: &str = "127.0.0.1:0";
/// The call timeout of every library-level case.
const TIMEOUT: Duration = Duration::from_millis(1500);

fn opts() -> CallOpts {
    CallOpts::udp_probe()
        .with_timeout(TIMEOUT)
        .with_retry(RetryPolicy::fixed(Duration::from_millis(300)))
        .with_connect_timeout(TIMEOUT)
}

/// Twice the configured timeout plus scheduling slack on a loaded 2-core machine.
fn bound() -> Duration {
    TIMEOUT * 2 + Duration::from_millis(1500)
}

/// Resident set size of this process in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

// ------------------------------------------------------------------ the hostile server

/// What the hostile TCP server writes after it has read one call (`xid` is its xid).
/// It may write forever: `stop` turns true when the test is over, and every write to
/// a client that went away fails, which ends the behaviour.
type Behaviour = Arc<dyn Fn(&mut TcpStream, u32, &AtomicBool) + Send + Sync>;

struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hostile {
    fn tcp(b: Behaviour) -> Hostile {
        let l = TcpListener::bind(LO).unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let (st, b) = (st.clone(), b.clone());
                        workers.push(std::thread::spawn(move || {
                            s.set_nonblocking(false).unwrap();
                            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                            s.set_write_timeout(Some(Duration::from_millis(200)))
                                .unwrap();
                            let mut rr = RecordReader::new(RecordLimits::default());
                            let mut buf = [0u8; 4096];
                            while !st.load(Ordering::SeqCst) {
                                match s.read(&mut buf) {
                                    Ok(0) => return,
                                    Ok(n) => {
                                        if rr.feed(&buf[..n]).is_err() {
                                            return;
                                        }
                                    }
                                    Err(_) => {}
                                }
                                while let Some(rec) = rr.pop() {
                                    let Ok((h, _)) = decode_call(&rec) else {
                                        return;
                                    };
                                    b(&mut s, h.xid, &st);
                                }
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        Hostile {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes `b`; false once the peer is gone or the test is over.
fn put(s: &mut TcpStream, b: &[u8], stop: &AtomicBool) -> bool {
    !stop.load(Ordering::SeqCst) && s.write_all(b).is_ok()
}

fn ep(addr: SocketAddr, t: Transport) -> Endpoint {
    Endpoint::new(addr, 100_099, 1, t)
}

/// One call through a fresh client: (result, elapsed).
fn call(addr: SocketAddr, t: Transport) -> (Result<Vec<u8>, RpcError>, Duration) {
    let mut c = Client::new();
    let t0 = Instant::now();
    let r = c.call(&ep(addr, t), &Cred::None, 1, &[], &opts());
    (r, t0.elapsed())
}

/// The error's text is one line, and it finished within the bound.
fn check(what: &str, r: &Result<Vec<u8>, RpcError>, took: Duration) -> RpcError {
    assert!(
        took < bound(),
        "{what}: took {took:?} (bound {:?})",
        bound()
    );
    let e = r.clone().expect_err(what);
    let text = e.to_string();
    assert!(!text.is_empty() && !text.contains('\n'), "{what}: {text:?}");
    e
}

fn ok_reply(xid: u32, body: &[u8]) -> Vec<u8> {
    success(xid, body)
}

fn raw(f: impl Fn(u32) -> Vec<u8> + Send + Sync + 'static) -> support::Handler {
    Arc::new(move |_, h, _| Action::Raw(f(h.xid)))
}

// ------------------------------------------------------------------ framing

#[test]
fn truncated_replies_are_decode_errors_or_timeouts() {
    let full = ok_reply(0, &[0, 0, 0, 1]);
    // Every cut of the reply header (xid kept whole so the client matches it).
    for cut in [4, 5, 8, 11, 12, 16, 20, 23] {
        for t in [Transport::Udp, Transport::Tcp] {
            let h: support::Handler = Arc::new(move |_, h, _| {
                let mut m = ok_reply(h.xid, &[0, 0, 0, 1]);
                m.truncate(cut);
                Action::Reply(m)
            });
            let srv = match t {
                Transport::Udp => FakeServer::udp(LO, h),
                Transport::Tcp => FakeServer::tcp(LO, h),
            };
            let (r, took) = call(srv.addr, t);
            let e = check(&format!("cut {cut} {t:?}"), &r, took);
            assert!(
                matches!(e, RpcError::Decode(_)),
                "cut {cut} of {} over {t:?}: {e:?}",
                full.len()
            );
            assert_eq!(e.clnt_stat(), ClntStat::CantDecodeRes);
        }
    }
    // TCP: a record mark announcing 100 bytes, 10 sent, then silence: a timeout;
    // then closing: a receive error. Both bounded.
    let srv = FakeServer::tcp(
        LO,
        raw(|xid| {
            let mut b = vec![0x80, 0, 0, 100];
            b.extend(xid.to_be_bytes());
            b.extend([0; 6]);
            b
        }),
    );
    let (r, took) = call(srv.addr, Transport::Tcp);
    let e = check("short record, silence", &r, took);
    assert_eq!(e, RpcError::TimedOut);
    let h: support::Handler = Arc::new(|_, h, _| {
        let mut b = vec![0x80, 0, 0, 100];
        b.extend(h.xid.to_be_bytes());
        Action::Raw(b)
    });
    let srv = Hostile::tcp(Arc::new(move |s, xid, st| {
        let mut b = vec![0x80, 0, 0, 100];
        b.extend(xid.to_be_bytes());
        put(s, &b, st);
        let _ = s.shutdown(std::net::Shutdown::Both);
    }));
    drop(h);
    let (r, took) = call(srv.addr, Transport::Tcp);
    let e = check("short record, close", &r, took);
    assert!(
        matches!(e, RpcError::CantRecv(_) | RpcError::TimedOut),
        "short record then close: {e:?}"
    );
}

#[test]
fn record_mark_of_2_pow_31_minus_1_is_refused_without_allocating() {
    // 0x7fffffff: not the last fragment, 2^31-1 bytes; and the same as last fragment.
    for mark in [0x7fff_ffffu32, 0xffff_ffff] {
        let srv = Hostile::tcp(Arc::new(move |s, xid, st| {
            let mut b = mark.to_be_bytes().to_vec();
            b.extend(xid.to_be_bytes());
            // Then keep sending (what a hostile server would do) for a while.
            put(s, &b, st);
            for _ in 0..200 {
                if !put(s, &[0u8; 16384], st) {
                    return;
                }
            }
        }));
        let before = rss_kib();
        let (r, took) = call(srv.addr, Transport::Tcp);
        let grew = rss_kib().saturating_sub(before);
        let e = check(&format!("mark {mark:#x}"), &r, took);
        assert!(
            matches!(e, RpcError::Decode(ref s) if s.contains("exceeds")),
            "{mark:#x}: {e:?}"
        );
        assert!(
            took < Duration::from_millis(1000),
            "refused at once: {took:?}"
        );
        // Other tests run in parallel; 2 GiB would show, 64 MiB of noise would not.
        assert!(grew < 64 * 1024, "RSS grew by {grew} KiB");
    }
}

#[test]
fn endless_fragments_hit_the_record_caps() {
    let limits = RecordLimits::default();
    // (fragment size, expected cap): empty fragments hit the fragment count, large
    // ones the record size.
    for frag in [0usize, 100, 256 * 1024] {
        let srv = Hostile::tcp(Arc::new(move |s, xid, st| {
            let mut first = (frag.max(4) as u32).to_be_bytes().to_vec();
            first.extend(xid.to_be_bytes());
            first.extend(vec![0u8; frag.max(4) - 4]);
            if !put(s, &first, st) {
                return;
            }
            let mut more = (frag as u32).to_be_bytes().to_vec();
            more.extend(vec![0u8; frag]);
            // Never a last fragment; bounded so a broken client cannot keep us busy.
            for _ in 0..100_000 {
                if !put(s, &more, st) {
                    return;
                }
            }
        }));
        let before = rss_kib();
        let (r, took) = call(srv.addr, Transport::Tcp);
        let grew = rss_kib().saturating_sub(before);
        let e = check(&format!("fragments of {frag}"), &r, took);
        assert!(
            matches!(e, RpcError::Decode(_)),
            "fragments of {frag}: {e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("fragment") || text.contains("exceeds"),
            "fragments of {frag}: {text}"
        );
        assert!(
            grew < (limits.max_record as u64 / 1024) * 8 + 64 * 1024,
            "fragments of {frag}: RSS grew by {grew} KiB"
        );
    }
}

#[test]
fn trickling_reply_is_bounded_by_the_call_timeout() {
    // A valid reply, one byte a second: the total timeout, not a per-read one, ends it.
    let srv = Hostile::tcp(Arc::new(|s, xid, st| {
        let rec = encode_record(&ok_reply(xid, &[0, 0, 0, 1]), 1 << 20);
        for b in rec {
            if !put(s, &[b], st) {
                return;
            }
            for _ in 0..10 {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }));
    let (r, took) = call(srv.addr, Transport::Tcp);
    let e = check("trickle", &r, took);
    assert_eq!(e, RpcError::TimedOut);
    assert_eq!(e.to_string(), "RPC: Timed out");
    assert!(took >= TIMEOUT - Duration::from_millis(100), "{took:?}");
}

// ------------------------------------------------------------------ xids and garbage

#[test]
fn wrong_xids_before_the_right_one_and_only_wrong_ones() {
    for t in [Transport::Udp, Transport::Tcp] {
        let before: support::Handler = Arc::new(|_, h, _| {
            Action::Many(
                (1..=20)
                    .map(|i| ok_reply(h.xid.wrapping_add(i), &[9; 4]))
                    .chain([ok_reply(h.xid, &[1, 2, 3, 4])])
                    .collect(),
            )
        });
        let only: support::Handler = Arc::new(|_, h, _| {
            Action::Many(
                (1..=50)
                    .map(|i| ok_reply(h.xid ^ (i << 8), &[9; 4]))
                    .collect(),
            )
        });
        let (a, b) = match t {
            Transport::Udp => (FakeServer::udp(LO, before), FakeServer::udp(LO, only)),
            Transport::Tcp => (FakeServer::tcp(LO, before), FakeServer::tcp(LO, only)),
        };
        let mut c = Client::new();
        let t0 = Instant::now();
        let r = c.call(&ep(a.addr, t), &Cred::None, 1, &[], &opts());
        assert_eq!(r, Ok(vec![1, 2, 3, 4]), "{t:?}");
        assert!(t0.elapsed() < bound());
        assert_eq!(c.stats().total.badxids, 20, "{t:?}");
        let (r, took) = call(b.addr, t);
        let e = check(&format!("only wrong xids {t:?}"), &r, took);
        assert_eq!(e, RpcError::TimedOut, "{t:?}");
    }
}

#[test]
fn garbage_bytes_never_panic_and_end_within_the_bound() {
    // Deterministic garbage of many sizes, with and without our xid in front.
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut garbage = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let cases: Vec<(Vec<u8>, bool)> = [1usize, 3, 7, 12, 40, 400, 5000]
        .iter()
        .flat_map(|&n| [(garbage(n), true), (garbage(n), false)])
        .collect();
    for (g, with_xid) in cases {
        for t in [Transport::Udp, Transport::Tcp] {
            let g2 = g.clone();
            let h: support::Handler = Arc::new(move |_, h, _| {
                let mut m = if with_xid {
                    h.xid.to_be_bytes().to_vec()
                } else {
                    vec![]
                };
                m.extend(&g2);
                match t {
                    // TCP: as a well-framed record, and (below) unframed.
                    Transport::Tcp => Action::Reply(m),
                    Transport::Udp => Action::Raw(m),
                }
            });
            let srv = match t {
                Transport::Udp => FakeServer::udp(LO, h),
                Transport::Tcp => FakeServer::tcp(LO, h),
            };
            let (r, took) = call(srv.addr, t);
            let what = format!("{} garbage bytes, xid {with_xid}, {t:?}", g.len());
            let e = check(&what, &r, took);
            assert!(
                matches!(e, RpcError::Decode(_) | RpcError::TimedOut),
                "{what}: {e:?}"
            );
        }
        // Unframed garbage on TCP: the first four bytes are taken as a record mark.
        let g2 = g.clone();
        let srv = FakeServer::tcp(LO, raw(move |_| g2.clone()));
        let (r, took) = call(srv.addr, Transport::Tcp);
        let e = check(&format!("{} unframed bytes", g.len()), &r, took);
        assert!(
            matches!(e, RpcError::Decode(_) | RpcError::TimedOut),
            "unframed: {e:?}"
        );
    }
}

// ------------------------------------------------------------------ RPC statuses

fn body_reply(xid: u32, body: ReplyBody) -> Vec<u8> {
    Reply { xid, body }.encode().unwrap()
}

fn acc(stat: AcceptStat) -> ReplyBody {
    ReplyBody::Accepted {
        verf: OpaqueAuth::none(),
        stat,
    }
}

#[test]
fn every_accept_reject_and_auth_stat_is_a_clear_error() {
    let mut cases: Vec<(ReplyBody, RpcError, String)> = vec![
        (
            acc(AcceptStat::ProgUnavail),
            RpcError::ProgUnavail,
            "RPC: Program unavailable".into(),
        ),
        (
            acc(AcceptStat::ProgMismatch { low: 2, high: 4 }),
            RpcError::ProgVersMismatch { low: 2, high: 4 },
            "RPC: Program/version mismatch; low version = 2, high version = 4".into(),
        ),
        (
            acc(AcceptStat::ProcUnavail),
            RpcError::ProcUnavail,
            "RPC: Procedure unavailable".into(),
        ),
        (
            acc(AcceptStat::GarbageArgs),
            RpcError::GarbageArgs,
            "RPC: Server can't decode arguments".into(),
        ),
        (
            acc(AcceptStat::SystemErr),
            RpcError::SystemErr,
            "RPC: Remote system error".into(),
        ),
        (
            ReplyBody::Denied(RejectStat::RpcMismatch { low: 3, high: 5 }),
            RpcError::RpcVersMismatch { low: 3, high: 5 },
            "RPC: Incompatible versions of RPC; low version = 3, high version = 5".into(),
        ),
    ];
    for s in [0u32, 1, 2, 3, 4, 5, 6, 7, 13, 14, 99] {
        let a = AuthStat(s);
        let why = a
            .text()
            .map(str::to_string)
            .unwrap_or_else(|| format!("(unknown authentication error - {s})"));
        cases.push((
            ReplyBody::Denied(RejectStat::AuthError(a)),
            RpcError::AuthError(a),
            format!("RPC: Authentication error; why = {why}"),
        ));
    }
    let bodies: Vec<ReplyBody> = cases.iter().map(|c| c.0.clone()).collect();
    for t in [Transport::Udp, Transport::Tcp] {
        let b = bodies.clone();
        let h: support::Handler =
            Arc::new(move |k, h, _| Action::Reply(body_reply(h.xid, b[(k - 1) % b.len()].clone())));
        let srv = match t {
            Transport::Udp => FakeServer::udp(LO, h),
            Transport::Tcp => FakeServer::tcp(LO, h),
        };
        let mut c = Client::new();
        for (_, want, text) in &cases {
            let t0 = Instant::now();
            let r = c.call(&ep(srv.addr, t), &Cred::None, 1, &[], &opts());
            let e = check(text, &r, t0.elapsed());
            assert_eq!(&e, want, "{t:?}");
            assert_eq!(e.to_string(), *text, "{t:?}");
        }
    }
}

#[test]
fn bad_reply_verifiers_are_refused() {
    // (verifier flavour, body length) → expected error. AUTH_NONE/AUTH_SYS/AUTH_SHORT
    // with a body up to 400 bytes are accepted.
    let cases: &[(u32, usize, Option<RpcError>)] = &[
        (0, 0, None),
        (2, 16, None),
        (0, 400, None),
        (6, 0, Some(RpcError::AuthError(AuthStat::INVALIDRESP))),
        (3, 8, Some(RpcError::AuthError(AuthStat::INVALIDRESP))),
        (
            0xdead_beef,
            4,
            Some(RpcError::AuthError(AuthStat::INVALIDRESP)),
        ),
    ];
    for &(flavor, n, ref want) in cases {
        for t in [Transport::Udp, Transport::Tcp] {
            let h: support::Handler = Arc::new(move |_, h, _| {
                Action::Reply(body_reply(
                    h.xid,
                    ReplyBody::Accepted {
                        verf: OpaqueAuth {
                            flavor,
                            body: vec![7; n],
                        },
                        stat: AcceptStat::Success(vec![0, 0, 0, 5]),
                    },
                ))
            });
            let srv = match t {
                Transport::Udp => FakeServer::udp(LO, h),
                Transport::Tcp => FakeServer::tcp(LO, h),
            };
            let (r, took) = call(srv.addr, t);
            match want {
                None => assert_eq!(r, Ok(vec![0, 0, 0, 5]), "flavour {flavor} len {n}"),
                Some(w) => {
                    let e = check(&format!("verifier {flavor}"), &r, took);
                    assert_eq!(&e, w);
                    assert_eq!(
                        e.to_string(),
                        "RPC: Authentication error; why = Invalid server verifier"
                    );
                }
            }
        }
    }
    // A verifier body over 400 bytes (hand-encoded: our encoder refuses it).
    let srv = FakeServer::udp(
        LO,
        raw(|xid| {
            let mut m = xid.to_be_bytes().to_vec();
            m.extend([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]); // REPLY ACCEPTED AUTH_NONE
            m.extend(401u32.to_be_bytes());
            m.extend(vec![0u8; 404]);
            m.extend([0u8; 4]); // SUCCESS
            m
        }),
    );
    let (r, took) = call(srv.addr, Transport::Udp);
    let e = check("401-byte verifier", &r, took);
    assert!(
        matches!(e, RpcError::Decode(ref s) if s.contains("401")),
        "{e:?}"
    );
}

// ------------------------------------------------------------------ MOUNT and rpcbind

/// A fake mountd answering MNT with `res` (raw SUCCESS body).
fn mountd(res: Vec<u8>) -> support::Handler {
    Arc::new(move |_, h, _| match h.proc_ {
        0 => Action::Reply(success(h.xid, &[])),
        1 => Action::Reply(success(h.xid, &res)),
        _ => Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
    })
}

fn mnt_ok_raw(fh_len: u32, flavours: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0]; // MNT3_OK
    b.extend(fh_len.to_be_bytes());
    b.extend(vec![0xab; fh_len.div_ceil(4) as usize * 4]);
    b.extend(flavours.to_be_bytes());
    for i in 0..flavours {
        b.extend((i % 7 + 1).to_be_bytes());
    }
    b
}

#[test]
fn mnt_reply_with_thousands_of_flavours_or_a_long_handle_is_refused() {
    for (what, body) in [
        ("5000 flavours", mnt_ok_raw(32, 5000)),
        ("2^31 flavours announced", {
            let mut b = mnt_ok_raw(32, 0);
            b.truncate(b.len() - 4);
            b.extend(0x8000_0000u32.to_be_bytes());
            b
        }),
        ("65-byte handle", mnt_ok_raw(65, 1)),
        ("4 GiB handle announced", {
            let mut b = vec![0, 0, 0, 0];
            b.extend(u32::MAX.to_be_bytes());
            b
        }),
    ] {
        for t in [Transport::Udp, Transport::Tcp] {
            let srv = match t {
                Transport::Udp => FakeServer::udp(LO, mountd(body.clone())),
                Transport::Tcp => FakeServer::tcp(LO, mountd(body.clone())),
            };
            let mut c = Client::new();
            let e = Endpoint::new(srv.addr, prog::MOUNT, 3, t);
            let t0 = Instant::now();
            let r = calls::mnt3(&mut c, &e, &Cred::None, "/export", &opts());
            assert!(t0.elapsed() < bound(), "{what}");
            let err = r.expect_err(what);
            assert!(matches!(err, RpcError::Decode(_)), "{what} {t:?}: {err:?}");
            assert!(
                err.to_string().starts_with("RPC: Can't decode result"),
                "{err}"
            );
        }
    }
    // The limits themselves are accepted.
    let srv = FakeServer::udp(LO, mountd(mnt_ok_raw(64, mount::MAX_FLAVORS as u32)));
    let mut c = Client::new();
    let e = Endpoint::new(srv.addr, prog::MOUNT, 3, Transport::Udp);
    match calls::mnt3(&mut c, &e, &Cred::None, "/export", &opts()).unwrap() {
        MntRes3::Ok {
            fhandle,
            auth_flavors,
        } => {
            assert_eq!(fhandle.len(), 64);
            assert_eq!(auth_flavors.len(), mount::MAX_FLAVORS);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn uaddr_that_is_not_an_address_is_a_clear_error() {
    for bad in [
        "not-an-address",
        "127.0.0.1",
        "127.0.0.1.8",
        "127.0.0.1.300.1",
        "::1.0",
        "1.2.3.4.5.6.7",
        &"9".repeat(2000),
    ] {
        for t in [Transport::Udp, Transport::Tcp] {
            let answer = bad.to_string();
            let h: support::Handler = Arc::new(move |_, h, _| match (h.vers, h.proc_) {
                (3 | 4, 3) => {
                    Action::Reply(success(h.xid, &rpcbind::encode_getaddr_reply(&answer)))
                }
                _ => Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
            });
            let srv = match t {
                Transport::Udp => FakeServer::udp(LO, h),
                Transport::Tcp => FakeServer::tcp(LO, h),
            };
            let mut c = Client::new();
            let t0 = Instant::now();
            let r = calls::rpcb_getaddr(
                &mut c,
                srv.addr,
                t,
                Target::new(prog::NFS, 3, Transport::Tcp),
                &opts(),
            );
            assert!(t0.elapsed() < bound());
            let e = r.expect_err(bad);
            assert!(
                matches!(e, RpcError::N2AXlateFailure(_) | RpcError::Decode(_)),
                "{bad}: {e:?}"
            );
            let text = e.to_string();
            assert!(!text.contains('\n') && text.len() < 300, "{text}");
        }
    }
}

// ------------------------------------------------------------------ the mount.nfs binary

mod binary {
    use super::*;
    use std::process::{Command, Stdio};

    /// Runs `mount.nfs -v 127.0.0.1:/export <dir> -o <opts>` with mount(2) faked, no
    /// proxy, no statd; returns (exit code, stderr, elapsed, logged mount(2) calls).
    pub fn mount(opts: &str) -> (i32, String, Duration, usize) {
        let dir = tempfile::tempdir().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("mount-nfs");
        let link = dir.path().join("mount.nfs");
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        std::fs::write(dir.path().join("nfsmount.conf"), "").unwrap();
        let t0 = Instant::now();
        let mut child = Command::new(&link)
            .arg("-v")
            .arg("127.0.0.1:/export")
            .arg(dir.path().join("mnt"))
            .args(["-o", opts])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("NFSMOUNT_SYSCALL_LOG", dir.path().join("syscalls.log"))
            .env("NFSMOUNT_UTAB", dir.path().join("utab"))
            .env("NFSMOUNT_CONF", dir.path().join("nfsmount.conf"))
            .env("NFSMOUNT_SYSLOG_SOCKET", dir.path().join("no-syslog"))
            .env("NFSMOUNT_PROXY_SOCKET", dir.path().join("no-proxy"))
            .env("NFSMOUNT_TIME_SCALE", "1000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded wait: kill after 60 s whatever happens.
        let until = t0 + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > until {
                let _ = child.kill();
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = t0.elapsed();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let mounts = std::fs::read_to_string(dir.path().join("syscalls.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("mount"))
            .count();
        (status.code().unwrap_or(-1), err, took, mounts)
    }

    /// Options pinning every port and version, so no rpcbind query is made.
    pub fn pinned(mountport: u16, mountproto: &str) -> String {
        format!(
            "vers=3,proto=tcp,port=2049,mountvers=3,mountproto={mountproto},mountport={mountport},nolock,retry=0"
        )
    }

    /// The helper's own MNT needs a reserved port (root).
    pub fn root() -> bool {
        let yes = nix::unistd::geteuid().is_root();
        if !yes {
            eprintln!("skipped: the helper's MNT binds a reserved port (needs root)");
        }
        yes
    }

    /// The helper asked mountd itself, got `why`, and left MNT to the (faked) kernel:
    /// exit 0, one mount(2), the reason on its verbose line, no panic.
    pub fn check(what: &str, r: (i32, String, Duration, usize), bound: Duration, why: &str) {
        let (code, out, took, mounts) = r;
        assert!(took < bound, "{what}: took {took:?}");
        assert!(!out.contains("panicked"), "{what}: {out}");
        assert_eq!(code, 0, "{what}: {out}");
        assert_eq!(mounts, 1, "{what}: {out}");
        let line = out
            .lines()
            .find(|l| l.contains("could not ask mountd directly"))
            .unwrap_or_else(|| panic!("{what}: {out}"));
        assert!(
            line.contains(why) && line.ends_with("leaving MNT to the kernel"),
            "{what}: {line}"
        );
    }
}

// The helper makes its own MNT call before mount(2) (for its diagnostics and the
// stormsafe binary mount); an RPC failure there is only noted and the kernel is left
// to make its own MNT — so with mount(2) faked, the outcome is a success whose
// verbose line names what was wrong. The bound is the MNT call's timeout (3 s UDP,
// 10 s TCP; one attempt) plus slack.
#[test]
fn binary_notes_hostile_mnt_replies_and_stays_bounded() {
    if !binary::root() {
        return;
    }
    let cases = [
        ("5000 flavours", mnt_ok_raw(32, 5000), "Can't decode result"),
        ("65-byte handle", mnt_ok_raw(65, 1), "Can't decode result"),
        ("garbage", vec![0xff; 13], "Can't decode result"),
    ];
    for (what, body, why) in cases {
        let srv = FakeServer::udp(LO, mountd(body));
        let r = binary::mount(&binary::pinned(srv.addr.port(), "udp"));
        binary::check(what, r, Duration::from_secs(8), why);
        assert_eq!(srv.calls(), 1, "{what}: one MNT");
    }
    let srv = FakeServer::udp(
        LO,
        Arc::new(|_, h, _| {
            Action::Reply(body_reply(
                h.xid,
                ReplyBody::Accepted {
                    verf: OpaqueAuth {
                        flavor: 6,
                        body: vec![1; 8],
                    },
                    stat: AcceptStat::Success(mnt_ok_raw(32, 1)),
                },
            ))
        }),
    );
    let r = binary::mount(&binary::pinned(srv.addr.port(), "udp"));
    binary::check(
        "bad verifier",
        r,
        Duration::from_secs(8),
        "Invalid server verifier",
    );
    // A black-holed UDP mountd: the 3 s MNT timeout.
    let srv = FakeServer::udp(LO, Arc::new(|_, _, _| Action::Ignore));
    let r = binary::mount(&binary::pinned(srv.addr.port(), "udp"));
    binary::check("black hole", r, Duration::from_secs(8), "RPC: Timed out");
}

#[test]
fn binary_bounded_against_trickling_and_huge_record_mountd() {
    if !binary::root() {
        return;
    }
    let trickle = Hostile::tcp(Arc::new(|s, xid, st| {
        let rec = encode_record(&ok_reply(xid, &mnt_ok_raw(32, 1)), 1 << 20);
        for b in rec {
            if !put(s, &[b], st) {
                return;
            }
            for _ in 0..10 {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }));
    let r = binary::mount(&binary::pinned(trickle.addr.port(), "tcp"));
    binary::check("trickle", r, Duration::from_secs(20), "RPC: Timed out");
    let huge = Hostile::tcp(Arc::new(|s, xid, st| {
        let mut b = 0x7fff_ffffu32.to_be_bytes().to_vec();
        b.extend(xid.to_be_bytes());
        put(s, &b, st);
    }));
    let r = binary::mount(&binary::pinned(huge.addr.port(), "tcp"));
    binary::check("huge mark", r, Duration::from_secs(5), "exceeds");
}

// ------------------------------------------------------------------ rpcproxyd in the middle

mod proxy_support;

#[test]
fn rpcproxyd_keeps_serving_while_an_upstream_trickles_and_garbages() {
    use nfsmount::client::proxy_backend::ProxyBackend;
    // rpcproxyd serves root peers (CI runs the tests as root).
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: rpcproxyd serves only root peers");
        return;
    }
    let d = proxy_support::Daemon::start(&[]);
    // Hostile upstreams: one trickles, one floods garbage records, one unframed junk.
    let trickle = Hostile::tcp(Arc::new(|s, xid, st| {
        let rec = encode_record(&ok_reply(xid, &[0; 4]), 1 << 20);
        for b in rec {
            if !put(s, &[b], st) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }));
    let garbage = Hostile::tcp(Arc::new(|s, xid, st| {
        for i in 0..2000u32 {
            let mut m = (xid ^ i).to_be_bytes().to_vec();
            m.extend([0xee; 60]);
            if !put(s, &encode_record(&m, 64), st) {
                return;
            }
        }
        let mut junk = 0x7fff_ffffu32.to_be_bytes().to_vec();
        junk.extend([0u8; 64]);
        put(s, &junk, st);
    }));
    let good = FakeServer::tcp(
        LO,
        Arc::new(|_, h, _| Action::Reply(success(h.xid, &[0, 0, 0, 42]))),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut hostile_threads = Vec::new();
    for addr in [trickle.addr, garbage.addr] {
        let (sock, stop) = (d.sock.clone(), stop.clone());
        hostile_threads.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 20 {
                let mut c = Client::with_backends(vec![Box::new(
                    ProxyBackend::new(sock.clone()).with_autostart(false),
                )]);
                let t0 = Instant::now();
                let r = c.call(&ep(addr, Transport::Tcp), &Cred::None, 1, &[], &opts());
                let e = r.expect_err("hostile upstream");
                assert!(t0.elapsed() < bound(), "{e:?} after {:?}", t0.elapsed());
                assert!(
                    matches!(
                        e,
                        RpcError::TimedOut | RpcError::Decode(_) | RpcError::CantRecv(_)
                    ),
                    "{e:?}"
                );
                n += 1;
            }
            n
        }));
    }
    // Meanwhile the well-behaved client gets every answer, each fast.
    std::thread::sleep(Duration::from_millis(300));
    let mut c = Client::with_backends(vec![Box::new(
        ProxyBackend::new(d.sock.clone()).with_autostart(false),
    )]);
    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        let t0 = Instant::now();
        let r = c.call(&ep(good.addr, Transport::Tcp), &Cred::None, 1, &[], &opts());
        worst = worst.max(t0.elapsed());
        assert_eq!(r, Ok(vec![0, 0, 0, 42]));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        worst < Duration::from_millis(500),
        "worst good call {worst:?}"
    );
    stop.store(true, Ordering::SeqCst);
    for t in hostile_threads {
        assert!(t.join().expect("no panic") >= 1);
    }
    // The good calls went through the daemon, and it is still alive.
    let j = d.stats_json();
    assert!(j.contains("\"calls\""), "{j}");
    assert!(d.log().find("panicked").is_none(), "{}", d.log());
}

// ------------------------------------------------------------------ rpcbind on port 111

/// The binary asks rpcbind only on port 111, so these cases run in a fresh network
/// namespace (root; `#[ignore]`d, run by the testbed step): the test re-executes
/// itself under `unshare -n` with the loopback up, and the fake rpcbind binds port
/// 111 there (TCP and UDP).
#[test]
#[ignore = "needs root: a fresh network namespace so the fake rpcbind can own port 111"]
fn binary_against_hostile_rpcbind_in_a_netns() {
    if std::env::var_os("HOSTILE_IN_NETNS").is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("unshare")
            .args(["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
            .arg(&exe)
            .args([
                "--exact",
                "binary_against_hostile_rpcbind_in_a_netns",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HOSTILE_IN_NETNS", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
        eprintln!("{text}");
        return;
    }
    // (case, spec, handler for rpcbind, expected text on the first error line, bound
    // in seconds: the rpcbind queries are 10 s over TCP, 3 s over UDP)
    type Case = (
        &'static str,
        &'static str,
        support::Handler,
        &'static str,
        u64,
    );
    let cases: Vec<Case> = vec![
        (
            "garbage",
            "127.0.0.1:/export",
            Arc::new(|_, h, _| {
                let mut m = h.xid.to_be_bytes().to_vec();
                m.extend([0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3]);
                Action::Reply(m)
            }),
            "Can't decode result",
            30,
        ),
        (
            "only wrong xids",
            "127.0.0.1:/export",
            Arc::new(|_, h, _| Action::Reply(ok_reply(h.xid ^ 0x5555, &[0, 0, 8, 1]))),
            "mount.nfs: Connection timed out",
            40,
        ),
        (
            "PROG_UNAVAIL",
            "127.0.0.1:/export",
            Arc::new(|_, h, _| Action::Reply(reply(h.xid, AcceptStat::ProgUnavail))),
            "RPC Error: Program unavailable",
            30,
        ),
        (
            "AUTH_ERROR",
            "127.0.0.1:/export",
            Arc::new(|_, h, _| {
                Action::Reply(body_reply(
                    h.xid,
                    ReplyBody::Denied(RejectStat::AuthError(AuthStat::TOOWEAK)),
                ))
            }),
            "access denied by server while mounting 127.0.0.1:/export",
            30,
        ),
        (
            "uaddr that is no address",
            "[::1]:/export",
            Arc::new(|_, h, _| match (h.vers, h.proc_) {
                (3 | 4, 3) => Action::Reply(success(
                    h.xid,
                    &rpcbind::encode_getaddr_reply("no.such.address"),
                )),
                _ => Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
            }),
            // nfs-utils' text for RPC_N2AXLATEFAILURE (libtirpc's table stops at 17);
            // our second line names the rpcbind query that failed.
            "RPC Error: (unknown error code)",
            30,
        ),
    ];
    for (what, spec, h, why, secs) in cases {
        let bind = if spec.starts_with('[') {
            "[::1]:111"
        } else {
            "127.0.0.1:111"
        };
        let _udp = FakeServer::udp(bind, h.clone());
        let _tcp = FakeServer::tcp(bind, h);
        let dir = tempfile::tempdir().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("mount-nfs");
        let link = dir.path().join("mount.nfs");
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        std::fs::write(dir.path().join("nfsmount.conf"), "").unwrap();
        let t0 = Instant::now();
        let out = std::process::Command::new("timeout")
            .arg("120")
            .arg(&link)
            .arg(spec)
            .arg(dir.path().join("mnt"))
            .args(["-o", "vers=3,nolock,retry=0"])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("NFSMOUNT_SYSCALL_LOG", dir.path().join("syscalls.log"))
            .env("NFSMOUNT_UTAB", dir.path().join("utab"))
            .env("NFSMOUNT_CONF", dir.path().join("nfsmount.conf"))
            .env("NFSMOUNT_SYSLOG_SOCKET", dir.path().join("no-syslog"))
            .env("NFSMOUNT_PROXY_SOCKET", dir.path().join("no-proxy"))
            .output()
            .unwrap();
        let took = t0.elapsed();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        eprintln!("case {what}: {took:?} exit {:?}: {err}", out.status.code());
        assert!(
            took < Duration::from_secs(secs),
            "{what}: took {took:?}: {err}"
        );
        assert_eq!(out.status.code(), Some(32), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(first.starts_with("mount.nfs: "), "{what}: {err}");
        assert!(first.contains(why), "{what}: {first}");
        if what.starts_with("uaddr") {
            // The diagnosis says what libtirpc's "(unknown error code)" stands for.
            assert!(
                err.contains("rpcbind answered a malformed address \"no.such.address\""),
                "{what}: {err}"
            );
        }
    }
}
