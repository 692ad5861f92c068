//! The rpcproxyd wire protocol between a local client and the daemon (sans-IO).
//!
//! Every frame is `u32 length (big-endian) | u8 type | payload`, where `length`
//! counts the type byte and the payload and is at most [`MAX_FRAME`]. Integers are
//! big-endian. See docs/rpcproxyd.md for the full description.
//!
//! Client → daemon:
//! * `CONNECT` (0x01): protocol version, endpoint (family, address, port, program,
//!   version, transport, privileged), connect timeout, credential (flavour + body).
//! * `CALL` (0x02): timeout, UDP retry policy, flags (idempotent), then one complete
//!   RPC call message.
//! * `STATS` (0x03): empty; answered with `STATS_REPLY`.
//!
//! Daemon → client:
//! * `CONNECTED` (0x81): a [`WireError`] status (kind 0 = connected).
//! * `REPLY` (0x82): one complete RPC reply message, xid already restored.
//! * `CALL_ERROR` (0x83): xid of the client's call and a [`WireError`].
//! * `STATS_REPLY` (0x84): [`ProxyStats`].
//!
//! [`FrameDecoder`] is push-style: feed it whatever `read()` returned and pop
//! frames. A length above the cap or a malformed payload is a protocol violation;
//! after it the decoder stays failed and the peer must be dropped.
#![forbid(unsafe_code)]

use crate::call::stats::{Counters, EndpointId};
use crate::call::{CallOpts, Endpoint, RetryPolicy, RpcError, Transport};
use crate::rpc::OpaqueAuth;
use nix::errno::Errno;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use thiserror::Error;

/// Where the daemon listens by default.
pub const DEFAULT_SOCKET: &str = "/run/rpcproxyd/socket";
/// The daemon the helpers' opt-in auto-start runs (`make install` puts it
/// here: DAEMONDIR=/usr/sbin). A fixed path, never taken from the environment.
pub const INSTALLED_DAEMON: &str = "/usr/sbin/rpcproxyd";

/// Protocol version sent in CONNECT. Version 2 adds re-binding: a client may send
/// another CONNECT on the same connection to move it to another endpoint or
/// credential (the helpers keep one local connection for all their calls).
/// Version 3 adds the answer cache: CALL flags bit 1 "fresh" (do not answer
/// from the cache), bit 2 "cache-aware" (the client understands
/// `REPLY_CACHED`), and the `REPLY_CACHED` frame.
/// The daemon accepts versions 1 to this one.
pub const PROTO_VERSION: u8 = 3;
/// Largest frame (type byte + payload): an RPC message of up to 1 MiB plus headers.
pub const MAX_FRAME: usize = (1 << 20) + 256;
/// Longest timeout a client may ask for (calls and connects).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(120);

pub const T_CONNECT: u8 = 0x01;
pub const T_CALL: u8 = 0x02;
pub const T_STATS: u8 = 0x03;
pub const T_CONNECTED: u8 = 0x81;
pub const T_REPLY: u8 = 0x82;
/// A REPLY the daemon made from its answer cache (only to cache-aware callers).
pub const T_REPLY_CACHED: u8 = 0x85;
/// CALL flag bits.
pub const CALL_IDEMPOTENT: u8 = 1;
pub const CALL_FRESH: u8 = 2;
pub const CALL_CACHE_AWARE: u8 = 4;
pub const T_CALL_ERROR: u8 = 0x83;
pub const T_STATS_REPLY: u8 = 0x84;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame length {0} out of range")]
    BadLength(u64),
    #[error("unknown frame type {0:#x}")]
    UnknownType(u8),
    #[error("truncated or malformed {0} frame")]
    Malformed(&'static str),
    #[error("unsupported protocol version {0}")]
    Version(u8),
    #[error("frame stream already failed")]
    Poisoned,
}

/// Why the daemon could not connect or complete a call, as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    pub kind: u8,
    pub errno: i32,
}

impl WireError {
    pub const OK: u8 = 0;
    pub const TIMED_OUT: u8 = 1;
    pub const CANT_SEND: u8 = 2;
    pub const CANT_RECV: u8 = 3;
    pub const CANT_CONNECT: u8 = 4;
    pub const SYSTEM_ERROR: u8 = 5;
    /// Refused by the daemon's policy (privilege, credential mismatch); errno EACCES.
    pub const REFUSED: u8 = 6;
    /// The daemon will not serve this client (capacity, other network namespace):
    /// nothing was sent, the client should use another backend.
    pub const NOT_SERVED: u8 = 7;
    /// The upstream reply could not be framed.
    pub const DECODE: u8 = 8;

