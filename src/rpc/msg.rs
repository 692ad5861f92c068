//! RPC call and reply messages (RFC 5531 §9).
//!
//! A call is a [`CallHeader`] followed by the procedure's already-encoded arguments;
//! a reply is a [`Reply`] whose accepted-SUCCESS arm carries the procedure's encoded
//! results. Procedure bodies are opaque here: the `proto` codecs give them meaning.
#![forbid(unsafe_code)]

use super::auth::{Credential, OpaqueAuth};
use crate::rpc::AuthStat;
use crate::xdr::{Decoder, Encoder, XdrError};
use thiserror::Error;

pub const RPC_VERSION: u32 = 2;
pub const MSG_CALL: u32 = 0;
pub const MSG_REPLY: u32 = 1;
const MSG_ACCEPTED: u32 = 0;
const MSG_DENIED: u32 = 1;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpcDecodeError {
    #[error(transparent)]
    Xdr(#[from] XdrError),
    #[error("RPC: expected a {expected} message, got msg_type {got}")]
    WrongMsgType { expected: &'static str, got: u32 },
    #[error("RPC: call has RPC version {0}, not 2")]
    BadRpcVersion(u32),
}

/// The fixed part of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc_: u32,
    pub cred: Credential,
    pub verf: OpaqueAuth,
}

/// Encodes a complete call message (header + `args`).
pub fn encode_call(h: &CallHeader, args: &[u8]) -> Result<Vec<u8>, XdrError> {
    let mut e = Encoder::with_capacity(64 + args.len());
    e.u32(h.xid)
        .u32(MSG_CALL)
        .u32(RPC_VERSION)
        .u32(h.prog)
        .u32(h.vers)
        .u32(h.proc_);
    h.cred.to_opaque()?.encode(&mut e)?;
    h.verf.encode(&mut e)?;
    e.raw(args);
    Ok(e.into_bytes())
}

/// Decodes a call; returns the header and the argument bytes.
pub fn decode_call(buf: &[u8]) -> Result<(CallHeader, &[u8]), RpcDecodeError> {
    let mut d = Decoder::new(buf);
    let xid = d.u32()?;
    let mt = d.u32()?;
    if mt != MSG_CALL {
        return Err(RpcDecodeError::WrongMsgType {
            expected: "call",
            got: mt,
        });
    }
    let rv = d.u32()?;
    if rv != RPC_VERSION {
        return Err(RpcDecodeError::BadRpcVersion(rv));
    }
    let prog = d.u32()?;
    let vers = d.u32()?;
    let proc_ = d.u32()?;
    let cred = Credential::from_opaque(OpaqueAuth::decode(&mut d)?)?;
    let verf = OpaqueAuth::decode(&mut d)?;
    Ok((
        CallHeader {
            xid,
            prog,
            vers,
            proc_,
            cred,
            verf,
        },
        d.rest(),
    ))
}

/// Outcome of an accepted call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptStat {
    /// The procedure ran; its encoded results follow.
    Success(Vec<u8>),
    ProgUnavail,
    ProgMismatch {
        low: u32,
        high: u32,
    },
    ProcUnavail,
    GarbageArgs,
    SystemErr,
}

/// Why a call was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectStat {
    RpcMismatch { low: u32, high: u32 },
    AuthError(AuthStat),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    Accepted { verf: OpaqueAuth, stat: AcceptStat },
    Denied(RejectStat),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub xid: u32,
    pub body: ReplyBody,
}

impl Reply {
    pub fn encode(&self) -> Result<Vec<u8>, XdrError> {
        let mut e = Encoder::new();
        e.u32(self.xid).u32(MSG_REPLY);
        match &self.body {
            ReplyBody::Accepted { verf, stat } => {
                e.u32(MSG_ACCEPTED);
                verf.encode(&mut e)?;
                match stat {
                    AcceptStat::Success(r) => e.u32(0).raw(r),
                    AcceptStat::ProgUnavail => e.u32(1),
                    AcceptStat::ProgMismatch { low, high } => e.u32(2).u32(*low).u32(*high),
                    AcceptStat::ProcUnavail => e.u32(3),
                    AcceptStat::GarbageArgs => e.u32(4),
                    AcceptStat::SystemErr => e.u32(5),
                };
            }
            ReplyBody::Denied(r) => {
                e.u32(MSG_DENIED);
                match r {
                    RejectStat::RpcMismatch { low, high } => e.u32(0).u32(*low).u32(*high),
                    RejectStat::AuthError(s) => e.u32(1).u32(s.0),
                };
            }
        }
        Ok(e.into_bytes())
    }

