//! Errno values and their texts: the C library's own `strerror(3)` table, the
//! one source of every errno text the helpers print. No I/O.
#![forbid(unsafe_code)]

/// An errno value as the kernel or the RPC layer reports it.
pub type Errno = nix::errno::Errno;

/// `strerror(3)` text for an errno: the C library's own table (what nfs-utils
/// prints), e.g. EAGAIN is "Resource temporarily unavailable" — not the text of a
/// Rust crate's table ("Try again"). The one function every message uses.
pub fn strerror(e: Errno) -> String {
    strerror_raw(e as i32)
}

/// [`strerror`] for a raw errno number (unknown numbers: the C library's
/// "Unknown error N").
pub fn strerror_raw(errno: i32) -> String {
    // std formats an OS error with the C library's strerror_r text, then appends
    // " (os error N)"; keep the C library's part only.
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match s.strip_suffix(&suffix) {
        Some(t) => t.to_string(),
        None => s,
    }
}
