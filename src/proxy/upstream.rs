//! One cached upstream connection (TCP or connected UDP) and its outstanding calls.
//!
//! All I/O is non-blocking; the server loop calls [`Upstream::on_writable`] /
//! [`Upstream::on_readable`] when poll says so, and [`Upstream::due`] for timers.
//! Calls carry proxy-assigned xids ([`XidMap`]); their original xids and owners are
//! restored when the reply comes back.
//!
//! Dead cached connections (after a failover the old connection goes
//! silent, no reset):
//! * TCP keepalive ([`net::set_keepalive`]: 5 s idle, 2 s interval, 3 probes) makes
//!   an idle connection to a vanished peer fail on its own, so the next call
//!   redials before sending anything.
//! * A connection that sat idle (nothing outstanding, nothing received for
//!   [`IDLE_PROBE`]) is on probation for its next call: if nothing at all comes
//!   back within the call's retransmit interval (clamped to [`FIRST_REPLY_MIN`] –
//!   [`FIRST_REPLY_MAX`]), it is dropped, a new one dialled under the same key, and
//!   the calls sent on it are sent again there — within their original deadlines.
//!   Only idempotent calls are probed; a non-idempotent call on a suspect
//!   connection ends probation and waits out its own timeout (then the connection
//!   is dropped as wedged, see [`Upstream::due`]). Each such redial counts in
//!   [`Events::redials`].
use super::xidmap::{set_xid, XidMap};
use crate::call::{Endpoint, RetryPolicy, RpcError};
use crate::rpc::record::{encode_record, RecordLimits, RecordReader};
use crate::sys::net::{self, Bind, NetError, Op};
use nix::errno::Errno;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Most bytes queued towards one upstream connection.
pub const MAX_UPSTREAM_OUT: usize = 8 << 20;
/// A TCP connection with nothing received for this long is probed by its next call.
pub const IDLE_PROBE: Duration = Duration::from_secs(1);
/// Bounds of the first-reply deadline on a probed connection.
pub const FIRST_REPLY_MIN: Duration = Duration::from_millis(100);
pub const FIRST_REPLY_MAX: Duration = Duration::from_secs(1);

/// Identifies a client connection of the server.
pub type ClientId = u64;

/// One forwarded call waiting for its reply.
#[derive(Debug)]
pub struct Pending {
    pub client: ClientId,
    pub orig_xid: u32,
    /// The call with the proxy's xid (kept for UDP retransmission and for sending
    /// once a TCP connect completes).
    pub msg: Vec<u8>,
    pub deadline: Instant,
    /// UDP: the waits still to come after the next (re)transmission.
    pub schedule: VecDeque<Duration>,
    pub next_send: Option<Instant>,
    pub sent_at: Option<Instant>,
    pub timeout: Duration,
    /// Safe to send twice.
    pub idempotent: bool,
    /// TCP: a copy of the call kept while the connection is on probation, to send
    /// it again on a new connection.
    pub keep: Option<Vec<u8>>,
    /// Sent again after a redial: keeps its original deadline.
    pub resent: bool,
}

