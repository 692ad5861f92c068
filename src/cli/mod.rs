//! Command-line entry points (placeholder until the CLI lands).
#![forbid(unsafe_code)]

/// Entry point of the helper binary; returns the exit status.
pub fn helper_main() -> i32 {
    crate::error::exit::FAIL
}
