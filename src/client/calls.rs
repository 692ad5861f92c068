//! Typed calls: the proto codecs on top of [`Client::call`].
//!
//! The rpcbind query follows nfs-utils (support/nfs/getport.c): IPv4 uses portmap v2 GETPORT;
//! IPv6 uses rpcbind v4 GETADDR, falling back to v3 on PROG_MISMATCH (unless the
//! server's low version is above 4), PROC_UNAVAIL or PROG_UNAVAIL. A zero port or
//! empty universal address is [`RpcError::ProgNotRegistered`]; a malformed
//! universal address is [`RpcError::N2AXlateFailure`].
use super::{CallOpts, Client, Cred, Endpoint, RpcError, Transport};
use crate::proto::mount::{self, ExportEntry, FhStatus, MntRes3};
use crate::proto::portmap::{self, Mapping};
use crate::proto::{nfs, prog, rpcbind, uaddr, RPCBIND_PORT};
use crate::xdr::XdrError;
use std::net::SocketAddr;

/// What an rpcbind query asks about: a program, version and transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub prog: u32,
    pub vers: u32,
    pub prot: Transport,
}

impl Target {
    pub fn new(prog: u32, vers: u32, prot: Transport) -> Self {
        Target { prog, vers, prot }
    }
}

fn dec(e: XdrError) -> RpcError {
    RpcError::Decode(e.to_string())
}

fn enc(e: XdrError) -> RpcError {
    RpcError::CantEncodeArgs(e.to_string())
}

/// The rpcbind endpoint on `host` (port 111 unless `host` carries a port).
pub fn rpcbind_endpoint(host: SocketAddr, vers: u32, transport: Transport) -> Endpoint {
    let mut a = host;
    if a.port() == 0 {
        a.set_port(RPCBIND_PORT);
    }
    Endpoint::new(a, prog::PORTMAP, vers, transport)
}

/// The NULL procedure (a "ping") of any program.
pub fn null(c: &mut Client, ep: &Endpoint, opts: &CallOpts) -> Result<(), RpcError> {
    let r = c.call(ep, &Cred::None, 0, &[], opts)?;
    nfs::decode_void(&r).map_err(dec)
}

/// Portmap v2 GETPORT on `rpcbind` (its address, port 111 if 0) over `transport`.
pub fn pmap_getport(
    c: &mut Client,
    rpcbind: SocketAddr,
    transport: Transport,
    target: Target,
    opts: &CallOpts,
) -> Result<u16, RpcError> {
    let ep = rpcbind_endpoint(rpcbind, portmap::VERSION, transport);
    let args = portmap::encode_getport(target.prog, target.vers, target.prot.ipproto());
    let r = c.call(&ep, &Cred::None, portmap::PROC_GETPORT, &args, opts)?;
    match portmap::decode_getport_reply(&r).map_err(dec)? {
        0 => Err(RpcError::ProgNotRegistered),
        p => Ok(p),
    }
}

/// Portmap v2 DUMP.
pub fn pmap_dump(
    c: &mut Client,
    rpcbind: SocketAddr,
    transport: Transport,
    opts: &CallOpts,
) -> Result<Vec<Mapping>, RpcError> {
    let ep = rpcbind_endpoint(rpcbind, portmap::VERSION, transport);
    let r = c.call(&ep, &Cred::None, portmap::PROC_DUMP, &[], opts)?;
    portmap::decode_dump_reply(&r).map_err(dec)
}

/// rpcbind GETADDR with one version (3 or 4); returns the service address.
pub fn rpcb_getaddr_vers(
    c: &mut Client,
    rpcbind: SocketAddr,
    rpcb_vers: u32,
    transport: Transport,
    target: Target,
    opts: &CallOpts,
) -> Result<SocketAddr, RpcError> {
    let ep = rpcbind_endpoint(rpcbind, rpcb_vers, transport);
    let q = rpcbind::Rpcb {
        prog: target.prog,
        vers: target.vers,
        netid: rpcbind::netid(target.prot.is_tcp(), &ep.addr).to_string(),
        addr: uaddr::format(&ep.addr),
        owner: String::new(),
    };
    let r = c.call(&ep, &Cred::None, rpcbind::PROC_GETADDR, &q.encode(), opts)?;
    let s = rpcbind::decode_getaddr_reply(&r).map_err(dec)?;
    if s.is_empty() {
        return Err(RpcError::ProgNotRegistered);
    }
    uaddr::parse(&s).map_err(|_| RpcError::N2AXlateFailure(s))
}

