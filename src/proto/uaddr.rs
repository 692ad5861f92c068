//! Universal addresses (RFC 5665 §5.2.3): `h1.h2.h3.h4.p1.p2` for IPv4 and
//! `<ipv6-text>.p1.p2` for IPv6, the port split into high and low octet.
//!
//! Parsing is strict: exactly two trailing decimal octets (0–255, no sign, no
//! leading zeros except "0"), and a host part that is a complete dotted-quad (IPv4)
//! or a valid RFC 4291 text address without a zone (IPv6). Anything else is an error,
//! which the rpcbind client reports as libtirpc's RPC_N2AXLATEFAILURE does.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed universal address {0:?}")]
pub struct UaddrError(pub String);

/// Longest universal address accepted (an IPv6 text form plus ".255.255" fits).
pub const MAX_UADDR: usize = 64;

/// Formats a socket address as a universal address.
pub fn format(sa: &SocketAddr) -> String {
    let p = sa.port();
    format!("{}.{}.{}", sa.ip(), p >> 8, p & 0xff)
}

fn octet(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Parses a universal address strictly; see the module docs.
pub fn parse(s: &str) -> Result<SocketAddr, UaddrError> {
    let err = || UaddrError(s.chars().take(MAX_UADDR).collect());
    if s.len() > MAX_UADDR {
        return Err(err());
    }
    let mut it = s.rsplitn(3, '.');
    let lo = it.next().and_then(octet).ok_or_else(err)?;
    let hi = it.next().and_then(octet).ok_or_else(err)?;
    let host = it.next().ok_or_else(err)?;
    let port = (u16::from(hi) << 8) | u16::from(lo);
    let ip = if host.contains(':') {
        IpAddr::V6(host.parse::<Ipv6Addr>().map_err(|_| err())?)
    } else {
        let parts: Vec<&str> = host.split('.').collect();
        if parts.len() != 4 {
            return Err(err());
        }
        let mut o = [0u8; 4];
        for (i, p) in parts.iter().enumerate() {
            o[i] = octet(p).ok_or_else(err)?;
        }
        IpAddr::V4(Ipv4Addr::from(o))
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        let a: SocketAddr = "127.0.0.1:2049".parse().unwrap();
        assert_eq!(format(&a), "127.0.0.1.8.1");
        assert_eq!(parse("127.0.0.1.8.1").unwrap(), a);
        let b: SocketAddr = "[::1]:111".parse().unwrap();
        assert_eq!(format(&b), "::1.0.111");
        assert_eq!(parse("::1.0.111").unwrap(), b);
        assert_eq!(
            parse("fe80::1:2.78.80").unwrap(),
            "[fe80::1:2]:20048".parse().unwrap()
        );
    }

    #[test]
    fn strictness() {
        for bad in [
            "",
            "1.2.3.4",
            "1.2.3.4.5",
            "1.2.3.4.0.256",
            "1.2.3.4.01.1",
            "1.2.3.4.+1.1",
            "1.2.3.4.-0.1",
            "1.2.3.4.5.6.7",
            "1.2.3.0400.0.1",
            "::1.0",
            "::1%eth0.0.111",
            "::g.0.111",
            ":::1.0.111",
            "1.2.3.4.0.1 ",
            " 1.2.3.4.0.1",
            "1..3.4.0.1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn round_trip_v4(o in any::<[u8; 4]>(), port in any::<u16>()) {
            let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), port);
            prop_assert_eq!(parse(&format(&a)).unwrap(), a);
        }
        #[test]
        fn round_trip_v6(s in any::<[u16; 8]>(), port in any::<u16>()) {
            let a = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(s)), port);
            prop_assert_eq!(parse(&format(&a)).unwrap(), a);
        }
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = parse(&s);
        }
    }
}
