//! What a mount helper says when it is told to stop.
//!
//! autofs (`mount_wait`) and systemd (the mount unit's timeout) end a mount that
//! takes too long with SIGTERM. Dying silently leaves the administrator with
//! "mount failed" and nothing else; instead the helper prints one final line
//! naming the step that was running, against which server and for how long, to
//! stderr and syslog, and exits with the mount failure status (32).
//!
//! The step is published by the code doing the work ([`step`]) into two static
//! buffers of atomics (written one while the other is published), so the signal
//! handler reads a whole step without locks. The handler itself only uses
//! async-signal-safe calls: clock_gettime, getpid, write, sendto, _exit. Kernel
//! resources need no cleanup: the utab lock is an flock released at exit, a
//! half-written utab temporary is removed by the next update, sockets close.

use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

const STEP_MAX: usize = 200;
const NAME_MAX: usize = 32;
const PATH_MAX: usize = 108;

struct Text<const N: usize> {
    bytes: [AtomicU8; N],
    len: AtomicUsize,
}

impl<const N: usize> Text<N> {
    const fn new() -> Self {
        Text {
            bytes: [const { AtomicU8::new(0) }; N],
            len: AtomicUsize::new(0),
        }
    }
    fn store(&self, s: &[u8]) {
        let n = s.len().min(N);
        for (slot, b) in self.bytes.iter().zip(&s[..n]) {
            slot.store(*b, Ordering::Relaxed);
        }
        self.len.store(n, Ordering::Release);
    }
    /// Copies the text into `out` from `at`; returns the new end.
    fn copy_into(&self, out: &mut [u8], at: usize) -> usize {
        let n = self.len.load(Ordering::Acquire);
        let mut i = at;
        for slot in &self.bytes[..n] {
            if i >= out.len() {
                break;
            }
            out[i] = slot.load(Ordering::Relaxed);
            i += 1;
        }
        i
    }
}

static INSTALLED: AtomicBool = AtomicBool::new(false);
static PROGNAME: Text<NAME_MAX> = Text::new();
static STEPS: [Text<STEP_MAX>; 2] = [Text::new(), Text::new()];
static STEP_STARTED_NS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);
static STARTED_NS: AtomicU64 = AtomicU64::new(0);
static SYSLOG_FD: AtomicI32 = AtomicI32::new(-1);
static SYSLOG_PATH: Text<PATH_MAX> = Text::new();
static EXIT_STATUS: AtomicI32 = AtomicI32::new(32);

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; clock_gettime is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Publishes the step now running (e.g. "NULL call to mountd at 10.0.0.1 port
/// 20048/udp"). Cheap; a no-op until [`install`] ran.
pub fn step(text: &str) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return;
    }
    let next = 1 - PUBLISHED.load(Ordering::Relaxed);
    STEPS[next].store(text.as_bytes());
    STEP_STARTED_NS[next].store(monotonic_ns(), Ordering::Relaxed);
    PUBLISHED.store(next, Ordering::Release);
}

/// Installs the SIGTERM/SIGINT handler for a mount helper named `progname`
/// that exits with `status`.
pub fn install(progname: &str, status: i32) {
    PROGNAME.store(progname.as_bytes());
    EXIT_STATUS.store(status, Ordering::Relaxed);
    STARTED_NS.store(monotonic_ns(), Ordering::Relaxed);
    use std::os::unix::ffi::OsStrExt;
    let path = super::env::test_override("NFSMOUNT_SYSLOG_SOCKET").unwrap_or("/dev/log".into());
    let path = path.as_bytes();
    if path.len() < PATH_MAX {
        if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
            SYSLOG_PATH.store(path);
            // kept open for the process: the handler cannot open sockets safely
            SYSLOG_FD.store(sock.into_raw_fd(), Ordering::Relaxed);
        }
    }
    INSTALLED.store(true, Ordering::Release);
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_signal),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::all(),
    );
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        // SAFETY: on_signal only calls async-signal-safe functions and reads
        // atomics; the handler stays valid for the life of the process.
        let _ = unsafe { nix::sys::signal::sigaction(sig, &action) };
    }
}

/// Appends `v` in decimal.
fn put_dec(out: &mut [u8], at: usize, mut v: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(out, at, &digits[k..])
}

/// Appends a duration in nanoseconds as seconds with one decimal ("12.3").
fn put_secs(out: &mut [u8], at: usize, ns: u64) -> usize {
    let tenths = ns / 100_000_000;
    let at = put_dec(out, at, tenths / 10);
    let at = put(out, at, b".");
    put_dec(out, at, tenths % 10)
}

fn put(out: &mut [u8], at: usize, s: &[u8]) -> usize {
    let n = s.len().min(out.len().saturating_sub(at));
    out[at..at + n].copy_from_slice(&s[..n]);
    at + n
}

/// The final line (without newline) for `sig`, into `out`; returns its length.
#[cfg(test)]
fn final_line(out: &mut [u8], sig: &[u8], now: u64) -> usize {
    final_line_with(out, b": stopped by ", sig, now)
}

