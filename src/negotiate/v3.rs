//! NFSv3 port discovery and option rebuilding (spec §3.6), free of I/O.
//!
//! The probing order and give-up rules are nfs-utils' (`nfs_probe_bothports`,
//! `nfs_probe_port`); the network is reached through the [`Probe`] trait, so the
//! decisions are unit-tested with scripted answers and run for real over the
//! shared-connection client in `mount::v3`.

use crate::call::{ClntStat, Endpoint, RpcError, Transport};
use crate::error::Errno;
use crate::options::OptList;
use std::net::SocketAddr;

pub const NFS_PROGRAM: u32 = 100003;
pub const MOUNT_PROGRAM: u32 = 100005;
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
pub const NFS_PORT: u16 = 2049;

/// A (program, version, protocol, port) tuple; 0 means "to be discovered".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pmap {
    pub prog: u32,
    pub vers: u32,
    pub prot: u32,
    pub port: u16,
}

impl Pmap {
    pub fn complete(&self) -> bool {
        self.vers != 0 && self.prot != 0 && self.port != 0
    }

    /// Where calls to this service go: `host` at our port, over our protocol.
    pub fn endpoint(&self, host: SocketAddr) -> Endpoint {
        let mut a = host;
        a.set_port(self.port);
        Endpoint::new(a, self.prog, self.vers, transport(self.prot))
    }
}

/// The client transport for an IP protocol number (anything but UDP is TCP).
pub fn transport(prot: u32) -> Transport {
    if prot == IPPROTO_UDP {
        Transport::Udp
    } else {
        Transport::Tcp
    }
}

/// The IP protocol number of a transport option (RDMA's MOUNT/rpcbind go over TCP).
pub fn ipproto(t: crate::options::proto::Transport) -> u32 {
    match t {
        crate::options::proto::Transport::Udp => IPPROTO_UDP,
        _ => IPPROTO_TCP,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Nfs,
    Mount,
}

/// Network operations the probe needs.
pub trait Probe {
    /// rpcbind query (over `prot`) for the service's program at `vers`/`prot`.
    fn getport(&mut self, svc: Service, prog: u32, vers: u32, prot: u32) -> Result<u16, RpcError>;
    /// NULL call to the service at `port`.
    fn ping(
        &mut self,
        svc: Service,
        prog: u32,
        vers: u32,
        prot: u32,
        port: u16,
    ) -> Result<(), RpcError>;
    /// NULL call to NFS version 4 over TCP on port 2049.
    fn ping_nfs4(&mut self) -> bool;
    /// Verbose trace of each (vers, prot) tried.
    fn trying(&mut self, _prog: u32, _vers: u32, _prot: u32) {}
}

/// Why probing failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    Rpc(RpcError),
    /// `checkv4`: NFSv4 answered on TCP 2049 after all (nfs-utils' EAGAIN).
    V4Registered,
}

impl ProbeError {
    /// nfs-utils' mapping of the last RPC status to an errno
    /// (`nfs_rewrite_pmap_mount_options`). ESPIPE means "report the RPC error".
    pub fn errno(&self) -> Errno {
        let e = match self {
            ProbeError::V4Registered => return Errno::EAGAIN,
            ProbeError::Rpc(e) => e,
        };
        match e.clnt_stat() {
            ClntStat::ProgNotRegistered => Errno::EOPNOTSUPP,
            ClntStat::AuthError => Errno::EACCES,
            ClntStat::TimedOut => Errno::ETIMEDOUT,
            ClntStat::ProgVersMismatch => Errno::EPROTONOSUPPORT,
            _ => e.errno().unwrap_or(Errno::ESPIPE),
        }
    }
}

fn keeps_probing(e: &RpcError) -> bool {
    matches!(
        e.clnt_stat(),
        ClntStat::ProgNotRegistered
            | ClntStat::TimedOut
            | ClntStat::CantRecv
            | ClntStat::ProgVersMismatch
    )
}

