//! [`Pool`]: the in-process backend — a cache of open transports.
//!
//! Connection key: (server address, program, version, transport, reserved-port or
//! not, credential); for rpcbind (program 100000) the version is left out, so
//! portmap v2 and rpcbind v3/v4 queries share one connection as in nfs-utils. Two calls share a socket only if all six match, so a
//! reserved-port connection carrying one credential is never used for another
//! (see `client` module docs). Within the key, reuse is unconditional:
//! all GETPORTs to one rpcbind go over one connection, NULL then MNT over one
//! mountd connection.
//!
//! Lifecycle:
//! * Idle connections (unused for `idle_timeout`, default 30 s) are closed at the
//!   start of the next call or by [`Pool::close_idle`]; there is no background
//!   thread.
//! * Before a cached TCP connection is used it is checked with a non-blocking peek;
//!   if the server closed or reset it (restart, failover), it is replaced by a new
//!   one before anything is sent — safe for any call.
//! * If a reused TCP connection dies *during* a call (reset, EOF), it is redialled
//!   once and the call resent, but only if the call is idempotent.
//! * After a timeout a TCP connection is dropped, never reused: after a failover it
//!   may be wedged (after an HA failover the old connection goes silent), and a fresh connection costs little.
//! * Verifiers in replies are not checked: for AUTH_NONE and AUTH_SYS calls any
//!   server verifier is accepted (an AUTH_SHORT handle is not reused).
//! * A connection whose reply stream broke record framing is dropped, as is a UDP
//!   socket that reported an error; a UDP socket survives a timeout.
//! * A reused TCP connection that silently stops answering (the server
//!   moved or restarted without a reset reaching us) is given one retransmit
//!   interval (`opts.retry.initial`) for an idempotent call; then it is dropped
//!   and the call resent on a new connection within the remaining budget.
//!   Non-idempotent calls wait out their whole timeout.
//! * TCP connections carry keepalive (`sys::net::set_keepalive`: 5 s idle, 2 s
//!   interval, 3 probes), so one whose peer vanished while it sat in the cache
//!   fails on its own within ~11 s and the peek above replaces it before a call
//!   is sent on it — safe for any call.
use super::error::RpcError;
use super::stats::{Counters, EndpointId, StatsSnapshot, Tally};
use super::{Backend, CallOpts, Cred, Endpoint, Transport};
use crate::proto::prog;
use crate::rpc::record::RecordLimits;
use crate::rpc::{AcceptStat, RejectStat, Reply, ReplyBody};
use crate::sys::net::{self, Bind, NetError, Op, TcpTransport, UdpTransport, XportStats};
use nix::errno::Errno;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Default idle time after which a cached connection is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnKey {
    addr: SocketAddr,
    prog: u32,
    vers: u32,
    transport: Transport,
    privileged: bool,
    cred: Cred,
}

#[derive(Debug)]
enum Xport {
    Udp(UdpTransport),
    Tcp(TcpTransport),
}

#[derive(Debug)]
struct Conn {
    xport: Xport,
    last_used: Instant,
}

/// Pool configuration.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub idle_timeout: Duration,
    pub record_limits: RecordLimits,
    /// Where the bindresvport blacklist is read from (once, at pool creation).
    pub blacklist_path: PathBuf,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            record_limits: RecordLimits::default(),
            blacklist_path: PathBuf::from(net::BINDRESVPORT_BLACKLIST),
        }
    }
}

/// The in-process connection cache; see the module docs.
#[derive(Debug)]
pub struct Pool {
    cfg: PoolConfig,
    blacklist: Vec<u16>,
    conns: HashMap<ConnKey, Conn>,
    next_xid: u32,
    stamp: u32,
    tally: Tally,
    /// Calls sent ahead (pipelined) whose reply the same call picks up later:
    /// (connection, procedure, arguments) -> (xid, when sent).
    ahead: HashMap<(ConnKey, u32, Vec<u8>), (u32, Instant)>,
    /// A connect made for an early send failed: the next call on that key
    /// gets this error at once instead of waiting for a second connect (so an
    /// early send never doubles a connect timeout).
    failed_dial: HashMap<ConnKey, (RpcError, Instant)>,
}