/// The final line: program name, `head`, `what`, " after N s", the step.
fn final_line_with(out: &mut [u8], head: &[u8], what: &[u8], now: u64) -> usize {
    let mut at = PROGNAME.copy_into(out, 0);
    at = put(out, at, head);
    at = put(out, at, what);
    at = put(out, at, b" after ");
    at = put_secs(
        out,
        at,
        now.saturating_sub(STARTED_NS.load(Ordering::Relaxed)),
    );
    at = put(out, at, b" s");
    let cur = PUBLISHED.load(Ordering::Acquire);
    if STEPS[cur].len.load(Ordering::Acquire) > 0 {
        at = put(out, at, b", while ");
        at = STEPS[cur].copy_into(out, at);
        at = put(out, at, b" (for ");
        let since = STEP_STARTED_NS[cur].load(Ordering::Relaxed);
        at = put_secs(out, at, now.saturating_sub(since));
        at = put(out, at, b" s)");
    }
    at
}

/// Why the watchdog ended the helper (see [`watchdog`]).
static WHY: Text<96> = Text::new();

/// Ends the helper after `after` (from now) with the final line
/// "<prog>: giving up before <why> after N s, while <step> (for M s)", to stderr
/// and syslog, and the installed exit status — so that an outside deadline
/// (systemd's mount unit timeout, [`crate::negotiate::budget`]) is reported by
/// the helper and not by a SIGKILL. A no-op until [`install`] ran.
pub fn watchdog(after: std::time::Duration, why: &str) {
    if !INSTALLED.load(Ordering::Acquire) {
        return;
    }
    WHY.store(why.as_bytes());
    let _ = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            std::thread::sleep(after);
            let mut what = [0u8; 96];
            let n = WHY.copy_into(&mut what, 0);
            last_words(b": giving up before ", &what[..n]);
        });
}

extern "C" fn on_signal(signo: libc::c_int) {
    let sig: &[u8] = if signo == libc::SIGINT {
        b"SIGINT"
    } else {
        b"SIGTERM"
    };
    last_words(b": stopped by ", sig);
}

/// Writes the final line (stderr, syslog) and exits. Async-signal-safe.
fn last_words(head: &[u8], what: &[u8]) {
    let mut line = [0u8; 512];
    let n = final_line_with(&mut line[..511], head, what, monotonic_ns());
    line[n] = b'\n';
    // SAFETY: write(2) is async-signal-safe; the buffer is valid for n + 1 bytes.
    unsafe { libc::write(2, line.as_ptr().cast(), n + 1) };

    let fd = SYSLOG_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // "<LOG_AUTH|LOG_ERR>ident[pid]: msg"; the syslog daemon adds the time.
        let mut msg = [0u8; 600];
        let mut at = put(&mut msg, 0, b"<35>");
        at = PROGNAME.copy_into(&mut msg, at);
        at = put(&mut msg, at, b"[");
        // SAFETY: getpid is async-signal-safe and cannot fail.
        at = put_dec(&mut msg, at, unsafe { libc::getpid() } as u64);
        at = put(&mut msg, at, b"]: ");
        at = put(&mut msg, at, &line[..n]);
        // SAFETY: an all-zero sockaddr_un is valid; we fill family and path.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let mut path = [0u8; PATH_MAX];
        let plen = SYSLOG_PATH.copy_into(&mut path, 0).min(PATH_MAX - 1);
        for (d, s) in addr.sun_path.iter_mut().zip(&path[..plen]) {
            *d = *s as libc::c_char;
        }
        // SAFETY: sendto(2) is async-signal-safe; msg and addr are valid for the
        // lengths given.
        unsafe {
            libc::sendto(
                fd,
                msg.as_ptr().cast(),
                at,
                libc::MSG_DONTWAIT,
                (&addr as *const libc::sockaddr_un).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
    }
    // SAFETY: _exit is async-signal-safe; nothing needs flushing (stderr is
    // unbuffered, and the line above is the last word).
    unsafe { libc::_exit(EXIT_STATUS.load(Ordering::Relaxed)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_formatted_with_one_decimal() {
        let mut b = [0u8; 32];
        let n = put_secs(&mut b, 0, 12_345_000_000);
        assert_eq!(&b[..n], b"12.3");
        let n = put_secs(&mut b, 0, 99_000_000);
        assert_eq!(&b[..n], b"0.0");
        let n = put_dec(&mut b, 0, 40123);
        assert_eq!(&b[..n], b"40123");
        let n = put_dec(&mut b, 0, 0);
        assert_eq!(&b[..n], b"0");
    }

    #[test]
    fn final_line_names_the_step_and_both_durations() {
        PROGNAME.store(b"mount.nfs");
        STARTED_NS.store(1_000_000_000, Ordering::Relaxed);
        STEPS[1].store(b"NULL call to mountd at 10.0.0.1 port 20048/udp");
        STEP_STARTED_NS[1].store(5_000_000_000, Ordering::Relaxed);
        PUBLISHED.store(1, Ordering::Release);
        let mut b = [0u8; 512];
        let n = final_line(&mut b, b"SIGTERM", 13_250_000_000);
        assert_eq!(
            std::str::from_utf8(&b[..n]).unwrap(),
            "mount.nfs: stopped by SIGTERM after 12.2 s, while NULL call to mountd at 10.0.0.1 port 20048/udp (for 8.2 s)"
        );
        // A tiny buffer truncates instead of overflowing.
        let mut small = [0u8; 16];
        assert_eq!(final_line(&mut small, b"SIGTERM", 13_250_000_000), 16);
    }

    #[test]
    fn put_never_writes_past_the_buffer() {
        let mut b = [0u8; 4];
        assert_eq!(put(&mut b, 2, b"abcdef"), 4);
        assert_eq!(&b, b"\0\0ab");
        assert_eq!(put(&mut b, 4, b"x"), 4);
    }
}
