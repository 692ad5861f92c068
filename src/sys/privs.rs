//! Privileges of a setuid-root helper run by an ordinary user (fstab `user`
//! mounts, docs/security-review.md).
//!
//! [`init`] runs first in the helper. When the process is elevated (the kernel
//! set AT_SECURE, or real and effective ids differ) it
//! * makes the process non-dumpable and sets RLIMIT_CORE to 0 (no core file or
//!   ptrace attach with root's memory),
//! * replaces the environment by a fixed `PATH` (no locale, no `$VAR` for
//!   nfsmount.conf, no resolver or libc tuning variables),
//! * sets the umask to 022,
//! * and lowers the effective uid/gid to the caller's real ones, keeping root
//!   only as the *saved* uid.
//!
//! From then on everything — parsing, reading caller-given paths, DNS, RPC —
//! runs with the caller's identity. [`Root`] guards raise the effective ids to 0
//! around the few operations that need them (mount(2), umount2(2), reserved
//! port binds and the port-pool file, the utab update, the rpcproxyd connect,
//! start-statd) and lower them again when dropped.
//!
//! When the process is not elevated (root ran it, or it is not setuid) every
//! function here is a no-op.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The fixed `PATH` of an elevated helper.
pub const SAFE_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Who ran the helper (real ids, captured by [`init`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups plus the real gid.
    pub groups: Vec<u32>,
}

static ELEVATED: AtomicBool = AtomicBool::new(false);
static CALLER: Mutex<Option<Caller>> = Mutex::new(None);
/// Nesting depth of live [`Root`] guards.
static DEPTH: Mutex<u32> = Mutex::new(0);

/// True when the kernel started us in secure-execution mode (setuid/setgid
/// exec, file capabilities): AT_SECURE in the auxiliary vector.
pub fn at_secure() -> bool {
    // SAFETY: getauxval reads the process's auxiliary vector; it takes an
    // integer and returns an integer (0 when the entry is absent).
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Real, effective and saved ids not all equal (uid or gid).
pub fn ids_differ() -> bool {
    let u = nix::unistd::getresuid();
    let g = nix::unistd::getresgid();
    match (u, g) {
        (Ok(u), Ok(g)) => {
            u.real != u.effective || u.real != u.saved || g.real != g.effective || g.real != g.saved
        }
        _ => true,
    }
}

/// Is this a setuid helper run by a non-root user (after [`init`])?
pub fn elevated() -> bool {
    ELEVATED.load(Ordering::SeqCst)
}

/// The caller recorded by [`init`] (None when not elevated).
pub fn caller() -> Option<Caller> {
    CALLER.lock().ok().and_then(|c| c.clone())
}

/// What [`init`] did, for the caller to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Init {
    /// Not elevated: nothing changed.
    Plain,
    /// Elevated and hardened; effective ids are now the caller's.
    Elevated,
}

/// Harden an elevated process (module docs). Must run before anything reads the
/// environment or opens a caller-given path. Fails only if the ids cannot be
/// lowered — then the helper must stop.
pub fn init() -> std::io::Result<Init> {
    let ruid = nix::unistd::getuid();
    let rgid = nix::unistd::getgid();
    let euid = nix::unistd::geteuid();
    let elevated_exec = at_secure() || ids_differ();
    if !elevated_exec || (ruid.is_root() && euid.is_root()) {
        return Ok(Init::Plain);
    }
    no_core_dumps();
    clear_environment();
    // SAFETY: umask only replaces the process's file mode creation mask.
    unsafe { libc::umask(0o022) };
    let mut groups: Vec<u32> = nix::unistd::getgroups()
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();
    if !groups.contains(&rgid.as_raw()) {
        groups.push(rgid.as_raw());
    }
    let caller = Caller {
        uid: ruid.as_raw(),
        gid: rgid.as_raw(),
        groups,
    };
    if let Ok(mut c) = CALLER.lock() {
        *c = Some(caller);
    }
    ELEVATED.store(true, Ordering::SeqCst);
    lower()?;
    Ok(Init::Elevated)
}

/// PR_SET_DUMPABLE 0 and RLIMIT_CORE 0.
pub fn no_core_dumps() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
}

/// Is the process dumpable? (tests)
pub fn dumpable() -> bool {
    // SAFETY: prctl(PR_GET_DUMPABLE) takes integer arguments only.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 }
}

/// Every variable removed, then `PATH` set to [`SAFE_PATH`]. Runs while the
/// process is still single-threaded (first thing in the helper).
fn clear_environment() {
    let names: Vec<std::ffi::OsString> = std::env::vars_os().map(|(k, _)| k).collect();
    for k in names {
        std::env::remove_var(k);
    }
    std::env::set_var("PATH", SAFE_PATH);
}

fn lower() -> std::io::Result<()> {
    let Some(c) = caller() else { return Ok(()) };
    let gid = nix::unistd::Gid::from_raw(c.gid);
    let uid = nix::unistd::Uid::from_raw(c.uid);
    let keep = nix::unistd::Uid::from_raw(u32::MAX);
    let keep_g = nix::unistd::Gid::from_raw(u32::MAX);
    // gid first: lowering the uid first would leave us unable to change it.
    nix::unistd::setresgid(keep_g, gid, keep_g)?;
    nix::unistd::setresuid(keep, uid, keep)?;
    if nix::unistd::geteuid() != uid || nix::unistd::getegid() != gid {
        return Err(std::io::Error::from_raw_os_error(libc::EPERM));
    }
    Ok(())
}

fn raise() -> std::io::Result<()> {
    let root = nix::unistd::Uid::from_raw(0);
    let keep = nix::unistd::Uid::from_raw(u32::MAX);
    let keep_g = nix::unistd::Gid::from_raw(u32::MAX);
    nix::unistd::setresuid(keep, root, keep)?;
    nix::unistd::setresgid(keep_g, nix::unistd::Gid::from_raw(0), keep_g)?;
    Ok(())
}

/// Effective root for as long as it lives (a no-op guard when not elevated).
/// Guards nest; the ids are lowered when the last one goes.
#[must_use = "privileges last only as long as the guard"]
pub struct Root {
    active: bool,
}

/// Raise privileges for one operation that needs them.
pub fn root() -> Root {
    if !elevated() {
        return Root { active: false };
    }
    let mut d = DEPTH.lock().unwrap_or_else(|p| p.into_inner());
    if *d == 0 && raise().is_err() {
        // Could not raise: the operation runs as the caller and fails with
        // EPERM/EACCES, which is reported as such.
        return Root { active: false };
    }
    *d += 1;
    Root { active: true }
}

impl Drop for Root {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let mut d = DEPTH.lock().unwrap_or_else(|p| p.into_inner());
        *d -= 1;
        if *d == 0 && lower().is_err() {
            // Never carry on as root after a failed drop.
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A test process is not setuid: everything is a no-op.
    #[test]
    fn plain_process_is_untouched() {
        std::env::set_var("PRIVS_RS_PROBE", "1");
        assert_eq!(init().unwrap(), Init::Plain);
        assert!(!elevated());
        assert_eq!(caller(), None);
        assert_eq!(std::env::var("PRIVS_RS_PROBE").as_deref(), Ok("1"));
        let g = root();
        assert!(!g.active);
        drop(g);
        assert!(!at_secure());
        assert!(!ids_differ());
    }
}
