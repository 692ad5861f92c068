//! The shared-connection RPC client: ONE API for every RPC the mount code makes.
//!
//! ```text
//!  mount code ──► calls::{getport, mnt3, umnt, ...}   typed calls (proto codecs)
//!                      │
//!                      ▼
//!                 Client::call(ep, cred, proc, args, opts) ─► Vec<u8> result body
//!                      │  tries each Backend in order; a backend that answers
//!                      │  RpcError::BackendUnavailable passes the call on
//!                      ▼
//!        ProxyBackend (rpcproxyd, if running)  →  Pool (in-process, always last)
//! ```
//!
//! * [`Endpoint`] names where a call goes: server address, program, version,
//!   transport and whether the source port must be reserved.
//! * [`Cred`] is the credential (AUTH_NONE or AUTH_SYS).
//! * [`CallOpts`] bounds the call: total timeout, UDP [`RetryPolicy`], TCP connect
//!   timeout, and whether it is idempotent. Presets follow nfs-utils:
//!   [`CallOpts::udp_probe`] (3 s, resend every 1 s), [`CallOpts::tcp_probe`]
//!   (10 s connect + 10 s call), [`CallOpts::umnt`] (3 s).
//! * [`Backend`] is the seam: [`Pool`] is the in-process implementation; an
//!   rpcproxyd backend slots in front of it with [`Client::push_front`].
//!
//! **Connection sharing rule** (a shared connection must never let one caller's
//! calls go out with another's identity): connections are keyed
//! by (server address, program, version, transport, reserved-port or not,
//! credential) and are never shared across different credentials or bindings. See
//! [`pool`] for reuse, idle closing and transparent redial after a server restart.
//!
//! **Counters**: every backend keeps nfsstat-style counters plus connection reuse
//! ([`Counters`]); [`Client::stats`] merges them into a [`StatsSnapshot`] with a
//! total and a per-endpoint breakdown.
//!
//! **Errors**: [`RpcError`] maps to libtirpc's `clnt_stat` and texts
//! ([`RpcError::clnt_sperrno_text`]).

pub mod calls;
pub mod pool;
pub mod proxy_backend;

// The call vocabulary lives in `crate::call` (shared with rpcproxyd); these
// re-exports keep `client::Endpoint` etc. working for the client's users.
pub use crate::call::{
    describe_call, error, policy, stats, CallOpts, ClntStat, Counters, Endpoint, EndpointId,
    RetryPolicy, RpcError, StatsSnapshot, Transport,
};
pub use pool::{Pool, PoolConfig};
pub use proxy_backend::ProxyBackend;

/// The credential sent with a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Cred {
    #[default]
    None,
    Sys {
        machine: String,
        uid: u32,
        gid: u32,
        gids: Vec<u32>,
    },
}

impl Cred {
    /// The wire credential, AUTH_SYS stamped with `stamp`.
    pub(crate) fn to_credential(&self, stamp: u32) -> crate::rpc::Credential {
        match self {
            Cred::None => crate::rpc::Credential::None,
            Cred::Sys {
                machine,
                uid,
                gid,
                gids,
            } => crate::rpc::Credential::Sys(crate::rpc::AuthSys {
                stamp,
                machine: machine.clone(),
                uid: *uid,
                gid: *gid,
                gids: gids.clone(),
            }),
        }
    }

    /// AUTH_SYS as umount.nfs sends it: host name, effective uid and gid, and the
    /// effective gid as the only supplementary group.
    pub fn sys_for_process() -> Cred {
        let machine = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let machine: String = machine.chars().take(255).collect();
        // A setuid helper sends root's ids, as nfs-utils' (effective ids 0)
        // does, though it runs with the caller's between root operations.
        let (uid, gid) = if crate::sys::privs::elevated() {
            (0, 0)
        } else {
            (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            )
        };
        Cred::Sys {
            machine,
            uid,
            gid,
            gids: vec![gid],
        }
    }
}

/// The call message for procedure `procnum` of `ep`'s program: `cred` stamped
/// with `stamp`, an AUTH_NONE verifier.
pub(crate) fn call_message(
    ep: &Endpoint,
    cred: &Cred,
    stamp: u32,
    procnum: u32,
    args: &[u8],
    xid: u32,
) -> Result<Vec<u8>, RpcError> {
    let h = crate::rpc::CallHeader {
        xid,
        prog: ep.prog,
        vers: ep.vers,
        proc_: procnum,
        cred: cred.to_credential(stamp),
        verf: crate::rpc::OpaqueAuth::none(),
    };
    crate::rpc::msg::encode_call(&h, args).map_err(|e| RpcError::CantEncodeArgs(e.to_string()))
}

