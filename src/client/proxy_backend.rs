//! [`ProxyBackend`]: makes calls through a running rpcproxyd.
//!
//! * One local connection for all calls, opened on first use and kept for the
//!   life of the backend. It is bound to one (endpoint, credential) at a time with
//!   CONNECT, and re-bound with another CONNECT when a call goes elsewhere; the
//!   daemon maps it onto its shared upstream connection for the current key. (A
//!   mount makes calls to up to five endpoints: one accept(2) in the daemon
//!   instead of five.)
//! * **No proxy → no cost**: if connecting to the socket fails (absent, refused,
//!   not permitted) the backend answers [`RpcError::BackendUnavailable`] and
//!   remembers that for [`ABSENT_RETRY`], so the in-process [`Pool`](super::Pool)
//!   behind it takes the call after one failed `connect()` on a unix socket.
//!   The daemon may also decline a client (capacity, other network namespace):
//!   same fall-back.
//! * **Wedged or dead proxy → at most ~1 s**: every local wait checks on the
//!   daemon after [`CHECK_EVERY`] and then at doubling intervals up to
//!   [`CHECK_MAX`], instead of trusting a long timeout. The kernel
//!   says which process listens on the socket (SO_PEERCRED; the daemon re-listens
//!   in its final process so this is the serving pid) and whether that process is
//!   stopped (SIGSTOP or a tracer: `/proc/<pid>/stat` state `T`/`t`), and how many
//!   of our bytes it has not read yet (SIOCOUTQ). A stopped daemon is recognised
//!   within one check; a daemon whose pid we cannot see (other pid namespace) is
//!   judged wedged when it leaves our frame unread for [`LOCAL_ANSWER`]. A running
//!   daemon is never judged by the clock alone: in a mount storm a CPU-starved
//!   daemon is slow, not wedged, and sending its helpers to their own connections
//!   is what the proxy exists to avoid. The waits still end at the call's own
//!   bounds plus [`LOCAL_SLACK`].
//! * **Marked bad for the process**: once the daemon was found wedged, or died or
//!   broke the protocol under a call, this process never tries it again (a
//!   process-wide set keyed by socket path): all later calls go straight to the
//!   pool. A local connection found closed while idle (the daemon was restarted,
//!   or dropped us after its idle limit) is simply reopened once.
//! * **Proxy dies or wedges mid-call**: if the daemon had not read the whole CALL
//!   frame (SIOCOUTQ > 0), nothing was forwarded and any call falls back. If it
//!   had, nothing can tell whether the call reached the server. An idempotent call
//!   ([`CallOpts::idempotent`]) falls back to the in-process pool, which sends it
//!   again. A non-idempotent call fails with `CantRecv(ECONNRESET)`, exactly what
//!   the pool returns when a connection dies during such a call; it is never
//!   repeated blindly. The mount code's presets mark MNT and UMNT idempotent on
//!   purpose: a repeated MNT returns the same file handle and adds one more rmtab
//!   entry that the matching UMNT clears; a repeated UMNT of an already removed
//!   entry is a no-op (see docs/rpcproxyd.md).
//! * **Upstream connection lost** (the daemon reports a reset for a call): an
//!   idempotent call is retried once through the proxy, which redials — the same
//!   rule the pool applies to its own cached connections.
//! * Opt-in auto-start: with `NFSMOUNT_PROXY_AUTOSTART=1` and real root, a
//!   missing daemon is started once — the installed one,
//!   [`INSTALLED_DAEMON`](crate::proxywire::INSTALLED_DAEMON), with an empty
//!   environment — (it daemonises, guarded by its lock file) and the connect
//!   retried; off by default (docs/rpcproxyd.md explains why).
use super::error::RpcError;
use super::pool::reply_result;
use super::stats::{Counters, EndpointId, StatsSnapshot, Tally};
use super::{Backend, CallOpts, Cred, Endpoint};
use crate::proxywire::{CallReq, ConnectReq, Frame, FrameDecoder};
use crate::rpc::Reply;
use crate::sys::unixpeer;
use nix::errno::Errno;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// After a failed connect, how long the backend stays out of the way.
pub const ABSENT_RETRY: Duration = Duration::from_secs(5);
/// How long a daemon whose process we cannot see may leave a frame of ours
/// unread before it counts as wedged. The daemon reads every readable client in
/// each turn of its poll loop, which takes microseconds to milliseconds; 1 s is
/// far above that even on a loaded machine, and is the most a wedged daemon may
/// add to a mount.
pub const LOCAL_ANSWER: Duration = Duration::from_secs(1);
/// How soon a local wait first checks whether the daemon is stopped; the
/// interval then doubles up to [`CHECK_MAX`], so that a thousand helpers waiting
/// on a busy daemon in a storm do not take its CPU with checks.
pub const CHECK_EVERY: Duration = Duration::from_millis(50);
pub const CHECK_MAX: Duration = Duration::from_millis(400);
/// Bound for connect(2) on the unix socket: it only blocks when the daemon's
/// listen backlog (4096) is full.
const LOCAL_CONNECT: Duration = Duration::from_secs(2);
/// Extra time allowed on top of a call's own bounds for the local hop.
const LOCAL_SLACK: Duration = Duration::from_secs(1);
/// The daemon's process name, checked before its state is trusted (a pid from
/// SO_PEERCRED may belong to the service manager that made the socket).
const DAEMON_COMM: &str = "rpcproxyd";

