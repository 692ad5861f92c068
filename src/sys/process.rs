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
    // start-statd runs as root (nfs-utils: setuid(0) first), also for a user mount.
    let _root = super::privs::root();
    matches!(c.status(), Ok(s) if s.success())
}

/// Sets this process's nice value (setpriority(2), PRIO_PROCESS, self).
pub fn set_nice(n: i32) -> std::io::Result<()> {
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Raises the soft RLIMIT_NOFILE towards `want` (never above the hard limit, never
/// lowers it) and returns the soft limit in force afterwards.
pub fn raise_nofile_limit(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let target = want.min(hard);
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        return target;
    }
    soft
}

/// What std's runtime would have done before `main` for a binary entered directly
/// from the C runtime (`#![no_main]`, see bin/mount_nfs.rs): make sure fds 0–2
/// are open (a closed one is reopened on /dev/null, so a later open() cannot
/// become "stdout") and ignore SIGPIPE (a vanished reader gives EPIPE, not
/// death). std's stack-overflow guard is not installed: finding the main
/// thread's guard page parses /proc/self/maps with sscanf (about a fifth of the
/// instructions of `mount.nfs -V`; 51 -> 43 ms per exec in a TCG guest).
pub fn lean_startup() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::BorrowedFd;
    for fd in 0..3 {
        // SAFETY: fds 0–2 are only borrowed for the poll call below; a closed
        // one is reported as POLLNVAL, never read or written.
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        let mut p = [PollFd::new(b, PollFlags::empty())];
        let closed = poll(&mut p, PollTimeout::ZERO).is_ok()
            && p[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLNVAL));
        if closed {
            // opens the lowest free fd, which is `fd`; kept open for the process
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                std::mem::forget(f);
            }
        }
    }
    // SAFETY: SIG_IGN installs no handler code; nothing else in the process
    // has touched signal dispositions yet.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
}

/// Is a process named `comm` (as in `/proc/<pid>/comm`) running? Scans /proc
/// (at most 100 000 entries); None when /proc cannot be read.
pub fn process_running(comm: &str) -> Option<bool> {
    let dir = std::fs::read_dir("/proc").ok()?;
    for ent in dir.take(100_000).flatten() {
        let name = ent.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(c) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            if c.trim_end_matches('\n') == comm {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// The running kernel's release (`uname -r`), from /proc/sys/kernel/osrelease.
pub fn kernel_release() -> Option<String> {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let r = r.trim();
    (!r.is_empty() && r.len() < 256).then(|| r.to_string())
}