    pub fn ok() -> Self {
        WireError {
            kind: Self::OK,
            errno: 0,
        }
    }
    pub fn new(kind: u8, errno: Errno) -> Self {
        WireError {
            kind,
            errno: errno as i32,
        }
    }
    pub fn is_ok(&self) -> bool {
        self.kind == Self::OK
    }
    /// The client-side error this stands for (`None` for OK).
    pub fn to_rpc_error(self) -> Option<RpcError> {
        let e = Errno::from_raw(self.errno);
        Some(match self.kind {
            Self::OK => return None,
            Self::TIMED_OUT => RpcError::TimedOut,
            Self::CANT_SEND => RpcError::CantSend(e),
            Self::CANT_RECV => RpcError::CantRecv(e),
            Self::CANT_CONNECT => RpcError::CantConnect(e),
            Self::REFUSED => RpcError::SystemError(Errno::EACCES),
            Self::NOT_SERVED => RpcError::BackendUnavailable,
            Self::DECODE => RpcError::Decode("reply framing broken".into()),
            _ => RpcError::SystemError(e),
        })
    }
    /// The wire form of a client-side error.
    pub fn from_rpc_error(e: &RpcError) -> Self {
        match e {
            RpcError::TimedOut => WireError::new(Self::TIMED_OUT, Errno::ETIMEDOUT),
            RpcError::CantSend(e) => WireError::new(Self::CANT_SEND, *e),
            RpcError::CantRecv(e) => WireError::new(Self::CANT_RECV, *e),
            RpcError::CantConnect(e) => WireError::new(Self::CANT_CONNECT, *e),
            RpcError::Decode(_) => WireError::new(Self::DECODE, Errno::EPROTO),
            RpcError::BackendUnavailable => WireError::new(Self::NOT_SERVED, Errno::EAGAIN),
            other => WireError::new(Self::SYSTEM_ERROR, other.errno().unwrap_or(Errno::EIO)),
        }
    }
}

/// The endpoint and credential a client binds its connection to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectReq {
    pub ep: Endpoint,
    pub connect_timeout: Duration,
    /// The credential every call on this connection carries (flavour + body; the
    /// AUTH_SYS stamp is part of the body but ignored when comparing).
    pub cred: OpaqueAuth,
}

/// One forwarded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReq {
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub idempotent: bool,
    /// Do not answer this call from the daemon's cache (the helper re-runs
    /// its probes after a failure).
    pub fresh: bool,
    /// The client understands `REPLY_CACHED`.
    pub cache_aware: bool,
    /// A complete RPC call message (the client's xid first).
    pub msg: Vec<u8>,
}

impl CallReq {
    pub fn new(opts: &CallOpts, msg: Vec<u8>) -> Self {
        CallReq {
            timeout: opts.timeout,
            retry: opts.retry,
            idempotent: opts.idempotent,
            fresh: false,
            cache_aware: false,
            msg,
        }
    }

    /// The flags byte of the frame.
    pub fn flags(&self) -> u8 {
        (u8::from(self.idempotent) * CALL_IDEMPOTENT)
            | (u8::from(self.fresh) * CALL_FRESH)
            | (u8::from(self.cache_aware) * CALL_CACHE_AWARE)
    }
}

/// Daemon statistics as carried by STATS_REPLY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    pub clients: u32,
    pub upstreams: u32,
    pub total: Counters,
    pub per_endpoint: Vec<(EndpointId, Counters)>,
    pub guards: Guards,
}

/// What the daemon's local-side guards did (docs/rpcproxyd.md, "Security
/// model"). Sent after the per-endpoint entries; a reply without them (an
/// older daemon) decodes as zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guards {
    /// Peers refused at accept because they are not root.
    pub refused_peers: u64,
    /// Clients dropped because the partial frames of all clients together
    /// passed the memory bound.
    pub memory_drops: u64,
    /// Bytes held for partial frames right now, all clients together.
    pub buffered: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Connect(ConnectReq),
    Call(CallReq),
    Stats,
    Connected(WireError),
    Reply(Vec<u8>),
    /// A reply made from the daemon's answer cache (protocol version 3).
    ReplyCached(Vec<u8>),
    CallError {
        xid: u32,
        err: WireError,
    },
    StatsReply(ProxyStats),
}

