//! The storm-safe NFSv3 path: legacy binary `struct nfs_mount_data` (version 6).
//!
//! In text mode the kernel makes its own MOUNT (MNT) call for every v3 mount, from a
//! reserved port; in a storm those connections pile up in TIME_WAIT. Version 6 of
//! the binary mount data carries the root file handle instead, so the kernel needs
//! no MNT at all: the handle comes from our own MNT over the shared connection.
//!
//! What the format can carry: NFSv2/v3, an IPv4 server address and port, TCP or
//! UDP, soft/hard, timeo, retrans, rsize, wsize, bsize, namlen, the four attribute
//! cache times (and actimeo), noac, nocto, posix, nolock, noacl, nordirplus,
//! nosharecache and one security flavour. Everything else is refused with a clear
//! message (IPv6, NFSv4, nconnect, lookupcache, local_lock, fsc, xprtsec, …).
//!
//! Encoding only, no I/O: [`encode`] builds the exact x86-64 C layout of the
//! kernel's `struct nfs_mount_data` (688 bytes).
#![forbid(unsafe_code)]

use crate::options::OptList;
use std::net::SocketAddrV4;

pub const NFS_MOUNT_VERSION: i32 = 6;
pub const SIZE: usize = 688;

const SOFT: i32 = 0x0001;
const POSIX: i32 = 0x0008;
const NOCTO: i32 = 0x0010;
const NOAC: i32 = 0x0020;
const TCP: i32 = 0x0040;
const VER3: i32 = 0x0080;
const NONLM: i32 = 0x0200;
const NOACL: i32 = 0x0800;
const SECFLAVOUR: i32 = 0x2000;
const NORDIRPLUS: i32 = 0x4000;
const UNSHARED: i32 = 0x8000;

/// Field offsets in `struct nfs_mount_data` (x86-64).
mod off {
    pub const VERSION: usize = 0;
    pub const FD: usize = 4;
    pub const FLAGS: usize = 40;
    pub const RSIZE: usize = 44;
    pub const WSIZE: usize = 48;
    pub const TIMEO: usize = 52;
    pub const RETRANS: usize = 56;
    pub const ACREGMIN: usize = 60;
    pub const ACREGMAX: usize = 64;
    pub const ACDIRMIN: usize = 68;
    pub const ACDIRMAX: usize = 72;
    pub const ADDR: usize = 76;
    pub const HOSTNAME: usize = 92;
    pub const NAMLEN: usize = 348;
    pub const BSIZE: usize = 352;
    pub const ROOT_SIZE: usize = 356;
    pub const ROOT_DATA: usize = 358;
    pub const PSEUDOFLAVOR: usize = 424;
}

/// Everything [`encode`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub server: SocketAddrV4,
    pub hostname: String,
    pub fhandle: Vec<u8>,
    pub tcp: bool,
    pub flags: i32,
    pub rsize: i32,
    pub wsize: i32,
    pub timeo: i32,
    pub retrans: i32,
    pub acregmin: i32,
    pub acregmax: i32,
    pub acdirmin: i32,
    pub acdirmax: i32,
    pub namlen: i32,
    pub bsize: i32,
    pub pseudoflavor: Option<i32>,
}

/// Options that either map onto the binary format or are handled in user space.
const CARRIED: &[&str] = &[
    "soft",
    "hard",
    "timeo",
    "retrans",
    "rsize",
    "wsize",
    "bsize",
    "namlen",
    "acregmin",
    "acregmax",
    "acdirmin",
    "acdirmax",
    "actimeo",
    "ac",
    "noac",
    "cto",
    "nocto",
    "posix",
    "noposix",
    "lock",
    "nolock",
    "acl",
    "noacl",
    "rdirplus",
    "nordirplus",
    "sharecache",
    "nosharecache",
    "sec",
    "intr",
    "nointr",
    "resvport",
    "vers",
    "nfsvers",
    "v3",
    "proto",
    "tcp",
    "udp",
    "port",
    "mountport",
    "mountproto",
    "mountvers",
    "mounthost",
    "mountaddr",
    "addr",
    "bg",
    "fg",
    "retry",
    "sloppy",
    "stormsafe",
    "nostormsafe",
    "nfsprog",
    "mountprog",
];

fn flavor(sec: &str) -> Option<i32> {
    Some(match sec {
        "sys" => 1,
        "none" | "null" => 0,
        "krb5" => 390003,
        "krb5i" => 390004,
        "krb5p" => 390005,
        _ => return None,
    })
}

/// Why the storm-safe path cannot take this mount.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the stormsafe binary mount supports only NFSv3 over IPv4; {0}")]
    Unsupported(String),
    #[error("the stormsafe binary mount cannot carry option(s) {0}; drop them or drop stormsafe")]
    Options(String),
}

