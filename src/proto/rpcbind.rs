//! rpcbind versions 3 and 4 (RFC 1833 §2): GETADDR, the IPv6 port lookup.
//!
//! The argument is an `rpcb` (program, version, netid, universal address, owner);
//! the result is a universal-address string, empty meaning "not registered".
//! GETADDR has procedure number 3 in both versions.
#![forbid(unsafe_code)]

use super::uaddr;
use crate::xdr::{Decoder, Encoder, XdrError};
use std::net::SocketAddr;

pub const VERSION3: u32 = 3;
pub const VERSION4: u32 = 4;
pub const PROC_NULL: u32 = 0;
pub const PROC_GETADDR: u32 = 3;

/// Caps on the rpcb strings (netids are short; owners are user names).
pub const MAX_NETID: usize = 32;
pub const MAX_OWNER: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpcb {
    pub prog: u32,
    pub vers: u32,
    /// "tcp", "udp", "tcp6", "udp6".
    pub netid: String,
    /// Universal address (of the server's rpcbind endpoint for GETADDR queries).
    pub addr: String,
    pub owner: String,
}

impl Rpcb {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(self.prog)
            .u32(self.vers)
            .string(&self.netid)
            .string(&self.addr)
            .string(&self.owner);
        e.into_bytes()
    }
    pub fn decode(b: &[u8]) -> Result<Self, XdrError> {
        let mut d = Decoder::new(b);
        let r = Rpcb {
            prog: d.u32()?,
            vers: d.u32()?,
            netid: d.string(MAX_NETID)?,
            addr: d.string(uaddr::MAX_UADDR)?,
            owner: d.string(MAX_OWNER)?,
        };
        d.finish()?;
        Ok(r)
    }
}

/// The netid naming `transport` over the family of `addr`.
pub fn netid(tcp: bool, addr: &SocketAddr) -> &'static str {
    match (tcp, addr.is_ipv6()) {
        (true, false) => "tcp",
        (false, false) => "udp",
        (true, true) => "tcp6",
        (false, true) => "udp6",
    }
}

/// GETADDR result as the raw universal-address string (possibly empty).
pub fn decode_getaddr_reply(b: &[u8]) -> Result<String, XdrError> {
    let mut d = Decoder::new(b);
    let s = d.string(uaddr::MAX_UADDR)?;
    d.finish()?;
    Ok(s)
}

pub fn encode_getaddr_reply(uaddr: &str) -> Vec<u8> {
    let mut e = Encoder::new();
    e.string(uaddr);
    e.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn netids() {
        let v4: SocketAddr = "1.2.3.4:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert_eq!(netid(true, &v4), "tcp");
        assert_eq!(netid(false, &v6), "udp6");
    }

    #[test]
    fn oversized_reply_refused() {
        let mut e = Encoder::new();
        e.u32(0x7fff_ffff);
        assert!(decode_getaddr_reply(e.as_slice()).is_err());
    }

    proptest! {
        #[test]
        fn rpcb_round_trip(prog in any::<u32>(), vers in any::<u32>(), netid in "[a-z0-9]{0,8}",
                           addr in "[0-9a-f:.]{0,64}", owner in "[a-z0-9]{0,32}") {
            let r = Rpcb { prog, vers, netid, addr, owner };
            prop_assert_eq!(Rpcb::decode(&r.encode()).unwrap(), r);
        }
        #[test]
        fn reply_round_trip(s in "[0-9a-f:.]{0,64}") {
            prop_assert_eq!(decode_getaddr_reply(&encode_getaddr_reply(&s)).unwrap(), s);
        }
    }
}
