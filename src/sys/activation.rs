//! systemd socket activation: the listening socket passed as fd 3.

use std::os::fd::FromRawFd;
use std::os::unix::net::UnixListener;

/// First fd passed by systemd (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// The unix listener handed over by socket activation, if `LISTEN_PID` names this
/// process and `LISTEN_FDS` is at least 1. The variables are removed so children
/// do not inherit them.
pub fn take_listener() -> Option<UnixListener> {
    let pid = std::env::var("LISTEN_PID").ok()?.parse::<u32>().ok()?;
    let n = std::env::var("LISTEN_FDS").ok()?.parse::<u32>().ok()?;
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    if pid != std::process::id() || n < 1 {
        return None;
    }
    // Make sure fd 3 is really a socket before taking ownership of it.
    let st = nix::sys::stat::fstat(
        // SAFETY: fd 3 is only borrowed for this fstat call; it was checked to be
        // passed to us by LISTEN_PID/LISTEN_FDS.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(LISTEN_FDS_START) },
    )
    .ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return None;
    }
    let _ = nix::fcntl::fcntl(
        // SAFETY: as above, a borrow for one fcntl call.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(LISTEN_FDS_START) },
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    // SAFETY: systemd passed fd 3 to this process (LISTEN_PID matches) as an open
    // socket (checked above); nothing else in the process owns it, and we take
    // ownership exactly once because the variables were removed.
    Some(unsafe { UnixListener::from_raw_fd(LISTEN_FDS_START) })
}
