//! The daemon's files: runtime directory, lock file, pid file, socket.
//!
//! A root daemon that creates files by path must not be steerable through the
//! directory they live in:
//! * the directory (and every directory above it) must belong to root — or to
//!   the daemon's own user — and must not be writable by group or others; an
//!   ancestor may be, if it is sticky (`/tmp`), because nobody else can then
//!   rename or remove what root put there. Anything else is refused with one
//!   line naming the directory ([`check_dir`]);
//! * the lock file is opened with `O_NOFOLLOW` and must be a regular file of
//!   ours with one link ([`open_lock`]);
//! * the pid file is written to a fresh `O_EXCL|O_NOFOLLOW` temporary file and
//!   renamed into place, so whatever sat at its name (a symbolic or hard link)
//!   is replaced, never written through ([`write_pidfile`]);
//! * the socket is created with its final mode (umask around bind(2): no
//!   window in which it is more open), and only a socket or a symbolic link at
//!   its path is removed first ([`bind_socket`]);
//! * on exit each file is removed only if it is still the one we made (same
//!   inode), see [`Owned`].
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Mode of the socket the daemon creates: root (its owner) only.
pub const SOCKET_MODE: u32 = 0o600;

/// A file we created: removed on drop if its name still points at it.
#[derive(Debug)]
pub struct Owned {
    pub path: PathBuf,
    id: (u64, u64),
}

impl Owned {
    fn of(path: &Path) -> std::io::Result<Owned> {
        let m = std::fs::symlink_metadata(path)?;
        Ok(Owned {
            path: path.to_path_buf(),
            id: (m.dev(), m.ino()),
        })
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.id {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn owner_ok(m: &std::fs::Metadata, own_uid: u32) -> bool {
    m.uid() == 0 || m.uid() == own_uid
}

/// Checks (creating it if missing, mode 0755) the directory `dir` for the
/// daemon's files; returns its canonical path, which every later operation uses
/// (no symbolic link in it is followed again).
pub fn check_dir(dir: &Path, own_uid: u32, create: bool) -> Result<PathBuf, String> {
    let shown = dir.display();
    if create && std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| format!("cannot create {shown}: {e}"))?;
    }
    let canon = dir
        .canonicalize()
        .map_err(|e| format!("cannot use directory {shown}: {e}"))?;
    let m = std::fs::symlink_metadata(&canon)
        .map_err(|e| format!("cannot use directory {shown}: {e}"))?;
    if !m.is_dir() {
        return Err(format!("refusing {shown}: not a directory"));
    }
    if !owner_ok(&m, own_uid) {
        return Err(format!(
            "refusing directory {shown}: owned by uid {}, not root (it must belong to root and be writable only by root)",
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "refusing directory {shown}: writable by group or others (mode {:04o}; it must be writable only by root)",
            m.mode() & 0o7777
        ));
    }
    for a in canon.ancestors().skip(1) {
        let m = std::fs::symlink_metadata(a)
            .map_err(|e| format!("cannot use directory {shown}: {}: {e}", a.display()))?;
        let sticky = m.mode() & 0o1000 != 0;
        if !owner_ok(&m, own_uid) || (m.mode() & 0o022 != 0 && !sticky) {
            return Err(format!(
                "refusing directory {shown}: its parent {} can be changed by another user (uid {}, mode {:04o})",
                a.display(),
                m.uid(),
                m.mode() & 0o7777
            ));
        }
    }
    Ok(canon)
}

/// Opens (creating) the lock file without following a symbolic link; it must be
/// a regular file owned by us with a single link.
pub fn open_lock(path: &Path, own_uid: u32) -> Result<std::fs::File, String> {
    let shown = path.display();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!("refusing {shown}: it is a symbolic link"),
            _ => format!("cannot open {shown}: {e}"),
        })?;
    let m = f
        .metadata()
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    if !m.is_file() || m.nlink() != 1 || m.uid() != own_uid {
        return Err(format!(
            "refusing {shown}: not a regular file of ours with a single link"
        ));
    }
    Ok(f)
}

/// Writes `pid` to `path` by creating a temporary file next to it (`O_EXCL`,
/// `O_NOFOLLOW`, mode 0644) and renaming it over `path`.
pub fn write_pidfile(path: &Path, pid: u32) -> Result<Owned, String> {
    let shown = path.display();
    let name = path
        .file_name()
        .ok_or_else(|| format!("bad pid file name {shown}"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{pid}.tmp"));
    let tmp = path.with_file_name(tmp_name);
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
    };
    let mut f = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // a leftover of an earlier run with our pid (the directory is ours)
            let _ = std::fs::remove_file(&tmp);
            open()
        }
        r => r,
    }
    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let written = f.write_all(format!("{pid}\n").as_bytes());
    drop(f);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {shown}: {e}"));
    }
    Owned::of(path).map_err(|e| format!("cannot write {shown}: {e}"))
}