/// Build [`Params`] from the negotiated option list (after probing) or refuse.
pub fn params_from_options(
    o: &OptList,
    server: std::net::SocketAddr,
    hostname: &str,
    fhandle: &[u8],
) -> Result<Params, Refusal> {
    let server = match server {
        std::net::SocketAddr::V4(v4) => v4,
        std::net::SocketAddr::V6(_) => {
            return Err(Refusal::Unsupported("the server address is IPv6".into()))
        }
    };
    let bad: Vec<String> = o
        .iter()
        .filter(|t| !CARRIED.contains(&t.key.as_str()))
        .map(|t| t.key.clone())
        .collect();
    if !bad.is_empty() {
        return Err(Refusal::Options(bad.join(",")));
    }
    if let Some(v) = o.get("vers").or_else(|| o.get("nfsvers")) {
        if v != "3" {
            return Err(Refusal::Unsupported(format!("vers={v} was requested")));
        }
    }
    let tcp = match o.get("proto") {
        Some("tcp") | None => true,
        Some("udp") => false,
        Some(p) => return Err(Refusal::Unsupported(format!("proto={p}"))),
    };
    if fhandle.is_empty() || fhandle.len() > 64 {
        return Err(Refusal::Unsupported(format!(
            "a {}-byte file handle",
            fhandle.len()
        )));
    }
    let num = |k: &str| o.get(k).and_then(|v| v.parse::<i32>().ok());
    let rightmost = |a: &str, b: &str| o.rightmost(&[a, b]);
    let mut flags = VER3;
    if tcp {
        flags |= TCP;
    }
    if rightmost("soft", "hard") == Some(0) {
        flags |= SOFT;
    }
    if rightmost("ac", "noac") == Some(1) {
        flags |= NOAC;
    }
    if rightmost("cto", "nocto") == Some(1) {
        flags |= NOCTO;
    }
    if rightmost("posix", "noposix") == Some(0) {
        flags |= POSIX;
    }
    if rightmost("lock", "nolock") == Some(1) {
        flags |= NONLM;
    }
    if rightmost("acl", "noacl") == Some(1) {
        flags |= NOACL;
    }
    if rightmost("rdirplus", "nordirplus") == Some(1) {
        flags |= NORDIRPLUS;
    }
    if rightmost("sharecache", "nosharecache") == Some(1) {
        flags |= UNSHARED;
    }
    let pseudoflavor = match o.get("sec") {
        None => None,
        Some(s) => match flavor(s) {
            Some(f) => {
                flags |= SECFLAVOUR;
                Some(f)
            }
            None => return Err(Refusal::Unsupported(format!("sec={s}"))),
        },
    };
    let actimeo = num("actimeo");
    Ok(Params {
        server,
        hostname: hostname.chars().take(255).collect(),
        fhandle: fhandle.to_vec(),
        tcp,
        flags,
        rsize: num("rsize").unwrap_or(0),
        wsize: num("wsize").unwrap_or(0),
        timeo: num("timeo").unwrap_or(if tcp { 600 } else { 11 }),
        retrans: num("retrans").unwrap_or(if tcp { 2 } else { 3 }),
        acregmin: num("acregmin").or(actimeo).unwrap_or(3),
        acregmax: num("acregmax").or(actimeo).unwrap_or(60),
        acdirmin: num("acdirmin").or(actimeo).unwrap_or(30),
        acdirmax: num("acdirmax").or(actimeo).unwrap_or(60),
        namlen: num("namlen").unwrap_or(0),
        bsize: num("bsize").unwrap_or(0),
        pseudoflavor,
    })
}

fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