    /// Decodes a whole reply message. Trailing bytes are allowed only as SUCCESS
    /// results (everything after the header belongs to the procedure).
    pub fn decode(buf: &[u8]) -> Result<Reply, RpcDecodeError> {
        let mut d = Decoder::new(buf);
        let xid = d.u32()?;
        let mt = d.u32()?;
        if mt != MSG_REPLY {
            return Err(RpcDecodeError::WrongMsgType {
                expected: "reply",
                got: mt,
            });
        }
        let body = match d.u32()? {
            MSG_ACCEPTED => {
                let verf = OpaqueAuth::decode(&mut d)?;
                let stat = match d.u32()? {
                    0 => AcceptStat::Success(d.rest().to_vec()),
                    1 => AcceptStat::ProgUnavail,
                    2 => AcceptStat::ProgMismatch {
                        low: d.u32()?,
                        high: d.u32()?,
                    },
                    3 => AcceptStat::ProcUnavail,
                    4 => AcceptStat::GarbageArgs,
                    5 => AcceptStat::SystemErr,
                    v => {
                        return Err(XdrError::BadEnum {
                            what: "accept_stat",
                            value: v,
                        }
                        .into())
                    }
                };
                if !matches!(stat, AcceptStat::Success(_)) {
                    d.finish()?;
                }
                ReplyBody::Accepted { verf, stat }
            }
            MSG_DENIED => {
                let r = match d.u32()? {
                    0 => RejectStat::RpcMismatch {
                        low: d.u32()?,
                        high: d.u32()?,
                    },
                    1 => RejectStat::AuthError(AuthStat(d.u32()?)),
                    v => {
                        return Err(XdrError::BadEnum {
                            what: "reject_stat",
                            value: v,
                        }
                        .into())
                    }
                };
                d.finish()?;
                ReplyBody::Denied(r)
            }
            v => {
                return Err(XdrError::BadEnum {
                    what: "reply_stat",
                    value: v,
                }
                .into())
            }
        };
        Ok(Reply { xid, body })
    }
}

/// The xid of a message, if it has at least 4 bytes (for cheap reply matching).
pub fn peek_xid(buf: &[u8]) -> Option<u32> {
    buf.get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rpc::auth::AuthSys;
    use proptest::prelude::*;

    pub fn arb_opaque_auth() -> impl Strategy<Value = OpaqueAuth> {
        (2u32..10, proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(flavor, body)| OpaqueAuth { flavor, body })
    }

    pub fn arb_cred() -> impl Strategy<Value = Credential> {
        prop_oneof![
            Just(Credential::None),
            crate::rpc::auth::tests::arb_auth_sys().prop_map(Credential::Sys),
            arb_opaque_auth().prop_map(Credential::Other),
        ]
    }

    pub fn arb_reply() -> impl Strategy<Value = Reply> {
        let accept = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(AcceptStat::Success),
            Just(AcceptStat::ProgUnavail),
            (any::<u32>(), any::<u32>())
                .prop_map(|(low, high)| AcceptStat::ProgMismatch { low, high }),
            Just(AcceptStat::ProcUnavail),
            Just(AcceptStat::GarbageArgs),
            Just(AcceptStat::SystemErr),
        ];
        let body = prop_oneof![
            (arb_opaque_auth(), accept).prop_map(|(verf, stat)| ReplyBody::Accepted { verf, stat }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(low, high)| ReplyBody::Denied(RejectStat::RpcMismatch { low, high })),
            any::<u32>().prop_map(|s| ReplyBody::Denied(RejectStat::AuthError(AuthStat(s)))),
        ];
        (any::<u32>(), body).prop_map(|(xid, body)| Reply { xid, body })
    }

    #[test]
    fn known_call_bytes() {
        let h = CallHeader {
            xid: 0x01020304,
            prog: 100000,
            vers: 2,
            proc_: 3,
            cred: Credential::Sys(AuthSys {
                stamp: 9,
                machine: "ab".into(),
                uid: 0,
                gid: 0,
                gids: vec![0],
            }),
            verf: OpaqueAuth::none(),
        };
        let b = encode_call(&h, &[0, 0, 0, 7]).unwrap();
        assert_eq!(&b[..4], &[1, 2, 3, 4]);
        assert_eq!(&b[4..8], &[0, 0, 0, 0]); // CALL
        assert_eq!(&b[8..12], &[0, 0, 0, 2]); // rpcvers
        assert_eq!(&b[24..28], &[0, 0, 0, 1]); // AUTH_SYS
        assert_eq!(&b[28..32], &[0, 0, 0, 28]); // body length: 4+8+4+4+4+4
        let (h2, args) = decode_call(&b).unwrap();
        assert_eq!(h2, h);
        assert_eq!(args, &[0, 0, 0, 7]);
    }

    #[test]
    fn reply_rejects_bad_discriminants() {
        let mut e = Encoder::new();
        e.u32(1).u32(1).u32(0).u32(0).u32(0).u32(6);
        assert!(matches!(
            Reply::decode(e.as_slice()),
            Err(RpcDecodeError::Xdr(XdrError::BadEnum { .. }))
        ));
        let mut e = Encoder::new();
        e.u32(1).u32(0);
        assert!(matches!(
            Reply::decode(e.as_slice()),
            Err(RpcDecodeError::WrongMsgType { .. })
        ));
    }

    proptest! {
        #[test]
        fn call_round_trip(xid in any::<u32>(), prog in any::<u32>(), vers in any::<u32>(),
                           p in any::<u32>(), cred in arb_cred(), verf in arb_opaque_auth(),
                           args in proptest::collection::vec(any::<u8>(), 0..64)) {
            let h = CallHeader { xid, prog, vers, proc_: p, cred, verf };
            let b = encode_call(&h, &args).unwrap();
            let (h2, a2) = decode_call(&b).unwrap();
            prop_assert_eq!(h2, h);
            prop_assert_eq!(a2, &args[..]);
        }

        #[test]
        fn reply_round_trip(r in arb_reply()) {
            let b = r.encode().unwrap();
            prop_assert_eq!(Reply::decode(&b).unwrap(), r);
        }

        #[test]
        fn reply_decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Reply::decode(&b);
            let _ = decode_call(&b);
        }
    }
}