/// Creates the listening socket at `path` with mode [`SOCKET_MODE`] from the
/// start. A stale socket or a symbolic link at the path is removed first (the
/// caller holds the lock, so no live daemon of ours owns it); anything else
/// there is refused.
pub fn bind_socket(path: &Path) -> Result<(UnixListener, Owned), String> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() || m.file_type().is_symlink() => {
            std::fs::remove_file(path).map_err(|e| format!("cannot remove {shown}: {e}"))?;
        }
        Ok(_) => return Err(format!("refusing {shown}: it exists and is not a socket")),
        Err(_) => {}
    }
    use nix::sys::stat::{umask, Mode};
    let mask = Mode::from_bits_truncate(0o777 & !SOCKET_MODE);
    // The daemon is single-threaded here; the old mask is restored at once.
    let old = umask(mask);
    let r = UnixListener::bind(path);
    umask(old);
    let l = r.map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    let owned = Owned::of(path).map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    Ok((l, owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn directory_rules() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("run");
        // created when missing, 0755
        let c = check_dir(&d, me(), true).unwrap();
        assert_eq!(c, d.canonicalize().unwrap());
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o755);
        for bad in [0o775, 0o757, 0o777, 0o1777] {
            chmod(&d, bad);
            let e = check_dir(&d, me(), false).unwrap_err();
            assert!(e.contains("writable by group or others"), "{bad:o}: {e}");
            assert!(e.contains(&d.display().to_string()), "{e}");
        }
        chmod(&d, 0o700);
        assert!(check_dir(&d, me(), false).is_ok());
        // a writable, non-sticky parent: its entries can be swapped
        let inner = d.join("sub");
        std::fs::create_dir(&inner).unwrap();
        chmod(&d, 0o777);
        let e = check_dir(&inner, me(), false).unwrap_err();
        assert!(e.contains("its parent"), "{e}");
        // sticky is fine for a parent (like /tmp)
        chmod(&d, 0o1777);
        assert!(check_dir(&inner, me(), false).is_ok());
        chmod(&d, 0o755);
        // not a directory
        let f = d.join("file");
        std::fs::write(&f, "").unwrap();
        assert!(check_dir(&f, me(), false)
            .unwrap_err()
            .contains("not a directory"));
    }

    #[test]
    fn lock_refuses_links() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let l = t.path().join("s.lock");
        std::os::unix::fs::symlink(&target, &l).unwrap();
        assert!(open_lock(&l, me()).unwrap_err().contains("symbolic link"));
        std::fs::remove_file(&l).unwrap();
        std::fs::hard_link(&target, &l).unwrap();
        assert!(open_lock(&l, me()).unwrap_err().contains("single link"));
        std::fs::remove_file(&l).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        let f = open_lock(&l, me()).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn pidfile_replaces_links_never_writes_through() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let p = t.path().join("pid");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let owned = write_pidfile(&p, 4242).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "4242\n");
        drop(owned);
        assert!(!p.exists());
        // a hard link is replaced too
        std::fs::hard_link(&target, &p).unwrap();
        let owned = write_pidfile(&p, 7).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "7\n");
        // someone else's file at the name by exit time is left alone
        let other = t.path().join("other");
        std::fs::write(&other, "other").unwrap();
        std::fs::rename(&other, &p).unwrap();
        drop(owned);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "other");
        // no temporary file left behind
        let left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn socket_mode_is_set_at_bind_and_links_are_replaced() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, "precious").unwrap();
        let s = t.path().join("sock");
        std::os::unix::fs::symlink(&target, &s).unwrap();
        let (l, owned) = bind_socket(&s).unwrap();
        let m = std::fs::symlink_metadata(&s).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.mode() & 0o777, SOCKET_MODE);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        // the umask is restored
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        nix::sys::stat::umask(old);
        assert_ne!(old.bits() & 0o777, 0o177);
        drop(l);
        drop(owned);
        assert!(!s.exists());
        // a regular file at the socket path is refused, and kept
        std::fs::write(&s, "data").unwrap();
        assert!(bind_socket(&s)
            .unwrap_err()
            .contains("exists and is not a socket"));
        assert_eq!(std::fs::read_to_string(&s).unwrap(), "data");
    }
}