#[derive(Debug)]
enum Sock {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

/// What happened to a call that ends without a reply.
#[derive(Debug)]
pub struct Failed {
    pub client: ClientId,
    pub orig_xid: u32,
    pub err: RpcError,
}

/// A routed reply.
#[derive(Debug)]
pub struct Routed {
    pub client: ClientId,
    pub msg: Vec<u8>,
}

#[derive(Debug)]
pub struct Upstream {
    pub ep: Endpoint,
    sock: Sock,
    /// TCP connect still in progress.
    pub connecting: bool,
    connect_deadline: Instant,
    reader: RecordReader,
    out: Vec<u8>,
    out_off: usize,
    pub calls: XidMap<Pending>,
    /// Clients waiting for CONNECTED.
    pub waiting: Vec<ClientId>,
    pub last_used: Instant,
    last_rx: Instant,
    /// Set once the connection is unusable; the server removes it.
    pub dead: Option<RpcError>,
    /// No call has used this connection yet (the first call counts as the
    /// opening, later ones as reuse).
    pub fresh: bool,
    /// Distinguishes successive connections under the same key (set by the server).
    pub serial: u64,
    connect_timeout: Duration,
    blacklist: Vec<u16>,
    /// Probation: when the first reply is due (see the module docs).
    probe: Option<Instant>,
    /// Reserved port record in the cross-process pool (declared after `sock`, so
    /// it is released after the socket closes).
    _lease: Option<crate::sys::portpool::Lease>,
}

/// Events that the server turns into counters.
#[derive(Debug, Default)]
pub struct Events {
    pub retrans: u64,
    pub badxids: u64,
    /// Wedged connections replaced by a new one (calls sent again).
    pub redials: u64,
}

impl Upstream {
    /// Starts connecting (TCP: non-blocking; UDP: immediately connected).
    pub fn dial(
        ep: Endpoint,
        connect_timeout: Duration,
        blacklist: &[u16],
        xid_seed: u32,
    ) -> Result<Upstream, RpcError> {
        let (sock, lease, connecting) = open(&ep, blacklist)?;
        let now = Instant::now();
        Ok(Upstream {
            ep,
            sock,
            connecting,
            connect_deadline: now + connect_timeout.max(Duration::from_millis(1)),
            reader: RecordReader::new(RecordLimits::default()),
            out: Vec::new(),
            out_off: 0,
            calls: XidMap::new(xid_seed),
            waiting: Vec::new(),
            last_used: now,
            last_rx: now,
            dead: None,
            fresh: true,
            serial: 0,
            connect_timeout,
            blacklist: blacklist.to_vec(),
            probe: None,
            _lease: lease,
        })
    }

    /// Replaces a wedged TCP connection by a new one under the same key and queues
    /// its calls (all idempotent, see the module docs) to be sent again there. A
    /// call without a kept copy (none should be left) fails with a timeout.
    fn redial(&mut self, now: Instant, ev: &mut Events) -> Vec<Failed> {
        self.probe = None;
        if self.calls.is_empty() {
            self.dead = Some(RpcError::TimedOut);
            return Vec::new();
        }
        match open(&self.ep, &self.blacklist) {
            Ok((sock, lease, connecting)) => {
                // The old socket closes here, then its port lease is released.
                self.sock = sock;
                self._lease = lease;
                self.connecting = connecting;
            }
            Err(e) => {
                self.dead = Some(e);
                return Vec::new();
            }
        }
        ev.redials += 1;
        let failed = self
            .calls
            .remove_where(|p| p.keep.is_none())
            .into_iter()
            .map(|(_, p)| Failed {
                client: p.client,
                orig_xid: p.orig_xid,
                err: RpcError::TimedOut,
            })
            .collect();
        let latest = self.calls.iter().map(|(_, p)| p.deadline).max();
        self.connect_deadline =
            (now + self.connect_timeout.max(Duration::from_millis(1))).min(latest.unwrap_or(now));
        self.reader = RecordReader::new(RecordLimits::default());
        self.out.clear();
        self.out_off = 0;
        self.last_rx = now;
        let xids: Vec<u32> = self.calls.iter().map(|(x, _)| *x).collect();
        for x in &xids {
            if let Some(p) = self.calls.get_mut(*x) {
                p.msg = p.keep.take().unwrap_or_default(); // present: see above
                p.sent_at = None;
                p.resent = true;
            }
        }
        if !self.connecting {
            for x in xids {
                self.transmit(x, now, &mut Events::default());
            }
        }
        failed
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.sock {
            Sock::Tcp(s) => s.as_fd(),
            Sock::Udp(s) => s.as_fd(),
        }
    }

    /// Does poll need to watch for writability?
    pub fn wants_write(&self) -> bool {
        self.connecting || self.out_off < self.out.len()
    }