/// The 688-byte `struct nfs_mount_data` version 6.
pub fn encode(p: &Params) -> Vec<u8> {
    let mut b = vec![0u8; SIZE];
    put_i32(&mut b, off::VERSION, NFS_MOUNT_VERSION);
    put_i32(&mut b, off::FD, -1);
    put_i32(&mut b, off::FLAGS, p.flags);
    put_i32(&mut b, off::RSIZE, p.rsize);
    put_i32(&mut b, off::WSIZE, p.wsize);
    put_i32(&mut b, off::TIMEO, p.timeo);
    put_i32(&mut b, off::RETRANS, p.retrans);
    put_i32(&mut b, off::ACREGMIN, p.acregmin);
    put_i32(&mut b, off::ACREGMAX, p.acregmax);
    put_i32(&mut b, off::ACDIRMIN, p.acdirmin);
    put_i32(&mut b, off::ACDIRMAX, p.acdirmax);
    // struct sockaddr_in: family (host order), port and address (network order).
    b[off::ADDR..off::ADDR + 2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    b[off::ADDR + 2..off::ADDR + 4].copy_from_slice(&p.server.port().to_be_bytes());
    b[off::ADDR + 4..off::ADDR + 8].copy_from_slice(&p.server.ip().octets());
    let h = p.hostname.as_bytes();
    let n = h.len().min(255);
    b[off::HOSTNAME..off::HOSTNAME + n].copy_from_slice(&h[..n]);
    put_i32(&mut b, off::NAMLEN, p.namlen);
    put_i32(&mut b, off::BSIZE, p.bsize);
    let fh = &p.fhandle[..p.fhandle.len().min(64)];
    b[off::ROOT_SIZE..off::ROOT_SIZE + 2].copy_from_slice(&(fh.len() as u16).to_ne_bytes());
    b[off::ROOT_DATA..off::ROOT_DATA + fh.len()].copy_from_slice(fh);
    put_i32(&mut b, off::PSEUDOFLAVOR, p.pseudoflavor.unwrap_or(0));
    b
}

/// A one-line human summary (for `-v` and the syscall log).
pub fn describe(p: &Params) -> String {
    format!(
        "nfs_mount_data v6 addr={} proto={} flags={:#x} fh={}B rsize={} wsize={} timeo={} retrans={} ac={},{},{},{}",
        p.server,
        if p.tcp { "tcp" } else { "udp" },
        p.flags,
        p.fhandle.len(),
        p.rsize,
        p.wsize,
        p.timeo,
        p.retrans,
        p.acregmin,
        p.acregmax,
        p.acdirmin,
        p.acdirmax
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(opts: &str) -> Result<Params, Refusal> {
        let o = OptList::parse(opts).unwrap();
        params_from_options(&o, "10.1.2.3:2049".parse().unwrap(), "10.1.2.3", &[7u8; 24])
    }

    #[test]
    fn layout_matches_the_kernel_struct() {
        // Offsets derived from include/uapi/linux/nfs_mount.h on x86-64:
        // 2 ints, nfs2_fh[32], 9 ints, sockaddr_in, char[256], 2 ints,
        // nfs3_fh{u16, u8[64]}, int, char[257]; total padded to 4 -> 688.
        assert_eq!(off::FLAGS, 4 + 4 + 32);
        assert_eq!(off::ADDR, off::FLAGS + 9 * 4);
        assert_eq!(off::HOSTNAME, off::ADDR + 16);
        assert_eq!(off::NAMLEN, off::HOSTNAME + 256);
        assert_eq!(off::ROOT_DATA + 64, 422);
        assert_eq!(off::PSEUDOFLAVOR, 424);
        assert_eq!(SIZE, (424usize + 4 + 257).div_ceil(4) * 4);
        let p = params("vers=3,proto=tcp,nolock,soft,timeo=30,port=2049").unwrap();
        let b = encode(&p);
        assert_eq!(b.len(), SIZE);
        assert_eq!(i32::from_ne_bytes(b[0..4].try_into().unwrap()), 6);
        assert_eq!(
            i32::from_ne_bytes(b[40..44].try_into().unwrap()),
            VER3 | TCP | SOFT | NONLM
        );
        assert_eq!(&b[78..80], &2049u16.to_be_bytes());
        assert_eq!(&b[80..84], &[10, 1, 2, 3]);
        assert_eq!(&b[92..100], b"10.1.2.3");
        assert_eq!(u16::from_ne_bytes(b[356..358].try_into().unwrap()), 24);
        assert_eq!(&b[358..382], &[7u8; 24]);
        assert_eq!(i32::from_ne_bytes(b[52..56].try_into().unwrap()), 30);
    }

    #[test]
    fn defaults_and_flags() {
        let p = params("vers=3,proto=udp,noac,nocto,sec=krb5,actimeo=7").unwrap();
        assert!(!p.tcp);
        assert_eq!((p.timeo, p.retrans), (11, 3));
        assert_eq!(
            (p.acregmin, p.acregmax, p.acdirmin, p.acdirmax),
            (7, 7, 7, 7)
        );
        assert_eq!(p.flags, VER3 | NOAC | NOCTO | SECFLAVOUR);
        assert_eq!(p.pseudoflavor, Some(390003));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            params("vers=3,nconnect=4,lookupcache=none").unwrap_err().to_string(),
            "the stormsafe binary mount cannot carry option(s) nconnect,lookupcache; drop them or drop stormsafe"
        );
        assert!(params("vers=4.1").is_err());
        assert!(params("proto=rdma").is_err());
        let o = OptList::parse("vers=3").unwrap();
        let e = params_from_options(&o, "[::1]:2049".parse().unwrap(), "::1", &[1; 8]).unwrap_err();
        assert!(e.to_string().contains("IPv6"), "{e}");
    }
}
