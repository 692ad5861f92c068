//! Fuzz target bodies for the text parsers and decision machines (issue 13 §4),
//! shared by the cargo-fuzz binaries and `tests/fuzz_parser_bodies.rs`.
//! Any panic is a bug; so is an assertion failure below (a round trip that is not
//! stable, a machine that does not stop within its step bound).
#![allow(dead_code)]

use nfsmount::client::{ClntStat, RpcError};
use nfsmount::conf::{merge, Config, MemSource};
use nfsmount::error::Errno;
use nfsmount::negotiate::retry::{bg_child, bg_parent, foreground, Clock};
use nfsmount::negotiate::v3::{construct_new_options, probe_bothports, Pmap, Probe, Service};
use nfsmount::negotiate::{autonegotiate, Attempts, PermanentTracker, V3Outcome};
use nfsmount::options::{self, DefaultVers, OptList};
use std::time::Duration;

/// Bytes → text the way a real input arrives (argv/files are bytes; the library
/// takes `&str` after a lossy conversion).
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A cursor that hands out bytes of the input, then zeros (deterministic).
pub struct Bytes<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Bytes { b, i: 0 }
    }
    pub fn u8(&mut self) -> u8 {
        let v = self.b.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    pub fn exhausted(&self) -> bool {
        self.i >= self.b.len()
    }
    pub fn rest(&self) -> &'a [u8] {
        &self.b[self.i.min(self.b.len())..]
    }
}

// ------------------------------------------------------------------ -o options

/// The `-o` list: tokenizer round trip, then every interpretation step the helper
/// runs on it (validation, transport/family, versions, VFS split, retry, sloppy,
/// v3 option rebuilding, the binary-mount translation).
pub fn options(data: &[u8]) {
    let s = text(data);
    let Ok(list) = OptList::parse(&s) else {
        return;
    };
    // join → parse is a fixed point after one step.
    let joined = list.join();
    let again = OptList::parse(&joined).expect("a joined list re-parses");
    assert_eq!(again.join(), joined);
    let _ = options::validate(&list);
    let _ = options::nfs_protocol(&list);
    let _ = options::nfs_family(&list);
    let _ = options::mount_protocol(&list);
    let _ = options::mount_family(&list, options::Family::Unspec);
    for nfs4 in [false, true] {
        for d in [
            DefaultVers::Unset,
            DefaultVers::Set(3, None),
            DefaultVers::Set(4, Some(2)),
        ] {
            if let Ok(sel) = options::select_version_ext(&list, nfs4, d) {
                let mut l2 = list.clone();
                options::strip_version_tokens(&mut l2);
                options::apply_v4_version(&mut l2, &sel, sel.minor);
                let _ = options::validate(&l2);
            }
        }
    }
    let split = options::split(&list);
    let _ = split.fs.join();
    let _ = split.user.join();
    for bg in [false, true] {
        let _ = options::parse_retry(&split.fs, bg);
    }
    let _ = options::is_bg(&split.fs);
    let mut sl = split.fs.clone();
    options::sloppy_fixup(&mut sl, true);
    for o in list.iter() {
        let _ = options::catalog::lookup_key(&o.key);
        let _ = list.get_numeric(&o.key);
    }
    let mut rebuilt = split.fs.clone();
    let nfs = Pmap {
        prog: 100003,
        vers: 3,
        prot: 6,
        port: 2049,
    };
    let mnt = Pmap {
        prog: 100005,
        vers: 3,
        prot: 17,
        port: 635,
    };
    construct_new_options(&mut rebuilt, &nfs, false, &mnt, false);
    let server = "127.0.0.1:2049".parse().unwrap();
    if let Ok(p) = nfsmount::mount::binary::params_from_options(&rebuilt, server, "h", &[1; 32]) {
        assert_eq!(nfsmount::mount::binary::encode(&p).len(), 688);
        let _ = nfsmount::mount::binary::describe(&p);
    }
}

// ------------------------------------------------------------------ nfsmount.conf

const MAIN: &str = "/etc/nfsmount.conf";

