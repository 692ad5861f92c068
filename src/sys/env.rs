//! Test-only environment overrides (see docs/CONTRIBUTING.md).
//!
//! They exist only in builds with the cargo feature `test-hooks`, which
//! `cargo test` turns on (Cargo.toml's self dev-dependency) and no production
//! build has (`cargo build [--release]`, `make install`): a root helper that
//! inherits a user's environment (`sudo -E`, `su` without `-`) must not let it
//! name programs to run, sockets to trust or files to write. Even in a test
//! build they are ignored when the process is setuid/setgid-elevated.

use std::ffi::OsString;

/// True in builds with the `test-hooks` feature (tests), false in production.
pub const TEST_HOOKS: bool = cfg!(feature = "test-hooks");

/// True when real and effective ids agree (not running setuid/setgid-elevated).
pub fn overrides_allowed() -> bool {
    // AT_SECURE and the saved ids: a setuid helper that lowered its effective
    // ids to the caller's (sys::privs) still counts as elevated.
    !super::privs::at_secure() && !super::privs::ids_differ() && !super::privs::elevated()
}

/// The value of a test override variable, if this is a test build, the process
/// is not elevated, and the variable is set (non-empty).
#[cfg(feature = "test-hooks")]
pub fn test_override(name: &str) -> Option<OsString> {
    if !overrides_allowed() {
        return None;
    }
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Production build: there are no test overrides; the environment is not read.
#[cfg(not(feature = "test-hooks"))]
pub fn test_override(_name: &str) -> Option<OsString> {
    None
}

/// Divisor applied to retry sleeps (`NFSMOUNT_TIME_SCALE`), at least 1.
pub fn time_scale() -> u32 {
    test_override("NFSMOUNT_TIME_SCALE")
        .and_then(|v| v.to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit tests are always built with the feature (dev-dependency), so this
    // checks the test-build side; scripts/check-prod-hooks checks a production
    // build from the outside.
    #[test]
    fn test_builds_have_hooks() {
        const { assert!(TEST_HOOKS) };
        std::env::set_var("ENV_RS_UNIT_PROBE", "x");
        assert_eq!(
            test_override("ENV_RS_UNIT_PROBE"),
            Some(OsString::from("x"))
        );
        std::env::set_var("ENV_RS_UNIT_PROBE", "");
        assert_eq!(test_override("ENV_RS_UNIT_PROBE"), None);
    }
}
