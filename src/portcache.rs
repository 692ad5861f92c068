//! Short-lived memory of rpcbind answers and of services that just answered
//! (sans-IO: the caller passes the time).
//!
//! A v3 mount asks rpcbind for the NFS and MOUNT ports and pings both with a
//! NULL call before it does anything useful; across a WAN every one of those
//! is a serial round trip. rpcproxyd sees the answers of every helper, so it
//! keeps them for a short time ([`DEFAULT_TTL`]) and answers the next helper's
//! identical question itself:
//!
//! * **Port answers**, keyed by (rpcbind server address, program, version,
//!   transport asked about): a GETPORT for the same key within the TTL gets the
//!   same port. Only real ports are kept (a 0 "not registered" answer, an error
//!   or a timeout is never cached: the helper must see nfs-utils' error path).
//! * **Liveness**, keyed by (service address incl. port, program, version,
//!   transport): the service answered a call within the TTL. A NULL ping to it
//!   on a connection that is still open is then redundant.
//!
//! **Invalidation**: any error at a port (connect refused or timed out, reset,
//! call timeout, garbage) drops every port answer that pointed at that port on
//! that server and its liveness ([`PortCache::port_failed`]); an error talking
//! to rpcbind drops that server's answers ([`PortCache::rpcbind_failed`]). A
//! fresh real answer always replaces the kept one. The helpers, for their
//! part, run the whole uncached probe sequence again after any failure, so
//! errors and fallbacks are always nfs-utils' (docs/differences.md).
//!
//! Bounded: at most `max` entries of each kind; when full, expired entries are
//! purged and then the oldest is dropped.
#![forbid(unsafe_code)]

use crate::call::Transport;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long an answer is kept. Long enough for a burst of mounts (an
/// automounter storm, a boot mounting fstab), short against the time a
/// server restart takes to re-register on new ports.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// Entries of each kind.
pub const DEFAULT_MAX: usize = 4096;

/// What an rpcbind query asked about, at which rpcbind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortKey {
    /// The rpcbind service asked (address and port, normally 111).
    pub rpcbind: SocketAddr,
    pub prog: u32,
    pub vers: u32,
    /// The transport asked about (portmap's `prot`).
    pub prot: Transport,
}

/// A service endpoint that answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AliveKey {
    pub addr: SocketAddr,
    pub prog: u32,
    pub vers: u32,
    pub transport: Transport,
}

#[derive(Debug, Clone, Copy)]
struct Port {
    port: u16,
    at: Instant,
}

/// The cache; see the module docs.
#[derive(Debug)]
pub struct PortCache {
    ttl: Duration,
    max: usize,
    ports: HashMap<PortKey, Port>,
    alive: HashMap<AliveKey, Instant>,
    hits: u64,
}

impl Default for PortCache {
    fn default() -> Self {
        PortCache::new(DEFAULT_TTL, DEFAULT_MAX)
    }
}