/// Most calls sent ahead at once (one mount needs at most four GETPORTs).
const MAX_AHEAD: usize = 8;
/// An early send older than this is not picked up.
const AHEAD_MAX_AGE: Duration = Duration::from_secs(2);

impl Default for Pool {
    fn default() -> Self {
        Pool::new(PoolConfig::default())
    }
}

impl Pool {
    pub fn new(cfg: PoolConfig) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seed = (now.as_nanos() as u32) ^ (std::process::id().rotate_left(16));
        Pool {
            blacklist: net::load_blacklist(&cfg.blacklist_path),
            cfg,
            conns: HashMap::new(),
            next_xid: seed,
            stamp: now.as_secs() as u32,
            tally: Tally::default(),
            ahead: HashMap::new(),
            failed_dial: HashMap::new(),
        }
    }

    /// Number of open connections (for tests and diagnostics).
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Closes every connection idle for longer than the configured idle timeout.
    pub fn close_idle(&mut self) {
        let limit = self.cfg.idle_timeout;
        let now = Instant::now();
        let stale: Vec<ConnKey> = self
            .conns
            .iter()
            .filter(|(_, c)| now.duration_since(c.last_used) >= limit)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.conns.remove(&k);
            let id = EndpointId {
                addr: k.addr,
                prog: k.prog,
                vers: k.vers,
                tcp: k.transport == Transport::Tcp,
            };
            self.bump(id, |c| c.closed_idle += 1);
        }
    }

    /// Closes every connection now.
    pub fn close_all(&mut self) {
        self.conns.clear();
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        self.tally.snapshot()
    }

    fn bump(&mut self, id: EndpointId, f: impl Fn(&mut Counters)) {
        self.tally.bump(id, f)
    }

    fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_add(1);
        self.next_xid
    }

    /// Dials `ep` and keeps the new connection under `key` (counted as opened).
    fn dial_into(
        &mut self,
        key: &ConnKey,
        ep: &Endpoint,
        opts: &CallOpts,
        id: EndpointId,
    ) -> Result<(), RpcError> {
        let x = self.dial(ep, opts)?;
        self.bump(id, |c| c.conns_opened += 1);
        self.conns.insert(
            key.clone(),
            Conn {
                xport: x,
                last_used: Instant::now(),
            },
        );
        Ok(())
    }

    fn dial(&self, ep: &Endpoint, opts: &CallOpts) -> Result<Xport, RpcError> {
        let bind = if ep.privileged {
            Bind::Reserved
        } else {
            Bind::Ephemeral
        };
        let r = match ep.transport {
            Transport::Udp => UdpTransport::open(ep.addr, bind, &self.blacklist).map(Xport::Udp),
            Transport::Tcp => TcpTransport::connect(
                ep.addr,
                bind,
                &self.blacklist,
                opts.connect_timeout,
                self.cfg.record_limits,
            )
            .map(Xport::Tcp),
        };
        r.map_err(|e| match e {
            NetError::Io {
                op: Op::Connect,
                errno,
            } => RpcError::CantConnect(errno),
            NetError::Timeout => RpcError::CantConnect(Errno::ETIMEDOUT),
            other => map_net(other),
        })
    }

    /// One attempt on one connection.
    fn attempt(
        conn: &mut Conn,
        xid: u32,
        msg: &[u8],
        opts: &CallOpts,
        deadline: Instant,
        xs: &mut XportStats,
    ) -> Result<Vec<u8>, NetError> {
        let left = deadline.saturating_duration_since(Instant::now());
        conn.last_used = Instant::now();
        let r = match &mut conn.xport {
            Xport::Udp(u) => u.call(xid, msg, &opts.retry.schedule(left), xs),
            Xport::Tcp(t) => {
                if left.is_zero() {
                    Err(NetError::Timeout)
                } else {
                    t.call(xid, msg, left, xs)
                }
            }
        };
        conn.last_used = Instant::now();
        r
    }

    fn key(ep: &Endpoint, cred: &Cred) -> ConnKey {
        ConnKey {
            addr: ep.addr,
            prog: ep.prog,
            vers: if ep.prog == prog::PORTMAP { 0 } else { ep.vers },
            transport: ep.transport,
            privileged: ep.privileged,
            cred: cred.clone(),
        }
    }

    /// Sends a call now without waiting (pipelining several on one
    /// connection); the same call made later with [`Backend::call`] waits for
    /// this send's reply instead of sending again. Only ever used for
    /// idempotent queries (GETPORT). Best effort: on any trouble nothing is
    /// remembered and the later call runs as usual. The connection is dialled
    /// here if needed (that is what the later call would do first).
    pub fn send_ahead(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> bool {
        let key = Self::key(ep, cred);
        let akey = (key.clone(), procnum, args.to_vec());
        if self.ahead.contains_key(&akey) || self.ahead.len() >= MAX_AHEAD {
            return false;
        }
        let id = EndpointId::from(ep);
        if self.failed_dial.contains_key(&key) {
            return false;
        }
        let dead =
            matches!(self.conns.get(&key), Some(Conn { xport: Xport::Tcp(t), .. }) if t.is_dead());
        if dead {
            self.conns.remove(&key);
        }
        if !self.conns.contains_key(&key) {
            match self.dial_into(&key, ep, opts, id) {
                Ok(()) => {}
                // the later call reports this error (without a second wait)
                Err(e) => {
                    self.failed_dial.insert(key, (e, Instant::now()));
                    return false;
                }
            }
        }
        let xid = self.xid();
        let Ok(msg) = super::call_message(ep, cred, self.stamp, procnum, args, xid) else {
            return false;
        };
        let conn = self.conns.get_mut(&key).expect("present");
        conn.last_used = Instant::now();
        let sent = match &mut conn.xport {
            Xport::Udp(u) => u.send(xid, &msg).is_ok(),
            Xport::Tcp(t) => t.send(xid, &msg, opts.timeout).is_ok(),
        };
        if !sent {
            self.conns.remove(&key);
            return false;
        }
        self.ahead.insert(akey, (xid, Instant::now()));
        true
    }

    fn call_inner(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
        id: EndpointId,
    ) -> Result<Vec<u8>, RpcError> {
        // A call sent ahead on a connection that is still there: wait for its
        // reply (its budget counts from the send).
        let akey = (Self::key(ep, cred), procnum, args.to_vec());
        let mut sent_ahead = None;
        // (old early sends, e.g. of an attempt that took another path, are
        // not used: the call then runs with its whole budget)
        self.ahead.retain(|_, (_, t)| t.elapsed() < AHEAD_MAX_AGE);
        self.failed_dial
            .retain(|_, (_, t)| t.elapsed() < AHEAD_MAX_AGE);
        if let Some((e, _)) = self.failed_dial.remove(&akey.0) {
            self.bump(id, |c| c.cantconn += 1);
            return Err(e);
        }
        if let Some((xid, sent)) = self.ahead.remove(&akey) {
            if self.conns.contains_key(&akey.0) {
                if let Some(r) = self.pick_up(&akey.0, xid, sent, opts, id) {
                    return r;
                }
                // no reply yet: the ordinary call goes on within what is
                // left of the budget that started at the early send (at
                // least one retransmit interval, so it gets a fair try)
                sent_ahead = Some((sent + opts.timeout).max(Instant::now() + opts.retry.initial));
            }
        }
        let xid = self.xid();
        let msg = super::call_message(ep, cred, self.stamp, procnum, args, xid)?;
        let key = ConnKey {
            addr: ep.addr,
            prog: ep.prog,
            // rpcbind versions share a connection, as nfs-utils' CLSET_VERS does
            // (v4 GETADDR falling back to v3 on the same socket).
            vers: if ep.prog == prog::PORTMAP { 0 } else { ep.vers },
            transport: ep.transport,
            privileged: ep.privileged,
            cred: cred.clone(),
        };
        let mut redialled = false;
        let mut call_deadline: Option<Instant> = sent_ahead;
        loop {
            // Find or make the connection.
            let reused = match self.conns.get(&key) {
                Some(Conn {
                    xport: Xport::Tcp(t),
                    ..
                }) if t.is_dead() => {
                    self.conns.remove(&key);
                    self.bump(id, |c| c.redials += 1);
                    false
                }
                Some(_) => true,
                None => false,
            };
            if reused {
                self.bump(id, |c| c.conns_reused += 1);
            } else {
                match self.dial_into(&key, ep, opts, id) {
                    Ok(()) => {}
                    Err(e) => {
                        self.bump(id, |c| c.cantconn += 1);
                        return Err(e);
                    }
                }
            }
            // The call's total budget starts after the first connect (connect has
            // its own bound), as nfs-utils' separate connect and call timeouts do;
            // a redial spends what is left of it.
            let now = Instant::now();
            let deadline = *call_deadline.get_or_insert(now + opts.timeout);
            let is_tcp = ep.transport == Transport::Tcp;
            // A reused TCP connection that does not answer within one retransmit
            // interval may be wedged (a failover): give it that long, then redial.
            let probe_wedge = is_tcp
                && reused
                && opts.idempotent
                && !redialled
                && now + opts.retry.initial < deadline;
            let attempt_deadline = if probe_wedge {
                now + opts.retry.initial
            } else {
                deadline
            };
            let mut xs = XportStats::default();
            let conn = self.conns.get_mut(&key).expect("inserted above");
            let r = Self::attempt(conn, xid, &msg, opts, attempt_deadline, &mut xs);
            self.bump(id, |c| {
                c.retrans += xs.retrans;
                c.badxids += xs.badxids;
            });
            let bytes = match r {
                Ok(b) => b,
                Err(e) => {
                    let err = map_net(e.clone());
                    if is_tcp || e != NetError::Timeout {
                        // Never reuse a TCP connection after a failed call, nor a UDP
                        // socket that reported an error (e.g. a queued ICMP error).
                        // A UDP socket survives a timeout: late replies are dropped
                        // by xid.
                        self.conns.remove(&key);
                    }
                    let lost = matches!(e, NetError::Closed) || err.is_connection_loss();
                    let wedged = probe_wedge && e == NetError::Timeout;
                    if wedged || (is_tcp && lost && reused && opts.idempotent && !redialled) {
                        redialled = true;
                        self.bump(id, |c| c.redials += 1);
                        continue;
                    }
                    if err == RpcError::TimedOut {
                        self.bump(id, |c| c.timeouts += 1);
                    }
                    return Err(err);
                }
            };
            return match Reply::decode(&bytes) {
                Err(e) => {
                    if ep.transport == Transport::Tcp {
                        self.conns.remove(&key);
                    }
                    Err(RpcError::Decode(e.to_string()))
                }
                Ok(reply) => reply_result(reply),
            };
        }
    }
}