/// Split the input into up to 8 files at `\0`: the first is the main file, the
/// others are `/etc/nfsmount.conf.d/<n>.conf` and `/etc/inc<n>` (so `include
/// /etc/inc1`, `include inc2` and `include nfsmount.conf` — a loop — are reachable).
/// After `\x01` comes the user's option string and `\x02` the server key.
pub fn conf(data: &[u8]) {
    let s = text(data);
    let (files, rest) = s.split_once('\u{1}').unwrap_or((&s, ""));
    let (user, server) = rest.split_once('\u{2}').unwrap_or((rest, "srv"));
    let mut src = MemSource::new();
    for (i, f) in files.split('\0').take(8).enumerate() {
        let path = match i {
            0 => MAIN.to_string(),
            i if i % 2 == 1 => format!("/etc/nfsmount.conf.d/{i}.conf"),
            i => format!("/etc/inc{i}"),
        };
        src = src.with(&path, f);
    }
    let env = |k: &str| (k == "HOME").then(|| "/root".to_string());
    let (cfg, warnings) = Config::load(&src, std::path::Path::new(MAIN), &env);
    for w in &warnings {
        let _ = w.to_string();
    }
    for e in cfg.errors() {
        let _ = e.to_string();
    }
    let _ = cfg.get("NFSMount_Global_Options", None, "Defaultvers");
    if let Ok(m) = merge(&cfg, user, "/mnt", server) {
        // The merged string is an option list the helper parses again.
        let _ = format!("{m:?}");
    }
    let (cfg2, _) = Config::parse_text(&src, "/etc/x.conf", files, &env);
    let _ = merge(&cfg2, user, "/mnt/x", server);
}

// ------------------------------------------------------------------ spec