// ---------------------------------------------------------------- encoding

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn ms(&mut self, d: Duration) -> &mut Self {
        self.u32(d.as_millis().min(u128::from(u32::MAX)) as u32)
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn addr(&mut self, a: &SocketAddr) -> &mut Self {
        match a.ip() {
            IpAddr::V4(ip) => self.u8(4).bytes(&ip.octets()),
            IpAddr::V6(ip) => self.u8(6).bytes(&ip.octets()),
        };
        self.u16(a.port())
    }
    fn counters(&mut self, c: &Counters) -> &mut Self {
        for v in counter_fields(c) {
            self.u64(v);
        }
        self
    }
}

fn counter_fields(c: &Counters) -> [u64; 10] {
    [
        c.calls,
        c.badcalls,
        c.retrans,
        c.badxids,
        c.timeouts,
        c.cantconn,
        c.conns_opened,
        c.conns_reused,
        c.closed_idle,
        c.redials,
    ]
}

fn counters_from(v: [u64; 10]) -> Counters {
    Counters {
        calls: v[0],
        badcalls: v[1],
        retrans: v[2],
        badxids: v[3],
        timeouts: v[4],
        cantconn: v[5],
        conns_opened: v[6],
        conns_reused: v[7],
        closed_idle: v[8],
        redials: v[9],
    }
}

impl Frame {
    /// The complete frame (length prefix included).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(vec![0, 0, 0, 0]);
        match self {
            Frame::Connect(c) => {
                w.u8(T_CONNECT).u8(PROTO_VERSION).addr(&c.ep.addr);
                w.u32(c.ep.prog)
                    .u32(c.ep.vers)
                    .u8(u8::from(c.ep.transport.is_tcp()))
                    .u8(u8::from(c.ep.privileged))
                    .ms(c.connect_timeout)
                    .u32(c.cred.flavor)
                    .u32(c.cred.body.len() as u32)
                    .bytes(&c.cred.body);
            }
            Frame::Call(c) => {
                w.u8(T_CALL)
                    .ms(c.timeout)
                    .ms(c.retry.initial)
                    .ms(c.retry.max)
                    .u32(c.retry.retries.unwrap_or(u32::MAX))
                    .u8(c.flags())
                    .bytes(&c.msg);
            }
            Frame::Stats => {
                w.u8(T_STATS);
            }
            Frame::Connected(e) => {
                w.u8(T_CONNECTED).u8(e.kind).u32(e.errno as u32);
            }
            Frame::ReplyCached(m) => {
                w.u8(T_REPLY_CACHED).bytes(m);
            }
            Frame::Reply(m) => {
                w.u8(T_REPLY).bytes(m);
            }
            Frame::CallError { xid, err } => {
                w.u8(T_CALL_ERROR)
                    .u32(*xid)
                    .u8(err.kind)
                    .u32(err.errno as u32);
            }
            Frame::StatsReply(s) => {
                w.u8(T_STATS_REPLY)
                    .u32(s.clients)
                    .u32(s.upstreams)
                    .counters(&s.total)
                    .u32(s.per_endpoint.len() as u32);
                for (id, c) in &s.per_endpoint {
                    w.addr(&id.addr)
                        .u32(id.prog)
                        .u32(id.vers)
                        .u8(u8::from(id.tcp))
                        .counters(c);
                }
                w.u64(s.guards.refused_peers)
                    .u64(s.guards.memory_drops)
                    .u64(s.guards.buffered);
            }
        }
        let len = (w.0.len() - 4) as u32;
        w.0[..4].copy_from_slice(&len.to_be_bytes());
        w.0
    }

    /// Decodes one frame body (type byte + payload, no length prefix).
    pub fn decode(body: &[u8]) -> Result<Frame, FrameError> {
        let (&ty, rest) = body.split_first().ok_or(FrameError::BadLength(0))?;
        let mut r = R { b: rest, what: "" };
        let f = match ty {
            T_CONNECT => {
                r.what = "CONNECT";
                let v = r.u8()?;
                if v == 0 || v > PROTO_VERSION {
                    return Err(FrameError::Version(v));
                }
                let addr = r.addr()?;
                let prog = r.u32()?;
                let vers = r.u32()?;
                let transport = match r.u8()? {
                    0 => Transport::Udp,
                    1 => Transport::Tcp,
                    _ => return Err(r.bad()),
                };
                let privileged = r.flag()?;
                let connect_timeout = r.ms()?;
                let flavor = r.u32()?;
                let n = r.u32()? as usize;
                if n > crate::rpc::auth::MAX_AUTH_BODY {
                    return Err(r.bad());
                }
                let body = r.take(n)?.to_vec();
                r.end()?;
                Frame::Connect(ConnectReq {
                    ep: Endpoint::new(addr, prog, vers, transport).privileged(privileged),
                    connect_timeout,
                    cred: OpaqueAuth { flavor, body },
                })
            }
            T_CALL => {
                r.what = "CALL";
                let timeout = r.ms()?;
                let initial = r.ms()?;
                let max = r.ms()?;
                let retries = match r.u32()? {
                    u32::MAX => None,
                    n => Some(n),
                };
                let flags = r.u8()?;
                if flags & !(CALL_IDEMPOTENT | CALL_FRESH | CALL_CACHE_AWARE) != 0 {
                    return Err(r.bad());
                }
                let idempotent = flags & CALL_IDEMPOTENT != 0;
                Frame::Call(CallReq {
                    timeout,
                    retry: RetryPolicy {
                        initial,
                        max,
                        retries,
                    },
                    idempotent,
                    fresh: flags & CALL_FRESH != 0,
                    cache_aware: flags & CALL_CACHE_AWARE != 0,
                    msg: r.b.to_vec(),
                })
            }
            T_STATS => {
                r.what = "STATS";
                r.end()?;
                Frame::Stats
            }
            T_CONNECTED => {
                r.what = "CONNECTED";
                let e = r.wire_error()?;
                r.end()?;
                Frame::Connected(e)
            }
            T_REPLY => Frame::Reply(rest.to_vec()),
            T_REPLY_CACHED => Frame::ReplyCached(rest.to_vec()),
            T_CALL_ERROR => {
                r.what = "CALL_ERROR";
                let xid = r.u32()?;
                let err = r.wire_error()?;
                r.end()?;
                Frame::CallError { xid, err }
            }
            T_STATS_REPLY => {
                r.what = "STATS_REPLY";
                let clients = r.u32()?;
                let upstreams = r.u32()?;
                let total = r.counters()?;
                let n = r.u32()? as usize;
                // Each entry is at least 7 + 9 + 80 bytes: bound before allocating.
                if n > r.b.len() / 96 {
                    return Err(r.bad());
                }
                let mut per_endpoint = Vec::with_capacity(n);
                for _ in 0..n {
                    let addr = r.addr()?;
                    let prog = r.u32()?;
                    let vers = r.u32()?;
                    let tcp = r.flag()?;
                    let c = r.counters()?;
                    per_endpoint.push((
                        EndpointId {
                            addr,
                            prog,
                            vers,
                            tcp,
                        },
                        c,
                    ));
                }
                let guards = if r.b.is_empty() {
                    Guards::default()
                } else {
                    Guards {
                        refused_peers: r.u64()?,
                        memory_drops: r.u64()?,
                        buffered: r.u64()?,
                    }
                };
                r.end()?;
                Frame::StatsReply(ProxyStats {
                    clients,
                    upstreams,
                    total,
                    per_endpoint,
                    guards,
                })
            }
            t => return Err(FrameError::UnknownType(t)),
        };
        Ok(f)
    }
}

