//! The real clock for the retry loops, and ctime(3) text for verbose output.

use crate::negotiate::Clock;
use std::time::{Duration, Instant};

/// Monotonic clock whose sleeps are divided by `NFSMOUNT_TIME_SCALE` (tests only).
pub struct RealClock {
    start: Instant,
    scale: u32,
}

impl RealClock {
    pub fn new() -> RealClock {
        RealClock {
            start: Instant::now(),
            scale: super::env::time_scale(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    /// Scaled time: a test with scale 100 sees minutes pass in seconds.
    fn now(&self) -> Duration {
        self.start.elapsed() * self.scale
    }
    fn sleep(&mut self, d: Duration) -> bool {
        super::termination::step(&format!(
            "waiting {} s before the next attempt",
            d.as_secs_f64()
        ));
        std::thread::sleep(d / self.scale);
        true
    }
}

/// `ctime(3)` of now + `secs` (with the trailing newline), for "timeout set for".
pub fn ctime_in(secs: u64) -> String {
    // SAFETY: time(NULL) has no preconditions.
    let t = unsafe { libc::time(std::ptr::null_mut()) } + secs as libc::time_t;
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: ctime_r needs a buffer of at least 26 bytes; ours has 64 and outlives the call.
    let p = unsafe { libc::ctime_r(&t, buf.as_mut_ptr()) };
    if p.is_null() {
        return "\n".into();
    }
    // SAFETY: on success ctime_r wrote a NUL-terminated string into buf.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ctime_shape() {
        let s = super::ctime_in(60);
        assert_eq!(s.len(), 25, "{s:?}");
        assert!(s.ends_with('\n'));
    }
}
