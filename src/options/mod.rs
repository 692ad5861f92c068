//! Mount option model: the comma-separated option list with nfs-utils `po_*`
//! semantics, plus the option interpretation mount.nfs does before any network
//! traffic (version, transport, validation, retry, bg/fg, sloppy).
//!
//! Sans-IO: no files, sockets, clocks or environment.
#![forbid(unsafe_code)]

pub mod catalog;
mod error;
mod list;
pub mod netid;
pub mod validate;
pub mod version;
pub mod vfs;

pub use error::{OptError, TokenizeError};
pub use list::{strtol, tokenize, Numeric, Opt, OptList};
pub use netid::{mount_family, mount_protocol, nfs_family, nfs_family_with_default, nfs_protocol};
pub use netid::{Family, Netid, NetidTransport};
pub use validate::validate;
pub use version::{apply_v4_version, select_version, select_version_ext, strip_version_tokens};
pub use version::{DefaultVers, VersionMode, VersionSel};
pub use vfs::{split, Split};

/// Default foreground retry window, minutes (`NFS_DEF_FG_TIMEOUT_MINUTES`).
pub const DEFAULT_FG_RETRY_MINUTES: u64 = 2;
/// Default background retry window, minutes (`NFS_DEF_BG_TIMEOUT_MINUTES`).
pub const DEFAULT_BG_RETRY_MINUTES: u64 = 10000;

/// `retry=` in minutes (nfs(5); nfs-utils utils/mount/stropts.c `nfsmount_fg`).
///
/// Returns `(minutes, was_invalid)`. Absent → default (fg 2, bg 10000), not invalid.
/// A negative or unparsable value → default and `was_invalid = true` (the caller prints
/// "invalid retry timeout was specified; using default timeout" under `-v` only).
/// Trailing garbage is accepted like `strtol`: `retry=3x` is 3 minutes.
pub fn parse_retry(fs: &OptList, bg: bool) -> (u64, bool) {
    let default = if bg {
        DEFAULT_BG_RETRY_MINUTES
    } else {
        DEFAULT_FG_RETRY_MINUTES
    };
    match fs.get_numeric("retry") {
        Numeric::Absent => (default, false),
        Numeric::Ok(n) if n >= 0 => (n as u64, false),
        _ => (default, true),
    }
}

/// `true` if the rightmost of `bg`/`fg` is `bg` (`nobg` is not recognised: foreground).
pub fn is_bg(fs: &OptList) -> bool {
    fs.rightmost(&["bg", "fg"]) == Some(0)
}

/// `nfs_insert_sloppy_option`: remove every `sloppy`, then insert one at the head if
/// any was present or `-s` was given.
pub fn sloppy_fixup(fs: &mut OptList, dash_s: bool) {
    let had = fs.contains("sloppy");
    fs.remove_all("sloppy");
    if had || dash_s {
        fs.insert_head("sloppy", None);
    }
}