impl PortCache {
    /// A cache keeping answers for `ttl` (zero disables it), at most `max`
    /// entries of each kind.
    pub fn new(ttl: Duration, max: usize) -> Self {
        PortCache {
            ttl,
            max: max.max(1),
            ports: HashMap::new(),
            alive: HashMap::new(),
            hits: 0,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Answers served from the cache so far (ports and NULL pings).
    pub fn hits(&self) -> u64 {
        self.hits
    }

    fn fresh(&self, at: Instant, now: Instant) -> bool {
        !self.ttl.is_zero() && now >= at && now.duration_since(at) < self.ttl
    }

    /// The kept port for `key`, if answered within the TTL (counts a hit).
    pub fn port(&mut self, key: &PortKey, now: Instant) -> Option<u16> {
        let p = *self.ports.get(key)?;
        if self.fresh(p.at, now) {
            self.hits += 1;
            Some(p.port)
        } else {
            self.ports.remove(key);
            None
        }
    }

    /// rpcbind answered `port` for `key` (0 = not registered: forgets the key).
    pub fn put_port(&mut self, key: PortKey, port: u16, now: Instant) {
        if port == 0 || self.ttl.is_zero() {
            self.ports.remove(&key);
            return;
        }
        if !self.ports.contains_key(&key) && self.ports.len() >= self.max {
            let ttl = self.ttl;
            self.ports
                .retain(|_, p| now.saturating_duration_since(p.at) < ttl);
            if self.ports.len() >= self.max {
                if let Some(old) = self.ports.iter().min_by_key(|(_, p)| p.at).map(|(k, _)| *k) {
                    self.ports.remove(&old);
                }
            }
        }
        self.ports.insert(key, Port { port, at: now });
    }

    /// True if the service answered within the TTL (counts a hit).
    pub fn alive(&mut self, key: &AliveKey, now: Instant) -> bool {
        match self.alive.get(key) {
            Some(&at) if self.fresh(at, now) => {
                self.hits += 1;
                true
            }
            Some(_) => {
                self.alive.remove(key);
                false
            }
            None => false,
        }
    }

    /// The service answered a call (any reply that decoded as a reply).
    pub fn answered(&mut self, key: AliveKey, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if !self.alive.contains_key(&key) && self.alive.len() >= self.max {
            let ttl = self.ttl;
            self.alive
                .retain(|_, at| now.saturating_duration_since(*at) < ttl);
            if self.alive.len() >= self.max {
                if let Some(old) = self
                    .alive
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| *k)
                {
                    self.alive.remove(&old);
                }
            }
        }
        self.alive.insert(key, now);
    }

    /// Any error at `addr` (a service port): forget every port answer of that
    /// server that pointed at this port, and the port's liveness.
    pub fn port_failed(&mut self, addr: SocketAddr) {
        let (ip, port) = (addr.ip(), addr.port());
        self.ports
            .retain(|k, p| !(same_host(k.rpcbind.ip(), ip) && p.port == port));
        self.alive.retain(|k, _| k.addr != addr);
        // an error at rpcbind itself makes its answers suspect as well
        self.ports.retain(|k, _| k.rpcbind != addr);
    }

    /// An error talking to the rpcbind at `rpcbind`: forget its answers.
    pub fn rpcbind_failed(&mut self, rpcbind: SocketAddr) {
        self.ports.retain(|k, _| k.rpcbind != rpcbind);
        self.alive.retain(|k, _| k.addr != rpcbind);
    }

    /// Entries kept (ports, liveness), expired ones included until touched.
    pub fn len(&self) -> (usize, usize) {
        (self.ports.len(), self.alive.len())
    }

    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.alive.is_empty()
    }
}