/// `nfs_probe_port`: try each protocol (unless fixed) for the one version.
pub fn probe_port(
    p: &mut dyn Probe,
    svc: Service,
    pmap: &mut Pmap,
    protos: &[u32],
) -> Result<(), RpcError> {
    let fixed: [u32; 1] = [pmap.prot];
    let list: &[u32] = if pmap.prot != 0 { &fixed } else { protos };
    let mut last = RpcError::ProgNotRegistered;
    for &prot in list {
        p.trying(pmap.prog, pmap.vers, prot);
        match p.getport(svc, pmap.prog, pmap.vers, prot) {
            Ok(port) if pmap.port == 0 || pmap.port == port => {
                match p.ping(svc, pmap.prog, pmap.vers, prot, port) {
                    Ok(()) => {
                        pmap.prot = prot;
                        pmap.port = port;
                        return Ok(());
                    }
                    // The ping's own TCP connect failing (refused, or its connect
                    // timeout) is a socket error, not an RPC status: nfs-utils'
                    // ping client reports RPC_SYSTEMERROR and stops there instead of
                    // trying UDP (utils/mount/network.c, nfs_get_tcpclient). Only
                    // rpcbind's connect errors are mapped to CANTRECV/TIMEDOUT.
                    Err(e @ RpcError::CantConnect(_)) => return Err(e),
                    Err(e) => last = e,
                }
            }
            Ok(_) => last = RpcError::ProgNotRegistered,
            Err(e) => last = e,
        }
        if !keeps_probing(&last) {
            return Err(last);
        }
    }
    Err(last)
}

/// NFS service: skipped when fully pinned. With `checkv4` (and TCP-first order)
/// a successful probe is followed by the NFSv4 ping.
pub fn probe_nfsport(
    p: &mut dyn Probe,
    pmap: &mut Pmap,
    checkv4: bool,
    udp_first: bool,
) -> Result<(), ProbeError> {
    if pmap.complete() {
        return Ok(());
    }
    let order: &[u32] = if udp_first {
        &[IPPROTO_UDP, IPPROTO_TCP]
    } else {
        &[IPPROTO_TCP, IPPROTO_UDP]
    };
    probe_port(p, Service::Nfs, pmap, order).map_err(ProbeError::Rpc)?;
    if checkv4 && !udp_first && p.ping_nfs4() {
        return Err(ProbeError::V4Registered);
    }
    Ok(())
}

/// MOUNT service: skipped when fully pinned; UDP first.
pub fn probe_mntport(p: &mut dyn Probe, pmap: &mut Pmap) -> Result<(), RpcError> {
    if pmap.complete() {
        return Ok(());
    }
    probe_port(p, Service::Mount, pmap, &[IPPROTO_UDP, IPPROTO_TCP])
}

/// `nfs_probe_bothports` for NFSv3 (the only version this client negotiates).
pub fn probe_bothports(
    p: &mut dyn Probe,
    mnt: &mut Pmap,
    nfs: &mut Pmap,
    checkv4: bool,
    udp_first: bool,
) -> Result<(), ProbeError> {
    if nfs.vers == 0 {
        nfs.vers = if mnt.vers == 1 || mnt.vers == 2 { 2 } else { 3 };
    }
    if mnt.vers == 0 {
        mnt.vers = if nfs.vers == 2 { 1 } else { 3 };
    }
    probe_nfsport(p, nfs, checkv4, udp_first)?;
    probe_mntport(p, mnt).map_err(ProbeError::Rpc)
}

/// Netid for a protocol number and family.
pub fn netid(prot: u32, v6: bool) -> &'static str {
    match (prot, v6) {
        (IPPROTO_UDP, false) => "udp",
        (IPPROTO_UDP, true) => "udp6",
        (_, false) => "tcp",
        (_, true) => "tcp6",
    }
}

