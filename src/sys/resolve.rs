//! Name resolution with getaddrinfo(3), keeping the distinctions mount.nfs needs:
//! EAI_AGAIN is temporary (retried), every other failure is permanent.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Address family filter, from `proto=`/`tcp`/`udp` (see options::netid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FamilyFilter {
    Any,
    V4,
    V6,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// EAI_AGAIN: temporary, the retry loop goes on.
    #[error("{0}")]
    Temporary(String),
    /// Any other failure: permanent. Text is gai_strerror(3).
    #[error("{0}")]
    Permanent(String),
}

/// Resolve `host` (a name or numeric address, IPv6 possibly with `%scope`).
/// Returns addresses in getaddrinfo order, port 0, duplicates removed.
pub fn resolve(host: &str, family: FamilyFilter) -> Result<Vec<SocketAddr>, ResolveError> {
    super::termination::step(&format!("resolving {host}"));
    let c_host = CString::new(host)
        .map_err(|_| ResolveError::Permanent("Name or service not known".into()))?;
    // SAFETY: addrinfo is a plain C struct; all-zero is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = match family {
        FamilyFilter::Any => libc::AF_UNSPEC,
        FamilyFilter::V4 => libc::AF_INET,
        FamilyFilter::V6 => libc::AF_INET6,
    };
    hints.ai_protocol = libc::IPPROTO_UDP;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: c_host is a valid NUL-terminated string, hints is initialised, res is an
    // out-pointer that getaddrinfo fills on success and we free with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 {
        // SAFETY: gai_strerror returns a pointer to a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err(if rc == libc::EAI_AGAIN {
            ResolveError::Temporary(text)
        } else {
            ResolveError::Permanent(text)
        });
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p is a node of the list returned by getaddrinfo, valid until freeaddrinfo.
        let ai = unsafe { &*p };
        if let Some(sa) = sockaddr_to_std(ai.ai_addr, ai.ai_family) {
            if !out.contains(&sa) {
                out.push(sa);
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from a successful getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(res) };
    if out.is_empty() {
        return Err(ResolveError::Permanent(
            "Address family for hostname not supported".into(),
        ));
    }
    Ok(out)
}

fn sockaddr_to_std(sa: *const libc::sockaddr, family: libc::c_int) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    match family {
        libc::AF_INET => {
            // SAFETY: getaddrinfo guarantees ai_addr points to a sockaddr_in for AF_INET.
            let s = unsafe { &*(sa as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(s.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: getaddrinfo guarantees ai_addr points to a sockaddr_in6 for AF_INET6.
            let s = unsafe { &*(sa as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(s.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(s.sin6_port),
                s.sin6_flowinfo,
                s.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Numeric text for `addr=`/`clientaddr=`/`mountaddr=`, as getnameinfo(NI_NUMERICHOST)
/// prints it: IPv6 link-local/scoped addresses get `%<ifname>` (or `%<index>`).
pub fn numeric_host(sa: &SocketAddr) -> String {
    match sa {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => {
            let base = v6.ip().to_string();
            if v6.scope_id() == 0 {
                base
            } else {
                match nix::net::if_::if_indextoname(v6.scope_id()) {
                    Ok(name) => format!("{base}%{}", name.to_string_lossy()),
                    Err(_) => format!("{base}%{}", v6.scope_id()),
                }
            }
        }
    }
}

/// Is `text` a numeric IPv4/IPv6 address (optionally with `%scope`)?
pub fn parse_numeric(text: &str) -> Option<IpAddr> {
    let base = text.split('%').next().unwrap_or(text);
    base.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_addresses_resolve_without_dns() {
        let v = resolve("127.0.0.1", FamilyFilter::Any).unwrap();
        assert_eq!(v, vec!["127.0.0.1:0".parse().unwrap()]);
        let v = resolve("::1", FamilyFilter::Any).unwrap();
        assert_eq!(v, vec!["[::1]:0".parse().unwrap()]);
    }

    #[test]
    fn family_mismatch_is_permanent() {
        match resolve("::1", FamilyFilter::V4) {
            Err(ResolveError::Permanent(t)) => {
                assert_eq!(t, "Address family for hostname not supported")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numeric_host_formats() {
        assert_eq!(numeric_host(&"10.1.2.3:0".parse().unwrap()), "10.1.2.3");
        assert_eq!(
            numeric_host(&"[2001:db8::1]:0".parse().unwrap()),
            "2001:db8::1"
        );
        let lo = nix::net::if_::if_nametoindex("lo").unwrap();
        let sa = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 0, 0, lo));
        assert_eq!(numeric_host(&sa), "fe80::1%lo");
    }
}
