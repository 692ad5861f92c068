//! Portmapper version 2 (RFC 1833 §3): the IPv4 port lookup nfs-utils uses.
//!
//! GETPORT answers a port number (0 = not registered); DUMP answers the whole
//! mapping list as an XDR optional-data linked list, which we cap at
//! [`MAX_DUMP_ENTRIES`] entries.
#![forbid(unsafe_code)]

use crate::xdr::{Decoder, Encoder, XdrError};

pub const VERSION: u32 = 2;
pub const PROC_NULL: u32 = 0;
pub const PROC_SET: u32 = 1;
pub const PROC_UNSET: u32 = 2;
pub const PROC_GETPORT: u32 = 3;
pub const PROC_DUMP: u32 = 4;

/// Most entries accepted in a DUMP reply.
pub const MAX_DUMP_ENTRIES: usize = 4096;

/// One (program, version, protocol, port) registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mapping {
    pub prog: u32,
    pub vers: u32,
    /// IPPROTO_TCP (6) or IPPROTO_UDP (17).
    pub prot: u32,
    pub port: u32,
}

impl Mapping {
    pub fn encode(&self, e: &mut Encoder) {
        e.u32(self.prog)
            .u32(self.vers)
            .u32(self.prot)
            .u32(self.port);
    }
    pub fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Mapping {
            prog: d.u32()?,
            vers: d.u32()?,
            prot: d.u32()?,
            port: d.u32()?,
        })
    }
}

/// GETPORT arguments (the port field is ignored by servers; we send 0).
pub fn encode_getport(prog: u32, vers: u32, prot: u32) -> Vec<u8> {
    let mut e = Encoder::with_capacity(16);
    Mapping {
        prog,
        vers,
        prot,
        port: 0,
    }
    .encode(&mut e);
    e.into_bytes()
}

/// GETPORT result: the port, 0 meaning "not registered". Values above 65535 are
/// malformed.
pub fn decode_getport_reply(b: &[u8]) -> Result<u16, XdrError> {
    let mut d = Decoder::new(b);
    let p = d.u32()?;
    d.finish()?;
    u16::try_from(p).map_err(|_| XdrError::Invalid("GETPORT reply port above 65535"))
}

pub fn encode_getport_reply(port: u16) -> Vec<u8> {
    let mut e = Encoder::new();
    e.u32(u32::from(port));
    e.into_bytes()
}

pub fn encode_dump_reply(list: &[Mapping]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(4 + 20 * list.len());
    for m in list {
        e.bool(true);
        m.encode(&mut e);
    }
    e.bool(false);
    e.into_bytes()
}

pub fn decode_dump_reply(b: &[u8]) -> Result<Vec<Mapping>, XdrError> {
    let mut d = Decoder::new(b);
    let mut out = Vec::new();
    while d.bool()? {
        if out.len() == MAX_DUMP_ENTRIES {
            return Err(XdrError::Invalid("DUMP reply has too many entries"));
        }
        out.push(Mapping::decode(&mut d)?);
    }
    d.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn getport_bytes() {
        assert_eq!(
            encode_getport(100003, 3, 6),
            [0, 1, 0x86, 0xa3, 0, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0, 0]
        );
        assert_eq!(decode_getport_reply(&[0, 0, 8, 1]), Ok(2049));
        assert!(decode_getport_reply(&[0, 1, 0, 0]).is_err());
        assert!(decode_getport_reply(&[0, 0, 8, 1, 0]).is_err());
    }

    proptest! {
        #[test]
        fn dump_round_trip(v in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()), 0..20)) {
            let list: Vec<Mapping> = v.into_iter().map(|(prog, vers, prot, port)| Mapping { prog, vers, prot, port }).collect();
            prop_assert_eq!(decode_dump_reply(&encode_dump_reply(&list)).unwrap(), list);
        }
        #[test]
        fn getport_round_trip(p in any::<u16>()) {
            prop_assert_eq!(decode_getport_reply(&encode_getport_reply(p)).unwrap(), p);
        }
    }
}