/// Socket paths whose daemon this process found wedged or dead (a handful at
/// most: one per path ever used).
static BAD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn known_bad(p: &Path) -> bool {
    BAD.lock().map(|v| v.iter().any(|b| b == p)).unwrap_or(true)
}

fn mark_bad(p: &Path) {
    if let Ok(mut v) = BAD.lock() {
        if !v.iter().any(|b| b == p) {
            v.push(p.to_path_buf());
        }
    }
}

/// True if this process has given up on the daemon at `path` (for tests and
/// diagnostics).
pub fn is_marked_bad(path: &Path) -> bool {
    known_bad(path)
}

/// The socket path: `NFSMOUNT_PROXY_SOCKET` in a test build (not
/// setuid-elevated), else the daemon's default.
pub fn socket_path() -> PathBuf {
    crate::sys::env::test_override("NFSMOUNT_PROXY_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::proxywire::DEFAULT_SOCKET))
}

fn autostart_enabled() -> bool {
    std::env::var_os("NFSMOUNT_PROXY_AUTOSTART").is_some_and(|v| v == "1")
}

/// What went wrong on the local connection.
enum Local {
    /// Nothing reached the daemon: safe to fall back.
    Unavailable,
    /// The daemon went away (or stopped answering) after the call was sent.
    Lost,
    /// The daemon answered with an error or a reply that failed.
    Rpc(RpcError),
}

/// How a local wait ended, if not with a frame.
#[derive(Debug, PartialEq, Eq)]
enum WaitErr {
    /// EOF, a socket error or a protocol violation.
    Gone,
    /// The call's own bounds passed.
    TimedOut,
    /// The daemon is stopped, or left our last frame unread too long.
    /// `consumed`: it had read all we wrote (so the last frame may be in effect).
    Wedged { consumed: bool },
}

/// The local connection and what it is bound to.
#[derive(Debug)]
struct LocalConn {
    s: UnixStream,
    dec: FrameDecoder,
    bound: Option<(Endpoint, Cred)>,
    /// The daemon's pid, if we can see its process.
    pid: Option<i32>,
}

impl LocalConn {
    fn new(s: UnixStream) -> Self {
        let pid = unixpeer::listener_pid(&s)
            .filter(|p| unixpeer::process_state(*p, DAEMON_COMM).is_some());
        LocalConn {
            s,
            dec: FrameDecoder::default(),
            bound: None,
            pid,
        }
    }

    /// The daemon closed its end while we were not looking (restart, idle limit).
    fn closed(&self) -> bool {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let mut b = [0u8; 1];
        match recv(
            self.s.as_raw_fd(),
            &mut b,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e != Errno::EAGAIN && e != Errno::EINTR,
        }
    }

    /// Writes `b` whole; a daemon that does not take it within [`LOCAL_ANSWER`]
    /// is wedged (`Err(true)`), a closed one gone (`Err(false)`).
    fn send(&mut self, b: &[u8]) -> Result<(), bool> {
        if self.s.set_write_timeout(Some(LOCAL_ANSWER)).is_err() {
            return Err(false);
        }
        match self.s.write_all(b) {
            Ok(()) => Ok(()),
            Err(e) => Err(matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )),
        }
    }

    /// Reads one frame, waiting at most until `deadline` and checking on the
    /// daemon after [`CHECK_EVERY`], then at doubling intervals up to
    /// [`CHECK_MAX`]. `written` is when we last wrote to it.
    fn read_frame(&mut self, deadline: Instant, written: Instant) -> Result<Frame, WaitErr> {
        let mut buf = [0u8; 16 * 1024];
        let mut step = CHECK_EVERY;
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(_) => return Err(WaitErr::Gone),
            }
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(WaitErr::TimedOut);
            }
            if self.s.set_read_timeout(Some(left.min(step))).is_err() {
                return Err(WaitErr::Gone);
            }
            match self.s.read(&mut buf) {
                Ok(0) => return Err(WaitErr::Gone),
                Ok(n) => {
                    if self.dec.feed(&buf[..n]).is_err() {
                        return Err(WaitErr::Gone);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if let Some(w) = self.wedged(written) {
                        return Err(w);
                    }
                    step = (step * 2).min(CHECK_MAX);
                }
                Err(_) => return Err(WaitErr::Gone),
            }
        }
    }

    /// The liveness check: see the module docs.
    fn wedged(&self, written: Instant) -> Option<WaitErr> {
        let unread = unixpeer::unread_by_peer(&self.s);
        let consumed = unread == Some(0);
        match self.pid {
            Some(pid) if unixpeer::process_stopped(pid, DAEMON_COMM) => {
                Some(WaitErr::Wedged { consumed })
            }
            Some(_) => None,
            None if !consumed && unread.is_some() && written.elapsed() >= LOCAL_ANSWER => {
                Some(WaitErr::Wedged { consumed })
            }
            None => None,
        }
    }
}

