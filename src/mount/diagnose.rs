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
    if let Some(h) = ctx.opts.get("xprtsec").and_then(|x| {
        let tlshd = || crate::sys::process::process_running("tlshd");
        let release = crate::sys::process::kernel_release();
        xprtsec_hint(&ctx.opts, x, e, host, release.as_deref(), tlshd)
    }) {
        return Some(h);
    }
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

/// NFS over TLS (`xprtsec=`, RFC 9289; Linux 6.5+ with tlshd from ktls-utils):
/// what the kernel refuses and why. The kernel checks the value and the
/// transport (EINVAL: "Transport does not support xprtsec" for UDP/RDMA); a
/// kernel before 6.5 does not know the option at all (EINVAL); the handshake is
/// an upcall to tlshd: with no tlshd registered the kernel's handshake
/// request fails with ESRCH (seen with Linux 6.12); a handshake that tlshd ran
/// and lost ends in EACCES, EPERM, EIO or a timeout. `tlshd` is asked only
/// when needed. nfs-utils passes the option through unchecked; so do we, and
/// explain the kernel's refusal here.
pub fn xprtsec_hint(
    opts: &crate::options::OptList,
    x: &str,
    e: Errno,
    host: &str,
    kernel_release: Option<&str>,
    tlshd_running: impl FnOnce() -> Option<bool>,
) -> Option<String> {
    if !matches!(x, "none" | "tls" | "mtls") {
        return (e == Errno::EINVAL)
            .then(|| format!("xprtsec={x} is not valid: xprtsec= takes none, tls or mtls"));
    }
    if x == "none" {
        return None;
    }
    if e == Errno::EINVAL {
        if let Some(p) = opts.get("proto").filter(|p| !p.starts_with("tcp")) {
            return Some(format!(
                "xprtsec={x} with proto={p}: the kernel runs NFS over TLS only over TCP (use proto=tcp or drop xprtsec=)"
            ));
        }
        if let Some(r) = kernel_release.filter(|r| !kernel_has_xprtsec(r)) {
            return Some(format!(
                "this kernel ({r}) has no NFS over TLS: xprtsec= needs Linux 6.5 or later"
            ));
        }
        return None;
    }
    let handshake_errno = matches!(
        e,
        Errno::EACCES
            | Errno::EPERM
            | Errno::EIO
            | Errno::ETIMEDOUT
            | Errno::ECONNREFUSED
            | Errno::ECONNRESET
            | Errno::EPROTO
            | Errno::ENOTCONN
            | Errno::EKEYREJECTED
    );
    if !handshake_errno && e != Errno::ESRCH {
        return None;
    }
    if e == Errno::ESRCH || tlshd_running() == Some(false) {
        return Some(format!(
            "server {host}: no tlshd runs on this client: the kernel hands the TLS handshake for xprtsec={x} to tlshd (ktls-utils), so the connection never came up; start tlshd (systemctl start tlshd)"
        ));
    }
    Some(format!(
        "server {host}: {e:?} with xprtsec={x}: the TLS handshake failed or was refused (check tlshd's log on both sides, its certificates and trust store{}, and that the export allows xprtsec={x})",
        if x == "mtls" { ", the client certificate" } else { "" }
    ))
}

/// EPERM from an NFSv4 mount (no `sec=krb5*`, no `xprtsec=`); `tls`: the
/// kernel could have used `xprtsec=`.
fn v4_eperm_line(host: &str, tls: bool) -> String {
    format!(
        "server {host}: NFSv4 refused with EPERM: the export may not allow this sec= flavour (WRONGSEC; try sec=sys or what the server lists){}, or another client uses the same NFSv4 client id (same hostname/nfs4_unique_id; dmesg says 'clientid is in use')",
        if tls {
            " or may admit only RPC-with-TLS clients (try xprtsec=tls or mtls)"
        } else {
            ""
        }
    )
}

/// Linux 6.5 added the NFS client's `xprtsec=` option.
fn kernel_has_xprtsec(release: &str) -> bool {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (major, minor) >= (6, 5)
}