    /// Queues a call; returns its proxy xid. Sends at once when connected.
    pub fn submit(
        &mut self,
        client: ClientId,
        mut msg: Vec<u8>,
        timeout: Duration,
        retry: &RetryPolicy,
        idempotent: bool,
    ) -> Result<u32, RpcError> {
        let Some(orig) = crate::rpc::msg::peek_xid(&msg) else {
            return Err(RpcError::CantEncodeArgs("short call".into()));
        };
        if self.out.len() - self.out_off + msg.len() > MAX_UPSTREAM_OUT {
            return Err(RpcError::CantSend(Errno::ENOBUFS));
        }
        let now = Instant::now();
        if self.ep.transport.is_tcp() {
            if !idempotent {
                // Cannot be sent twice: no probation (see the module docs).
                self.end_probation();
            } else if self.probe.is_none()
                && !self.connecting
                && self.calls.is_empty()
                && now.duration_since(self.last_rx) >= IDLE_PROBE
            {
                let wait = retry.initial.clamp(FIRST_REPLY_MIN, FIRST_REPLY_MAX);
                if wait < timeout {
                    self.probe = Some(now + wait);
                }
            }
        }
        self.last_used = now;
        let schedule: VecDeque<Duration> = if self.ep.transport.is_tcp() {
            VecDeque::new()
        } else {
            retry.schedule(timeout).into()
        };
        let total: Duration = if self.ep.transport.is_tcp() {
            timeout
        } else {
            schedule.iter().sum()
        };
        let xid = self.calls.insert(Pending {
            client,
            orig_xid: orig,
            msg: Vec::new(),
            deadline: now + total,
            schedule,
            next_send: None,
            sent_at: None,
            timeout,
            idempotent,
            keep: None,
            resent: false,
        });
        set_xid(&mut msg, xid);
        if let Some(p) = self.calls.get_mut(xid) {
            p.msg = msg;
        }
        if !self.connecting {
            self.transmit(xid, now, &mut Events::default());
        }
        Ok(xid)
    }

    /// First transmission (or UDP retransmission) of call `xid`.
    fn transmit(&mut self, xid: u32, now: Instant, ev: &mut Events) {
        let Some(p) = self.calls.get_mut(xid) else {
            return;
        };
        if p.sent_at.is_some() {
            ev.retrans += 1;
        }
        p.sent_at.get_or_insert(now);
        match &mut self.sock {
            Sock::Tcp(_) => {
                // Over TCP the call's deadline starts when it is really sent (a
                // call sent again after a redial keeps its first one).
                if !p.resent {
                    p.deadline = now + p.timeout;
                }
                let rec = encode_record(&p.msg, p.msg.len().max(1));
                let msg = std::mem::take(&mut p.msg);
                if self.probe.is_some() && p.idempotent {
                    p.keep = Some(msg);
                }
                self.out.extend_from_slice(&rec);
                self.flush();
            }
            Sock::Udp(u) => {
                let wait = p.schedule.pop_front().unwrap_or_default();
                p.next_send = if p.schedule.is_empty() {
                    None
                } else {
                    Some(now + wait)
                };
                match u.send(&p.msg) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => self.dead = Some(RpcError::CantSend(errno_of(&e))),
                }
            }
        }
    }

