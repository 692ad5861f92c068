//! RPC authentication: the opaque_auth wire form, AUTH_NONE and AUTH_SYS bodies, and
//! the auth_stat values a server may reject a call with.
//!
//! AUTH_SYS limits (RFC 5531 appendix A): machine name at most 255 bytes, at most 16
//! supplementary gids, and any opaque_auth body at most 400 bytes. They are enforced
//! both when encoding (a typed error instead of an over-long credential on the wire)
//! and when decoding.
#![forbid(unsafe_code)]

use crate::xdr::{Decoder, Encoder, XdrError};

pub const AUTH_NONE: u32 = 0;
pub const AUTH_SYS: u32 = 1;
pub const AUTH_SHORT: u32 = 2;
pub const AUTH_DH: u32 = 3;
pub const RPCSEC_GSS: u32 = 6;

/// Largest opaque_auth body the protocol allows.
pub const MAX_AUTH_BODY: usize = 400;
/// Largest AUTH_SYS machine name.
pub const MAX_MACHINE_NAME: usize = 255;
/// Most supplementary gids in an AUTH_SYS credential.
pub const MAX_GIDS: usize = 16;

/// A credential or verifier as it travels: flavour plus opaque body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpaqueAuth {
    pub flavor: u32,
    pub body: Vec<u8>,
}

impl OpaqueAuth {
    /// The AUTH_NONE verifier/credential (flavour 0, empty body).
    pub fn none() -> Self {
        OpaqueAuth::default()
    }
    pub fn encode(&self, e: &mut Encoder) -> Result<(), XdrError> {
        if self.body.len() > MAX_AUTH_BODY {
            return Err(XdrError::TooLong {
                len: self.body.len() as u64,
                max: MAX_AUTH_BODY,
            });
        }
        e.u32(self.flavor).opaque(&self.body);
        Ok(())
    }
    pub fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let flavor = d.u32()?;
        let body = d.opaque(MAX_AUTH_BODY)?;
        Ok(OpaqueAuth { flavor, body })
    }
}

/// The AUTH_SYS (a.k.a. AUTH_UNIX) credential body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSys {
    pub stamp: u32,
    pub machine: String,
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

impl AuthSys {
    /// Checks the protocol limits.
    pub fn validate(&self) -> Result<(), XdrError> {
        if self.machine.len() > MAX_MACHINE_NAME {
            return Err(XdrError::TooLong {
                len: self.machine.len() as u64,
                max: MAX_MACHINE_NAME,
            });
        }
        if self.gids.len() > MAX_GIDS {
            return Err(XdrError::TooLong {
                len: self.gids.len() as u64,
                max: MAX_GIDS,
            });
        }
        Ok(())
    }
    pub fn encode_body(&self) -> Result<Vec<u8>, XdrError> {
        self.validate()?;
        let mut e = Encoder::with_capacity(20 + self.machine.len() + 4 * self.gids.len());
        e.u32(self.stamp)
            .string(&self.machine)
            .u32(self.uid)
            .u32(self.gid)
            .u32(self.gids.len() as u32);
        for g in &self.gids {
            e.u32(*g);
        }
        Ok(e.into_bytes())
    }
    /// Decodes a complete AUTH_SYS body (no trailing bytes allowed). The machine name
    /// must be UTF-8 (host names are ASCII); anything else is a bad credential.
    pub fn decode_body(body: &[u8]) -> Result<Self, XdrError> {
        let mut d = Decoder::new(body);
        let stamp = d.u32()?;
        let machine = d.string(MAX_MACHINE_NAME)?;
        let uid = d.u32()?;
        let gid = d.u32()?;
        let n = d.array_len(MAX_GIDS, 4)?;
        let mut gids = Vec::with_capacity(n);
        for _ in 0..n {
            gids.push(d.u32()?);
        }
        d.finish()?;
        Ok(AuthSys {
            stamp,
            machine,
            uid,
            gid,
            gids,
        })
    }
}

/// A call's credential, typed where we understand the flavour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Sys(AuthSys),
    /// Any other flavour, carried opaquely.
    Other(OpaqueAuth),
}

impl Credential {
    pub fn to_opaque(&self) -> Result<OpaqueAuth, XdrError> {
        Ok(match self {
            Credential::None => OpaqueAuth::none(),
            Credential::Sys(s) => OpaqueAuth {
                flavor: AUTH_SYS,
                body: s.encode_body()?,
            },
            Credential::Other(o) => o.clone(),
        })
    }
    pub fn from_opaque(o: OpaqueAuth) -> Result<Self, XdrError> {
        Ok(match o.flavor {
            AUTH_NONE if o.body.is_empty() => Credential::None,
            AUTH_SYS => Credential::Sys(AuthSys::decode_body(&o.body)?),
            _ => Credential::Other(o),
        })
    }
}

/// Why a server rejected a call's authentication (auth_stat). Kept as a number so
/// that values from newer RFCs survive; [`AuthStat::text`] names the known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthStat(pub u32);

