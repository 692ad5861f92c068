//! A thin epoll(7) wrapper for rpcproxyd's client sockets.
//!
//! poll(2) costs O(registered fds) per wakeup in the kernel (every socket's
//! poll callback) and in the daemon (building the array). With 1,000 helpers
//! connected and one call each in flight, that was most of the daemon's CPU
//! per call (docs/benchmarks.md, "rpcproxyd measured"). epoll keeps the
//! interest set in the kernel and returns only ready fds.
//!
//! Level-triggered only; the caller registers each fd with a `u64` token and
//! removes it (or closes it: a closed fd leaves every epoll set it was in
//! when no other descriptor refers to the same file).
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub const IN: u32 = libc::EPOLLIN as u32;
pub const OUT: u32 = libc::EPOLLOUT as u32;
pub const HUP: u32 = libc::EPOLLHUP as u32;
pub const ERR: u32 = libc::EPOLLERR as u32;
pub const RDHUP: u32 = libc::EPOLLRDHUP as u32;

/// An epoll instance (close-on-exec).
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

/// One ready fd: its token and the events (`IN`, `OUT`, `HUP`, `ERR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    pub token: u64,
    pub events: u32,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a
        // new fd that nothing else owns, so OwnedFd may take it.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            // SAFETY: fd is a fresh, valid descriptor owned by nobody else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call;
        // the kernel copies it. An invalid fd is reported as an error.
        let r = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Registers `fd` for `events` under `token`.
    pub fn add(&self, fd: &impl AsRawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_raw_fd(), events, token)
    }

    /// Changes the events (and token) of a registered fd.
    pub fn modify(&self, fd: &impl AsRawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), events, token)
    }

    /// Removes a registered fd (before closing it if it may be shared).
    pub fn delete(&self, fd: &impl AsRawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0, 0)
    }

    /// Ready fds, at most `max`, waiting at most `timeout_ms` (0 = do not wait;
    /// negative is treated as 0: every wait here is bounded). EINTR = none.
    pub fn wait(&self, out: &mut Vec<Ready>, max: usize, timeout_ms: i32) -> io::Result<()> {
        out.clear();
        let max = max.clamp(1, 4096);
        let mut evs: Vec<libc::epoll_event> = Vec::with_capacity(max);
        // SAFETY: `evs` has capacity for `max` entries and the kernel writes at
        // most `max` (maxevents); the returned count n <= max entries are then
        // initialised, which is what set_len records.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                evs.as_mut_ptr(),
                max as libc::c_int,
                timeout_ms.max(0),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        // SAFETY: see above: n entries were written by the kernel, n <= max.
        unsafe { evs.set_len(n as usize) };
        out.extend(evs.iter().map(|e| Ready {
            token: e.u64,
            events: e.events,
        }));
        Ok(())
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl std::os::fd::AsFd for Epoll {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reports_only_ready_fds_with_their_tokens() {
        let ep = Epoll::new().unwrap();
        let (mut a1, b1) = UnixStream::pair().unwrap();
        let (_a2, b2) = UnixStream::pair().unwrap();
        ep.add(&b1, IN, 7).unwrap();
        ep.add(&b2, IN, 9).unwrap();
        let mut out = Vec::new();
        ep.wait(&mut out, 16, 0).unwrap();
        assert!(out.is_empty(), "nothing written yet: {out:?}");
        a1.write_all(b"x").unwrap();
        ep.wait(&mut out, 16, 100).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].token, 7);
        assert_ne!(out[0].events & IN, 0);
        // level-triggered: still ready while unread
        ep.wait(&mut out, 16, 0).unwrap();
        assert_eq!(out.len(), 1);
        // OUT interest on b2 is ready at once (empty send buffer)
        ep.modify(&b2, IN | OUT, 11).unwrap();
        ep.wait(&mut out, 16, 0).unwrap();
        let toks: Vec<u64> = out.iter().map(|r| r.token).collect();
        assert!(toks.contains(&11) && toks.contains(&7), "{toks:?}");
        ep.delete(&b1).unwrap();
        ep.wait(&mut out, 16, 0).unwrap();
        assert!(out.iter().all(|r| r.token == 11));
        // a closed peer shows as readable/hang-up
        drop(_a2);
        ep.modify(&b2, IN, 12).unwrap();
        ep.wait(&mut out, 16, 0).unwrap();
        assert_eq!(out.len(), 1);
        assert_ne!(out[0].events & (IN | HUP), 0);
        // max is honoured
        ep.add(&b1, IN, 7).unwrap();
        ep.wait(&mut out, 1, 0).unwrap();
        assert_eq!(out.len(), 1);
    }
}