pub fn spec(data: &[u8]) {
    let s = text(data);
    let key = nfsmount::spec::server_key(&s);
    match nfsmount::spec::parse_spec(&s) {
        Ok((sp, warnings)) => {
            assert!(sp.host.len() <= nfsmount::spec::MAX_HOSTNAME);
            assert!(sp.path.len() <= nfsmount::spec::MAX_PATHNAME);
            assert!(warnings.len() <= 1);
            let _ = nfsmount::sys::resolve::parse_numeric(&sp.host);
            if sp.bracketed {
                assert_eq!(key, sp.host);
                // [host]:path re-parses to itself (host has no ']').
                let again = format!("[{}]:{}", sp.host, sp.path);
                let (sp2, _) = nfsmount::spec::parse_spec(&again).expect("bracketed re-parse");
                assert_eq!(sp2, sp);
            } else if warnings.is_empty() {
                let again = format!("{}:{}", sp.host, sp.path);
                if !again.starts_with('[') && !again.starts_with("nfs://") {
                    let (sp2, _) = nfsmount::spec::parse_spec(&again).expect("re-parse");
                    assert_eq!(sp2, sp);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ------------------------------------------------------------------ mountinfo / utab

pub fn mountinfo_utab(data: &[u8]) {
    let s = text(data);
    let table = nfsmount::umount::mountinfo::parse(&s);
    for m in &table {
        let _ = m.all_options();
        let _ = nfsmount::umount::mountinfo::find(&table, &m.target);
        let _ = nfsmount::umount::mountinfo::find(&table, &m.source);
    }
    let _ = nfsmount::umount::mountinfo::find(&table, "srv:/x");
    for e in nfsmount::utab::parse_all(&s) {
        // format → parse is stable for every parsed entry (mangling makes any
        // value a single field); the root field is dropped when empty.
        let line = e.format();
        assert!(!line.contains('\n'));
        let back = nfsmount::utab::Entry::parse(&line).expect("a formatted entry parses");
        assert_eq!(back, e, "{line:?}");
        let _ = e.worth_storing();
    }
    // mangle/unmangle are inverses on any text.
    assert_eq!(
        nfsmount::utab::unmangle(&nfsmount::utab::mangle(&s)),
        s,
        "mangle round trip"
    );
}

// ------------------------------------------------------------------ getopt

pub fn getopt(data: &[u8]) {
    let s = text(data);
    let args: Vec<String> = s.split('\0').take(64).map(str::to_string).collect();
    let _ = format!("{:?}", nfsmount::cli::parse_mount(&args));
    let _ = format!("{:?}", nfsmount::cli::parse_umount(&args));
    match nfsmount::cli::getopt::getopt_long(&args, "fhnrVvwo:s", &[]) {
        Ok(out) => {
            // Every argument is accounted for: as an option, its argument, or a
            // positional (nothing invented).
            assert!(out.positionals.len() <= args.len());
            assert!(out.opts.len() <= s.len() + 1);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ------------------------------------------------------------------ proxy frames

/// Both directions of rpcproxyd's frames: a frame body decoded (any type, client or
/// daemon side) re-encodes to bytes that decode to the same frame and re-encode to
/// the same bytes; and frames built from the input encode and decode back.
pub fn proxy_frame_roundtrip(data: &[u8]) {
    use nfsmount::proxywire::{Frame, WireError, MAX_FRAME};
    if let Ok(f) = Frame::decode(data) {
        let enc = f.encode();
        assert!(enc.len() <= MAX_FRAME + 4);
        let f2 = Frame::decode(&enc[4..]).expect("an encoded frame decodes");
        assert_eq!(f2, f);
        assert_eq!(f2.encode(), enc, "encode is stable");
    }
    // Encode direction: frames built from fields of the input.
    let mut b = Bytes::new(data);
    let kind = b.u8();
    let xid = b.u32();
    let errno = Errno::from_raw(i32::from(b.u8()));
    let f = match kind % 4 {
        0 => Frame::Reply(b.rest().to_vec()),
        1 => Frame::CallError {
            xid,
            err: WireError::new(b.u8(), errno),
        },
        2 => Frame::Connected(WireError::new(b.u8(), errno)),
        _ => Frame::Stats,
    };
    let enc = f.encode();
    if enc.len() <= MAX_FRAME + 4 {
        let back = Frame::decode(&enc[4..]);
        if let Ok(back) = back {
            // A WireError may be normalised (unknown kinds); then it is stable.
            assert_eq!(Frame::decode(&back.encode()[4..]).as_ref(), Ok(&back));
            if let Frame::Reply(_) | Frame::Stats = f {
                assert_eq!(back, f);
            }
        } else if let Frame::Reply(_) | Frame::Stats = f {
            panic!("{f:?} does not decode: {back:?}");
        }
    }
}

// ------------------------------------------------------------------ negotiation

const ERRNOS: &[Errno] = &[
    Errno::EPROTONOSUPPORT,
    Errno::EINVAL,
    Errno::EACCES,
    Errno::ENOENT,
    Errno::EPERM,
    Errno::ECONNREFUSED,
    Errno::ETIMEDOUT,
    Errno::EBUSY,
    Errno::ESTALE,
    Errno::EOPNOTSUPP,
    Errno::EHOSTUNREACH,
    Errno::EAGAIN,
    Errno::ECONNRESET,
    Errno::EIO,
];

fn errno_of(b: u8) -> Errno {
    ERRNOS[usize::from(b) % ERRNOS.len()]
}

fn rpc_error_of(b: &mut Bytes) -> RpcError {
    match b.u8() % 12 {
        0 => RpcError::ProgNotRegistered,
        1 => RpcError::TimedOut,
        2 => RpcError::CantRecv(errno_of(b.u8())),
        3 => RpcError::CantSend(errno_of(b.u8())),
        4 => RpcError::CantConnect(errno_of(b.u8())),
        5 => RpcError::ProgUnavail,
        6 => RpcError::ProgVersMismatch {
            low: b.u32(),
            high: b.u32(),
        },
        7 => RpcError::ProcUnavail,
        8 => RpcError::GarbageArgs,
        9 => RpcError::SystemErr,
        10 => RpcError::AuthError(nfsmount::rpc::AuthStat(u32::from(b.u8() % 16))),
        _ => RpcError::Decode("fuzz".into()),
    }
}

/// Most steps any machine below may take for one input.
pub const MAX_STEPS: usize = 64;

struct Scripted<'a, 'b> {
    b: &'b mut Bytes<'a>,
    steps: usize,
}

impl Scripted<'_, '_> {
    fn step(&mut self) {
        self.steps += 1;
        assert!(self.steps <= MAX_STEPS, "no end after {MAX_STEPS} steps");
    }
}

impl Attempts for Scripted<'_, '_> {
    fn v4(&mut self, _minor: u32) -> Result<(), Errno> {
        self.step();
        match self.b.u8() {
            0 => Ok(()),
            x => Err(errno_of(x)),
        }
    }
    fn v3(&mut self, _checkv4: bool) -> V3Outcome {
        self.step();
        match self.b.u8() % 3 {
            0 => V3Outcome::Mounted,
            1 => V3Outcome::V4Registered,
            _ => V3Outcome::Failed(errno_of(self.b.u8())),
        }
    }
}

impl Probe for Scripted<'_, '_> {
    fn getport(&mut self, _: Service, _: u32, _: u32, _: u32) -> Result<u16, RpcError> {
        self.step();
        if self.b.u8() % 2 == 0 {
            Ok(self.b.u16())
        } else {
            Err(rpc_error_of(self.b))
        }
    }
    fn ping(&mut self, _: Service, _: u32, _: u32, _: u32, _: u16) -> Result<(), RpcError> {
        self.step();
        if self.b.u8() % 2 == 0 {
            Ok(())
        } else {
            Err(rpc_error_of(self.b))
        }
    }
    fn ping_nfs4(&mut self) -> bool {
        self.step();
        self.b.u8() % 2 == 0
    }
}

/// A clock that only moves when slept on, or by the attempt's own duration.
struct FakeClock {
    now: Duration,
    sleeps: usize,
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.now
    }
    fn sleep(&mut self, d: Duration) -> bool {
        self.sleeps += 1;
        assert!(self.sleeps <= 100_000, "retry loop does not advance");
        self.now += d;
        true
    }
}

/// The negotiation and retry machines over arbitrary reply sequences. Each must
/// stop within its bound and never panic; the retry loops' bound is their
/// deadline (`retry=` minutes on a clock that moves only when they sleep).
pub fn negotiate(data: &[u8]) {
    let mut b = Bytes::new(data);
    let sel = b.u8();
    match sel % 4 {
        0 => {
            let minor = u32::from(b.u8() % 4);
            let general = b.u8() % 2 == 0;
            let mut s = Scripted {
                b: &mut b,
                steps: 0,
            };
            let _ = autonegotiate(&mut s, minor, general);
        }
        1 => {
            let mut nfs = Pmap {
                prog: 100003,
                vers: u32::from(b.u8() % 5),
                prot: [0, 6, 17][usize::from(b.u8() % 3)],
                port: if b.u8() % 2 == 0 { 0 } else { b.u16() },
            };
            let mut mnt = Pmap {
                prog: 100005,
                vers: u32::from(b.u8() % 5),
                prot: [0, 6, 17][usize::from(b.u8() % 3)],
                port: if b.u8() % 2 == 0 { 0 } else { b.u16() },
            };
            let checkv4 = b.u8() % 2 == 0;
            let udp_first = b.u8() % 2 == 0;
            let mut s = Scripted {
                b: &mut b,
                steps: 0,
            };
            match probe_bothports(&mut s, &mut mnt, &mut nfs, checkv4, udp_first) {
                Ok(()) => {
                    assert!(nfs.prot != 0 && mnt.prot != 0);
                    let mut o = OptList::parse("vers=3,port=1,proto=udp").unwrap();
                    construct_new_options(&mut o, &nfs, false, &mnt, true);
                    assert!(OptList::parse(&o.join()).is_ok());
                }
                Err(e) => {
                    let _ = e.errno();
                    if let nfsmount::negotiate::v3::ProbeError::Rpc(r) = e {
                        let _: ClntStat = r.clnt_stat();
                    }
                }
            }
        }
        k => {
            // Retry loops: at most retry_minutes*60 s of fake time, each sleep ≥ 1 s.
            let minutes = u64::from(b.u8() % 4);
            let mut clock = FakeClock {
                now: Duration::ZERO,
                sleeps: 0,
            };
            let mut tracker = PermanentTracker::default();
            let mut attempts = 0usize;
            let bound = (minutes as usize * 60) + 2;
            let mut attempt = || -> Result<(), Errno> {
                attempts += 1;
                assert!(attempts <= bound, "more attempts than the deadline allows");
                match b.u8() {
                    0 if !b.exhausted() => Ok(()),
                    x => Err(errno_of(x)),
                }
            };
            let mut is_mp = || false;
            if k == 2 {
                let _ = foreground(&mut clock, minutes, &mut tracker, &mut attempt, &mut is_mp);
            } else {
                let _ = bg_parent(&mut tracker, &mut attempt, &mut is_mp);
                let _ = bg_child(
                    &mut clock,
                    minutes,
                    &mut tracker,
                    &mut attempt,
                    &mut is_mp,
                    &mut |_| {},
                );
            }
        }
    }
}
