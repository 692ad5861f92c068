//! Errors → messages → exit codes, in one place.
//!
//! Exit codes are those of nfs-utils (`support/include/xcommon.h`) as used by the
//! libmount variant of mount.nfs/umount.nfs. A failed *mount* never exits 16:
//! autofs treats 16 as "mounted, mtab not updated".
#![forbid(unsafe_code)]

/// Process exit statuses used by the helpers.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    /// Usage errors (`-h`, unknown option), umount of a non-NFS file system.
    pub const USAGE: i32 = 1;
    pub const SYSERR: i32 = 2;
    pub const SOFTWARE: i32 = 4;
    pub const USER: i32 = 8;
    /// umount(2) failed (umount only; never for mount).
    pub const FILEIO: i32 = 16;
    /// Every mount failure.
    pub const FAIL: i32 = 32;
}

/// An errno value as the kernel or the RPC layer reports it.
pub type Errno = nix::errno::Errno;

/// `strerror(3)` text for an errno, as glibc prints it.
pub fn strerror(e: Errno) -> String {
    e.desc().to_string()
}
