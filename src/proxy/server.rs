//! The single-threaded poll loop: local clients in, shared upstream connections out.
//!
//! Readiness: the listener, the stop fd and the upstream sockets (a handful; an
//! upstream may replace its socket on a redial) are poll(2)ed directly; the
//! client sockets (up to thousands) live in one epoll set
//! ([`crate::sys::epoll`]) whose fd is part of the same poll. A wakeup then
//! costs O(ready fds), not O(clients): per-client work happens only for the
//! clients that had an event or were sent something (the "touched" list), and
//! the per-client timers (handshake, idle) are swept every
//! [`CLIENT_SWEEP`].
//!
//! Who: only root peers (or the daemon's own user) are served; every other peer
//! is refused at accept, before anything it sent is read
//! ([`security::peer_allowed`]), counted and logged at most every
//! [`REFUSAL_LOG_INTERVAL`].
//!
//! Bounds: at most `Config::max_clients` clients ([`MAX_CLIENTS`] or fewer when
//! the fd limit is lower), frames up to `proxywire::MAX_FRAME`, partial frames of
//! all clients together at most `Config::max_buffered` bytes
//! ([`DEFAULT_MAX_BUFFERED`]; past it the clients holding the largest partial
//! frames are dropped), [`MAX_INFLIGHT`] calls per client, [`MAX_CLIENT_OUT`]
//! bytes queued towards a client (a slower reader is dropped) and
//! `Config::max_buffered` bytes queued towards all clients together (the longest
//! queue is dropped), a handshake
//! deadline for new clients, and every timer bounded by the poll timeout. Any
//! protocol violation drops that client only.
use super::security::{self, Peer, Refusal, UpKey};
use super::stats::DaemonStats;
use super::upstream::{ClientId, Events, Failed, Routed, Upstream};
use crate::call::stats::EndpointId;
use crate::call::{RpcError, Transport};
use crate::portcache::{AliveKey, PortCache, PortKey};
use crate::proxywire::{CallReq, ConnectReq, Frame, FrameDecoder, WireError};
use crate::rpc::{AcceptStat, Reply, ReplyBody};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

/// A mount storm of 1000 helpers holds one local connection each (helpers that
/// predate re-binding, protocol version 1, hold up to five).
pub const MAX_CLIENTS: usize = 8192;
/// How long to stop accepting after accept(2) ran out of fds or memory (the
/// listener stays readable, so retrying at once would spin).
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
pub const MAX_INFLIGHT: usize = 64;
pub const MAX_CLIENT_OUT: usize = 4 << 20;
/// Most upstream connections in total.
pub const MAX_UPSTREAMS: usize = 2048;
/// Default bound on the memory all clients' partial frames may hold together
/// (`--max-buffered`): 64 frames of the largest size, or tens of thousands of
/// the few-hundred-byte frames the helpers send. Without it 8192 clients with
/// a partial 1 MiB frame each would hold 8 GiB.
pub const DEFAULT_MAX_BUFFERED: usize = 64 << 20;
/// Refused peers are logged at most once per this interval (with a count).
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// A new client must send CONNECT or STATS within this time.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A client with nothing in flight that says nothing for this long is dropped.
pub const CLIENT_IDLE: Duration = Duration::from_secs(600);
/// How often the per-client deadlines (handshake, idle) are checked.
pub const CLIENT_SWEEP: Duration = Duration::from_millis(100);
/// Most client events taken from the epoll set per wakeup.
const EPOLL_BATCH: usize = 1024;
const READ_CHUNK: usize = 65536;

/// Daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub idle_timeout: Duration,
    /// At most this many clients at once (see [`max_clients_for`]).
    pub max_clients: usize,
    pub debug: bool,
    pub blacklist: Vec<u16>,
    /// The daemon's effective uid: peers with this uid are served besides root.
    pub own_uid: u32,
    /// Bound on the memory of all clients' partial frames together.
    pub max_buffered: usize,
    /// How long rpcbind answers and "this service just answered" are kept
    /// (`--cache-ttl`; zero = no cache). See [`crate::portcache`].
    pub cache_ttl: Duration,
}

struct Client {
    stream: UnixStream,
    peer: Peer,
    dec: FrameDecoder,
    out: Vec<u8>,
    out_off: usize,
    bound: Option<(UpKey, ConnectReq)>,
    inflight: usize,
    /// Memory of `dec` as last counted into `Server::held`.
    held: usize,
    accepted: Instant,
    last_active: Instant,
    /// Close once `out` is flushed.
    closing: bool,
    drop_now: bool,
    /// EPOLLOUT is in this client's epoll interest.
    out_armed: bool,
    /// Bytes of `out` as last counted into `Server::out_queued`.
    out_counted: usize,
}