    fn flush(&mut self) {
        let Sock::Tcp(s) = &mut self.sock else {
            return;
        };
        while self.out_off < self.out.len() {
            match s.write(&self.out[self.out_off..]) {
                Ok(0) => {
                    self.dead = Some(RpcError::CantSend(Errno::EPIPE));
                    return;
                }
                Ok(n) => self.out_off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.dead = Some(RpcError::CantSend(errno_of(&e)));
                    return;
                }
            }
        }
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
        } else if self.out_off > (1 << 16) {
            self.out.drain(..self.out_off);
            self.out_off = 0;
        }
    }

    /// poll reported POLLOUT (or an error while connecting). Returns true when a
    /// pending connect just completed.
    pub fn on_writable(&mut self) -> bool {
        if self.connecting {
            let Sock::Tcp(s) = &self.sock else {
                return false;
            };
            match s.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    self.dead = Some(RpcError::CantConnect(errno_of(&e)));
                    return false;
                }
            }
            if let Err(e) = s.peer_addr() {
                self.dead = Some(RpcError::CantConnect(errno_of(&e)));
                return false;
            }
            self.connecting = false;
            let now = Instant::now();
            self.last_rx = now;
            let queued: Vec<u32> = self
                .calls
                .iter()
                .filter(|(_, p)| p.sent_at.is_none())
                .map(|(x, _)| *x)
                .collect();
            for x in queued {
                self.transmit(x, now, &mut Events::default());
            }
            return true;
        }
        self.flush();
        false
    }

    /// Reads what the socket has (bounded by the socket buffer: a TCP read
    /// shorter than `buf` means it was drained, which saves the extra read
    /// that would only say EAGAIN).
    fn read_all(&mut self, buf: &mut [u8], msgs: &mut Vec<Vec<u8>>) {
        loop {
            let r = match &mut self.sock {
                Sock::Tcp(s) => s.read(buf),
                Sock::Udp(u) => u.recv(buf),
            };
            match r {
                Ok(0) if self.ep.transport.is_tcp() => {
                    self.dead = Some(RpcError::CantRecv(Errno::ECONNRESET));
                    break;
                }
                Ok(n) => match &self.sock {
                    Sock::Tcp(_) => {
                        self.end_probation();
                        if let Err(e) = self.reader.feed(&buf[..n]) {
                            self.dead = Some(RpcError::Decode(e.to_string()));
                            break;
                        }
                        while let Some(rec) = self.reader.pop() {
                            msgs.push(rec);
                        }
                        if n < buf.len() {
                            break;
                        }
                    }
                    Sock::Udp(_) => msgs.push(buf[..n].to_vec()),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.dead = Some(RpcError::CantRecv(errno_of(&e)));
                    break;
                }
            }
        }
    }

    /// Heard from within [`IDLE_PROBE`] and not on probation: a connection the
    /// answer cache may treat as live (a quieter one could have gone silent,
    /// and its next call is what finds out).
    pub fn recently_heard(&self, now: Instant) -> bool {
        !self.connecting
            && self.dead.is_none()
            && self.probe.is_none()
            && now.saturating_duration_since(self.last_rx) < IDLE_PROBE
    }

    /// poll reported POLLIN/POLLHUP/POLLERR: reads all there is and routes replies.
    pub fn on_readable(&mut self, ev: &mut Events) -> Vec<Routed> {
        let mut msgs = Vec::new();
        // One read buffer per thread, not a zeroed 64 KiB array per wakeup.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 65536]);
        }
        SCRATCH.with(|b| self.read_all(&mut b.borrow_mut(), &mut msgs));
        let now = Instant::now();
        let mut out = Vec::new();
        for mut m in msgs {
            self.last_rx = now;
            let Some(x) = crate::rpc::msg::peek_xid(&m) else {
                ev.badxids += 1;
                continue;
            };
            match self.calls.remove(x) {
                Some(p) => {
                    set_xid(&mut m, p.orig_xid);
                    self.last_used = now;
                    out.push(Routed {
                        client: p.client,
                        msg: m,
                    });
                }
                None => ev.badxids += 1,
            }
        }
        out
    }

    /// Timers: connect timeout, UDP retransmissions, call timeouts. Returns the
    /// calls that failed. A TCP connection on which a call timed out with nothing
    /// received since it was sent is considered wedged (an HA failover) and marked dead.
    pub fn due(&mut self, now: Instant, ev: &mut Events) -> Vec<Failed> {
        let mut failed = Vec::new();
        if self.probe.is_some_and(|t| now >= t) && !self.connecting {
            failed = self.redial(now, ev);
            if self.dead.is_some() {
                return failed;
            }
        }
        if self.connecting && now >= self.connect_deadline {
            self.dead = Some(RpcError::CantConnect(Errno::ETIMEDOUT));
            return failed;
        }
        let resend: Vec<u32> = self
            .calls
            .iter()
            .filter(|(_, p)| p.next_send.is_some_and(|t| now >= t) && now < p.deadline)
            .map(|(x, _)| *x)
            .collect();
        for x in resend {
            self.transmit(x, now, ev);
        }
        let connecting = self.connecting;
        let expired = self.calls.remove_where(|p| {
            now >= p.deadline && !(connecting && p.sent_at.is_none() && !p.resent)
        });
        for (_, p) in expired {
            if self.ep.transport.is_tcp() && p.sent_at.is_some_and(|s| self.last_rx < s) {
                self.dead = Some(RpcError::TimedOut);
            }
            failed.push(Failed {
                client: p.client,
                orig_xid: p.orig_xid,
                err: RpcError::TimedOut,
            });
        }
        failed
    }

    /// The earliest instant at which [`Self::due`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut t = if self.connecting {
            Some(self.connect_deadline)
        } else {
            self.probe
        };
        for (_, p) in self.calls.iter() {
            for c in [Some(p.deadline), p.next_send].into_iter().flatten() {
                t = Some(t.map_or(c, |t: Instant| t.min(c)));
            }
        }
        t
    }

    /// Fails every outstanding call with `err` (the connection is going away).
    pub fn fail_all(&mut self, err: &RpcError) -> Vec<Failed> {
        self.calls
            .drain()
            .into_iter()
            .map(|(_, p)| Failed {
                client: p.client,
                orig_xid: p.orig_xid,
                err: err.clone(),
            })
            .collect()
    }

    /// Removes the calls of a client that went away.
    pub fn forget_client(&mut self, c: ClientId) {
        self.calls.remove_where(|p| p.client == c);
        self.waiting.retain(|w| *w != c);
    }

    /// Something came back: the connection is alive, the kept copies can go.
    fn end_probation(&mut self) {
        if self.probe.take().is_some() {
            for x in self.calls.iter().map(|(x, _)| *x).collect::<Vec<_>>() {
                if let Some(p) = self.calls.get_mut(x) {
                    p.keep = None;
                }
            }
        }
    }

    pub fn is_idle(&self) -> bool {
        self.calls.is_empty() && self.waiting.is_empty() && !self.connecting
    }
}