#[derive(Debug)]
pub struct ProxyBackend {
    path: PathBuf,
    conn: Option<LocalConn>,
    absent_until: Option<Instant>,
    autostart: bool,
    autostarted: bool,
    next_xid: u32,
    stamp: u32,
    tally: Tally,
    /// Ask the daemon not to answer from its cache (after a failure).
    fresh: bool,
    /// The last reply came from the daemon's cache.
    last_cached: bool,
}

impl Default for ProxyBackend {
    fn default() -> Self {
        ProxyBackend::new(socket_path())
    }
}

impl ProxyBackend {
    /// A backend talking to the daemon at `path`; auto-start as the environment says.
    pub fn new(path: PathBuf) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        ProxyBackend {
            path,
            conn: None,
            absent_until: None,
            autostart: autostart_enabled(),
            autostarted: false,
            next_xid: (now.subsec_nanos()) ^ std::process::id().rotate_left(11),
            stamp: now.as_secs() as u32,
            tally: Tally::default(),
            fresh: false,
            last_cached: false,
        }
    }

    /// Enables or disables auto-starting a missing daemon.
    pub fn with_autostart(mut self, yes: bool) -> Self {
        self.autostart = yes;
        self
    }

    /// Number of open local connections, 0 or 1 (for tests).
    pub fn open_connections(&self) -> usize {
        usize::from(self.conn.is_some())
    }

    fn bound_to(&self, ep: &Endpoint, cred: &Cred) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.bound.as_ref().is_some_and(|(e, c)| e == ep && c == cred))
    }

    fn bump(&mut self, id: EndpointId, f: impl Fn(&mut Counters)) {
        self.tally.bump(id, f)
    }

    fn encode(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
    ) -> Result<(u32, Vec<u8>), RpcError> {
        self.next_xid = self.next_xid.wrapping_add(1);
        let xid = self.next_xid;
        Ok((
            xid,
            super::call_message(ep, cred, self.stamp, procnum, args, xid)?,
        ))
    }

    fn try_start_daemon(&mut self) -> bool {
        // Real root only (not a setuid-elevated caller, whose environment asked
        // for this), and only the installed daemon: never a program named by
        // the environment (test builds aside) or found next to our executable
        // (a hard link to a setuid helper can sit in any directory).
        if !self.autostart
            || self.autostarted
            || !crate::sys::process::euid_is_root()
            || !crate::sys::process::uid_is_root()
        {
            return false;
        }
        self.autostarted = true;
        let exe = crate::sys::env::test_override("NFSMOUNT_RPCPROXYD")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(crate::proxywire::INSTALLED_DAEMON));
        let child = std::process::Command::new(exe)
            // The caller's environment is not the daemon's.
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("--socket")
            .arg(&self.path)
            .arg("--pidfile")
            .arg(format!("{}.pid", self.path.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        // The daemon's first process exits once the socket listens (it daemonises).
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Opens the local connection.
    fn dial(&mut self) -> Result<LocalConn, Local> {
        if self.absent_until.is_some_and(|t| Instant::now() < t) {
            return Err(Local::Unavailable);
        }
        let connect = |p: &PathBuf| crate::sys::net::unix_connect(p, LOCAL_CONNECT);
        let r = match connect(&self.path) {
            Err(_) if self.try_start_daemon() => connect(&self.path),
            r => r,
        };
        match r {
            // A socket someone else put there is not the daemon: never hand it
            // a call (see sys::unixpeer::daemon_trusted).
            Ok(s) if !crate::sys::unixpeer::daemon_trusted(&s) => Err(self.mark_absent()),
            Ok(s) => Ok(LocalConn::new(s)),
            // A full backlog that does not drain: the daemon is not accepting.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(self.give_up())
            }
            Err(_) => Err(self.mark_absent()),
        }
    }

    /// Binds the local connection to (ep, cred), opening it first if there is
    /// none. `then`, when given, is a CALL frame sent in the same write as the
    /// CONNECT (pipelined: one local round trip instead of two). Only idempotent
    /// calls are pipelined: if the daemon dies before it confirms the CONNECT, such
    /// a call may already have been forwarded, and the fallback sends it again.
    fn open(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        opts: &CallOpts,
        then: Option<&[u8]>,
    ) -> Result<(), Local> {
        if self.bound_to(ep, cred) {
            return Ok(());
        }
        let mut c = match self.conn.take() {
            // Re-bind the open connection.
            Some(c) => c,
            None => self.dial()?,
        };
        let req = ConnectReq {
            ep: *ep,
            connect_timeout: opts.connect_timeout,
            cred: cred
                .to_credential(self.stamp)
                .to_opaque()
                .map_err(|e| Local::Rpc(RpcError::CantEncodeArgs(e.to_string())))?,
        };
        let mut out = Frame::Connect(req).encode();
        if let Some(call) = then {
            out.extend_from_slice(call);
        }
        if let Err(wedged) = c.send(&out) {
            if wedged {
                return Err(self.give_up());
            }
            return Err(Local::Unavailable);
        }
        let written = Instant::now();
        let deadline = written + opts.connect_timeout + LOCAL_SLACK;
        loop {
            match c.read_frame(deadline, written) {
                Ok(Frame::Connected(st)) => {
                    return match st.to_rpc_error() {
                        None => {
                            c.bound = Some((*ep, cred.clone()));
                            self.conn = Some(c);
                            Ok(())
                        }
                        // A refused or failed CONNECT ends the daemon's side of
                        // the connection: it is not kept.
                        Some(RpcError::BackendUnavailable) => Err(self.mark_absent()),
                        Some(e) => Err(Local::Rpc(e)),
                    };
                }
                // A late answer to an earlier call of ours that we gave up on.
                Ok(Frame::Reply(_)) | Ok(Frame::ReplyCached(_)) | Ok(Frame::CallError { .. }) => {
                    continue
                }
                // Dead, wedged or confused daemon (or one that predates
                // re-binding). Nothing but an idempotent pipelined call can have
                // been forwarded, and that one the fallback may repeat.
                _ => return Err(self.give_up()),
            }
        }
    }

    fn mark_absent(&mut self) -> Local {
        self.absent_until = Some(Instant::now() + ABSENT_RETRY);
        Local::Unavailable
    }

    /// The daemon is wedged or dead: never again in this process.
    fn give_up(&mut self) -> Local {
        mark_bad(&self.path);
        self.conn = None;
        Local::Unavailable
    }

    fn call_once(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, Local> {
        if known_bad(&self.path) {
            self.conn = None;
            return Err(Local::Unavailable);
        }
        // Closed while idle (restarted daemon): open a new one.
        if self.conn.as_ref().is_some_and(|c| c.closed()) {
            self.conn = None;
        }
        let (xid, msg) = self.encode(ep, cred, procnum, args).map_err(Local::Rpc)?;
        let mut req = CallReq::new(opts, msg);
        req.fresh = self.fresh;
        req.cache_aware = true;
        let frame = Frame::Call(req).encode();
        let pipelined = opts.idempotent && !self.bound_to(ep, cred);
        self.open(ep, cred, opts, pipelined.then_some(frame.as_slice()))?;
        let c = self.conn.as_mut().expect("opened");
        if !pipelined {
            if let Err(wedged) = c.send(&frame) {
                // A partial frame is dropped by the daemon: nothing was forwarded.
                self.conn = None;
                if wedged {
                    self.give_up();
                }
                return Err(Local::Unavailable);
            }
        }
        // The daemon bounds the call by opts.timeout (plus a connect when it has
        // to redial); we add slack for the local hop.
        let written = Instant::now();
        let deadline = written + opts.timeout + opts.connect_timeout + LOCAL_SLACK;
        loop {
            let c = self.conn.as_mut().expect("opened");
            match c.read_frame(deadline, written) {
                Ok(Frame::Reply(m)) if crate::rpc::msg::peek_xid(&m) == Some(xid) => {
                    let r = Reply::decode(&m)
                        .map_err(|e| Local::Rpc(RpcError::Decode(e.to_string())))?;
                    return reply_result(r).map_err(Local::Rpc);
                }
                Ok(Frame::ReplyCached(m)) if crate::rpc::msg::peek_xid(&m) == Some(xid) => {
                    let r = Reply::decode(&m)
                        .map_err(|e| Local::Rpc(RpcError::Decode(e.to_string())))?;
                    self.last_cached = true;
                    return reply_result(r).map_err(Local::Rpc);
                }
                Ok(Frame::CallError { xid: x, err }) if x == xid => {
                    return Err(Local::Rpc(
                        err.to_rpc_error()
                            .unwrap_or(RpcError::SystemError(Errno::EIO)),
                    ))
                }
                // A late answer to an earlier call of ours that we gave up on.
                Ok(Frame::Reply(_)) | Ok(Frame::ReplyCached(_)) | Ok(Frame::CallError { .. }) => {
                    continue
                }
                // Stopped before it read the whole CALL: not forwarded.
                Err(WaitErr::Wedged { consumed: false }) => {
                    self.give_up();
                    return Err(Local::Unavailable);
                }
                Ok(_) | Err(_) => {
                    self.give_up();
                    return Err(Local::Lost);
                }
            }
        }
    }
}

impl Backend for ProxyBackend {
    fn name(&self) -> &'static str {
        "rpcproxyd"
    }

    fn call(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        let id = EndpointId::from(ep);
        let mut retried = false;
        self.last_cached = false;
        loop {
            let r = self.call_once(ep, cred, procnum, args, opts);
            let r = match r {
                Ok(b) => Ok(b),
                Err(Local::Unavailable) => return Err(RpcError::BackendUnavailable),
                Err(Local::Lost) if opts.idempotent => {
                    // Fall back: the pool sends it again (harmless for idempotent
                    // calls). The daemon is already marked bad for this process.
                    return Err(RpcError::BackendUnavailable);
                }
                Err(Local::Lost) => Err(RpcError::CantRecv(Errno::ECONNRESET)),
                Err(Local::Rpc(e)) if opts.idempotent && !retried && e.is_connection_loss() => {
                    retried = true;
                    continue;
                }
                Err(Local::Rpc(e)) => Err(e),
            };
            self.bump(id, |c| c.calls += 1);
            if r.is_err() {
                self.bump(id, |c| c.badcalls += 1);
            }
            return r;
        }
    }

    fn stats(&self) -> StatsSnapshot {
        self.tally.snapshot()
    }

    /// Connections to the daemon's socket (this one included), counted in
    /// /proc/net/unix, never by asking the daemon: in a storm a CPU-starved
    /// daemon answers a local request late, and the count is wanted at once.
    /// Only while this process uses the daemon (it has a connection).
    fn peers(&mut self) -> Option<u32> {
        if known_bad(&self.path) || self.conn.is_none() {
            return None;
        }
        crate::sys::unixpeer::connections_to(&self.path)
    }

    fn set_fresh(&mut self, fresh: bool) {
        self.fresh = fresh;
    }

    /// Through the daemon the later call is served here (its cache answers
    /// repeats): nothing to send early, but the in-process pool must not
    /// send it either. So: true while the daemon is usable. Opening the local
    /// connection is what the later call would do first.
    fn send_ahead(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        _procnum: u32,
        _args: &[u8],
        opts: &CallOpts,
    ) -> bool {
        if known_bad(&self.path) || self.absent_until.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        if self.conn.as_ref().is_some_and(|c| c.closed()) {
            self.conn = None;
        }
        self.open(ep, cred, opts, None).is_ok()
    }

    fn last_from_cache(&self) -> bool {
        self.last_cached
    }
}
