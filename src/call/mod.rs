//! The vocabulary of an RPC call, shared by the client (`crate::client`) and
//! rpcproxyd (`crate::proxy`) and the local protocol between them
//! (`crate::proxywire`): where a call goes ([`Endpoint`], [`Transport`]), how it
//! is bounded ([`CallOpts`], [`RetryPolicy`]), how it failed ([`RpcError`],
//! [`ClntStat`]) and what it counted ([`Counters`]). No I/O.
#![forbid(unsafe_code)]

pub mod error;
pub mod policy;
pub mod stats;

pub use error::{ClntStat, RpcError};
pub use policy::{CallOpts, RetryPolicy};
pub use stats::{Counters, EndpointId, StatsSnapshot};

use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn is_tcp(self) -> bool {
        self == Transport::Tcp
    }
    /// The IP protocol number (portmap's `prot`).
    pub fn ipproto(self) -> u32 {
        match self {
            Transport::Udp => crate::proto::IPPROTO_UDP,
            Transport::Tcp => crate::proto::IPPROTO_TCP,
        }
    }
}

/// Where a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub prog: u32,
    pub vers: u32,
    pub transport: Transport,
    /// Bind a reserved (<1024) source port (bindresvport); needs root.
    pub privileged: bool,
}

impl Endpoint {
    /// An endpoint on an ephemeral source port.
    pub fn new(addr: SocketAddr, prog: u32, vers: u32, transport: Transport) -> Self {
        Endpoint {
            addr,
            prog,
            vers,
            transport,
            privileged: false,
        }
    }
    pub fn privileged(mut self, yes: bool) -> Self {
        self.privileged = yes;
        self
    }
}

/// "NULL call to mountd v3 at 10.0.0.1 port 20048/udp": what a call is, for
/// the line a helper prints when it is stopped in the middle of it.
pub fn describe_call(ep: &Endpoint, procnum: u32) -> String {
    let prog = match ep.prog {
        100000 => "rpcbind",
        100003 => "NFS",
        100005 => "mountd",
        100021 => "NLM",
        100024 => "statd",
        _ => "program",
    };
    let what = match procnum {
        0 => "NULL call".to_string(),
        n => format!("procedure {n} call"),
    };
    let net = if ep.transport.is_tcp() { "tcp" } else { "udp" };
    format!(
        "{what} to {prog} ({} v{}) at {} port {}/{net}",
        ep.prog,
        ep.vers,
        ep.addr.ip(),
        ep.addr.port()
    )
}