impl AuthStat {
    pub const OK: AuthStat = AuthStat(0);
    pub const BADCRED: AuthStat = AuthStat(1);
    pub const REJECTEDCRED: AuthStat = AuthStat(2);
    pub const BADVERF: AuthStat = AuthStat(3);
    pub const REJECTEDVERF: AuthStat = AuthStat(4);
    pub const TOOWEAK: AuthStat = AuthStat(5);
    pub const INVALIDRESP: AuthStat = AuthStat(6);
    pub const FAILED: AuthStat = AuthStat(7);
    pub const GSS_CREDPROBLEM: AuthStat = AuthStat(13);
    pub const GSS_CTXPROBLEM: AuthStat = AuthStat(14);

    /// The text libtirpc's `clnt_sperror` prints after "why = " (None if unknown).
    pub fn text(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Authentication OK",
            1 => "Invalid client credential",
            2 => "Server rejected credential",
            3 => "Invalid client verifier",
            4 => "Server rejected verifier",
            5 => "Client credential too weak",
            6 => "Invalid server verifier",
            7 => "Failed (unspecified error)",
            _ => return None,
        })
    }
}

/// Checks the verifier of an accepted reply to one of our calls. We only send
/// AUTH_NONE and AUTH_SYS credentials, to which a server answers with an AUTH_NONE
/// verifier (or AUTH_SHORT, a shorthand for later AUTH_SYS calls that we do not use;
/// some servers echo AUTH_SYS). Any other flavour (RPCSEC_GSS, AUTH_DH, garbage) is
/// a server we did not talk to: "Invalid server verifier" (INVALIDRESP). The body is
/// already bounded by [`OpaqueAuth::decode`] (at most [`MAX_AUTH_BODY`] bytes, else
/// the reply does not decode). libtirpc's AUTH_NONE/AUTH_SYS validators accept
/// any verifier (docs/differences.md).
pub fn check_reply_verifier(v: &OpaqueAuth) -> Result<(), AuthStat> {
    match v.flavor {
        AUTH_NONE | AUTH_SYS | AUTH_SHORT if v.body.len() <= MAX_AUTH_BODY => Ok(()),
        _ => Err(AuthStat::INVALIDRESP),
    }
}

impl std::fmt::Display for AuthStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.text() {
            Some(t) => f.write_str(t),
            None => write!(f, "(unknown authentication error - {})", self.0),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reply_verifiers_checked() {
        let v = |flavor, n| OpaqueAuth {
            flavor,
            body: vec![0; n],
        };
        assert_eq!(check_reply_verifier(&OpaqueAuth::none()), Ok(()));
        assert_eq!(check_reply_verifier(&v(AUTH_SHORT, 8)), Ok(()));
        assert_eq!(check_reply_verifier(&v(AUTH_SYS, 400)), Ok(()));
        for f in [AUTH_DH, RPCSEC_GSS, 7, u32::MAX] {
            assert_eq!(check_reply_verifier(&v(f, 0)), Err(AuthStat::INVALIDRESP));
        }
        assert_eq!(
            check_reply_verifier(&v(AUTH_NONE, 401)),
            Err(AuthStat::INVALIDRESP)
        );
    }

    #[test]
    fn limits_enforced_on_encode() {
        let mut a = AuthSys {
            machine: "m".repeat(256),
            ..Default::default()
        };
        assert!(a.encode_body().is_err());
        a.machine = "m".repeat(255);
        a.gids = vec![1; 17];
        assert!(a.encode_body().is_err());
        a.gids = vec![1; 16];
        let b = a.encode_body().unwrap();
        assert!(b.len() <= MAX_AUTH_BODY);
        assert_eq!(AuthSys::decode_body(&b).unwrap(), a);
    }

    #[test]
    fn too_many_gids_refused_on_decode() {
        let mut e = Encoder::new();
        e.u32(0).string("h").u32(0).u32(0).u32(17);
        for _ in 0..17 {
            e.u32(5);
        }
        assert!(AuthSys::decode_body(e.as_slice()).is_err());
    }

    #[test]
    fn auth_stat_texts() {
        assert_eq!(AuthStat::TOOWEAK.to_string(), "Client credential too weak");
        assert_eq!(
            AuthStat(99).to_string(),
            "(unknown authentication error - 99)"
        );
    }

    pub fn arb_auth_sys() -> impl Strategy<Value = AuthSys> {
        (
            any::<u32>(),
            "[a-z0-9.-]{0,255}",
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..=16),
        )
            .prop_map(|(stamp, machine, uid, gid, gids)| AuthSys {
                stamp,
                machine,
                uid,
                gid,
                gids,
            })
    }

    proptest! {
        #[test]
        fn auth_sys_round_trip(a in arb_auth_sys()) {
            let c = Credential::Sys(a);
            let o = c.to_opaque().unwrap();
            let mut e = Encoder::new();
            o.encode(&mut e).unwrap();
            let mut d = Decoder::new(e.as_slice());
            let back = Credential::from_opaque(OpaqueAuth::decode(&mut d).unwrap()).unwrap();
            prop_assert!(d.finish().is_ok());
            prop_assert_eq!(back, c);
        }
    }
}