impl Client {
    fn send(&mut self, f: &Frame) {
        let b = f.encode();
        if self.out.len() - self.out_off + b.len() > MAX_CLIENT_OUT {
            self.drop_now = true;
            return;
        }
        self.out.extend_from_slice(&b);
    }
    fn flush(&mut self) {
        while self.out_off < self.out.len() {
            match self.stream.write(&self.out[self.out_off..]) {
                Ok(0) => {
                    self.drop_now = true;
                    return;
                }
                Ok(n) => self.out_off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.drop_now = true;
                    return;
                }
            }
        }
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
            // do not keep a large burst's buffer for the client's whole life
            if self.out.capacity() > (256 << 10) {
                self.out = Vec::new();
            }
            if self.closing {
                self.drop_now = true;
            }
        } else if self.out_off > (1 << 16) {
            self.out.drain(..self.out_off);
            self.out_off = 0;
        }
    }
}

#[derive(Clone, Copy)]
enum Token {
    Listener,
    Signal,
    Clients,
    Up(usize, u64),
}

/// The daemon state.
pub struct Server {
    cfg: Config,
    listener: UnixListener,
    clients: HashMap<ClientId, Client>,
    next_client: ClientId,
    ups: HashMap<UpKey, Upstream>,
    died: HashSet<UpKey>,
    stats: DaemonStats,
    netns: Option<(u64, u64)>,
    xid_seed: u32,
    serial: u64,
    accept_paused_until: Option<Instant>,
    /// Memory held by all clients' frame decoders (partial frames).
    held: usize,
    /// Refusals since the last refusal log line, and when that was.
    refused_unlogged: u64,
    refusal_logged_at: Option<Instant>,
    /// The client sockets' readiness (token = client id).
    ep: crate::sys::epoll::Epoll,
    ready: Vec<crate::sys::epoll::Ready>,
    /// Clients handled or sent something since the last reap: their epoll
    /// interest is synced and they are removed if marked `drop_now`.
    touched: Vec<ClientId>,
    last_sweep: Instant,
    /// Replies queued towards all clients (sum of `Client::out_counted`).
    out_queued: usize,
    /// One read buffer for all clients (not zeroed per read).
    scratch: Vec<u8>,
    /// rpcbind answers and live services ([`crate::portcache`]).
    cache: PortCache,
    /// Forwarded GETPORT calls whose answer goes into the cache, by (client,
    /// client xid). Bounded: cleared when it reaches [`MAX_PENDING_GETPORTS`].
    pending_getport: HashMap<(ClientId, u32), PortKey>,
}

const MAX_PENDING_GETPORTS: usize = 65536;

/// What the daemon can answer itself, if anything (see [`Server::from_cache`]).
enum Cacheable {
    /// portmap v2 GETPORT: this question.
    GetPort(PortKey),
    /// NULL call to this service.
    Null(AliveKey),
    No,
}

/// An accepted-SUCCESS reply with `results`, as the server would send it.
fn success_reply(xid: u32, results: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(24 + results.len());
    for w in [xid, 1, 0, 0, 0, 0] {
        // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (flavour, length), SUCCESS
        m.extend_from_slice(&w.to_be_bytes());
    }
    m.extend_from_slice(results);
    m
}

/// What a call asks, for the cache: portmap v2 GETPORT or a NULL call.
fn classify(ep: &crate::call::Endpoint, msg: &[u8]) -> Cacheable {
    let Ok((h, args)) = crate::rpc::msg::decode_call(msg) else {
        return Cacheable::No;
    };
    if h.prog != ep.prog || h.vers != ep.vers {
        return Cacheable::No;
    }
    if h.proc_ == 0 {
        return Cacheable::Null(AliveKey {
            addr: ep.addr,
            prog: h.prog,
            vers: h.vers,
            transport: ep.transport,
        });
    }
    if h.prog == crate::proto::prog::PORTMAP && h.vers == 2 && h.proc_ == 3 && args.len() == 16 {
        let w = |i: usize| u32::from_be_bytes([args[i], args[i + 1], args[i + 2], args[i + 3]]);
        let prot = match w(8) {
            crate::proto::IPPROTO_TCP => Transport::Tcp,
            crate::proto::IPPROTO_UDP => Transport::Udp,
            _ => return Cacheable::No,
        };
        return Cacheable::GetPort(PortKey {
            rpcbind: ep.addr,
            prog: w(0),
            vers: w(4),
            prot,
        });
    }
    Cacheable::No
}

/// The client limit for a soft fd limit of `nofile`: [`MAX_CLIENTS`], or fewer so
/// that the upstream connections and a few files always have fds left.
pub fn max_clients_for(nofile: u64) -> usize {
    let spare = nofile.saturating_sub(MAX_UPSTREAMS as u64 / 4 + 64);
    (spare.min(MAX_CLIENTS as u64) as usize).max(16)
}

