//! MOUNT protocol versions 1 and 3 (RFC 1094 appendix A, RFC 1813 §5).
//!
//! Procedures: NULL, MNT, UMNT, UMNTALL, EXPORT. The procedure numbers are the same
//! in both versions. What differs is the MNT result: v1 returns an errno-style
//! status and a fixed 32-byte handle; v3 returns a [`MountStat3`], a variable
//! handle of at most 64 bytes and the list of auth flavours the export accepts.
//!
//! Caps: paths 1024 bytes (MNTPATHLEN), names 255 (MNTNAMLEN), at most
//! [`MAX_EXPORTS`] exports, [`MAX_GROUPS`] groups per export, [`MAX_FLAVORS`]
//! flavours.
#![forbid(unsafe_code)]

use crate::xdr::{Decoder, Encoder, XdrError};

pub const VERSION1: u32 = 1;
pub const VERSION3: u32 = 3;
pub const PROC_NULL: u32 = 0;
pub const PROC_MNT: u32 = 1;
pub const PROC_DUMP: u32 = 2;
pub const PROC_UMNT: u32 = 3;
pub const PROC_UMNTALL: u32 = 4;
pub const PROC_EXPORT: u32 = 5;

pub const MNTPATHLEN: usize = 1024;
pub const MNTNAMLEN: usize = 255;
pub const FHSIZE: usize = 32;
pub const FHSIZE3: usize = 64;
pub const MAX_EXPORTS: usize = 8192;
pub const MAX_GROUPS: usize = 1024;
pub const MAX_FLAVORS: usize = 32;

/// MOUNT v3 status codes. Unknown values are kept in [`MountStat3::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MountStat3 {
    Ok,
    Perm,
    NoEnt,
    Io,
    Acces,
    NotDir,
    Inval,
    NameTooLong,
    NotSupp,
    ServerFault,
    Other(u32),
}

impl MountStat3 {
    pub fn from_u32(v: u32) -> Self {
        use MountStat3::*;
        match v {
            0 => Ok,
            1 => Perm,
            2 => NoEnt,
            5 => Io,
            13 => Acces,
            20 => NotDir,
            22 => Inval,
            63 => NameTooLong,
            10004 => NotSupp,
            10006 => ServerFault,
            v => Other(v),
        }
    }
    pub fn to_u32(self) -> u32 {
        use MountStat3::*;
        match self {
            Ok => 0,
            Perm => 1,
            NoEnt => 2,
            Io => 5,
            Acces => 13,
            NotDir => 20,
            Inval => 22,
            NameTooLong => 63,
            NotSupp => 10004,
            ServerFault => 10006,
            Other(v) => v,
        }
    }
    /// The protocol name, e.g. `MNT3ERR_NOENT`.
    pub fn name(self) -> &'static str {
        use MountStat3::*;
        match self {
            Ok => "MNT3_OK",
            Perm => "MNT3ERR_PERM",
            NoEnt => "MNT3ERR_NOENT",
            Io => "MNT3ERR_IO",
            Acces => "MNT3ERR_ACCES",
            NotDir => "MNT3ERR_NOTDIR",
            Inval => "MNT3ERR_INVAL",
            NameTooLong => "MNT3ERR_NAMETOOLONG",
            NotSupp => "MNT3ERR_NOTSUPP",
            ServerFault => "MNT3ERR_SERVERFAULT",
            Other(_) => "MNT3ERR_UNKNOWN",
        }
    }
    /// The errno a Linux client reports for this status (the values 1–63 are errno
    /// numbers by design; NOTSUPP → EOPNOTSUPP, SERVERFAULT → EREMOTEIO, unknown →
    /// EIO).
    pub fn errno(self) -> Option<i32> {
        use MountStat3::*;
        Some(match self {
            Ok => return None,
            Perm => libc::EPERM,
            NoEnt => libc::ENOENT,
            Io => libc::EIO,
            Acces => libc::EACCES,
            NotDir => libc::ENOTDIR,
            Inval => libc::EINVAL,
            NameTooLong => libc::ENAMETOOLONG,
            NotSupp => libc::EOPNOTSUPP,
            ServerFault => libc::EREMOTEIO,
            Other(_) => libc::EIO,
        })
    }
    /// Human text for messages: the errno's strerror text.
    pub fn message(self) -> String {
        match self.errno() {
            None => "OK".to_string(),
            Some(e) => crate::errno::strerror_raw(e),
        }
    }
}

