//! Race-free path handling for the setuid helper: directories opened without
//! following any symbolic link, and configuration files read only when root
//! owns them and nobody else may write them.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// Largest /etc/fstab or nfsmount.conf file an elevated helper reads.
pub const MAX_TRUSTED_FILE: u64 = 1 << 20;

/// Opens the absolute `path` as an `O_PATH` directory descriptor, one component
/// at a time with `O_NOFOLLOW`: any symbolic link on the way (or `..`) fails
/// with ELOOP/ENOTDIR instead of being followed. Run it on a canonical path: the
/// descriptor then names exactly the directory the path named when it was
/// checked, whatever is renamed or replaced afterwards.
pub fn open_dir_nofollow(path: &str) -> Result<OwnedFd, nix::errno::Errno> {
    use nix::errno::Errno;
    if !path.starts_with('/') {
        return Err(Errno::EINVAL);
    }
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let root = CString::new("/").map_err(|_| Errno::EINVAL)?;
    // SAFETY: `root` is a valid NUL-terminated string; open returns a new fd or -1.
    let fd = unsafe { libc::open(root.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    let mut cur = unsafe { OwnedFd::from_raw_fd(fd) };
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if comp == ".." {
            return Err(Errno::ELOOP);
        }
        let c = CString::new(comp).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `cur` is a live directory fd, `c` a valid C string.
        let next = unsafe { libc::openat(cur.as_raw_fd(), c.as_ptr(), flags) };
        if next < 0 {
            return Err(Errno::last());
        }
        // SAFETY: as above, a fresh fd we own.
        cur = unsafe { OwnedFd::from_raw_fd(next) };
    }
    Ok(cur)
}

/// The `/proc/self/fd/N` name of a descriptor: handing it to mount(2) or
/// umount2(2) makes the kernel use the object the descriptor holds, not
/// whatever a path names by then.
pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// A checked directory, held open for the kernel calls of this process.
struct Pin {
    /// The canonical path the mount and umount code use.
    path: String,
    fd: OwnedFd,
    /// For umount: `fd` is the parent directory, `name` the last component.
    name: Option<String>,
}

static PINS: std::sync::Mutex<Vec<Pin>> = std::sync::Mutex::new(Vec::new());

/// From now on mount(2) on `path` goes to the directory `fd` holds
/// (`/proc/self/fd/N`). `fd` must come from [`open_dir_nofollow`] on `path`;
/// that `/proc/self/fd/N` names `path` is checked, so a missing /proc fails
/// here (ENOENT) and not at mount(2).
pub fn pin_mount(path: &str, fd: OwnedFd) -> Result<(), nix::errno::Errno> {
    verify(path, &fd)?;
    if let Ok(mut p) = PINS.lock() {
        p.push(Pin {
            path: path.to_string(),
            fd,
            name: None,
        });
    }
    Ok(())
}

/// umount2(2) of the mount point `path` goes to `/proc/self/fd/N/<last
/// component>` with UMOUNT_NOFOLLOW, N holding the parent directory opened
/// without symbolic links: nothing but the parent's entry can be unmounted, and
/// the mount point itself is never opened (a dead server must not hang us).
pub fn pin_umount(path: &str) -> Result<(), nix::errno::Errno> {
    use nix::errno::Errno;
    let (parent, name) = match path.trim_end_matches('/').rsplit_once('/') {
        Some((p, n)) if !n.is_empty() && n != "." && n != ".." => {
            (if p.is_empty() { "/" } else { p }, n)
        }
        _ => return Err(Errno::EINVAL),
    };
    let fd = open_dir_nofollow(parent)?;
    verify(parent, &fd)?;
    if let Ok(mut p) = PINS.lock() {
        p.push(Pin {
            path: path.to_string(),
            fd,
            name: Some(name.to_string()),
        });
    }
    Ok(())
}

fn verify(path: &str, fd: &OwnedFd) -> Result<(), nix::errno::Errno> {
    let named = std::fs::read_link(fd_path(fd))
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    let want = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    if named.to_str() != Some(want) {
        return Err(nix::errno::Errno::EXDEV);
    }
    Ok(())
}

/// The name mount(2) gets for `target`: its pin, or `target` itself.
pub fn pinned_mount(target: &str) -> String {
    PINS.lock()
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|x| x.name.is_none() && x.path == target)
                .map(|x| fd_path(&x.fd))
        })
        .unwrap_or_else(|| target.to_string())
}

/// The name umount2(2) (and umount's read-only remount) gets for `target`,
/// and the extra umount2 flags (UMOUNT_NOFOLLOW for a pin).
pub fn pinned_umount(target: &str) -> (String, i32) {
    PINS.lock()
        .ok()
        .and_then(|p| {
            p.iter().find(|x| x.path == target).map(|x| match &x.name {
                Some(n) => (format!("{}/{n}", fd_path(&x.fd)), libc::UMOUNT_NOFOLLOW),
                None => (fd_path(&x.fd), 0),
            })
        })
        .unwrap_or_else(|| (target.to_string(), 0))
}

/// Owner uid and gid of what `fd` refers to.
pub fn fd_owner(fd: &OwnedFd) -> Result<(u32, u32), nix::errno::Errno> {
    let st = nix::sys::stat::fstat(fd)?;
    Ok((st.st_uid, st.st_gid))
}

