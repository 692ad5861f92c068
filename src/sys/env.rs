//! Test-only environment overrides (see docs/CONTRIBUTING.md).
//!
//! They are honoured only when the process is not setuid/setgid-elevated, so a
//! caller of a setuid install can never steer the helper with them.

use std::ffi::OsString;

/// True when real and effective ids agree (not running setuid/setgid-elevated).
pub fn overrides_allowed() -> bool {
    nix::unistd::getuid() == nix::unistd::geteuid()
        && nix::unistd::getgid() == nix::unistd::getegid()
}

/// The value of a test override variable, if allowed and set (non-empty).
pub fn test_override(name: &str) -> Option<OsString> {
    if !overrides_allowed() {
        return None;
    }
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Divisor applied to retry sleeps (`NFSMOUNT_TIME_SCALE`), at least 1.
pub fn time_scale() -> u32 {
    test_override("NFSMOUNT_TIME_SCALE")
        .and_then(|v| v.to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|n| *n > 0)
        .unwrap_or(1)
}