/// Arguments of MNT and UMNT: the export path.
pub fn encode_dirpath(path: &str) -> Result<Vec<u8>, XdrError> {
    if path.len() > MNTPATHLEN {
        return Err(XdrError::TooLong {
            len: path.len() as u64,
            max: MNTPATHLEN,
        });
    }
    let mut e = Encoder::new();
    e.string(path);
    Ok(e.into_bytes())
}

pub fn decode_dirpath(b: &[u8]) -> Result<String, XdrError> {
    let mut d = Decoder::new(b);
    let s = String::from_utf8_lossy(d.opaque_ref(MNTPATHLEN)?).into_owned();
    d.finish()?;
    Ok(s)
}

/// MNT v3 result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MntRes3 {
    Ok {
        fhandle: Vec<u8>,
        auth_flavors: Vec<u32>,
    },
    Err(MountStat3),
}

impl MntRes3 {
    pub fn encode(&self) -> Result<Vec<u8>, XdrError> {
        let mut e = Encoder::new();
        match self {
            MntRes3::Ok {
                fhandle,
                auth_flavors,
            } => {
                if fhandle.len() > FHSIZE3 || auth_flavors.len() > MAX_FLAVORS {
                    return Err(XdrError::Invalid("MNT3 result exceeds protocol limits"));
                }
                e.u32(0).opaque(fhandle).u32(auth_flavors.len() as u32);
                for f in auth_flavors {
                    e.u32(*f);
                }
            }
            MntRes3::Err(s) => {
                if *s == MountStat3::Ok {
                    return Err(XdrError::Invalid("MNT3 error result with status OK"));
                }
                e.u32(s.to_u32());
            }
        }
        Ok(e.into_bytes())
    }
    pub fn decode(b: &[u8]) -> Result<Self, XdrError> {
        let mut d = Decoder::new(b);
        let st = MountStat3::from_u32(d.u32()?);
        let r = if st == MountStat3::Ok {
            let fhandle = d.opaque(FHSIZE3)?;
            let n = d.array_len(MAX_FLAVORS, 4)?;
            let mut auth_flavors = Vec::with_capacity(n);
            for _ in 0..n {
                auth_flavors.push(d.u32()?);
            }
            MntRes3::Ok {
                fhandle,
                auth_flavors,
            }
        } else {
            MntRes3::Err(st)
        };
        d.finish()?;
        Ok(r)
    }
}

/// MNT v1 result (fhstatus): status 0 and a 32-byte handle, or an errno status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FhStatus {
    Ok([u8; FHSIZE]),
    Err(u32),
}

impl FhStatus {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            FhStatus::Ok(h) => e.u32(0).opaque_fixed(h),
            FhStatus::Err(s) => e.u32(*s),
        };
        e.into_bytes()
    }
    pub fn decode(b: &[u8]) -> Result<Self, XdrError> {
        let mut d = Decoder::new(b);
        let st = d.u32()?;
        let r = if st == 0 {
            let mut h = [0u8; FHSIZE];
            h.copy_from_slice(d.opaque_fixed(FHSIZE)?);
            FhStatus::Ok(h)
        } else {
            FhStatus::Err(st)
        };
        d.finish()?;
        Ok(r)
    }
}

/// One EXPORT entry: directory and the groups (hosts, netgroups) allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEntry {
    pub dir: String,
    pub groups: Vec<String>,
}