/// Why a configuration file was not trusted.
#[derive(Debug, PartialEq, Eq)]
pub enum Untrusted {
    Missing,
    Io(String),
    NotRegular,
    NotRootOwned(u32),
    Writable(u32),
    TooLarge,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untrusted::Missing => write!(f, "does not exist"),
            Untrusted::Io(e) => write!(f, "cannot be read: {e}"),
            Untrusted::NotRegular => write!(f, "is not a regular file"),
            Untrusted::NotRootOwned(u) => write!(f, "is owned by uid {u}, not root"),
            Untrusted::Writable(m) => {
                write!(f, "is writable by group or others (mode {m:04o})")
            }
            Untrusted::TooLarge => write!(f, "is larger than {MAX_TRUSTED_FILE} bytes"),
        }
    }
}

/// Reads `path` only if it, and every directory above it, is owned by root and
/// not writable by group or others (symbolic links are followed, but their
/// targets must pass the same test: the opened file is what is checked).
pub fn read_trusted(path: &std::path::Path) -> Result<String, Untrusted> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Untrusted::Missing),
        Err(e) => return Err(Untrusted::Io(e.to_string())),
    };
    let md = f.metadata().map_err(|e| Untrusted::Io(e.to_string()))?;
    check_meta(md.is_file(), md.uid(), md.mode())?;
    if md.len() > MAX_TRUSTED_FILE {
        return Err(Untrusted::TooLarge);
    }
    // The directories of the file actually opened.
    if let Ok(real) = std::fs::read_link(fd_path_of(&f)) {
        let mut dir = real.parent();
        while let Some(d) = dir {
            let m = std::fs::metadata(d).map_err(|e| Untrusted::Io(e.to_string()))?;
            check_dir(m.uid(), m.mode())?;
            dir = d.parent();
        }
    }
    let mut s = String::new();
    f.by_ref()
        .take(MAX_TRUSTED_FILE)
        .read_to_string(&mut s)
        .map_err(|e| Untrusted::Io(e.to_string()))?;
    Ok(s)
}

fn fd_path_of(f: &std::fs::File) -> String {
    format!("/proc/self/fd/{}", f.as_raw_fd())
}

/// The rule for a file: regular, root's, no group/other write bit.
pub fn check_meta(regular: bool, uid: u32, mode: u32) -> Result<(), Untrusted> {
    if !regular {
        return Err(Untrusted::NotRegular);
    }
    if uid != 0 {
        return Err(Untrusted::NotRootOwned(uid));
    }
    if mode & 0o022 != 0 {
        return Err(Untrusted::Writable(mode & 0o7777));
    }
    Ok(())
}

/// The rule for a directory above it: root's, no group/other write bit unless
/// sticky.
pub fn check_dir(uid: u32, mode: u32) -> Result<(), Untrusted> {
    if uid != 0 {
        return Err(Untrusted::NotRootOwned(uid));
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(Untrusted::Writable(mode & 0o7777));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn rules() {
        assert_eq!(check_meta(true, 0, 0o644), Ok(()));
        assert_eq!(check_meta(true, 0, 0o664), Err(Untrusted::Writable(0o664)));
        assert_eq!(check_meta(true, 0, 0o646), Err(Untrusted::Writable(0o646)));
        assert_eq!(check_meta(true, 5, 0o644), Err(Untrusted::NotRootOwned(5)));
        assert_eq!(check_meta(false, 0, 0o644), Err(Untrusted::NotRegular));
        assert_eq!(check_dir(0, 0o1777), Ok(()));
        assert_eq!(check_dir(0, 0o777), Err(Untrusted::Writable(0o777)));
    }

    #[test]
    fn nofollow_walk_refuses_links() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("link")).unwrap();
        let canon = std::fs::canonicalize(&real).unwrap();
        let fd = open_dir_nofollow(canon.to_str().unwrap()).unwrap();
        let named = std::fs::read_link(fd_path(&fd)).unwrap();
        assert_eq!(named, canon);
        let link = std::fs::canonicalize(d.path()).unwrap().join("link");
        let e = open_dir_nofollow(link.to_str().unwrap()).unwrap_err();
        assert!(matches!(
            e,
            nix::errno::Errno::ENOTDIR | nix::errno::Errno::ELOOP
        ));
        assert!(open_dir_nofollow("relative").is_err());
        // pins: the kernel gets /proc/self/fd/N, which names the checked path
        let c = canon.to_str().unwrap().to_string();
        pin_mount(&c, fd).unwrap();
        let k = pinned_mount(&c);
        assert!(k.starts_with("/proc/self/fd/"));
        assert_eq!(std::fs::read_link(&k).unwrap(), canon);
        assert_eq!(pinned_mount("/elsewhere"), "/elsewhere");
        let sub = canon.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let s = sub.to_str().unwrap().to_string();
        pin_umount(&s).unwrap();
        let (u, fl) = pinned_umount(&s);
        assert_eq!(fl, libc::UMOUNT_NOFOLLOW);
        assert!(u.ends_with("/sub") && u.starts_with("/proc/self/fd/"));
        assert_eq!(std::fs::canonicalize(&u).unwrap(), sub);
        // a pin whose fd does not name the path is refused
        let other = open_dir_nofollow("/").unwrap();
        assert_eq!(pin_mount(&c, other), Err(nix::errno::Errno::EXDEV));
        assert_eq!(
            open_dir_nofollow(&format!("{}/../x", canon.display())).unwrap_err(),
            nix::errno::Errno::ELOOP
        );
    }

    #[test]
    fn trusted_reads() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("fstab");
        std::fs::write(&f, "x\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        // either not root-owned (non-root test run) or writable by others
        assert!(read_trusted(&f).is_err());
        assert_eq!(
            read_trusted(&d.path().join("none")),
            Err(Untrusted::Missing)
        );
        if nix::unistd::geteuid().is_root() {
            // /etc/passwd: root's, 0644, in root-owned directories.
            assert!(read_trusted(std::path::Path::new("/etc/passwd")).is_ok());
        }
    }
}