impl Pool {
    /// The reply to a call sent ahead, within the call's own budget counted
    /// from the send: `None` when it did not come (then the caller runs the
    /// call as usual, with the failures and messages of an ordinary call;
    /// a late reply to the early send is dropped by xid).
    fn pick_up(
        &mut self,
        key: &ConnKey,
        xid: u32,
        sent: Instant,
        opts: &CallOpts,
        id: EndpointId,
    ) -> Option<Result<Vec<u8>, RpcError>> {
        let mut xs = XportStats::default();
        let conn = self.conns.get_mut(key)?;
        let r = match &mut conn.xport {
            // UDP: the first retransmit interval; after that the ordinary call
            // (which retransmits) takes over. An error on the socket (ICMP
            // port unreachable: ECONNREFUSED) is what the ordinary call's
            // receive would have reported: the same error, now.
            Xport::Udp(u) => {
                match u.wait(xid, sent + opts.retry.initial.min(opts.timeout), &mut xs) {
                    Ok(r) => r,
                    Err(e) => {
                        self.conns.remove(key);
                        self.bump(id, |c| c.badxids += xs.badxids);
                        return Some(Err(map_net(e)));
                    }
                }
            }
            Xport::Tcp(t) => t.wait(xid, sent + opts.timeout, &mut xs).ok(),
        };
        conn.last_used = Instant::now();
        self.bump(id, |c| {
            c.badxids += xs.badxids;
            c.conns_reused += 1;
        });
        let bytes = r?;
        match Reply::decode(&bytes) {
            Ok(reply) => Some(reply_result(reply)),
            Err(_) => None,
        }
    }
}

