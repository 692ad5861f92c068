//! The checks nfs-utils makes on the options before any network traffic
//! (`nfs_options2pmap`, in this order: nfsprog, NFS version, NFS transport, port,
//! mountprog, mountvers, MNT transport, mountport).
//!
//! nfs-utils runs these only on the NFSv3 path (a v4 mount passes e.g. `port=99999`
//! to the kernel, which rejects it with EINVAL), after the statd check and before any
//! rpcbind traffic; the mount code calls this at the same point, so the lines that
//! follow (`an incorrect mount option was specified`, or the v4 errno after a
//! fallback) are nfs-utils'. The mount diagnosis also uses it to name the option the
//! kernel refused.

use super::error::OptError;
use super::list::{Numeric, OptList};
use super::netid::{mount_protocol, nfs_protocol};
use super::version::parse_version;

pub use super::{is_bg, parse_retry, sloppy_fixup};

fn check(fs: &OptList, key: &str, name: &'static str, ok: fn(i64) -> bool) -> Result<(), OptError> {
    match fs.get_numeric(key) {
        Numeric::Absent => Ok(()),
        Numeric::Ok(v) if ok(v) => Ok(()),
        _ => Err(OptError::InvalidValue(name)),
    }
}

/// Validate `nfsprog=`, `mountprog=` (> 0), `port=`, `mountport=` (0..=65535),
/// `mountvers=` (1..=4), the version options and the `proto=`/`mountproto=` netids.
pub fn validate(fs: &OptList) -> Result<(), OptError> {
    check(fs, "nfsprog", "nfsprog=", |v| v > 0)?;
    parse_version(fs, false)?;
    nfs_protocol(fs)?;
    check(fs, "port", "port=", |v| (0..=65535).contains(&v))?;
    check(fs, "mountprog", "mountprog=", |v| v > 0)?;
    check(fs, "mountvers", "mountvers=", |v| (1..=4).contains(&v))?;
    mount_protocol(fs)?;
    check(fs, "mountport", "mountport=", |v| (0..=65535).contains(&v))?;
    Ok(())
}