/// `nfs_construct_new_options`: the kernel string after probing.
pub fn construct_new_options(
    opts: &mut OptList,
    nfs: &Pmap,
    nfs_v6: bool,
    mnt: &Pmap,
    mnt_v6: bool,
) {
    for k in ["nfsprog", "mountprog", "v2", "v3", "vers", "nfsvers"] {
        opts.remove_all(k);
    }
    opts.append("vers", Some(&nfs.vers.to_string()));
    for k in ["proto", "udp", "tcp"] {
        opts.remove_all(k);
    }
    opts.append("proto", Some(netid(nfs.prot, nfs_v6)));
    let had_port = opts.contains("port");
    opts.remove_all("port");
    if had_port || nfs.port != NFS_PORT {
        opts.append("port", Some(&nfs.port.to_string()));
    }
    opts.remove_all("mountvers");
    opts.append("mountvers", Some(&mnt.vers.to_string()));
    opts.remove_all("mountproto");
    opts.append("mountproto", Some(netid(mnt.prot, mnt_v6)));
    opts.remove_all("mountport");
    opts.append("mountport", Some(&mnt.port.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        ports: HashMap<(Service, u32), Result<u16, RpcError>>,
        pings: HashMap<(Service, u32), Result<(), RpcError>>,
        v4: bool,
        log: Vec<String>,
    }

    impl Probe for Fake {
        fn getport(
            &mut self,
            svc: Service,
            _prog: u32,
            _vers: u32,
            prot: u32,
        ) -> Result<u16, RpcError> {
            self.log.push(format!("getport {svc:?} {prot}"));
            self.ports
                .get(&(svc, prot))
                .cloned()
                .unwrap_or(Err(RpcError::ProgNotRegistered))
        }
        fn ping(
            &mut self,
            svc: Service,
            _prog: u32,
            _vers: u32,
            prot: u32,
            port: u16,
        ) -> Result<(), RpcError> {
            self.log.push(format!("ping {svc:?} {prot} {port}"));
            self.pings.get(&(svc, prot)).cloned().unwrap_or(Ok(()))
        }
        fn ping_nfs4(&mut self) -> bool {
            self.log.push("ping4".into());
            self.v4
        }
    }

    fn server() -> Fake {
        let mut f = Fake::default();
        for prot in [IPPROTO_TCP, IPPROTO_UDP] {
            f.ports.insert((Service::Nfs, prot), Ok(2049));
            f.ports.insert((Service::Mount, prot), Ok(20048));
        }
        f
    }

    fn nfs() -> Pmap {
        Pmap {
            prog: NFS_PROGRAM,
            ..Default::default()
        }
    }
    fn mnt() -> Pmap {
        Pmap {
            prog: MOUNT_PROGRAM,
            ..Default::default()
        }
    }

    #[test]
    fn default_order_is_nfs_tcp_then_mount_udp() {
        let mut f = server();
        let (mut n, mut m) = (nfs(), mnt());
        probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap();
        assert_eq!(
            f.log,
            [
                "getport Nfs 6",
                "ping Nfs 6 2049",
                "getport Mount 17",
                "ping Mount 17 20048"
            ]
        );
        assert_eq!((n.vers, n.prot, n.port), (3, 6, 2049));
        assert_eq!((m.vers, m.prot, m.port), (3, 17, 20048));
        let mut o = OptList::parse("nolock,addr=127.0.0.1").unwrap();
        construct_new_options(&mut o, &n, false, &m, false);
        assert_eq!(
            o.join(),
            "nolock,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=udp,mountport=20048"
        );
    }

    #[test]
    fn fully_pinned_sends_nothing() {
        let mut f = server();
        let mut n = Pmap {
            prog: NFS_PROGRAM,
            vers: 3,
            prot: 6,
            port: 2049,
        };
        let mut m = Pmap {
            prog: MOUNT_PROGRAM,
            vers: 3,
            prot: 17,
            port: 20048,
        };
        probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap();
        assert!(f.log.is_empty());
        let mut o = OptList::parse(
            "nolock,vers=3,proto=tcp,port=2049,mountport=20048,mountproto=udp,addr=127.0.0.1",
        )
        .unwrap();
        construct_new_options(&mut o, &n, false, &m, false);
        assert_eq!(o.join(), "nolock,addr=127.0.0.1,vers=3,proto=tcp,port=2049,mountvers=3,mountproto=udp,mountport=20048");
    }

    #[test]
    fn udp_only_server_falls_back_and_ipv6_netids() {
        let mut f = server();
        f.ports.insert(
            (Service::Nfs, IPPROTO_TCP),
            Err(RpcError::ProgNotRegistered),
        );
        let (mut n, mut m) = (nfs(), mnt());
        probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap();
        assert_eq!(n.prot, IPPROTO_UDP);
        let mut o = OptList::parse("nolock,addr=::1").unwrap();
        construct_new_options(&mut o, &n, true, &m, true);
        assert_eq!(
            o.join(),
            "nolock,addr=::1,vers=3,proto=udp6,mountvers=3,mountproto=udp6,mountport=20048"
        );
    }

    #[test]
    fn refused_rpcbind_stops_at_once() {
        let mut f = server();
        f.ports.insert(
            (Service::Nfs, IPPROTO_TCP),
            Err(RpcError::CantConnect(Errno::ECONNREFUSED)),
        );
        f.ports.insert(
            (Service::Nfs, IPPROTO_UDP),
            Err(RpcError::CantRecv(Errno::ECONNREFUSED)),
        );
        let (mut n, mut m) = (nfs(), mnt());
        let e = probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap_err();
        // CANTRECV lets the next protocol be tried; both refuse.
        assert_eq!(f.log, ["getport Nfs 6", "getport Nfs 17"]);
        assert_eq!(e.errno(), Errno::ECONNREFUSED);
    }

    #[test]
    fn nfs_tcp_ping_refused_or_connect_timeout_does_not_fall_back_to_udp() {
        for errno in [Errno::ECONNREFUSED, Errno::ETIMEDOUT] {
            let mut f = server();
            f.pings.insert(
                (Service::Nfs, IPPROTO_TCP),
                Err(RpcError::CantConnect(errno)),
            );
            let (mut n, mut m) = (nfs(), mnt());
            let e = probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap_err();
            assert_eq!(f.log, ["getport Nfs 6", "ping Nfs 6 2049"], "{errno}");
            assert_eq!(e.errno(), errno);
        }
    }

    #[test]
    fn nfs_tcp_ping_without_reply_still_tries_udp() {
        // A connected TCP ping that gets no answer is RPC_TIMEDOUT: next protocol.
        let mut f = server();
        f.pings
            .insert((Service::Nfs, IPPROTO_TCP), Err(RpcError::TimedOut));
        let (mut n, mut m) = (nfs(), mnt());
        probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap();
        assert_eq!(n.prot, IPPROTO_UDP);
    }

    #[test]
    fn error_mapping() {
        let m = |e: RpcError| ProbeError::Rpc(e).errno();
        assert_eq!(m(RpcError::ProgNotRegistered), Errno::EOPNOTSUPP);
        assert_eq!(m(RpcError::TimedOut), Errno::ETIMEDOUT);
        assert_eq!(m(RpcError::CantConnect(Errno::ETIMEDOUT)), Errno::ETIMEDOUT);
        assert_eq!(
            m(RpcError::ProgVersMismatch { low: 2, high: 2 }),
            Errno::EPROTONOSUPPORT
        );
        assert_eq!(m(RpcError::ProgUnavail), Errno::ESPIPE);
        assert_eq!(ProbeError::V4Registered.errno(), Errno::EAGAIN);
    }

    #[test]
    fn program_unavailable_is_not_retried_on_udp() {
        let mut f = server();
        f.ports
            .insert((Service::Nfs, IPPROTO_TCP), Err(RpcError::ProgUnavail));
        let (mut n, mut m) = (nfs(), mnt());
        let e = probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap_err();
        assert_eq!(f.log.len(), 1);
        assert_eq!(e.errno(), Errno::ESPIPE);
    }

    #[test]
    fn pinned_port_mismatch_counts_as_not_registered() {
        let mut f = server();
        let mut n = Pmap {
            prog: NFS_PROGRAM,
            vers: 3,
            prot: 0,
            port: 3049,
        };
        let mut m = mnt();
        let e = probe_bothports(&mut f, &mut m, &mut n, false, false).unwrap_err();
        assert_eq!(e.errno(), Errno::EOPNOTSUPP);
    }

    #[test]
    fn checkv4_pings_nfs4_after_a_successful_probe() {
        let mut f = server();
        f.v4 = true;
        let (mut n, mut m) = (nfs(), mnt());
        assert_eq!(
            probe_bothports(&mut f, &mut m, &mut n, true, false),
            Err(ProbeError::V4Registered)
        );
        let mut f = server();
        let (mut n, mut m) = (nfs(), mnt());
        probe_bothports(&mut f, &mut m, &mut n, true, false).unwrap();
        assert!(f.log.contains(&"ping4".to_string()));
    }
}