pub fn encode_export_reply(list: &[ExportEntry]) -> Vec<u8> {
    let mut e = Encoder::new();
    for x in list {
        e.bool(true).string(&x.dir);
        for g in &x.groups {
            e.bool(true).string(g);
        }
        e.bool(false);
    }
    e.bool(false);
    e.into_bytes()
}

pub fn decode_export_reply(b: &[u8]) -> Result<Vec<ExportEntry>, XdrError> {
    let mut d = Decoder::new(b);
    let mut out = Vec::new();
    while d.bool()? {
        if out.len() == MAX_EXPORTS {
            return Err(XdrError::Invalid("EXPORT reply has too many entries"));
        }
        let dir = String::from_utf8_lossy(d.opaque_ref(MNTPATHLEN)?).into_owned();
        let mut groups = Vec::new();
        while d.bool()? {
            if groups.len() == MAX_GROUPS {
                return Err(XdrError::Invalid("EXPORT entry has too many groups"));
            }
            groups.push(String::from_utf8_lossy(d.opaque_ref(MNTNAMLEN)?).into_owned());
        }
        out.push(ExportEntry { dir, groups });
    }
    d.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stat_names_and_errnos() {
        assert_eq!(MountStat3::from_u32(2).name(), "MNT3ERR_NOENT");
        assert_eq!(MountStat3::NoEnt.message(), "No such file or directory");
        assert_eq!(MountStat3::Acces.errno(), Some(libc::EACCES));
        assert_eq!(MountStat3::from_u32(10006), MountStat3::ServerFault);
        assert_eq!(MountStat3::from_u32(7).to_u32(), 7);
    }

    #[test]
    fn oversized_items_refused() {
        let mut e = Encoder::new();
        e.u32(0).u32(65);
        assert!(MntRes3::decode(e.as_slice()).is_err());
        assert!(encode_dirpath(&"x".repeat(1025)).is_err());
        let mut e = Encoder::new();
        e.u32(0).opaque(&[1; 4]).u32(1_000_000);
        assert!(MntRes3::decode(e.as_slice()).is_err());
    }

    fn arb_stat() -> impl Strategy<Value = MountStat3> {
        (1u32..20000).prop_map(MountStat3::from_u32)
    }

    proptest! {
        #[test]
        fn mnt3_round_trip(ok in any::<bool>(), fh in proptest::collection::vec(any::<u8>(), 0..=64),
                           fl in proptest::collection::vec(any::<u32>(), 0..8), st in arb_stat()) {
            let r = if ok { MntRes3::Ok { fhandle: fh, auth_flavors: fl } } else { MntRes3::Err(st) };
            prop_assert_eq!(MntRes3::decode(&r.encode().unwrap()).unwrap(), r);
        }
        #[test]
        fn fhstatus_round_trip(h in any::<[u8; 32]>(), st in 1u32.., ok in any::<bool>()) {
            let r = if ok { FhStatus::Ok(h) } else { FhStatus::Err(st) };
            prop_assert_eq!(FhStatus::decode(&r.encode()).unwrap(), r);
        }
        #[test]
        fn export_round_trip(v in proptest::collection::vec(("/[a-z/]{0,30}", proptest::collection::vec("[a-z0-9.*]{0,20}", 0..4)), 0..6)) {
            let list: Vec<ExportEntry> = v.into_iter().map(|(dir, groups)| ExportEntry { dir, groups }).collect();
            prop_assert_eq!(decode_export_reply(&encode_export_reply(&list)).unwrap(), list);
        }
        #[test]
        fn dirpath_round_trip(p in "/[ -~]{0,100}") {
            prop_assert_eq!(decode_dirpath(&encode_dirpath(&p).unwrap()).unwrap(), p);
        }
        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = MntRes3::decode(&b);
            let _ = FhStatus::decode(&b);
            let _ = decode_export_reply(&b);
            let _ = decode_dirpath(&b);
        }
    }
}
