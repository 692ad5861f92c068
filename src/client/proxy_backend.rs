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
//! * The daemon may also decline a client (capacity, other network namespace):
//!   same fall-back.
//! * **Proxy dies mid-call**: nothing can tell whether the call reached the server.
//!   An idempotent call ([`CallOpts::idempotent`]) falls back to the in-process
//!   pool, which sends it again. A non-idempotent call fails with
//!   `CantRecv(ECONNRESET)`, exactly what the pool returns when a connection dies
//!   during such a call; it is never repeated blindly. The mount code's presets
//!   mark MNT and UMNT idempotent on purpose: a repeated MNT returns the same file
//!   handle and adds one more rmtab entry that the matching UMNT clears; a repeated
//!   UMNT of an already removed entry is a no-op (see docs/rpcproxyd.md).
//! * **Upstream connection lost** (the daemon reports a reset for a call): an
//!   idempotent call is retried once through the proxy, which redials — the same
//!   rule the pool applies to its own cached connections.
//! * Opt-in auto-start: with `NFSMOUNT_PROXY_AUTOSTART=1` and real root, a
//!   missing daemon is started once — the installed one,
//!   [`INSTALLED_DAEMON`](crate::proxy::INSTALLED_DAEMON), with an empty
//!   environment — (it daemonises, guarded by its lock file) and the connect
//!   retried; off by default (docs/rpcproxyd.md explains why).
use super::error::RpcError;
use super::pool::reply_result;
use super::stats::{Counters, EndpointId, StatsSnapshot, Tally};
use super::{Backend, CallOpts, Cred, Endpoint};
use crate::proxy::frame::{CallReq, ConnectReq, Frame, FrameDecoder};
use crate::rpc::Reply;
use nix::errno::Errno;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// After a failed connect, how long the backend stays out of the way.
pub const ABSENT_RETRY: Duration = Duration::from_secs(5);
/// Extra time allowed on top of a call's own bounds for the local hop.
const LOCAL_SLACK: Duration = Duration::from_secs(2);

/// The socket path: `NFSMOUNT_PROXY_SOCKET` in a test build (not
/// setuid-elevated), else the daemon's default.
pub fn socket_path() -> PathBuf {
    crate::sys::env::test_override("NFSMOUNT_PROXY_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::proxy::DEFAULT_SOCKET))
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

/// The local connection and what it is bound to.
#[derive(Debug)]
struct LocalConn {
    s: UnixStream,
    dec: FrameDecoder,
    bound: (Endpoint, Cred),
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
            .is_some_and(|c| c.bound.0 == *ep && c.bound.1 == *cred)
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
            .unwrap_or_else(|| PathBuf::from(crate::proxy::INSTALLED_DAEMON));
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
        let (mut s, mut dec) = match self.conn.take() {
            // Re-bind the open connection.
            Some(c) => (c.s, c.dec),
            None => {
                if self.absent_until.is_some_and(|t| Instant::now() < t) {
                    return Err(Local::Unavailable);
                }
                let connect = |p: &PathBuf| crate::sys::net::unix_connect(p, LOCAL_SLACK);
                let s = match connect(&self.path) {
                    Ok(s) => s,
                    Err(_) if self.try_start_daemon() => {
                        connect(&self.path).map_err(|_| self.mark_absent())?
                    }
                    Err(_) => return Err(self.mark_absent()),
                };
                // A socket someone else put there is not the daemon: never
                // hand it a call (see proxy::security::daemon_trusted).
                if !crate::proxy::security::daemon_trusted(&s) {
                    return Err(self.mark_absent());
                }
                (s, FrameDecoder::default())
            }
        };
        let bound = opts.connect_timeout + LOCAL_SLACK;
        let setup = s
            .set_write_timeout(Some(LOCAL_SLACK))
            .and_then(|_| s.set_read_timeout(Some(bound)));
        if setup.is_err() {
            return Err(Local::Unavailable);
        }
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
        if s.write_all(&out).is_err() {
            return Err(Local::Unavailable);
        }
        let deadline = Instant::now() + bound;
        loop {
            match read_frame(&mut s, &mut dec, deadline) {
                Ok(Frame::Connected(st)) => {
                    return match st.to_rpc_error() {
                        None => {
                            self.conn = Some(LocalConn {
                                s,
                                dec,
                                bound: (*ep, cred.clone()),
                            });
                            Ok(())
                        }
                        // A refused or failed CONNECT ends the daemon's side of
                        // the connection: it is not kept.
                        Some(RpcError::BackendUnavailable) => Err(self.mark_absent()),
                        Some(e) => Err(Local::Rpc(e)),
                    };
                }
                // A late answer to an earlier call of ours that we gave up on.
                Ok(Frame::Reply(_)) | Ok(Frame::CallError { .. }) => continue,
                // Dead, hung or confused daemon (or one that predates re-binding)
                // before anything was forwarded.
                _ => return Err(self.mark_absent()),
            }
        }
    }

    fn mark_absent(&mut self) -> Local {
        self.absent_until = Some(Instant::now() + ABSENT_RETRY);
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
        let (xid, msg) = self.encode(ep, cred, procnum, args).map_err(Local::Rpc)?;
        let frame = Frame::Call(CallReq::new(opts, msg)).encode();
        let pipelined = opts.idempotent && !self.bound_to(ep, cred);
        self.open(ep, cred, opts, pipelined.then_some(frame.as_slice()))?;
        let LocalConn { s, dec, .. } = self.conn.as_mut().expect("opened");
        if !pipelined && s.write_all(&frame).is_err() {
            // A partial frame is dropped by the daemon: nothing was forwarded.
            self.conn = None;
            return Err(Local::Unavailable);
        }
        // The daemon bounds the call by opts.timeout (plus a connect when it has
        // to redial); we add slack for the local hop.
        let deadline = Instant::now() + opts.timeout + opts.connect_timeout + LOCAL_SLACK;
        loop {
            match read_frame(s, dec, deadline) {
                Ok(Frame::Reply(m)) if crate::rpc::msg::peek_xid(&m) == Some(xid) => {
                    let r = Reply::decode(&m)
                        .map_err(|e| Local::Rpc(RpcError::Decode(e.to_string())))?;
                    return reply_result(r).map_err(Local::Rpc);
                }
                Ok(Frame::CallError { xid: x, err }) if x == xid => {
                    return Err(Local::Rpc(
                        err.to_rpc_error()
                            .unwrap_or(RpcError::SystemError(Errno::EIO)),
                    ))
                }
                // A late answer to an earlier call of ours that we gave up on.
                Ok(Frame::Reply(_)) | Ok(Frame::CallError { .. }) => continue,
                Ok(_) | Err(_) => {
                    self.conn = None;
                    return Err(Local::Lost);
                }
            }
        }
    }
}

/// Reads one frame, waiting at most until `deadline`.
fn read_frame(s: &mut UnixStream, dec: &mut FrameDecoder, deadline: Instant) -> io::Result<Frame> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match dec.next_frame() {
            Ok(Some(f)) => return Ok(f),
            Ok(None) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => dec
                .feed(&buf[..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
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
        loop {
            let r = self.call_once(ep, cred, procnum, args, opts);
            let r = match r {
                Ok(b) => Ok(b),
                Err(Local::Unavailable) => return Err(RpcError::BackendUnavailable),
                Err(Local::Lost) if opts.idempotent => {
                    // Fall back: the pool sends it again (harmless for idempotent
                    // calls). Stay out of the way until the daemon is back.
                    self.mark_absent();
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
}
