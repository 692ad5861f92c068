//! Sans-IO codecs for the RPC programs mount.nfs talks to.
//!
//! * [`portmap`]: portmapper v2 (NULL, GETPORT, DUMP) — IPv4 rpcbind queries.
//! * [`rpcbind`]: rpcbind v3/v4 GETADDR and universal addresses ([`uaddr`]).
//! * [`mount`]: MOUNT v1 and v3 (NULL, MNT, UMNT, UMNTALL, EXPORT), mountstat3.
//! * [`nfs`]: NFS v3/v4 NULL (the "ping").
//!
//! Each module encodes arguments into XDR bytes and decodes result bytes (the body
//! of an accepted-SUCCESS reply) with capped lengths. The typed calls that put these
//! on the wire live in `client::calls`, so this layer stays free of I/O.
#![forbid(unsafe_code)]

pub mod mount;
pub mod nfs;
pub mod portmap;
pub mod rpcbind;
pub mod uaddr;

/// Well-known RPC program numbers.
pub mod prog {
    pub const PORTMAP: u32 = 100_000;
    pub const NFS: u32 = 100_003;
    pub const MOUNT: u32 = 100_005;
    pub const NLM: u32 = 100_021;
    pub const STATUS: u32 = 100_024;
}

/// IP protocol numbers as portmap v2 uses them.
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;

/// The rpcbind/portmapper well-known port.
pub const RPCBIND_PORT: u16 = 111;
