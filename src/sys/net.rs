//! Sockets for RPC transports: connected UDP with retransmission, TCP with a bounded
//! connect and record-marked calls, and reserved-port binding (bindresvport).
//!
//! Design:
//! * No `unsafe`: sockets are made with `socket2` and used through `std::net`.
//! * UDP sockets are `connect()`ed, so an ICMP port-unreachable comes back as
//!   ECONNREFUSED on the next send/recv instead of a silent timeout.
//! * The retransmission *schedule* (how long to wait after each send) is computed by
//!   the caller (`client::RetryPolicy`); [`UdpTransport::call`] just follows it. The
//!   sum of the schedule bounds the call.
//! * Replies are matched by xid. Anything else that arrives (stale replies to an
//!   earlier, timed-out call, foreign or truncated datagrams) is dropped and counted
//!   in [`XportStats::badxids`].
//! * Ephemeral ports are bound implicitly by `connect()` (as nfs-utils does since
//!   2014), so a crowded local port space only needs a unique 4-tuple.
//! * Reserved ports follow libtirpc's `bindresvport_sa` behaviour: scan 600–1023
//!   from a pid-derived start, wrapping, then 512–599; skip ports in
//!   `/etc/bindresvport.blacklist`; move on after EADDRINUSE; stop with
//!   [`NetError::NotPrivileged`] on EACCES/EPERM.
#![forbid(unsafe_code)]
use crate::rpc::msg::peek_xid;
use crate::rpc::record::{encode_record, RecordError, RecordLimits, RecordReader};
use crate::sys::portpool::{Lease, PortPool};
use nix::errno::Errno;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Default location of the reserved-port blacklist.
pub const BINDRESVPORT_BLACKLIST: &str = "/etc/bindresvport.blacklist";
/// Largest UDP reply accepted (the largest possible datagram).
const UDP_BUF: usize = 65_536;

/// The operation during which a socket error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Socket,
    Bind,
    Connect,
    Send,
    Recv,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetError {
    /// No matching reply (or no connection) within the time allowed.
    #[error("timed out")]
    Timeout,
    #[error("{op:?} failed: {errno}")]
    Io { op: Op, errno: Errno },
    /// The peer closed the TCP connection.
    #[error("connection closed by peer")]
    Closed,
    /// The reply stream violated record marking or its limits.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Binding a reserved port needs privilege (EACCES/EPERM).
    #[error("binding a reserved port needs root ({0})")]
    NotPrivileged(Errno),
    /// Every port in 512–1023 (minus the blacklist) is in use.
    #[error("no free reserved port")]
    NoReservedPort,
}

impl NetError {
    fn io(op: Op, e: &io::Error) -> NetError {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) && op != Op::Connect
        {
            return NetError::Timeout;
        }
        let errno = match e.raw_os_error() {
            Some(n) => Errno::from_raw(n),
            None if e.kind() == io::ErrorKind::TimedOut => Errno::ETIMEDOUT,
            None => Errno::EIO,
        };
        NetError::Io { op, errno }
    }
}

/// Which local port to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bind {
    /// Kernel-chosen ephemeral port, bound implicitly at connect time.
    Ephemeral,
    /// A port below 1024 (bindresvport).
    Reserved,
}

/// Per-call transport events the client turns into counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct XportStats {
    pub retrans: u64,
    pub badxids: u64,
}

/// Connects to a local stream socket, waiting at most `timeout` when its listen
/// backlog is full (a blocking connect(2) on a unix socket honours SO_SNDTIMEO;
/// std's `UnixStream::connect` would wait for as long as the listener is stuck).
/// socket2 sets close-on-exec.
pub fn unix_connect(path: &Path, timeout: Duration) -> io::Result<std::os::unix::net::UnixStream> {
    let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    s.set_write_timeout(Some(timeout))?;
    {
        // A setuid helper connects to root's rpcproxyd as root: the daemon reads
        // the credentials of connect(2) (docs/rpcproxyd.md, "setuid helpers").
        let _root = super::privs::root();
        s.connect(&SockAddr::unix(path)?)?;
    }
    s.set_write_timeout(None)?;
    Ok(std::os::unix::net::UnixStream::from(
        std::os::fd::OwnedFd::from(s),
    ))
}

/// TCP keepalive on cached connections (rpcproxyd's upstreams, the pool): first
/// probe after 5 s without traffic, then every 2 s, given up after 3 unanswered —
/// a peer that vanished without a reset (an HA failover moved the server's address) is noticed about
/// 11 s after the last traffic, well inside the 30 s idle cache, so the next call
/// finds the connection failed and redials before sending.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
pub const KEEPALIVE_COUNT: u32 = 3;