/// Turns a transport failure into an RPC error.
fn map_net(e: NetError) -> RpcError {
    match e {
        NetError::Timeout => RpcError::TimedOut,
        NetError::Closed => RpcError::CantRecv(Errno::ECONNRESET),
        NetError::Io {
            op: Op::Send,
            errno,
        } => RpcError::CantSend(errno),
        NetError::Io {
            op: Op::Recv,
            errno,
        } => RpcError::CantRecv(errno),
        NetError::Io {
            op: Op::Connect,
            errno,
        } => RpcError::CantConnect(errno),
        NetError::Io { errno, .. } => RpcError::SystemError(errno),
        NetError::Record(r) => RpcError::Decode(r.to_string()),
        NetError::NotPrivileged(errno) => RpcError::ReservedPort(errno),
        NetError::NoReservedPort => RpcError::ReservedPort(Errno::EADDRINUSE),
    }
}

/// Turns a decoded reply into the SUCCESS body or the matching error.
pub(crate) fn reply_result(r: Reply) -> Result<Vec<u8>, RpcError> {
    match r.body {
        ReplyBody::Accepted { verf, .. }
            if crate::rpc::auth::check_reply_verifier(&verf).is_err() =>
        {
            Err(RpcError::AuthError(crate::rpc::AuthStat::INVALIDRESP))
        }
        ReplyBody::Accepted { stat, .. } => match stat {
            AcceptStat::Success(b) => Ok(b),
            AcceptStat::ProgUnavail => Err(RpcError::ProgUnavail),
            AcceptStat::ProgMismatch { low, high } => Err(RpcError::ProgVersMismatch { low, high }),
            AcceptStat::ProcUnavail => Err(RpcError::ProcUnavail),
            AcceptStat::GarbageArgs => Err(RpcError::GarbageArgs),
            AcceptStat::SystemErr => Err(RpcError::SystemErr),
        },
        ReplyBody::Denied(RejectStat::RpcMismatch { low, high }) => {
            Err(RpcError::RpcVersMismatch { low, high })
        }
        ReplyBody::Denied(RejectStat::AuthError(s)) => Err(RpcError::AuthError(s)),
    }
}

impl Backend for Pool {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn call(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        self.close_idle();
        let id = EndpointId::from(ep);
        self.bump(id, |c| c.calls += 1);
        let r = self.call_inner(ep, cred, procnum, args, opts, id);
        if r.is_err() {
            self.bump(id, |c| c.badcalls += 1);
        }
        r
    }

    fn stats(&self) -> StatsSnapshot {
        self.snapshot()
    }

    fn close_idle(&mut self) {
        Pool::close_idle(self)
    }

    fn send_ahead(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> bool {
        opts.idempotent && Pool::send_ahead(self, ep, cred, procnum, args, opts)
    }
}
