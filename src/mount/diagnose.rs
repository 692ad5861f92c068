//! The line after nfs-utils' error: which step failed, against what, what to check.

use super::context::{Findings, MountCtx};
use crate::error::Errno;

/// One line naming the failing step and what to check, or None when the
/// nfs-utils line already says it all.
pub fn diagnosis(ctx: &MountCtx, found: &Findings, e: Errno) -> Option<String> {
    if let Some(r) = &found.mountd_refusal {
        return Some(r.clone());
    }
    // An option value refused on the NFSv3 path: that is the cause, whatever errno
    // the fallback rules left to report.
    if let Some(o) = &found.option_error {
        return Some(o.clone());
    }
    let host = &ctx.host;
    if e == Errno::EINVAL {
        // The kernel got an option value mount.nfs does not check on this path
        // (NFSv4 passes port=, nfsprog=, mountprog= through as nfs-utils does).
        if let Err(oe) = crate::options::validate::validate(&ctx.opts) {
            return Some(option_value_hint(&ctx.opts, &oe));
        }
    }
    if e == Errno::EPERM {
        return Some(eperm_hint(ctx));
    }
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
        _ => return found.last_step.as_ref().map(|s| format!("failed step: {s}")),
    };
    let step = found
        .last_step
        .as_ref()
        .map(|s| format!("{s}; "))
        .unwrap_or_default();
    Some(format!("{step}server {host}: {hint}"))
}

/// The diagnosis for an option value mount.nfs (or the kernel) refused: which
/// option, the value given and what it accepts.
pub fn option_value_hint(opts: &crate::options::OptList, e: &crate::options::OptError) -> String {
    use crate::options::OptError;
    let shown = |key: &str| match opts.get(key) {
        Some(v) => format!("{key}={v}"),
        None => key.to_string(),
    };
    match e {
        OptError::InvalidValue(which) => {
            let key = which.trim_end_matches('=');
            let accepts = match key {
                "port" => "a port number 0-65535 (0: ask rpcbind)",
                "mountport" => "a port number 0-65535 (0: ask rpcbind)",
                "mountvers" => "1-4 (the MOUNT protocol version; 3 for NFSv3)",
                "nfsprog" | "mountprog" => {
                    "a positive RPC program number (NFSv3 only; the value is not used)"
                }
                _ => "another value (see nfs(5))",
            };
            format!("{} is not valid: {key}= takes {accepts}", shown(key))
        }
        OptError::ProtocolNotFound(v) => {
            format!("'{v}' is not a transport: use tcp, udp, rdma, tcp6, udp6 or rdma6")
        }
        other => format!("check the version options: {other}"),
    }
}

/// EPERM as root: the kernel or the server refused, not the caller's privilege
/// (non-root callers are refused before any mount(2)).
fn eperm_hint(ctx: &MountCtx) -> String {
    let o = &ctx.opts;
    let host = &ctx.host;
    if let Some(x) = o.get("xprtsec").filter(|v| *v != "none") {
        return format!(
            "server {host}: operation not permitted with xprtsec={x}: the TLS handshake failed or could not run (is tlshd running, are its certificates valid, does the server accept them?)"
        );
    }
    if let Some(sec) = o.get("sec").filter(|v| v.starts_with("krb5")) {
        return format!(
            "server {host}: operation not permitted with sec={sec}: check rpc.gssd, the keytab and that the export allows {sec}"
        );
    }
    if ctx.version.major == 4 {
        return format!(
            "server {host}: NFSv4 refused with EPERM: the export may not allow this sec= flavour (WRONGSEC; try sec=sys or what the server lists), or another client uses the same NFSv4 client id (same hostname/nfs4_unique_id; dmesg says \"clientid is in use\")"
        );
    }
    format!(
        "server {host}: the server refused the operation: check the export's options (secure/insecure ports, sec= flavour); in a container, mount(2) also needs CAP_SYS_ADMIN"
    )
}