/// Turns on keepalive with the values above (best effort).
pub fn set_keepalive(sock: &Socket) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    let _ = sock.set_tcp_keepalive(&ka);
    let _ = nix::sys::socket::setsockopt(
        sock,
        nix::sys::socket::sockopt::TcpKeepCount,
        &KEEPALIVE_COUNT,
    );
}

/// Parses a bindresvport blacklist: one port per line, `#` starts a comment,
/// anything unparsable is ignored.
pub fn parse_blacklist(text: &str) -> Vec<u16> {
    text.lines()
        .filter_map(|l| l.split('#').next())
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|w| w.parse::<u16>().ok())
        .collect()
}

/// Reads a blacklist file; a missing or unreadable file means no blacklist.
pub fn load_blacklist(path: &Path) -> Vec<u16> {
    std::fs::read_to_string(path)
        .map(|t| parse_blacklist(&t))
        .unwrap_or_default()
}

/// The order in which reserved ports are tried: 600–1023 starting at `start`
/// (wrapping), then 512–599; blacklisted ports left out.
pub fn reserved_port_order(start: u16, blacklist: &[u16]) -> Vec<u16> {
    let hi: Vec<u16> = (600..=1023).collect();
    let s = usize::from(start.clamp(600, 1023) - 600);
    hi[s..]
        .iter()
        .chain(&hi[..s])
        .copied()
        .chain(512..=599)
        .filter(|p| !blacklist.contains(p))
        .collect()
}

/// Binds `sock` to a reserved port. Ports are taken through the cross-process
/// [`PortPool`] when its state file is usable (so concurrent helpers do not race
/// for the same port or reuse one just released towards this peer), else by the
/// plain scan; both follow [`reserved_port_order`].
fn bind_reserved(
    sock: &Socket,
    peer: &SocketAddr,
    tcp: bool,
    blacklist: &[u16],
) -> Result<(u16, Option<Lease>), NetError> {
    // Reserved ports and the port-pool file need root (setuid helper, sys::privs).
    let _root = super::privs::root();
    let start = 600 + (std::process::id() % 424) as u16;
    let order = reserved_port_order(start, blacklist);
    if let Some(pool) = PortPool::system() {
        if let Some(lease) = pool.acquire(*peer, tcp, &order, |p| try_bind(sock, peer, p))? {
            return Ok((lease.port, Some(lease)));
        }
    }
    for port in order {
        if try_bind(sock, peer, port)? {
            return Ok((port, None));
        }
    }
    Err(NetError::NoReservedPort)
}

