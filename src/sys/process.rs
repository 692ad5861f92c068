//! Process-level operations: daemonizing the background mount, identity checks,
//! mount-point inspection.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// daemon(0, 0): fork, the parent exits 0, the child gets a new session, `/` as its
/// working directory and stdio on /dev/null.
pub fn daemonize() -> nix::Result<()> {
    nix::unistd::daemon(false, false)
}

pub fn euid_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn uid_is_root() -> bool {
    nix::unistd::getuid().is_root()
}

/// Is `path` a mount point? (its device differs from its parent's, or it is its
/// own parent, like `/`).
pub fn is_mountpoint(path: &str) -> bool {
    let p = Path::new(path);
    let Ok(me) = std::fs::metadata(p) else {
        return false;
    };
    let Ok(parent) = std::fs::metadata(p.join("..")) else {
        return false;
    };
    me.dev() != parent.dev() || me.ino() == parent.ino()
}

/// A regular file with the owner-execute bit set.
pub fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o100 != 0)
        .unwrap_or(false)
}

/// Run start-statd as nfs-utils does: no supplementary groups, uid/gid 0, an empty
/// environment. True if it exited 0.
pub fn run_start_statd(script: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new(script);
    c.env_clear()
        .stdin(std::process::Stdio::null())
        .uid(0)
        .gid(0);
    matches!(c.status(), Ok(s) if s.success())
}