struct R<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> R<'a> {
    fn bad(&self) -> FrameError {
        FrameError::Malformed(self.what)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.b.len() < n {
            return Err(self.bad());
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }
    fn flag(&mut self) -> Result<bool, FrameError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.bad()),
        }
    }
    fn u16(&mut self) -> Result<u16, FrameError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn ms(&mut self) -> Result<Duration, FrameError> {
        Ok(Duration::from_millis(u64::from(self.u32()?)))
    }
    fn addr(&mut self) -> Result<SocketAddr, FrameError> {
        let ip = match self.u8()? {
            4 => {
                let b = self.take(4)?;
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(self.take(16)?);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            _ => return Err(self.bad()),
        };
        Ok(SocketAddr::new(ip, self.u16()?))
    }
    fn wire_error(&mut self) -> Result<WireError, FrameError> {
        let kind = self.u8()?;
        let errno = self.u32()? as i32;
        Ok(WireError { kind, errno })
    }
    fn counters(&mut self) -> Result<Counters, FrameError> {
        let mut v = [0u64; 10];
        for x in &mut v {
            *x = self.u64()?;
        }
        Ok(counters_from(v))
    }
    fn end(&self) -> Result<(), FrameError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(self.bad())
        }
    }
}

/// Incremental frame reassembler with a size cap checked before buffering.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: usize,
    failed: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(MAX_FRAME)
    }
}