/// The same host, seen as IPv4 or as its IPv4-mapped IPv6 form.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let canon = |x: IpAddr| match x {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(x),
        v4 => v4,
    };
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rb() -> SocketAddr {
        "10.0.0.1:111".parse().unwrap()
    }
    fn key(prog: u32, prot: Transport) -> PortKey {
        PortKey {
            rpcbind: rb(),
            prog,
            vers: 3,
            prot,
        }
    }
    fn nfs_alive() -> AliveKey {
        AliveKey {
            addr: "10.0.0.1:2049".parse().unwrap(),
            prog: 100003,
            vers: 3,
            transport: Transport::Tcp,
        }
    }

    #[test]
    fn answers_are_kept_for_the_ttl_only() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(5), 16);
        assert_eq!(c.port(&key(100003, Transport::Tcp), t0), None);
        c.put_port(key(100003, Transport::Tcp), 2049, t0);
        assert_eq!(
            c.port(
                &key(100003, Transport::Tcp),
                t0 + Duration::from_millis(4999)
            ),
            Some(2049)
        );
        // other transport, program, version or server: a different question
        assert_eq!(c.port(&key(100003, Transport::Udp), t0), None);
        assert_eq!(c.port(&key(100005, Transport::Tcp), t0), None);
        let mut other = key(100003, Transport::Tcp);
        other.vers = 4;
        assert_eq!(c.port(&other, t0), None);
        other = key(100003, Transport::Tcp);
        other.rpcbind = "10.0.0.2:111".parse().unwrap();
        assert_eq!(c.port(&other, t0), None);
        assert_eq!(c.hits(), 1);
        // expired at the TTL, and forgotten
        assert_eq!(
            c.port(&key(100003, Transport::Tcp), t0 + Duration::from_secs(5)),
            None
        );
        assert_eq!(c.len().0, 0);
    }

    #[test]
    fn not_registered_and_zero_ttl_are_never_cached() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(5), 16);
        c.put_port(key(100005, Transport::Udp), 20048, t0);
        c.put_port(key(100005, Transport::Udp), 0, t0);
        assert_eq!(c.port(&key(100005, Transport::Udp), t0), None);
        let mut off = PortCache::new(Duration::ZERO, 16);
        off.put_port(key(100005, Transport::Udp), 20048, t0);
        off.answered(nfs_alive(), t0);
        assert_eq!(off.port(&key(100005, Transport::Udp), t0), None);
        assert!(!off.alive(&nfs_alive(), t0));
    }

    #[test]
    fn an_error_at_a_port_drops_what_pointed_there() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(5), 16);
        c.put_port(key(100003, Transport::Tcp), 2049, t0);
        c.put_port(key(100003, Transport::Udp), 2049, t0);
        c.put_port(key(100005, Transport::Udp), 20048, t0);
        c.answered(nfs_alive(), t0);
        c.port_failed("10.0.0.1:2049".parse().unwrap());
        assert_eq!(c.port(&key(100003, Transport::Tcp), t0), None);
        assert_eq!(c.port(&key(100003, Transport::Udp), t0), None);
        assert!(!c.alive(&nfs_alive(), t0));
        // mountd's answer is another port: kept
        assert_eq!(c.port(&key(100005, Transport::Udp), t0), Some(20048));
        // the same port on another server is another service: kept
        let mut other = key(100003, Transport::Tcp);
        other.rpcbind = "10.0.0.2:111".parse().unwrap();
        c.put_port(other, 2049, t0);
        c.port_failed("10.0.0.1:2049".parse().unwrap());
        assert_eq!(c.port(&other, t0), Some(2049));
        // an IPv4-mapped address names the same server
        c.port_failed("[::ffff:10.0.0.2]:2049".parse().unwrap());
        assert_eq!(c.port(&other, t0), None);
    }

    #[test]
    fn an_error_at_rpcbind_drops_its_answers() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(5), 16);
        c.put_port(key(100003, Transport::Tcp), 2049, t0);
        c.rpcbind_failed(rb());
        assert!(c.port(&key(100003, Transport::Tcp), t0).is_none());
        c.put_port(key(100003, Transport::Tcp), 2049, t0);
        c.port_failed(rb());
        assert!(c.port(&key(100003, Transport::Tcp), t0).is_none());
    }

    #[test]
    fn a_fresh_answer_replaces_the_kept_one() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(5), 16);
        c.put_port(key(100005, Transport::Tcp), 20048, t0);
        c.put_port(
            key(100005, Transport::Tcp),
            40000,
            t0 + Duration::from_secs(1),
        );
        assert_eq!(
            c.port(&key(100005, Transport::Tcp), t0 + Duration::from_secs(5)),
            Some(40000),
            "the TTL runs from the newer answer"
        );
    }

    #[test]
    fn liveness_expires_and_is_bounded() {
        let t0 = Instant::now();
        let mut c = PortCache::new(Duration::from_secs(2), 3);
        c.answered(nfs_alive(), t0);
        assert!(c.alive(&nfs_alive(), t0 + Duration::from_secs(1)));
        assert!(!c.alive(&nfs_alive(), t0 + Duration::from_secs(2)));
        for p in 0..10u16 {
            let mut k = nfs_alive();
            k.addr.set_port(3000 + p);
            c.answered(k, t0 + Duration::from_millis(u64::from(p)));
            c.put_port(key(200000 + u32::from(p), Transport::Tcp), 1000 + p, t0);
        }
        assert!(c.len().0 <= 3 && c.len().1 <= 3, "{:?}", c.len());
        // the newest survive
        let mut k = nfs_alive();
        k.addr.set_port(3009);
        assert!(c.alive(&k, t0 + Duration::from_millis(10)));
    }
}
