//! Transport and address-family options (nfs-utils utils/mount/network.c: `nfs_nfs_protocol`,
//! `nfs_nfs_proto_family`, `nfs_mount_protocol`, `nfs_mount_proto_family`).
//!
//! The netids are hard-coded (`tcp`, `udp`, `tcp6`, `udp6`, `rdma`, `rdma6`): no
//! dependency on `/etc/netconfig` or `/etc/protocols`. Netid names are
//! case-sensitive, as in libtirpc.

use super::error::OptError;
use super::list::OptList;

/// Address family a transport option pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Unspec,
    Inet,
    Inet6,
}

/// NetidTransport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetidTransport {
    Tcp,
    Udp,
    Rdma,
}

/// A netid: name, transport, family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Netid {
    pub name: &'static str,
    pub transport: NetidTransport,
    pub family: Family,
}

impl Netid {
    /// IP protocol number for rpcbind queries (`IPPROTO_TCP`/`IPPROTO_UDP`); RDMA has none.
    pub fn ipproto(&self) -> Option<u32> {
        match self.transport {
            NetidTransport::Tcp => Some(6),
            NetidTransport::Udp => Some(17),
            NetidTransport::Rdma => None,
        }
    }

    /// The netid for `transport` over `family` (IPv4 for `Unspec`).
    pub fn of(transport: NetidTransport, family: Family) -> Netid {
        let v6 = family == Family::Inet6;
        let name = match (transport, v6) {
            (NetidTransport::Tcp, false) => "tcp",
            (NetidTransport::Tcp, true) => "tcp6",
            (NetidTransport::Udp, false) => "udp",
            (NetidTransport::Udp, true) => "udp6",
            (NetidTransport::Rdma, false) => "rdma",
            (NetidTransport::Rdma, true) => "rdma6",
        };
        lookup_netid(name).unwrap_or(NETIDS[0])
    }
}

/// Every netid we know.
pub const NETIDS: [Netid; 6] = [
    Netid {
        name: "tcp",
        transport: NetidTransport::Tcp,
        family: Family::Inet,
    },
    Netid {
        name: "udp",
        transport: NetidTransport::Udp,
        family: Family::Inet,
    },
    Netid {
        name: "tcp6",
        transport: NetidTransport::Tcp,
        family: Family::Inet6,
    },
    Netid {
        name: "udp6",
        transport: NetidTransport::Udp,
        family: Family::Inet6,
    },
    Netid {
        name: "rdma",
        transport: NetidTransport::Rdma,
        family: Family::Inet,
    },
    Netid {
        name: "rdma6",
        transport: NetidTransport::Rdma,
        family: Family::Inet6,
    },
];

/// Exact (case-sensitive) netid lookup.
pub fn lookup_netid(name: &str) -> Option<Netid> {
    NETIDS.iter().copied().find(|n| n.name == name)
}

const TRANSPORT_KEYS: [&str; 4] = ["udp", "tcp", "rdma", "proto"];

/// The NFS transport: the rightmost of `udp`, `tcp`, `rdma`, `proto=`.
///
/// `Ok(None)` when none is given (or the rightmost is a valueless `proto`): the probe
/// decides. An unknown `proto=` value is an error.
pub fn nfs_protocol(fs: &OptList) -> Result<Option<Netid>, OptError> {
    match fs.rightmost(&TRANSPORT_KEYS) {
        Some(0) => Ok(lookup_netid("udp")),
        Some(1) => Ok(lookup_netid("tcp")),
        Some(2) => Ok(lookup_netid("rdma")),
        Some(_) => match fs.get("proto") {
            Some(v) => lookup_netid(v)
                .map(Some)
                .ok_or_else(|| OptError::ProtocolNotFound(v.to_string())),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// The NFS address family, with no nfsmount.conf `Defaultproto`.
pub fn nfs_family(fs: &OptList) -> Result<Family, OptError> {
    nfs_family_with_default(fs, Family::Unspec)
}

/// The NFS address family: `udp`/`tcp`/`rdma` keywords force `Inet`;
/// `proto=<netid>` gives the netid's family (`tcp` → `Inet`, `tcp6` → `Inet6`);
/// otherwise `default` (the `Defaultproto` family, else `Unspec`).
pub fn nfs_family_with_default(fs: &OptList, default: Family) -> Result<Family, OptError> {
    match fs.rightmost(&TRANSPORT_KEYS) {
        Some(0..=2) => Ok(Family::Inet),
        Some(_) => match fs.get("proto") {
            Some(v) => lookup_netid(v)
                .map(|n| n.family)
                .ok_or_else(|| OptError::ProtocolNotFound(v.to_string())),
            None => Ok(default),
        },
        None => Ok(default),
    }
}

/// The MNT transport: `mountproto=` if given (returned as is, even `rdma`, which the
/// kernel rejects for MNT), else derived from the NFS transport with RDMA mapped to TCP
/// of the same family; `None` = probe.
pub fn mount_protocol(fs: &OptList) -> Result<Option<Netid>, OptError> {
    if let Some(v) = fs.get("mountproto") {
        return lookup_netid(v)
            .map(Some)
            .ok_or_else(|| OptError::ProtocolNotFound(v.to_string()));
    }
    Ok(nfs_protocol(fs)?.map(|n| match n.transport {
        NetidTransport::Rdma => Netid::of(NetidTransport::Tcp, n.family),
        _ => n,
    }))
}

/// The MNT address family: `mountproto=`'s family, else [`nfs_family_with_default`].
pub fn mount_family(fs: &OptList, default: Family) -> Result<Family, OptError> {
    match fs.get("mountproto") {
        Some(v) => lookup_netid(v)
            .map(|n| n.family)
            .ok_or_else(|| OptError::ProtocolNotFound(v.to_string())),
        None => nfs_family_with_default(fs, default),
    }
}
