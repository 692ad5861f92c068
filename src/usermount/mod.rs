//! User mounts through the setuid helper: the I/O side (reading /etc/fstab and
//! the mount point as the caller, messages). The decisions are in [`rules`]
//! (sans-IO); privileges in [`crate::sys::privs`]; race-free paths in
//! [`crate::sys::safepath`]. See docs/security-review.md.
//!
//! Refusals are the error table's (`MountError::UserNotInFstab`,
//! `UserNotPermitted`, `UserRefused`, `UmountError::UserNotPermitted`):
//! nfs-utils' first line with its blank line, exit 32, then one line of ours
//! saying why.

pub mod rules;

use crate::errno::{strerror, Errno};
use crate::error::{MountError, UmountError};
use crate::options::OptList;
use crate::sys::{privs, safepath};
use rules::{Grant, Refusal, Who};

/// The file system table.
pub const FSTAB: &str = "/etc/fstab";
/// The main nfsmount.conf (its `.d` directory is checked too).
pub const NFSMOUNT_CONF: &str = "/etc/nfsmount.conf";

/// A permitted user mount.
#[derive(Debug)]
pub struct Prepared {
    /// The fstab entry's source.
    pub spec: String,
    /// Canonical mount point (pinned for mount(2), sys::safepath).
    pub target: String,
    /// The fstab entry's options (they replace the caller's), plus `ro` if the
    /// caller asked for read-only.
    pub options: String,
    pub grant: Grant,
    /// The caller's user name (utab `user=`).
    pub name: String,
}

fn caller_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn not_in_fstab(why: String) -> MountError {
    MountError::UserNotInFstab { why }
}

fn not_permitted(why: String) -> MountError {
    MountError::UserNotPermitted { why }
}

fn read_fstab() -> Result<Vec<rules::FstabEntry>, String> {
    match safepath::read_trusted(std::path::Path::new(FSTAB)) {
        Ok(t) => Ok(rules::parse_fstab(&t)),
        Err(safepath::Untrusted::Missing) => Err(format!(
            "{FSTAB} does not exist: without root only its user, users, owner or group entries can be mounted"
        )),
        Err(u) => Err(format!("refusing user mounts: {FSTAB} {u}")),
    }
}

/// nfsmount.conf (and its .d files) must be as trustworthy as fstab.
fn check_conf() -> Result<(), String> {
    // An elevated helper never honours NFSMOUNT_CONF (sys::env): the real path.
    let main = std::path::PathBuf::from(NFSMOUNT_CONF);
    let mut files = vec![main.clone()];
    let d = std::path::PathBuf::from(format!("{}.d", main.display()));
    if let Ok(rd) = std::fs::read_dir(&d) {
        for e in rd.flatten().take(1000) {
            files.push(e.path());
        }
    }
    for f in files {
        match safepath::read_trusted(&f) {
            Ok(_) | Err(safepath::Untrusted::Missing) => {}
            Err(u) => {
                return Err(format!("refusing user mounts: {} {u}", f.display()));
            }
        }
    }
    Ok(())
}

fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error()
        .map(Errno::from_raw)
        .unwrap_or(Errno::ENOENT)
}

fn nix_errno(e: nix::errno::Errno) -> Errno {
    Errno::from_raw(e as i32)
}

