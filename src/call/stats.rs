//! Client counters: the nfsstat "Client rpc" block plus connection reuse.
#![forbid(unsafe_code)]

use super::{Endpoint, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Counters for one endpoint or for the whole client.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Calls attempted.
    pub calls: u64,
    /// Calls that ended in an error.
    pub badcalls: u64,
    /// UDP retransmissions.
    pub retrans: u64,
    /// Replies dropped because their xid matched no outstanding call.
    pub badxids: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Failed connection attempts (TCP connect, socket/bind failures).
    pub cantconn: u64,
    /// Connections (TCP) or connected sockets (UDP) opened.
    pub conns_opened: u64,
    /// Calls that went over an already open connection.
    pub conns_reused: u64,
    /// Connections closed because they sat idle too long.
    pub closed_idle: u64,
    /// Cached connections found dead and redialled.
    pub redials: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.calls += o.calls;
        self.badcalls += o.badcalls;
        self.retrans += o.retrans;
        self.badxids += o.badxids;
        self.timeouts += o.timeouts;
        self.cantconn += o.cantconn;
        self.conns_opened += o.conns_opened;
        self.conns_reused += o.conns_reused;
        self.closed_idle += o.closed_idle;
        self.redials += o.redials;
    }
}

/// What counters are kept per: server address, program, version, transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId {
    pub addr: SocketAddr,
    pub prog: u32,
    pub vers: u32,
    pub tcp: bool,
}

impl From<&Endpoint> for EndpointId {
    fn from(e: &Endpoint) -> Self {
        EndpointId {
            addr: e.addr,
            prog: e.prog,
            vers: e.vers,
            tcp: e.transport == Transport::Tcp,
        }
    }
}

/// A point-in-time copy of the counters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub total: Counters,
    /// Sorted by endpoint.
    pub per_endpoint: Vec<(EndpointId, Counters)>,
}

impl StatsSnapshot {
    /// Counters of one endpoint (zero if it was never called).
    pub fn endpoint(&self, ep: &Endpoint) -> Counters {
        let id = EndpointId::from(ep);
        self.per_endpoint
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
    /// Merges another snapshot (e.g. from a second backend).
    pub fn merge(&mut self, o: &StatsSnapshot) {
        self.total.add(&o.total);
        for (id, c) in &o.per_endpoint {
            match self.per_endpoint.iter_mut().find(|(k, _)| k == id) {
                Some((_, mine)) => mine.add(c),
                None => self.per_endpoint.push((*id, *c)),
            }
        }
        self.per_endpoint.sort_by_key(|(k, _)| *k);
    }
}

/// The running counters of one backend: in total and per endpoint.
#[derive(Debug, Default)]
pub struct Tally {
    total: Counters,
    per_ep: HashMap<EndpointId, Counters>,
}

impl Tally {
    /// Applies `f` to the total and to the endpoint's counters.
    pub fn bump(&mut self, id: EndpointId, f: impl Fn(&mut Counters)) {
        f(&mut self.total);
        f(self.per_ep.entry(id).or_default());
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut per_endpoint: Vec<_> = self.per_ep.iter().map(|(k, v)| (*k, *v)).collect();
        per_endpoint.sort_by_key(|(k, _)| *k);
        StatsSnapshot {
            total: self.total,
            per_endpoint,
        }
    }
}