/// EPERM as root: the kernel or the server refused, not the caller's privilege
/// (non-root callers are refused before any mount(2)).
fn eperm_hint(ctx: &MountCtx) -> String {
    let o = &ctx.opts;
    let host = &ctx.host;
    if let Some(sec) = o.get("sec").filter(|v| v.starts_with("krb5")) {
        return format!(
            "server {host}: operation not permitted with sec={sec}: check rpc.gssd, the keytab and that the export allows {sec}"
        );
    }
    if ctx.version.major == 4 {
        // Linux knfsd answers a cleartext client of an export that admits only
        // RPC-with-TLS (exports option xprtsec=tls:mtls) like a refused flavour.
        let release = crate::sys::process::kernel_release();
        let tls = release.as_deref().is_some_and(kernel_has_xprtsec);
        return v4_eperm_line(host, tls);
    }
    format!(
        "server {host}: the server refused the operation: check the export's options (secure/insecure ports, sec= flavour); in a container, mount(2) also needs CAP_SYS_ADMIN"
    )
}

#[cfg(test)]
mod xprtsec_tests {
    use super::*;
    use crate::options::OptList;

    #[test]
    fn v4_eperm_names_a_tls_only_export_only_where_the_kernel_has_xprtsec() {
        let with = v4_eperm_line("srv", true);
        assert!(
            with.contains("admit only RPC-with-TLS clients (try xprtsec=tls or mtls)"),
            "{with}"
        );
        let without = v4_eperm_line("srv", false);
        assert!(!without.contains("xprtsec"), "{without}");
        for l in [with, without] {
            assert!(
                l.contains("WRONGSEC") && l.contains("'clientid is in use'"),
                "{l}"
            );
            assert!(
                !l.contains('"'),
                "no double quotes in a diagnosis line: {l}"
            );
        }
    }

    fn hint(opts: &str, e: Errno, rel: &str, tlshd: Option<bool>) -> Option<String> {
        let o = OptList::parse(opts).unwrap();
        let x = o.get("xprtsec").unwrap().to_string();
        xprtsec_hint(&o, &x, e, "srv", Some(rel), || tlshd)
    }

    #[test]
    fn xprtsec_values_transport_and_kernel_version() {
        let h = hint("vers=4.2,xprtsec=ssl", Errno::EINVAL, "6.12.1", Some(true)).unwrap();
        assert!(h.contains("xprtsec=ssl is not valid"), "{h}");
        let h = hint(
            "vers=3,proto=udp,xprtsec=tls",
            Errno::EINVAL,
            "6.12.1",
            Some(true),
        )
        .unwrap();
        assert!(h.contains("only over TCP"), "{h}");
        let h = hint(
            "vers=4.2,xprtsec=mtls",
            Errno::EINVAL,
            "6.1.0-57-amd64",
            Some(true),
        )
        .unwrap();
        assert!(h.contains("(6.1.0-57-amd64) has no NFS over TLS"), "{h}");
        assert_eq!(
            hint("vers=4.2,xprtsec=tls", Errno::EINVAL, "6.5.0", Some(true)),
            None
        );
        assert_eq!(
            hint("vers=4.2,xprtsec=none", Errno::EACCES, "6.12", Some(false)),
            None
        );
        assert_eq!(
            hint("vers=4.2,xprtsec=tls", Errno::ENOENT, "6.12", Some(false)),
            None
        );
    }

    #[test]
    fn xprtsec_handshake_failures_name_tlshd() {
        for e in [Errno::EACCES, Errno::EPERM, Errno::EIO, Errno::ETIMEDOUT] {
            let h = hint("vers=4.2,xprtsec=tls", e, "6.12.1", Some(false)).unwrap();
            assert!(h.contains("no tlshd runs on this client"), "{e:?}: {h}");
            let h = hint("vers=4.2,xprtsec=mtls", e, "6.12.1", Some(true)).unwrap();
            assert!(h.contains("TLS handshake failed"), "{e:?}: {h}");
            assert!(h.contains("client certificate"), "{e:?}: {h}");
        }
        // the kernel's own word: no handshake agent registered
        let h = hint("vers=4.2,xprtsec=tls", Errno::ESRCH, "6.12.1", None).unwrap();
        assert!(h.contains("no tlshd runs on this client"), "{h}");
        assert_eq!(
            hint("vers=4.2,xprtsec=none", Errno::ESRCH, "6.12.1", None),
            None
        );
        // /proc unreadable: no claim about tlshd
        let h = hint("vers=4.2,xprtsec=tls", Errno::EACCES, "6.12.1", None).unwrap();
        assert!(!h.contains("no tlshd"), "{h}");
    }
}
