//! Local addresses: the NFSv4 callback address (`clientaddr=`) and the check that a
//! user-supplied one belongs to this host.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The local address the kernel would use to reach `server`: a UDP socket bound to
/// ANY:0 and connect()ed to the server (port 0). No packet is sent. When there is no
/// route, the answer is the ANY address of the server's family.
pub fn callback_address(server: &SocketAddr) -> IpAddr {
    probe_source(server).unwrap_or(match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    })
}

fn probe_source(server: &SocketAddr) -> Option<IpAddr> {
    let domain = Domain::for_address(*server);
    let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).ok()?;
    if server.is_ipv6() {
        prefer_public_source(&sock);
    }
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    sock.bind(&any.into()).ok()?;
    let mut dest = *server;
    dest.set_port(0);
    sock.connect(&dest.into()).ok()?;
    let local = sock.local_addr().ok()?.as_socket()?;
    Some(local.ip())
}

/// IPV6_ADDR_PREFERENCES = IPV6_PREFER_SRC_PUBLIC, as nfs-utils sets it.
fn prefer_public_source(sock: &Socket) {
    use std::os::fd::AsRawFd;
    const IPV6_ADDR_PREFERENCES: libc::c_int = 72;
    const IPV6_PREFER_SRC_PUBLIC: libc::c_int = 0x0002;
    let val: libc::c_int = IPV6_PREFER_SRC_PUBLIC;
    // SAFETY: setsockopt on a valid socket fd with a pointer to a live c_int and its size.
    // A failure is harmless (the kernel then uses its default preference).
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            IPV6_ADDR_PREFERENCES,
            &val as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Does `ip` belong to one of this host's interfaces?
pub fn is_local_address(ip: &IpAddr) -> bool {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return false;
    };
    for ifa in addrs {
        let Some(a) = ifa.address else { continue };
        if let Some(v4) = a.as_sockaddr_in() {
            if IpAddr::V4(v4.ip()) == *ip {
                return true;
            }
        }
        if let Some(v6) = a.as_sockaddr_in6() {
            if IpAddr::V6(v6.ip()) == *ip {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_callback_is_loopback() {
        assert_eq!(
            callback_address(&"127.0.0.1:2049".parse().unwrap()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn loopback_is_local_and_test_net_is_not() {
        assert!(is_local_address(&"127.0.0.1".parse().unwrap()));
        assert!(!is_local_address(&"192.0.2.77".parse().unwrap()));
    }
}