macro_rules! debug {
    ($s:expr, $($a:tt)*) => {
        if $s.cfg.debug {
            eprintln!("rpcproxyd: {}", format!($($a)*));
        }
    };
}

impl Server {
    pub fn new(cfg: Config, listener: UnixListener) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(13))
            .unwrap_or(1)
            ^ std::process::id().rotate_left(7);
        Ok(Server {
            listener,
            clients: HashMap::new(),
            next_client: 1,
            ups: HashMap::new(),
            died: HashSet::new(),
            stats: DaemonStats::default(),
            netns: security::netns_id("/proc/self/ns/net"),
            xid_seed: seed,
            accept_paused_until: None,
            serial: 0,
            held: 0,
            refused_unlogged: 0,
            refusal_logged_at: None,
            ep: crate::sys::epoll::Epoll::new()?,
            ready: Vec::with_capacity(EPOLL_BATCH),
            touched: Vec::new(),
            last_sweep: Instant::now(),
            out_queued: 0,
            scratch: vec![0u8; READ_CHUNK],
            cache: PortCache::new(cfg.cache_ttl, crate::portcache::DEFAULT_MAX),
            pending_getport: HashMap::new(),
            cfg,
        })
    }

    /// Runs until `stop` (a readable fd, e.g. a signalfd) becomes readable.
    pub fn run(&mut self, stop: &impl AsFd) -> io::Result<()> {
        loop {
            let now = Instant::now();
            self.timers(now);
            let mut tokens = vec![Token::Listener, Token::Signal];
            if self.accept_paused_until.is_some_and(|t| now >= t) {
                self.accept_paused_until = None;
            }
            let listen = if self.accept_paused_until.is_some() {
                PollFlags::empty()
            } else {
                PollFlags::POLLIN
            };
            let mut fds = vec![
                PollFd::new(self.listener.as_fd(), listen),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.ep.as_fd(), PollFlags::POLLIN),
            ];
            tokens.push(Token::Clients);
            let keys: Vec<UpKey> = self.ups.keys().cloned().collect();
            for (i, k) in keys.iter().enumerate() {
                let u = &self.ups[k];
                let mut fl = PollFlags::POLLIN;
                if u.wants_write() {
                    fl |= PollFlags::POLLOUT;
                }
                tokens.push(Token::Up(i, u.serial));
                fds.push(PollFd::new(u.fd(), fl));
            }
            let timeout = self.poll_timeout(now);
            match nix::poll::poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ready: Vec<(Token, PollFlags)> = tokens
                .into_iter()
                .zip(
                    fds.iter()
                        .map(|f| f.revents().unwrap_or(PollFlags::empty())),
                )
                .filter(|(_, r)| !r.is_empty())
                .collect();
            drop(fds);
            for (t, r) in ready {
                match t {
                    Token::Signal => {
                        debug!(self, "signal received, shutting down");
                        return Ok(());
                    }
                    Token::Listener => self.accept_all(),
                    Token::Clients => self.client_events(),
                    // The upstream may have been replaced under the same key
                    // while handling earlier events: its serial tells.
                    Token::Up(i, serial) => {
                        if self.ups.get(&keys[i]).is_some_and(|u| u.serial == serial) {
                            self.up_event(&keys[i], r)
                        }
                    }
                }
            }
            // reap first: it brings `out_queued` up to date for every client
            // touched in this round (only those can have queued more)
            self.reap();
            self.enforce_out_memory();
            self.reap();
        }
    }

    fn poll_timeout(&self, now: Instant) -> PollTimeout {
        let mut t = now + Duration::from_secs(1);
        if let Some(p) = self.accept_paused_until {
            t = t.min(p);
        }
        for u in self.ups.values() {
            if let Some(d) = u.next_deadline() {
                t = t.min(d);
            }
            if u.is_idle() {
                t = t.min(u.last_used + self.cfg.idle_timeout);
            }
        }
        let ms = t.saturating_duration_since(now).as_millis() as u64 + 1;
        PollTimeout::try_from(ms.min(1000)).unwrap_or(PollTimeout::ZERO)
    }

    // ------------------------------------------------------------ clients

    fn accept_all(&mut self) {
        loop {
            let s = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) =>
                {
                    debug!(self, "accept: {e}; pausing accepts for {ACCEPT_PAUSE:?}");
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    return;
                }
                Err(_) => return,
            };
            let _ = s.set_nonblocking(true);
            let peer = match security::peer_of(&s) {
                Ok(p) => p,
                Err(_) => continue,
            };
            if !security::peer_allowed(&peer, self.cfg.own_uid) {
                // Nothing it sent is read: one "not served" frame (so a client
                // library falls back to its own connections at once), then close.
                let mut s = s;
                let _ = s.write(
                    &Frame::Connected(WireError::new(WireError::NOT_SERVED, Errno::EACCES))
                        .encode(),
                );
                drop(s);
                self.refused(&peer);
                continue;
            }
            let reason = self.admission(&peer);
            if let Some(why) = reason {
                debug!(self, "refusing pid {} uid {}: {why}", peer.pid, peer.uid);
                let mut s = s;
                let _ = s.write(
                    &Frame::Connected(WireError::new(WireError::NOT_SERVED, Errno::EAGAIN))
                        .encode(),
                );
                continue;
            }
            let id = self.next_client;
            self.next_client += 1;
            let behalf = match security::on_behalf_of(&peer) {
                Some(u) => format!(" (setuid helper run by uid {u}: a user mount)"),
                None => String::new(),
            };
            debug!(
                self,
                "client {id}: pid {} uid {} gid {}{behalf}", peer.pid, peer.uid, peer.gid
            );
            let now = Instant::now();
            if self.ep.add(&s, crate::sys::epoll::IN, id).is_err() {
                continue;
            }
            self.clients.insert(
                id,
                Client {
                    stream: s,
                    peer,
                    dec: FrameDecoder::default(),
                    out: Vec::new(),
                    out_off: 0,
                    bound: None,
                    inflight: 0,
                    held: 0,
                    accepted: now,
                    last_active: now,
                    closing: false,
                    drop_now: false,
                    out_armed: false,
                    out_counted: 0,
                },
            );
        }
    }

    /// Counts a refused (non-root) peer and logs it, at most one line per
    /// [`REFUSAL_LOG_INTERVAL`] (syslog, and stderr with `-d`).
    fn refused(&mut self, peer: &Peer) {
        self.stats.guards.refused_peers += 1;
        self.refused_unlogged += 1;
        let now = Instant::now();
        if self
            .refusal_logged_at
            .is_some_and(|t| now.duration_since(t) < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        let more = self.refused_unlogged - 1;
        self.refused_unlogged = 0;
        self.refusal_logged_at = Some(now);
        let line = format!(
            "refused a client that is not root (pid {} uid {}); only root is served{}",
            peer.pid,
            peer.uid,
            if more > 0 {
                format!(" ({more} more refused since the last message)")
            } else {
                String::new()
            }
        );
        debug!(self, "{line}");
        crate::sys::syslog::log(
            crate::sys::syslog::LOG_DAEMON,
            crate::sys::syslog::LOG_WARNING,
            "rpcproxyd",
            &line,
        );
    }

    /// Why a new (root) peer is not served, if it is not.
    fn admission(&self, peer: &Peer) -> Option<&'static str> {
        if !security::same_netns(self.netns, peer.pid) {
            return Some("other network namespace");
        }
        if self.clients.len() >= self.cfg.max_clients {
            return Some("too many clients");
        }
        None
    }

    /// The ready clients of the epoll set (without waiting).
    fn client_events(&mut self) {
        let mut ready = std::mem::take(&mut self.ready);
        if self.ep.wait(&mut ready, EPOLL_BATCH, 0).is_ok() {
            use crate::sys::epoll::{ERR, HUP, IN, OUT};
            for r in &ready {
                let id: ClientId = r.token;
                self.touched.push(id);
                if r.events & OUT != 0 {
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.flush();
                    }
                }
                if r.events & (IN | HUP | ERR) != 0 {
                    self.client_read(id);
                }
            }
        }
        self.ready = ready;
    }

    /// After a client was handled or sent something: removes it if it is
    /// marked for dropping, else keeps EPOLLOUT in its interest exactly while
    /// it has output queued.
    fn sync_client(&mut self, id: ClientId) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.drop_now {
            if let Some(c) = self.clients.remove(&id) {
                self.held -= c.held;
                self.out_queued -= c.out_counted;
                let _ = self.ep.delete(&c.stream);
            }
            for u in self.ups.values_mut() {
                u.forget_client(id);
            }
            return;
        }
        let q = c.out.len() - c.out_off;
        self.out_queued = self.out_queued - c.out_counted + q;
        c.out_counted = q;
        let want = c.out_off < c.out.len();
        if want != c.out_armed {
            use crate::sys::epoll::{IN, OUT};
            let ev = if want { IN | OUT } else { IN };
            if self.ep.modify(&c.stream, ev, id).is_ok() {
                c.out_armed = want;
            } else {
                c.drop_now = true;
                self.touched.push(id);
            }
        }
    }

    fn client_read(&mut self, id: ClientId) {
        let mut frames = Vec::new();
        {
            let Some(c) = self.clients.get_mut(&id) else {
                return;
            };
            let buf = &mut self.scratch;
            // Read a bounded amount per wakeup so one client cannot starve others.
            for _ in 0..32 {
                match c.stream.read(buf) {
                    Ok(0) => {
                        c.drop_now = true;
                        break;
                    }
                    Ok(n) => {
                        if c.dec.feed(&buf[..n]).is_err() {
                            c.drop_now = true;
                            break;
                        }
                        loop {
                            match c.dec.next_frame() {
                                Ok(Some(f)) => frames.push(f),
                                Ok(None) => break,
                                Err(_) => {
                                    c.drop_now = true;
                                    break;
                                }
                            }
                        }
                        c.dec.trim();
                        let now_held = c.dec.held();
                        self.held = self.held - c.held + now_held;
                        c.held = now_held;
                        if c.drop_now {
                            break;
                        }
                        // Over the global bound: stop reading; enforce_memory
                        // below drops the largest holders.
                        if self.held > self.cfg.max_buffered {
                            break;
                        }
                        // A short read drained the socket: no EAGAIN read.
                        if n < READ_CHUNK {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.drop_now = true;
                        break;
                    }
                }
            }
            c.last_active = Instant::now();
            if c.drop_now {
                debug!(self, "client {id}: closed or protocol violation");
            }
        }
        self.enforce_memory();
        for f in frames {
            self.client_frame(id, f);
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.flush();
        }
    }

    /// Keeps the partial frames of all clients within `Config::max_buffered`:
    /// while over it, the client holding the most is dropped (counted in
    /// `memory_drops`). The helpers' frames are a few hundred bytes, so the
    /// victims are clients sitting on large unfinished frames. Memory never
    /// exceeds the bound by more than one read (64 KiB).
    fn enforce_memory(&mut self) {
        while self.held > self.cfg.max_buffered {
            let victim = self
                .clients
                .iter()
                .filter(|(_, c)| c.held > 0)
                .max_by_key(|(_, c)| c.held)
                .map(|(id, _)| *id);
            let Some(id) = victim else {
                break;
            };
            let c = self.clients.get_mut(&id).expect("present");
            self.held -= c.held;
            let was = c.held;
            c.held = 0;
            c.dec = FrameDecoder::default();
            c.drop_now = true;
            self.touched.push(id);
            self.stats.guards.memory_drops += 1;
            debug!(
                self,
                "client {id}: dropped, partial frames of all clients over {} bytes (it held {was})",
                self.cfg.max_buffered
            );
        }
    }

    /// Keeps the frames queued towards all clients (replies a client has not read
    /// yet) within `Config::max_buffered` as well: while over it, the client with
    /// the longest queue is dropped (counted in `memory_drops`). Each client's
    /// queue is also bounded by [`MAX_CLIENT_OUT`]; this bounds their sum, which
    /// could otherwise reach `max_clients` × 4 MiB. Checked once per poll round, so
    /// the sum exceeds the bound by at most what one round read from upstreams.
    fn enforce_out_memory(&mut self) {
        let queued = |c: &Client| {
            if c.drop_now {
                0
            } else {
                c.out.len() - c.out_off
            }
        };
        // O(1) in the common case: the running total kept by sync_client.
        if self.out_queued <= self.cfg.max_buffered {
            return;
        }
        let mut total: usize = self.clients.values().map(queued).sum();
        while total > self.cfg.max_buffered {
            let Some((&id, q)) = self
                .clients
                .iter()
                .map(|(id, c)| (id, queued(c)))
                .filter(|(_, q)| *q > 0)
                .max_by_key(|(_, q)| *q)
            else {
                break;
            };
            let c = self.clients.get_mut(&id).expect("present");
            c.out = Vec::new();
            c.out_off = 0;
            c.drop_now = true;
            self.touched.push(id);
            total -= q;
            self.stats.guards.memory_drops += 1;
            debug!(
                self,
                "client {id}: dropped, replies queued to all clients over {} bytes (it had {q} unread)",
                self.cfg.max_buffered
            );
        }
    }

    fn client_frame(&mut self, id: ClientId, f: Frame) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if c.drop_now || c.closing {
            return;
        }
        match f {
            Frame::Stats => {
                self.stats.guards.buffered = self.held as u64;
                let s = self.stats.snapshot(self.clients.len(), self.ups.len());
                if let Some(c) = self.clients.get_mut(&id) {
                    c.send(&Frame::StatsReply(s));
                }
            }
            // A CONNECT on a bound client re-binds it (protocol version 2). Calls
            // already forwarded keep their routing: replies go to this client
            // under their own xids, whatever it is bound to now.
            Frame::Connect(req) => self.connect(id, req),
            Frame::Call(call) if c.bound.is_some() => self.call(id, call),
            _ => {
                debug!(self, "client {id}: unexpected frame, dropping");
                c.drop_now = true;
            }
        }
    }

    fn connect(&mut self, id: ClientId, mut req: ConnectReq) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        req.connect_timeout = req.connect_timeout.min(crate::proxywire::MAX_TIMEOUT);
        let key = UpKey::new(&req, &c.peer);
        c.bound = Some((key.clone(), req.clone()));
        let epid = EndpointId::from(&req.ep);
        match self.ups.get_mut(&key) {
            Some(u) if u.connecting => u.waiting.push(id),
            Some(_) => c.send(&Frame::Connected(WireError::ok())),
            None => match self.dial(&key, req.connect_timeout) {
                Ok(()) => {
                    let u = self.ups.get_mut(&key).expect("dialled");
                    if u.connecting {
                        u.waiting.push(id);
                    } else if let Some(c) = self.clients.get_mut(&id) {
                        c.send(&Frame::Connected(WireError::ok()));
                    }
                }
                Err(e) => {
                    self.stats.bump(epid, |s| s.cantconn += 1);
                    self.cache_error(&epid);
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.send(&Frame::Connected(WireError::from_rpc_error(&e)));
                        c.closing = true;
                    }
                }
            },
        }
    }

    fn dial(&mut self, key: &UpKey, connect_timeout: Duration) -> Result<(), RpcError> {
        self.make_room()?;
        self.xid_seed = self.xid_seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut u = Upstream::dial(key.ep, connect_timeout, &self.cfg.blacklist, self.xid_seed)?;
        self.serial += 1;
        u.serial = self.serial;
        let id = EndpointId::from(&key.ep);
        self.stats.bump(id, |s| s.conns_opened += 1);
        if self.died.remove(key) {
            self.stats.bump(id, |s| s.redials += 1);
        }
        debug!(
            self,
            "upstream {} prog {} vers {} {:?}{}: {}",
            key.ep.addr,
            key.ep.prog,
            key.ep.vers,
            key.ep.transport,
            if key.ep.privileged { " privileged" } else { "" },
            if u.connecting { "connecting" } else { "open" }
        );
        self.ups.insert(key.clone(), u);
        Ok(())
    }

    /// Enforces the upstream cap ([`MAX_UPSTREAMS`]) by closing the least
    /// recently used idle connection; `BackendUnavailable` if none can go.
    fn make_room(&mut self) -> Result<(), RpcError> {
        if self.ups.len() < MAX_UPSTREAMS {
            return Ok(());
        }
        let victim = self
            .ups
            .iter()
            .filter(|(_, u)| u.is_idle())
            .min_by_key(|(_, u)| u.last_used)
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => {
                self.ups.remove(&k);
                self.stats
                    .bump(EndpointId::from(&k.ep), |s| s.closed_idle += 1);
                Ok(())
            }
            None => Err(RpcError::BackendUnavailable),
        }
    }

    fn call(&mut self, id: ClientId, call: CallReq) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        let (key, req) = c.bound.clone().expect("bound");
        let epid = EndpointId::from(&req.ep);
        let Some(xid) = crate::rpc::msg::peek_xid(&call.msg) else {
            c.drop_now = true;
            return;
        };
        self.stats.bump(epid, |s| s.calls += 1);
        let fail = |s: &mut Self, err: WireError| {
            s.stats.bump(epid, |c| c.badcalls += 1);
            if let Some(c) = s.clients.get_mut(&id) {
                c.send(&Frame::CallError { xid, err });
            }
        };
        if c.inflight >= MAX_INFLIGHT {
            fail(self, WireError::new(WireError::SYSTEM_ERROR, Errno::EAGAIN));
            return;
        }
        if let Err(why) = security::check_call(&req, &call.msg) {
            debug!(self, "client {id}: call refused: {why}");
            let kind = if why == Refusal::NotACall {
                WireError::SYSTEM_ERROR
            } else {
                WireError::REFUSED
            };
            fail(self, WireError::new(kind, Errno::EACCES));
            return;
        }
        match classify(&req.ep, &call.msg) {
            Cacheable::GetPort(k) if !call.fresh => {
                if let Some(port) = self.cache.port(&k, Instant::now()) {
                    debug!(
                        self,
                        "client {id}: GETPORT {} {} answered from the cache: {port}",
                        k.prog,
                        k.vers
                    );
                    self.send_cached(id, xid, &u32::from(port).to_be_bytes(), call.cache_aware);
                    return;
                }
                self.remember_getport(id, xid, k);
            }
            Cacheable::GetPort(k) => self.remember_getport(id, xid, k),
            Cacheable::Null(k) if !call.fresh => {
                // Redundant only on a live connection to a service that just
                // answered: the helper's ping proves nothing more
                // (heard from within a second and not on probation: a quieter
                // connection may have gone silent, and the ping finds out)
                let now = Instant::now();
                let live = self.ups.get(&key).is_some_and(|u| u.recently_heard(now));
                if live && self.cache.alive(&k, now) {
                    debug!(
                        self,
                        "client {id}: NULL to {} answered from the cache", k.addr
                    );
                    self.send_cached(id, xid, &[], call.cache_aware);
                    return;
                }
            }
            _ => {}
        }
        let timeout = call.timeout.min(crate::proxywire::MAX_TIMEOUT);
        if !self.ups.contains_key(&key) {
            if let Err(e) = self.dial(&key, req.connect_timeout) {
                self.stats.bump(epid, |s| s.cantconn += 1);
                self.cache_error(&epid);
                fail(self, WireError::from_rpc_error(&e));
                return;
            }
        }
        let u = self.ups.get_mut(&key).expect("present");
        if !std::mem::replace(&mut u.fresh, false) {
            self.stats.bump(epid, |s| s.conns_reused += 1);
        }
        let u = self.ups.get_mut(&key).expect("present");
        match u.submit(id, call.msg, timeout, &call.retry, call.idempotent) {
            Ok(_) => {
                if let Some(c) = self.clients.get_mut(&id) {
                    c.inflight += 1;
                }
            }
            Err(e) => fail(self, WireError::from_rpc_error(&e)),
        }
        if self.ups.get(&key).is_some_and(|u| u.dead.is_some()) {
            self.kill_up(&key);
        }
    }

    fn remember_getport(&mut self, id: ClientId, xid: u32, k: PortKey) {
        if self.pending_getport.len() >= MAX_PENDING_GETPORTS {
            self.pending_getport.clear();
        }
        self.pending_getport.insert((id, xid), k);
    }

    /// A reply the daemon made itself (counted as a call on a reused connection).
    fn send_cached(&mut self, id: ClientId, xid: u32, results: &[u8], aware: bool) {
        let m = success_reply(xid, results);
        if let Some(c) = self.clients.get_mut(&id) {
            c.send(&if aware {
                Frame::ReplyCached(m)
            } else {
                Frame::Reply(m)
            });
        }
    }

    /// Any error at this endpoint: its cached answers go (and the answers of
    /// rpcbind, if it is rpcbind).
    fn cache_error(&mut self, epid: &EndpointId) {
        self.cache.port_failed(epid.addr);
        if epid.prog == crate::proto::prog::PORTMAP {
            self.cache.rpcbind_failed(epid.addr);
        }
    }

    // ------------------------------------------------------------ upstreams

    fn up_event(&mut self, key: &UpKey, r: PollFlags) {
        let Some(u) = self.ups.get_mut(key) else {
            return;
        };
        let epid = EndpointId::from(&key.ep);
        if (r.contains(PollFlags::POLLOUT) || (u.connecting && !r.is_empty())) && u.on_writable() {
            {
                let waiting = std::mem::take(&mut u.waiting);
                for w in waiting {
                    self.touched.push(w);
                    if let Some(c) = self.clients.get_mut(&w) {
                        c.send(&Frame::Connected(WireError::ok()));
                        c.flush();
                    }
                }
            }
        }
        let Some(u) = self.ups.get_mut(key) else {
            return;
        };
        if !u.connecting
            && u.dead.is_none()
            && r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
        {
            let mut ev = Events::default();
            let routed = u.on_readable(&mut ev);
            self.stats.bump(epid, |s| s.badxids += ev.badxids);
            self.deliver(epid, routed);
        }
        if self.ups.get(key).is_some_and(|u| u.dead.is_some()) {
            self.kill_up(key);
        }
    }

    fn deliver(&mut self, epid: EndpointId, routed: Vec<Routed>) {
        for Routed { client, msg } in routed {
            let ok = matches!(
                Reply::decode(&msg),
                Ok(Reply {
                    body: ReplyBody::Accepted {
                        stat: AcceptStat::Success(_),
                        ..
                    },
                    ..
                })
            );
            if !ok {
                self.stats.bump(epid, |s| s.badcalls += 1);
            }
            self.learn(&epid, client, &msg, ok);
            self.touched.push(client);
            if let Some(c) = self.clients.get_mut(&client) {
                c.inflight = c.inflight.saturating_sub(1);
                c.send(&Frame::Reply(msg));
                c.flush();
            }
        }
    }

    /// What a reply teaches the cache: the service answered (SUCCESS) or
    /// failed (anything else: its answers go); a GETPORT's port.
    fn learn(&mut self, epid: &EndpointId, client: ClientId, msg: &[u8], ok: bool) {
        let xid = crate::rpc::msg::peek_xid(msg);
        let asked = xid.and_then(|x| self.pending_getport.remove(&(client, x)));
        if !ok {
            self.cache_error(epid);
            return;
        }
        let now = Instant::now();
        let transport = if epid.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        self.cache.answered(
            AliveKey {
                addr: epid.addr,
                prog: epid.prog,
                vers: epid.vers,
                transport,
            },
            now,
        );
        if let Some(k) = asked {
            // results of an accepted SUCCESS: after the 24-byte header
            // (AUTH_NONE verifier) comes the port
            if let Ok(Reply {
                body:
                    ReplyBody::Accepted {
                        stat: AcceptStat::Success(r),
                        ..
                    },
                ..
            }) = Reply::decode(msg)
            {
                if r.len() == 4 {
                    let port = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
                    if let Ok(p) = u16::try_from(port) {
                        self.cache.put_port(k, p, now);
                    }
                }
            }
        }
    }

    fn fail_calls(&mut self, epid: EndpointId, failed: Vec<Failed>) {
        if !failed.is_empty() {
            self.cache_error(&epid);
        }
        for f in failed {
            self.pending_getport.remove(&(f.client, f.orig_xid));
            self.stats.bump(epid, |s| {
                s.badcalls += 1;
                if f.err == RpcError::TimedOut {
                    s.timeouts += 1;
                }
            });
            self.touched.push(f.client);
            if let Some(c) = self.clients.get_mut(&f.client) {
                c.inflight = c.inflight.saturating_sub(1);
                c.send(&Frame::CallError {
                    xid: f.orig_xid,
                    err: WireError::from_rpc_error(&f.err),
                });
                c.flush();
            }
        }
    }

    /// Removes a dead upstream: its calls fail at once with the reason, clients
    /// waiting for it get the connect error; the next call on the key redials.
    fn kill_up(&mut self, key: &UpKey) {
        let Some(mut u) = self.ups.remove(key) else {
            return;
        };
        let epid = EndpointId::from(&key.ep);
        let err = u
            .dead
            .clone()
            .unwrap_or(RpcError::CantRecv(Errno::ECONNRESET));
        debug!(self, "upstream {} dead: {err}", key.ep.addr);
        self.cache_error(&epid);
        if u.connecting || matches!(err, RpcError::CantConnect(_)) {
            self.stats.bump(epid, |s| s.cantconn += 1);
        }
        for w in std::mem::take(&mut u.waiting) {
            self.touched.push(w);
            if let Some(c) = self.clients.get_mut(&w) {
                c.send(&Frame::Connected(WireError::from_rpc_error(&err)));
                c.closing = true;
                c.flush();
            }
        }
        let failed = u.fail_all(&err);
        self.fail_calls(epid, failed);
        if self.died.len() >= MAX_UPSTREAMS {
            self.died.clear();
        }
        self.died.insert(key.clone());
    }

    fn timers(&mut self, now: Instant) {
        let keys: Vec<UpKey> = self.ups.keys().cloned().collect();
        for k in keys {
            let epid = EndpointId::from(&k.ep);
            let Some(u) = self.ups.get_mut(&k) else {
                continue;
            };
            let mut ev = Events::default();
            let failed = u.due(now, &mut ev);
            let idle = u.is_idle() && now.duration_since(u.last_used) >= self.cfg.idle_timeout;
            let dead = u.dead.is_some();
            self.stats.bump(epid, |s| {
                s.retrans += ev.retrans;
                s.redials += ev.redials;
                s.conns_opened += ev.redials;
            });
            self.fail_calls(epid, failed);
            if dead {
                self.kill_up(&k);
            } else if idle {
                debug!(self, "upstream {} idle, closing", k.ep.addr);
                self.ups.remove(&k);
                self.stats.bump(epid, |s| s.closed_idle += 1);
            }
        }
        // Per-client deadlines are seconds long: a sweep every CLIENT_SWEEP
        // keeps a wakeup O(ready) with thousands of clients connected. The
        // sweep also catches any client marked for dropping outside the
        // touched list.
        if now.duration_since(self.last_sweep) >= CLIENT_SWEEP {
            self.last_sweep = now;
            for (id, c) in self.clients.iter_mut() {
                if c.bound.is_none() && now.duration_since(c.accepted) >= HANDSHAKE_TIMEOUT {
                    c.drop_now = true;
                }
                if c.inflight == 0 && now.duration_since(c.last_active) >= CLIENT_IDLE {
                    c.drop_now = true;
                }
                if c.drop_now {
                    self.touched.push(*id);
                }
            }
        }
        self.reap();
    }

    /// Syncs every touched client (removal or epoll interest).
    fn reap(&mut self) {
        while let Some(id) = self.touched.pop() {
            self.sync_client(id);
        }
    }

    pub fn transport_name(t: Transport) -> &'static str {
        if t.is_tcp() {
            "tcp"
        } else {
            "udp"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_cap_follows_the_fd_limit() {
        // systemd's default soft limit: room left for upstreams and files
        assert_eq!(max_clients_for(1024), 1024 - (MAX_UPSTREAMS / 4 + 64));
        assert_eq!(max_clients_for(65536), MAX_CLIENTS);
        assert_eq!(max_clients_for(20), 16);
        assert!(max_clients_for(4096) < 4096);
    }
}