/// The checks for a non-root caller of the setuid helper, in nfs-utils' order
/// (mount point, fstab entry, permission). Run with the caller's identity.
/// The error is not printed yet.
pub fn prepare_mount(spec: &str, mountpoint: &str, cli_opts: &str) -> Result<Prepared, MountError> {
    let Some(caller) = privs::caller() else {
        return Err(not_permitted("cannot tell who called".into()));
    };
    if mountpoint.is_empty() {
        return Err(MountError::EmptyMountPoint);
    }
    // Resolved as the caller: a path the caller cannot search is refused.
    let target = match std::fs::canonicalize(mountpoint) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => {
            return Err(MountError::MountPoint {
                target: mountpoint.to_string(),
                errno: errno_of(&e),
            })
        }
    };
    let fd = match safepath::open_dir_nofollow(&target) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOTDIR) => {
            return Err(MountError::MountPoint {
                target,
                errno: Errno::ENOTDIR,
            });
        }
        Err(e) => {
            return Err(MountError::UserRefused {
                why: format!(
                    "mount point {target} changed while it was checked ({})",
                    strerror(nix_errno(e))
                ),
            });
        }
    };
    let tab = read_fstab().map_err(not_in_fstab)?;
    // The fstab target must be the real path, as written: libmount also
    // canonicalises it, so a user who can replace a directory on the way by a
    // symbolic link (an `owner` mount point in their home) could point an entry
    // at /etc. Such an entry is refused, naming the link.
    let mut literal = |_: &str| None;
    let Some(entry) = rules::find_pair(&tab, spec, &target, &mut literal) else {
        let mut canon = |p: &str| {
            std::fs::canonicalize(p)
                .ok()
                .map(|c| c.to_string_lossy().into_owned())
        };
        if let Some(e) = rules::find_pair(&tab, spec, &target, &mut canon) {
            return Err(not_in_fstab(format!(
                "{FSTAB} line {} names the mount point {} through a symbolic link (it resolves to {target}); user mounts need the real path in {FSTAB}",
                e.line, e.target
            )));
        }
        return Err(not_in_fstab(format!(
            "{spec} on {target} is not in {FSTAB}: without root only its entries marked user, users, owner or group can be mounted"
        )));
    };
    check_conf().map_err(|why| MountError::UserRefused { why })?;
    let opts = OptList::parse(&entry.opts)
        .map_err(|e| not_in_fstab(format!("{FSTAB} line {}: {e}", entry.line)))?;
    let Some(name) = caller_name(caller.uid) else {
        return Err(not_permitted(format!(
            "uid {} has no user name (needed for utab's user=)",
            caller.uid
        )));
    };
    let owner = safepath::fd_owner(&fd).map_err(|e| MountError::MountPoint {
        target: target.clone(),
        errno: nix_errno(e),
    })?;
    let who = Who {
        uid: caller.uid,
        groups: &caller.groups,
        name: &name,
    };
    let grant = match rules::mount_permission(&opts, &who, owner) {
        Ok(g) => g,
        Err(r) => {
            let why = match r {
                Refusal::NotPermitted(w) => w,
                Refusal::NotInFstab => String::new(),
            };
            return Err(not_permitted(format!(
                "{FSTAB} line {} ({} on {}) does not allow you to mount it: {why}",
                entry.line, entry.source, entry.target
            )));
        }
    };
    let mut options = entry.opts.clone();
    // Read-only is the one thing a caller may add (it only takes away).
    if let Ok(cl) = OptList::parse(cli_opts) {
        // `rightmost` gives the index into the key list: 0 is "ro"
        if cl.rightmost(&["ro", "rw"]) == Some(0) {
            options.push_str(",ro");
        }
    }
    if let Err(e) = safepath::pin_mount(&target, fd) {
        return Err(MountError::UserRefused {
            why: format!(
                "cannot pin the mount point {target}: {} (is /proc mounted?)",
                strerror(nix_errno(e))
            ),
        });
    }
    Ok(Prepared {
        spec: entry.source.clone(),
        target,
        options,
        grant,
        name,
    })
}

/// May the caller unmount `found` (its mountinfo source and target; None: not
/// mounted)? On success the mount point is pinned for umount2(2). `utab_opts`:
/// the mount's utab `OPTS=`. The error is not printed yet.
pub fn check_umount(
    spec: &str,
    found: Option<(&str, &str)>,
    utab_opts: Option<&str>,
) -> Result<(), UmountError> {
    let refuse = |why: String| UmountError::UserNotPermitted { why };
    let Some(caller) = privs::caller() else {
        return Err(refuse("cannot tell who called".into()));
    };
    let Some((source, target)) = found else {
        return Err(refuse(format!(
            "{spec} is not a mount point in /proc/self/mountinfo"
        )));
    };
    let tab = read_fstab().map_err(refuse)?;
    // umount.nfs disables canonicalisation: names compare as they are.
    let mut none = |_: &str| None;
    let fstab_opts = rules::find_pair(&tab, source, target, &mut none)
        .map(|e| OptList::parse(&e.opts).unwrap_or_default());
    let mount_opts = OptList::parse(utab_opts.unwrap_or("")).unwrap_or_default();
    let name = caller_name(caller.uid).unwrap_or_default();
    let who = Who {
        uid: caller.uid,
        groups: &caller.groups,
        name: &name,
    };
    match rules::umount_permission(fstab_opts.as_ref(), &mount_opts, &who) {
        Ok(()) => {}
        Err(Refusal::NotInFstab) => {
            return Err(refuse(format!(
                "{source} on {target} is not in {FSTAB}: without root only its user, users, owner or group entries can be unmounted"
            )))
        }
        Err(Refusal::NotPermitted(why)) => {
            return Err(refuse(format!("you may not unmount {target}: {why}")))
        }
    }
    if let Err(e) = safepath::pin_umount(target) {
        return Err(refuse(format!(
            "cannot open the directory above {target} without following links: {}",
            strerror(nix_errno(e))
        )));
    }
    Ok(())
}