/// Ok(true): bound; Ok(false): in use, try the next port.
fn try_bind(sock: &Socket, peer: &SocketAddr, port: u16) -> Result<bool, NetError> {
    let mut a: SocketAddr = if peer.is_ipv6() {
        "[::]:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    a.set_port(port);
    match sock.bind(&SockAddr::from(a)) {
        Ok(()) => Ok(true),
        Err(e) => match e.raw_os_error().map(Errno::from_raw) {
            Some(Errno::EADDRINUSE) => Ok(false),
            Some(e @ (Errno::EACCES | Errno::EPERM)) => Err(NetError::NotPrivileged(e)),
            Some(errno) => Err(NetError::Io {
                op: Op::Bind,
                errno,
            }),
            None => Err(NetError::io(Op::Bind, &e)),
        },
    }
}

fn new_socket(peer: &SocketAddr, ty: Type, proto: Protocol) -> Result<Socket, NetError> {
    let sock = Socket::new(Domain::for_address(*peer), ty, Some(proto))
        .map_err(|e| NetError::io(Op::Socket, &e))?;
    // socket2 creates sockets with SOCK_CLOEXEC on Linux, so nothing leaks into
    // children such as start-statd.
    Ok(sock)
}

/// A socket towards `peer` (TCP stream or UDP datagram), bound to a reserved port
/// when asked, not yet connected — for callers that drive the connect themselves
/// (rpcproxyd's non-blocking upstream connections).
pub fn open_socket(
    peer: &SocketAddr,
    tcp: bool,
    bind: Bind,
    blacklist: &[u16],
) -> Result<(Socket, Option<Lease>), NetError> {
    let (ty, proto) = if tcp {
        (Type::STREAM, Protocol::TCP)
    } else {
        (Type::DGRAM, Protocol::UDP)
    };
    let sock = new_socket(peer, ty, proto)?;
    let mut lease = None;
    if bind == Bind::Reserved {
        lease = bind_reserved(&sock, peer, tcp, blacklist)?.1;
    }
    Ok((sock, lease))
}

/// A connected UDP socket.
#[derive(Debug)]
pub struct UdpTransport {
    sock: UdpSocket,
    buf: Vec<u8>,
    /// Replies to calls sent ahead ([`Self::send`]) that arrived while
    /// waiting for another xid; at most [`MAX_STASH`].
    stash: Vec<Vec<u8>>,
    ahead: Vec<u32>,
    /// The reserved port's pool record, released when the transport goes.
    _lease: Option<Lease>,
}

impl UdpTransport {
    pub fn open(peer: SocketAddr, bind: Bind, blacklist: &[u16]) -> Result<Self, NetError> {
        let sock = new_socket(&peer, Type::DGRAM, Protocol::UDP)?;
        let mut lease = None;
        if bind == Bind::Reserved {
            lease = bind_reserved(&sock, &peer, false, blacklist)?.1;
        }
        sock.connect(&SockAddr::from(peer))
            .map_err(|e| NetError::io(Op::Connect, &e))?;
        Ok(UdpTransport {
            sock: sock.into(),
            buf: vec![0; UDP_BUF],
            stash: Vec::new(),
            ahead: Vec::new(),
            _lease: lease,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Sends `msg` and waits for the reply with `xid`. After each send it waits the
    /// next duration of `schedule`, then retransmits; when the schedule is used up
    /// the call times out. Returns the whole reply message.
    pub fn call(
        &mut self,
        xid: u32,
        msg: &[u8],
        schedule: &[Duration],
        stats: &mut XportStats,
    ) -> Result<Vec<u8>, NetError> {
        // An error an earlier datagram left on the socket (ICMP port
        // unreachable for a call sent ahead, or a late one after a timeout)
        // belongs to that call, not this one: a fresh socket, as nfs-utils
        // uses, would not have it. This call's own error comes with its reply.
        let _ = self.sock.take_error();
        for (i, wait) in schedule.iter().enumerate() {
            if i > 0 {
                stats.retrans += 1;
            }
            self.send(xid, msg)?;
            if let Some(r) = self.wait(xid, Instant::now() + *wait, stats)? {
                return Ok(r);
            }
        }
        Err(NetError::Timeout)
    }

    /// Sends a call without waiting ("ahead"): its reply is kept if it comes
    /// while another call is waited for, and [`Self::wait`] returns it.
    pub fn send(&mut self, xid: u32, msg: &[u8]) -> Result<(), NetError> {
        if !self.ahead.contains(&xid) {
            if self.ahead.len() >= MAX_STASH {
                self.ahead.remove(0);
            }
            self.ahead.push(xid);
        }
        self.sock
            .send(msg)
            .map(|_| ())
            .map_err(|e| NetError::io(Op::Send, &e))
    }

    /// Waits until `until` for the reply with `xid` (None: not yet).
    pub fn wait(
        &mut self,
        xid: u32,
        until: Instant,
        stats: &mut XportStats,
    ) -> Result<Option<Vec<u8>>, NetError> {
        if let Some(i) = self.stash.iter().position(|r| peek_xid(r) == Some(xid)) {
            self.ahead.retain(|x| *x != xid);
            return Ok(Some(self.stash.swap_remove(i)));
        }
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            self.sock
                .set_read_timeout(Some(until - now))
                .map_err(|e| NetError::io(Op::Recv, &e))?;
            match self.sock.recv(&mut self.buf) {
                Ok(n) => match peek_xid(&self.buf[..n]) {
                    Some(x) if x == xid => {
                        self.ahead.retain(|a| *a != xid);
                        return Ok(Some(self.buf[..n].to_vec()));
                    }
                    Some(x) if self.ahead.contains(&x) && self.stash.len() < MAX_STASH => {
                        self.stash.push(self.buf[..n].to_vec())
                    }
                    _ => stats.badxids += 1,
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => match NetError::io(Op::Recv, &e) {
                    NetError::Timeout => return Ok(None),
                    other => return Err(other),
                },
            }
        }
    }
}

/// Most calls sent ahead (and their early replies kept) per transport.
pub const MAX_STASH: usize = 8;

/// A TCP connection carrying record-marked RPC messages.
#[derive(Debug)]
pub struct TcpTransport {
    reader: RecordReader,
    stream: TcpStream,
    /// Replies to calls sent ahead that arrived while waiting for another.
    stash: Vec<Vec<u8>>,
    ahead: Vec<u32>,
    /// Dropped after the stream (field order), so the release is recorded once
    /// the socket is closed.
    _lease: Option<Lease>,
}

impl TcpTransport {
    /// Connects within `timeout` (non-blocking connect + poll).
    pub fn connect(
        peer: SocketAddr,
        bind: Bind,
        blacklist: &[u16],
        timeout: Duration,
        limits: RecordLimits,
    ) -> Result<Self, NetError> {
        let sock = new_socket(&peer, Type::STREAM, Protocol::TCP)?;
        let mut lease = None;
        if bind == Bind::Reserved {
            lease = bind_reserved(&sock, &peer, true, blacklist)?.1;
        }
        sock.connect_timeout(&SockAddr::from(peer), timeout.max(Duration::from_millis(1)))
            .map_err(|e| NetError::io(Op::Connect, &e))?;
        let _ = sock.set_tcp_nodelay(true);
        set_keepalive(&sock);
        Ok(TcpTransport {
            reader: RecordReader::new(limits),
            stream: sock.into(),
            stash: Vec::new(),
            ahead: Vec::new(),
            _lease: lease,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// True if the peer has closed or reset the connection while it sat idle —
    /// a cheap non-blocking peek, so a cached connection can be replaced before a
    /// call is sent on it. Unread data (e.g. a late reply) does not count as dead.
    pub fn is_dead(&self) -> bool {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let mut b = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        let dead = match recv(self.stream.as_raw_fd(), &mut b, flags) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e != Errno::EAGAIN && e != Errno::EINTR,
        };
        dead || self.reader.has_failed()
    }

    /// Sends `msg` as one record and waits up to `timeout` for the reply with `xid`.
    pub fn call(
        &mut self,
        xid: u32,
        msg: &[u8],
        timeout: Duration,
        stats: &mut XportStats,
    ) -> Result<Vec<u8>, NetError> {
        let until = Instant::now() + timeout;
        self.send(xid, msg, timeout)?;
        self.wait(xid, until, stats)
    }

    /// Sends a call without waiting for its reply ("ahead", pipelined): a
    /// reply to it that comes while another call is waited for is kept for
    /// [`Self::wait`].
    pub fn send(&mut self, xid: u32, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        self.stream
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| NetError::io(Op::Send, &e))?;
        if !self.ahead.contains(&xid) {
            if self.ahead.len() >= MAX_STASH {
                self.ahead.remove(0);
            }
            self.ahead.push(xid);
        }
        self.stream
            .write_all(&encode_record(msg, msg.len().max(1)))
            .map_err(|e| NetError::io(Op::Send, &e))
    }

    /// Waits until `until` for the reply with `xid` (sent by [`Self::send`]).
    pub fn wait(
        &mut self,
        xid: u32,
        until: Instant,
        stats: &mut XportStats,
    ) -> Result<Vec<u8>, NetError> {
        let remaining = || {
            until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(NetError::Timeout)
        };
        if let Some(i) = self.stash.iter().position(|r| peek_xid(r) == Some(xid)) {
            self.ahead.retain(|x| *x != xid);
            return Ok(self.stash.swap_remove(i));
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            while let Some(rec) = self.reader.pop() {
                match peek_xid(&rec) {
                    Some(x) if x == xid => {
                        self.ahead.retain(|a| *a != xid);
                        return Ok(rec);
                    }
                    Some(x) if self.ahead.contains(&x) && self.stash.len() < MAX_STASH => {
                        self.stash.push(rec)
                    }
                    _ => stats.badxids += 1,
                }
            }
            self.stream
                .set_read_timeout(Some(remaining()?))
                .map_err(|e| NetError::io(Op::Recv, &e))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(NetError::Closed),
                Ok(n) => self.reader.feed(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(NetError::io(Op::Recv, &e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_values_are_set() {
        use nix::sys::socket::{getsockopt, sockopt};
        let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        set_keepalive(&s);
        assert!(getsockopt(&s, sockopt::KeepAlive).unwrap());
        assert_eq!(getsockopt(&s, sockopt::TcpKeepIdle).unwrap(), 5);
        assert_eq!(getsockopt(&s, sockopt::TcpKeepInterval).unwrap(), 2);
        assert_eq!(getsockopt(&s, sockopt::TcpKeepCount).unwrap(), 3);
    }

    #[test]
    fn blacklist_parsing() {
        let t = "#\n# comment\n631\t# cups\n 636 \nfoo\n655# tinc\n70000\n";
        assert_eq!(parse_blacklist(t), vec![631, 636, 655]);
        assert!(load_blacklist(Path::new("/nonexistent/blacklist")).is_empty());
    }

    #[test]
    fn reserved_order() {
        let o = reserved_port_order(1020, &[1022, 600, 513]);
        assert_eq!(&o[..4], &[1020, 1021, 1023, 601]);
        assert_eq!(o.len(), 512 - 3);
        assert_eq!(o[o.len() - 87..o.len() - 85], [512, 514]);
        assert!(!o.contains(&600));
        assert_eq!(*o.last().unwrap(), 599);
    }
}