impl FrameDecoder {
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max,
            failed: false,
        }
    }

    /// Appends received bytes. Fails as soon as a length prefix exceeds the cap.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), FrameError> {
        if self.failed {
            return Err(FrameError::Poisoned);
        }
        let had_header = self.buf.len() >= 4;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 4 {
            let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            if len == 0 || len as usize > self.max {
                self.failed = true;
                return Err(FrameError::BadLength(u64::from(len)));
            }
            // Once the length is known, allocate the frame once (no doubling
            // past it): what the buffer holds is what a memory bound counts.
            if !had_header {
                let want = 4 + len as usize;
                self.buf.reserve_exact(want.saturating_sub(self.buf.len()));
            }
        }
        Ok(())
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.failed {
            return Err(FrameError::Poisoned);
        }
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len == 0 || len > self.max {
            self.failed = true;
            return Err(FrameError::BadLength(len as u64));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let r = Frame::decode(&self.buf[4..4 + len]);
        self.buf.drain(..4 + len);
        // The next frame's length prefix is checked as soon as it is complete.
        if self.buf.len() >= 4 {
            let n = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            if n == 0 || n as usize > self.max {
                self.failed = true;
            }
        }
        match r {
            Ok(f) => Ok(Some(f)),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// Bytes buffered (for memory accounting).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Memory held by the buffer (its capacity), what a memory bound must count.
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back memory a finished large frame left behind: once the buffer is
    /// mostly empty, its capacity shrinks towards what it holds.
    pub fn trim(&mut self) {
        const KEEP: usize = 16 << 10;
        // what the frame in progress will need (its length is known and checked)
        let need = match self.buf.get(..4) {
            Some(h) => 4 + u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
        .max(self.buf.len())
        .max(KEEP);
        if self.buf.is_empty() && self.buf.capacity() > KEEP {
            self.buf = Vec::new();
        } else if self.buf.capacity() > need.saturating_mul(2) {
            self.buf.shrink_to(need);
        }
    }
}

/// The fuzz target's body (fuzz/fuzz_targets/proxy_frame.rs), also run by the unit
/// tests: feeds `data` to a decoder in chunks whose sizes come from the data itself,
/// and checks that every decoded frame re-encodes to bytes that decode to the same
/// frame, and that the decoder never buffers more than one maximal frame plus a
/// chunk.
pub fn fuzz_body(data: &[u8]) {
    let (cut, data) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut d = FrameDecoder::new(4096);
    for chunk in data.chunks(cut) {
        if d.feed(chunk).is_err() {
            return;
        }
        assert!(d.buffered() <= 4 + 4096 + cut + 4);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    let enc = f.encode();
                    assert_eq!(Frame::decode(&enc[4..]).as_ref(), Ok(&f));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((a, p))),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((a, p))),
        ]
    }

    fn arb_counters() -> impl Strategy<Value = Counters> {
        any::<[u64; 10]>().prop_map(counters_from)
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let ms = (0u64..u64::from(u32::MAX)).prop_map(Duration::from_millis);
        prop_oneof![
            (
                arb_addr(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                any::<bool>(),
                ms.clone(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..400)
            )
                .prop_map(|(a, p, v, tcp, pr, ct, fl, body)| {
                    let t = if tcp { Transport::Tcp } else { Transport::Udp };
                    Frame::Connect(ConnectReq {
                        ep: Endpoint::new(a, p, v, t).privileged(pr),
                        connect_timeout: ct,
                        cred: OpaqueAuth { flavor: fl, body },
                    })
                }),
            (
                ms.clone(),
                ms.clone(),
                ms,
                proptest::option::of(0u32..u32::MAX),
                any::<bool>(),
                any::<(bool, bool)>(),
                proptest::collection::vec(any::<u8>(), 0..200)
            )
                .prop_map(|(t, i, m, r, id, (fresh, aware), msg)| Frame::Call(
                    CallReq {
                        timeout: t,
                        retry: RetryPolicy {
                            initial: i,
                            max: m,
                            retries: r
                        },
                        idempotent: id,
                        fresh,
                        cache_aware: aware,
                        msg
                    }
                )),
            Just(Frame::Stats),
            (any::<u8>(), any::<i32>())
                .prop_map(|(kind, errno)| Frame::Connected(WireError { kind, errno })),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Frame::Reply),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Frame::ReplyCached),
            (any::<u32>(), any::<u8>(), any::<i32>()).prop_map(|(xid, kind, errno)| {
                Frame::CallError {
                    xid,
                    err: WireError { kind, errno },
                }
            }),
            (
                any::<u32>(),
                any::<u32>(),
                arb_counters(),
                proptest::collection::vec(
                    (
                        arb_addr(),
                        any::<u32>(),
                        any::<u32>(),
                        any::<bool>(),
                        arb_counters()
                    ),
                    0..5
                ),
                any::<(u64, u64, u64)>()
            )
                .prop_map(|(clients, upstreams, total, v, g)| {
                    Frame::StatsReply(ProxyStats {
                        clients,
                        upstreams,
                        total,
                        guards: Guards {
                            refused_peers: g.0,
                            memory_drops: g.1,
                            buffered: g.2,
                        },
                        per_endpoint: v
                            .into_iter()
                            .map(|(addr, prog, vers, tcp, c)| {
                                (
                                    EndpointId {
                                        addr,
                                        prog,
                                        vers,
                                        tcp,
                                    },
                                    c,
                                )
                            })
                            .collect(),
                    })
                }),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip_any_split(frames in proptest::collection::vec(arb_frame(), 1..5), cut in 1usize..64) {
            let wire: Vec<u8> = frames.iter().flat_map(|f| f.encode()).collect();
            let mut d = FrameDecoder::default();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                d.feed(chunk).unwrap();
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn fuzz_body_holds(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            fuzz_body(&data);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 1usize..32) {
            let mut d = FrameDecoder::new(4096);
            for chunk in data.chunks(cut) {
                if d.feed(chunk).is_err() { break; }
                while let Ok(Some(_)) = d.next_frame() {}
            }
            prop_assert!(d.buffered() <= data.len());
        }

        #[test]
        fn wire_error_roundtrip(kind in 2u8..5, errno in 1i32..=40) {
            let w = WireError { kind, errno };
            let e = w.to_rpc_error().unwrap();
            prop_assert_eq!(WireError::from_rpc_error(&e), w);
        }
    }

    #[test]
    fn oversize_length_rejected_before_buffering() {
        let mut d = FrameDecoder::new(1024);
        assert_eq!(d.feed(&[0, 0, 4, 1]), Err(FrameError::BadLength(1025)));
        assert_eq!(d.next_frame(), Err(FrameError::Poisoned));
        let mut d = FrameDecoder::new(1024);
        assert!(d.feed(&[0, 0, 0, 0]).is_err());
    }

    #[test]
    fn malformed_connect_and_unknown_type() {
        let mut f = Frame::Connect(ConnectReq {
            ep: Endpoint::new("127.0.0.1:111".parse().unwrap(), 100000, 2, Transport::Tcp),
            connect_timeout: Duration::from_secs(1),
            cred: OpaqueAuth::none(),
        })
        .encode();
        f[5] = 9; // protocol version
        assert_eq!(Frame::decode(&f[4..]), Err(FrameError::Version(9)));
        f[5] = 0;
        assert_eq!(Frame::decode(&f[4..]), Err(FrameError::Version(0)));
        f[5] = PROTO_VERSION + 1;
        assert_eq!(
            Frame::decode(&f[4..]),
            Err(FrameError::Version(PROTO_VERSION + 1))
        );
        // Version 1 clients (no re-binding) are still served.
        f[5] = 1;
        assert!(matches!(Frame::decode(&f[4..]), Ok(Frame::Connect(_))));
        assert_eq!(Frame::decode(&[0x7f]), Err(FrameError::UnknownType(0x7f)));
        assert!(matches!(
            Frame::decode(&[T_CALL, 0, 0]),
            Err(FrameError::Malformed("CALL"))
        ));
        // A decoder fed a bad frame stays failed.
        let mut d = FrameDecoder::default();
        d.feed(&[0, 0, 0, 1, 0x7f]).unwrap();
        assert!(d.next_frame().is_err());
        assert_eq!(d.next_frame(), Err(FrameError::Poisoned));
    }

    #[test]
    fn wire_errors_map_to_rpc_errors() {
        assert_eq!(
            WireError::new(WireError::CANT_RECV, Errno::ECONNRESET).to_rpc_error(),
            Some(RpcError::CantRecv(Errno::ECONNRESET))
        );
        assert_eq!(
            WireError::new(WireError::REFUSED, Errno::EACCES).to_rpc_error(),
            Some(RpcError::SystemError(Errno::EACCES))
        );
        assert_eq!(
            WireError::new(WireError::NOT_SERVED, Errno::EAGAIN).to_rpc_error(),
            Some(RpcError::BackendUnavailable)
        );
        assert_eq!(WireError::ok().to_rpc_error(), None);
    }
}