/// rpcbind GETADDR v4, then v3 where nfs-utils falls back.
pub fn rpcb_getaddr(
    c: &mut Client,
    rpcbind: SocketAddr,
    transport: Transport,
    target: Target,
    opts: &CallOpts,
) -> Result<SocketAddr, RpcError> {
    let v4 = rpcb_getaddr_vers(c, rpcbind, rpcbind::VERSION4, transport, target, opts);
    match v4 {
        Err(RpcError::ProgVersMismatch { low, .. }) if low <= rpcbind::VERSION4 => {}
        Err(RpcError::ProgVersMismatch { .. }) => return v4,
        Err(RpcError::ProcUnavail | RpcError::ProgUnavail) => {}
        other => return other,
    }
    rpcb_getaddr_vers(c, rpcbind, rpcbind::VERSION3, transport, target, opts)
}

/// nfs-utils' port query: portmap v2 for IPv4, rpcbind v4/v3 for IPv6. The query
/// travels over `target.prot`, the transport of the service being probed.
pub fn getport(
    c: &mut Client,
    server: SocketAddr,
    target: Target,
    opts: &CallOpts,
) -> Result<u16, RpcError> {
    if server.is_ipv4() {
        pmap_getport(c, server, target.prot, target, opts)
    } else {
        rpcb_getaddr(c, server, target.prot, target, opts).map(|a| a.port())
    }
}

/// Sends the rpcbind query [`getport`] would send, now, without waiting
/// (IPv4 portmap GETPORT only): the later identical [`getport`] then waits
/// for this send's reply, so several queries of one mount share a round
/// trip (pipelined on one connection per transport). True if sent or taken
/// care of by the backend.
pub fn getport_ahead(c: &mut Client, server: SocketAddr, target: Target, opts: &CallOpts) -> bool {
    if !server.is_ipv4() {
        return false;
    }
    let ep = rpcbind_endpoint(server, portmap::VERSION, target.prot);
    let args = portmap::encode_getport(target.prog, target.vers, target.prot.ipproto());
    c.send_ahead(&ep, &Cred::None, portmap::PROC_GETPORT, &args, opts)
}

/// MOUNT v3 MNT.
pub fn mnt3(
    c: &mut Client,
    ep: &Endpoint,
    cred: &Cred,
    path: &str,
    opts: &CallOpts,
) -> Result<MntRes3, RpcError> {
    let args = mount::encode_dirpath(path).map_err(enc)?;
    let r = c.call(ep, cred, mount::PROC_MNT, &args, opts)?;
    MntRes3::decode(&r).map_err(dec)
}

/// MOUNT v1 MNT.
pub fn mnt1(
    c: &mut Client,
    ep: &Endpoint,
    cred: &Cred,
    path: &str,
    opts: &CallOpts,
) -> Result<FhStatus, RpcError> {
    let args = mount::encode_dirpath(path).map_err(enc)?;
    let r = c.call(ep, cred, mount::PROC_MNT, &args, opts)?;
    FhStatus::decode(&r).map_err(dec)
}

/// MOUNT UMNT (void result), any version.
pub fn umnt(
    c: &mut Client,
    ep: &Endpoint,
    cred: &Cred,
    path: &str,
    opts: &CallOpts,
) -> Result<(), RpcError> {
    let args = mount::encode_dirpath(path).map_err(enc)?;
    let r = c.call(ep, cred, mount::PROC_UMNT, &args, opts)?;
    nfs::decode_void(&r).map_err(dec)
}

/// MOUNT UMNTALL (void result).
pub fn umntall(
    c: &mut Client,
    ep: &Endpoint,
    cred: &Cred,
    opts: &CallOpts,
) -> Result<(), RpcError> {
    let r = c.call(ep, cred, mount::PROC_UMNTALL, &[], opts)?;
    nfs::decode_void(&r).map_err(dec)
}

/// MOUNT EXPORT: the export list with groups.
pub fn export(
    c: &mut Client,
    ep: &Endpoint,
    opts: &CallOpts,
) -> Result<Vec<ExportEntry>, RpcError> {
    let r = c.call(ep, &Cred::None, mount::PROC_EXPORT, &[], opts)?;
    mount::decode_export_reply(&r).map_err(dec)
}

/// NFS NULL for version 3 or 4.
pub fn nfs_null(
    c: &mut Client,
    addr: SocketAddr,
    vers: u32,
    transport: Transport,
    opts: &CallOpts,
) -> Result<(), RpcError> {
    null(c, &Endpoint::new(addr, prog::NFS, vers, transport), opts)
}
