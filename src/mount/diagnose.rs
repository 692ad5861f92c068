//! The line after nfs-utils' error: which step failed, against what, what to check.

use super::attempt::Mounter;
use super::Request;
use crate::client::ClntStat;
use crate::error::Errno;

/// nfs-utils' `rpc_mount_errors(spec, 0, 0)` for ESPIPE.
pub fn rpc_mount_error(req: &Request, m: &Mounter) -> String {
    let head = format!(
        "{}: mount to NFS server '{}' failed: ",
        req.progname, req.spec
    );
    match &m.last_rpc_error {
        None => format!("{head}RPC Error: Failed (unspecified error)"),
        Some(e) if e.clnt_stat() == ClntStat::TimedOut => format!("{head}timed out, giving up"),
        Some(e) if e.clnt_stat() == ClntStat::SystemError => format!(
            "{head}System Error: {}",
            e.errno()
                .map(crate::error::strerror)
                .unwrap_or_else(|| "Unknown error".into())
        ),
        Some(e) => {
            let text = e.clnt_sperrno_text();
            let text = text.split_once(':').map(|(_, t)| t).unwrap_or(text);
            match e.errno() {
                Some(errno) => format!(
                    "{head}RPC Error:{text}; errno = {}",
                    crate::error::strerror(errno)
                ),
                None => format!("{head}RPC Error:{text}"),
            }
        }
    }
}

/// One line naming the failing step and what to check, or None when the
/// nfs-utils line already says it all.
pub fn diagnosis(req: &Request, m: &Mounter, e: Errno) -> Option<String> {
    if let Some(r) = &m.mountd_refusal {
        return Some(r.clone());
    }
    let host = &m.host;
    let hint = match e {
        Errno::EALREADY | Errno::EBUSY => return None,
        Errno::ECONNREFUSED => "nothing listens there: check that the NFS server (and rpcbind for NFSv3) runs and that no firewall rejects the ports",
        Errno::ETIMEDOUT => "no answer in time: check that the server is up and reachable (routing, firewall dropping packets)",
        Errno::EHOSTUNREACH | Errno::ENETUNREACH => "no route to the server: check the address and the network",
        Errno::EOPNOTSUPP => "the server does not offer this NFS version/transport: check vers= and proto= against `rpcinfo -p` on the server",
        Errno::EPROTONOSUPPORT => "version or transport not supported by the server or this kernel: try another vers= or proto=",
        Errno::EACCES => "the server refused access: check the export's client list, root squashing and sec= flavour",
        Errno::ENOENT => "the server has no such export: check the path with `showmount -e` on the server",
        Errno::EINVAL => "the kernel rejected the options: check them against nfs(5) (dmesg may say which)",
        Errno::ENODEV => "this kernel has no NFS client: load the nfs/nfsv4 modules",
        Errno::EPERM => "operation not permitted: mounting needs root",
        _ => return m.last_step.as_ref().map(|s| format!("failed step: {s}")),
    };
    let step = m
        .last_step
        .as_ref()
        .map(|s| format!("{s}; "))
        .unwrap_or_default();
    let _ = req;
    Some(format!("{step}server {host}: {hint}"))
}