/// A way of making calls. Implementations must honour `opts` bounds and return
/// the body of an accepted-SUCCESS reply, or an [`RpcError`].
pub trait Backend: Send {
    /// Short name for diagnostics.
    fn name(&self) -> &'static str;
    /// Makes one call. Return [`RpcError::BackendUnavailable`] to let the next
    /// backend try (before anything was sent).
    fn call(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError>;
    /// Counters so far.
    fn stats(&self) -> StatsSnapshot {
        StatsSnapshot::default()
    }
    /// Closes connections idle for too long.
    fn close_idle(&mut self) {}
    /// Answers kept by a shared cache (rpcproxyd's) must not be used: every
    /// call asks the server (set after a failure, see `mount::v3`).
    fn set_fresh(&mut self, _fresh: bool) {}
    /// The last successful call was answered from a cache, not by the server.
    fn last_from_cache(&self) -> bool {
        false
    }
    /// Sends an idempotent call now so that the same call made later only
    /// waits for its reply (pipelining). True if this backend takes care of
    /// the call (it sent it, or it will serve the later call itself and
    /// needs no early send); false passes it to the next backend.
    fn send_ahead(
        &mut self,
        _ep: &Endpoint,
        _cred: &Cred,
        _procnum: u32,
        _args: &[u8],
        _opts: &CallOpts,
    ) -> bool {
        false
    }
    /// How many connections (helpers, this one included) a shared daemon's
    /// socket has right now; `None` when this backend is not a shared daemon,
    /// is not in use, or the count cannot be read (see `negotiate::pressure`).
    fn peers(&mut self) -> Option<u32> {
        None
    }
}

/// The client the mount code uses: an ordered list of backends.
pub struct Client {
    backends: Vec<Box<dyn Backend>>,
    /// The backend that answered the last call.
    last: Option<usize>,
    /// Calls answered from a cache since [`Client::take_cache_used`].
    cache_used: u32,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.backends.iter().map(|b| b.name()).collect();
        f.debug_struct("Client").field("backends", &names).finish()
    }
}

impl Client {
    /// A client with only the in-process [`Pool`].
    pub fn new() -> Self {
        Client::with_backends(vec![Box::new(Pool::default())])
    }
    /// The client the mount helpers should use: rpcproxyd first (if one is
    /// running; one failed unix-socket connect otherwise, remembered), then the
    /// in-process [`Pool`]. See [`ProxyBackend`] for the fall-back rules.
    pub fn with_default_backends() -> Self {
        Client::with_backends(vec![
            Box::new(ProxyBackend::default()),
            Box::new(Pool::default()),
        ])
    }
    /// A client with only an in-process [`Pool`] configured by `cfg` (idle timeout,
    /// record limits, blacklist path).
    pub fn with_pool_config(cfg: PoolConfig) -> Self {
        Client::with_backends(vec![Box::new(Pool::new(cfg))])
    }
    /// A client with the given backends, tried in order.
    pub fn with_backends(backends: Vec<Box<dyn Backend>>) -> Self {
        Client {
            backends,
            last: None,
            cache_used: 0,
        }
    }
    /// Puts a backend before the others (e.g. rpcproxyd).
    pub fn push_front(&mut self, b: Box<dyn Backend>) {
        self.backends.insert(0, b);
    }
    /// Makes one call; returns the result body of an accepted-SUCCESS reply.
    pub fn call(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        crate::sys::termination::step(&describe_call(ep, procnum));
        self.last = None;
        for (i, b) in self.backends.iter_mut().enumerate() {
            match b.call(ep, cred, procnum, args, opts) {
                Err(RpcError::BackendUnavailable) => continue,
                r => {
                    self.last = Some(i);
                    if r.is_ok() && b.last_from_cache() {
                        self.cache_used += 1;
                    }
                    return r;
                }
            }
        }
        Err(RpcError::BackendUnavailable)
    }
    /// Sends an idempotent call ahead (see [`Backend::send_ahead`]) through the
    /// backend that will serve it: several queries then share one round trip.
    pub fn send_ahead(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> bool {
        crate::sys::termination::step(&describe_call(ep, procnum));
        for b in &mut self.backends {
            if b.send_ahead(ep, cred, procnum, args, opts) {
                return true;
            }
        }
        false
    }
    /// The last call was answered from a cache (rpcproxyd's), not by the server.
    pub fn last_from_cache(&self) -> bool {
        self.last
            .and_then(|i| self.backends.get(i))
            .is_some_and(|b| b.last_from_cache())
    }
    /// How many calls were answered from a cache since the last call of this;
    /// resets the count.
    pub fn take_cache_used(&mut self) -> u32 {
        std::mem::take(&mut self.cache_used)
    }
    /// Bypass every cache (true) or allow it again (false).
    pub fn set_fresh(&mut self, fresh: bool) {
        for b in &mut self.backends {
            b.set_fresh(fresh);
        }
    }
    /// Local clients of the shared daemon this process talks to, if any
    /// (see [`Backend::peers`]).
    pub fn peers(&mut self) -> Option<u32> {
        self.backends.iter_mut().find_map(|b| b.peers())
    }
    /// Merged counters of all backends.
    pub fn stats(&self) -> StatsSnapshot {
        let mut s = StatsSnapshot::default();
        for b in &self.backends {
            s.merge(&b.stats());
        }
        s
    }
    pub fn close_idle(&mut self) {
        for b in &mut self.backends {
            b.close_idle();
        }
    }
}
