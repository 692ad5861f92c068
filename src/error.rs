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

/// `strerror(3)` text for an errno: the C library's own table (what nfs-utils
/// prints), e.g. EAGAIN is "Resource temporarily unavailable" — not the text of a
/// Rust crate's table ("Try again"). The one function every message uses.
pub fn strerror(e: Errno) -> String {
    strerror_raw(e as i32)
}

/// [`strerror`] for a raw errno number (unknown numbers: the C library's
/// "Unknown error N").
pub fn strerror_raw(errno: i32) -> String {
    // std formats an OS error with the C library's strerror_r text, then appends
    // " (os error N)"; keep the C library's part only.
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match s.strip_suffix(&suffix) {
        Some(t) => t.to_string(),
        None => s,
    }
}

/// The final mount error, as nfs-utils 2.6.2's `mount_error()` words it.
/// `spec` is `None` for mount-point problems. Returns the lines (without newline);
/// empty for EALREADY (already reported).
pub fn mount_error_lines(
    progname: &str,
    spec: Option<&str>,
    mountpoint: &str,
    err: Errno,
) -> Vec<String> {
    let one = |s: String| vec![s];
    match err {
        Errno::EACCES => one(format!(
            "{progname}: access denied by server while mounting {}",
            spec.unwrap_or("(null)")
        )),
        Errno::EINVAL => one(format!(
            "{progname}: an incorrect mount option was specified"
        )),
        Errno::EOPNOTSUPP => one(format!(
            "{progname}: requested NFS version or transport protocol is not supported"
        )),
        Errno::ENOTDIR => match spec {
            Some(s) => one(format!(
                "{progname}: mount spec {s} or point {mountpoint} is not a directory"
            )),
            None => one(format!(
                "{progname}: mount point {mountpoint} is not a directory"
            )),
        },
        Errno::EBUSY => one(format!(
            "{progname}: {mountpoint} is busy or already mounted or sharecache fail"
        )),
        Errno::ENOENT => match spec {
            Some(s) => one(format!(
                "{progname}: mounting {s} failed, reason given by server: No such file or directory"
            )),
            None => one(format!(
                "{progname}: mount point {mountpoint} does not exist"
            )),
        },
        Errno::EIO => one(format!("{progname}: mount system call failed")),
        Errno::EFAULT => vec![
            format!("{progname}: encountered unexpected error condition."),
            format!("{progname}: please report the error tolinux-nfs@vger.kernel.org"),
        ],
        Errno::EALREADY => vec![],
        other => one(format!("{progname}: {}", strerror(other))),
    }
}

/// umount(2) failure text (`umount_error()`); the caller exits [`exit::FILEIO`].
pub fn umount_error_line(progname: &str, dev: &str, err: Errno) -> String {
    let what = match err {
        Errno::ENXIO => "invalid block device".to_string(),
        Errno::EINVAL => "not mounted".to_string(),
        Errno::EIO => "can't write superblock".to_string(),
        Errno::EBUSY => "device is busy".to_string(),
        Errno::ENOENT => "not found".to_string(),
        Errno::EPERM => "must be superuser to umount".to_string(),
        Errno::EACCES => "block devices not permitted on fs".to_string(),
        other => strerror(other),
    };
    format!("{progname}: {dev}: {what}")
}

/// The syslog line of a backgrounded mount (`sys_mount_errors` with bg=1).
pub fn bg_syslog_line(host: &str, err: Errno, will_retry: bool) -> String {
    let tail = if will_retry { "retrying" } else { "giving up" };
    if err == Errno::ETIMEDOUT {
        format!("mount to NFS server '{host}' failed: timed out, {tail}")
    } else {
        format!(
            "mount to NFS server '{host}' failed: {}, {tail}",
            strerror(err)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_error_texts_match_nfs_utils_2_6_2() {
        let m = |spec, e| mount_error_lines("mount.nfs", spec, "/mnt/t", e).join("\n");
        assert_eq!(
            m(Some("s:/x"), Errno::EACCES),
            "mount.nfs: access denied by server while mounting s:/x"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::EINVAL),
            "mount.nfs: an incorrect mount option was specified"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::EOPNOTSUPP),
            "mount.nfs: requested NFS version or transport protocol is not supported"
        );
        assert_eq!(
            m(None, Errno::ENOTDIR),
            "mount.nfs: mount point /mnt/t is not a directory"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::EBUSY),
            "mount.nfs: /mnt/t is busy or already mounted or sharecache fail"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::ENOENT),
            "mount.nfs: mounting s:/x failed, reason given by server: No such file or directory"
        );
        assert_eq!(
            m(None, Errno::ENOENT),
            "mount.nfs: mount point /mnt/t does not exist"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::EIO),
            "mount.nfs: mount system call failed"
        );
        assert_eq!(m(Some("s:/x"), Errno::EALREADY), "");
        assert_eq!(
            m(Some("s:/x"), Errno::ECONNREFUSED),
            "mount.nfs: Connection refused"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::ETIMEDOUT),
            "mount.nfs: Connection timed out"
        );
        assert_eq!(
            m(Some("s:/x"), Errno::EPROTONOSUPPORT),
            "mount.nfs: Protocol not supported"
        );
        assert_eq!(m(Some("s:/x"), Errno::EPROTO), "mount.nfs: Protocol error");
        assert_eq!(
            m(Some("s:/x"), Errno::ESTALE),
            "mount.nfs: Stale file handle"
        );
    }

    #[test]
    fn umount_error_texts() {
        assert_eq!(
            umount_error_line("umount.nfs", "/m", Errno::EINVAL),
            "umount.nfs: /m: not mounted"
        );
        assert_eq!(
            umount_error_line("umount.nfs4", "/m", Errno::EBUSY),
            "umount.nfs4: /m: device is busy"
        );
        assert_eq!(
            umount_error_line("umount.nfs", "/m", Errno::ENOENT),
            "umount.nfs: /m: not found"
        );
        assert_eq!(
            umount_error_line("umount.nfs", "/m", Errno::ENOTCONN),
            "umount.nfs: /m: Transport endpoint is not connected"
        );
    }

    #[test]
    fn bg_lines() {
        assert_eq!(
            bg_syslog_line("127.0.0.1", Errno::ECONNREFUSED, true),
            "mount to NFS server '127.0.0.1' failed: Connection refused, retrying"
        );
        assert_eq!(
            bg_syslog_line("h", Errno::ETIMEDOUT, true),
            "mount to NFS server 'h' failed: timed out, retrying"
        );
    }
}