/// A non-blocking socket towards `ep`, connecting (TCP, with keepalive) or
/// connected (UDP); bound to a reserved port when asked.
fn open(
    ep: &Endpoint,
    blacklist: &[u16],
) -> Result<(Sock, Option<crate::sys::portpool::Lease>, bool), RpcError> {
    let bind = if ep.privileged {
        Bind::Reserved
    } else {
        Bind::Ephemeral
    };
    let (sock, lease) =
        net::open_socket(&ep.addr, ep.transport.is_tcp(), bind, blacklist).map_err(map_dial)?;
    sock.set_nonblocking(true)
        .map_err(|e| RpcError::SystemError(errno_of(&e)))?;
    let mut connecting = false;
    if let Err(e) = sock.connect(&ep.addr.into()) {
        if ep.transport.is_tcp() && e.raw_os_error() == Some(libc::EINPROGRESS) {
            connecting = true;
        } else {
            return Err(RpcError::CantConnect(errno_of(&e)));
        }
    }
    let sock = if ep.transport.is_tcp() {
        let _ = sock.set_tcp_nodelay(true);
        net::set_keepalive(&sock);
        Sock::Tcp(sock.into())
    } else {
        Sock::Udp(sock.into())
    };
    Ok((sock, lease, connecting))
}

fn errno_of(e: &io::Error) -> Errno {
    e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)
}

fn map_dial(e: NetError) -> RpcError {
    match e {
        NetError::Io {
            op: Op::Connect,
            errno,
        } => RpcError::CantConnect(errno),
        NetError::Io { errno, .. } => RpcError::SystemError(errno),
        NetError::NotPrivileged(errno) => RpcError::SystemError(errno),
        NetError::NoReservedPort => RpcError::SystemError(Errno::EADDRINUSE),
        NetError::Timeout => RpcError::CantConnect(Errno::ETIMEDOUT),
        NetError::Closed => RpcError::CantConnect(Errno::ECONNRESET),
        NetError::Record(r) => RpcError::Decode(r.to_string()),
    }
}
