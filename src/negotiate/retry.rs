//! Foreground and background retry loops (spec §4), over an abstract clock.
//!
//! Deliberate fixes relative to nfs-utils 2.6.2 (see docs/differences.md):
//! * `retry=0` means one attempt (nfs-utils usually makes two, because it compares
//!   whole seconds with a strict `>`).
//! * after a quick ETIMEDOUT the loop still waits out the backoff step (nfs-utils
//!   does not sleep after ETIMEDOUT at all and can spin).
//! * the background child reports its final give-up (the caller logs it to syslog).

use crate::errno::Errno;
use std::time::Duration;

/// Time source for the loops. `now` is monotonic; `sleep` returns false if
/// interrupted (the loop then stops, as nfs-utils does when sleep() is interrupted).
pub trait Clock {
    fn now(&self) -> Duration;
    fn sleep(&mut self, d: Duration) -> bool;
}

/// nfs-utils' `nfs_is_permanent_error`: ESTALE and EOPNOTSUPP become permanent on
/// the third consecutive occurrence; ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH and
/// EAGAIN are temporary; everything else is permanent. State carries across the
/// background fork.
#[derive(Clone, Copy, Debug, Default)]
pub struct PermanentTracker {
    prev: Option<Errno>,
    count: u32,
}

impl PermanentTracker {
    pub fn is_permanent(&mut self, e: Errno) -> bool {
        if self.prev == Some(e) {
            self.count += 1;
        } else {
            self.count = 1;
        }
        self.prev = Some(e);
        match e {
            Errno::ESTALE | Errno::EOPNOTSUPP => self.count >= 3,
            // ECONNRESET: an overloaded server dropping connections during a storm;
            // temporary here (nfs-utils treats it as permanent, see differences.md).
            Errno::ECONNREFUSED
            | Errno::ETIMEDOUT
            | Errno::EHOSTUNREACH
            | Errno::EAGAIN
            | Errno::ECONNRESET => false,
            _ => true,
        }
    }
}

/// Result of a retry loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Mounted,
    /// EBUSY while the target already is a mount point: success, silently.
    AlreadyMounted,
    Failed(Errno),
}

/// Foreground loop: attempt, sleep 1, 2, 4, 8, 10, 10… s until `retry_minutes` pass.
pub fn foreground(
    clock: &mut dyn Clock,
    retry_minutes: u64,
    tracker: &mut PermanentTracker,
    attempt: &mut dyn FnMut() -> Result<(), Errno>,
    is_mountpoint: &mut dyn FnMut() -> bool,
) -> Outcome {
    let start = clock.now();
    let deadline = start + Duration::from_secs(retry_minutes.saturating_mul(60));
    let mut secs = 1u64;
    loop {
        let t0 = clock.now();
        let err = match attempt() {
            Ok(()) => return Outcome::Mounted,
            Err(e) => e,
        };
        if err == Errno::EBUSY && is_mountpoint() {
            return Outcome::AlreadyMounted;
        }
        if tracker.is_permanent(err) {
            return Outcome::Failed(err);
        }
        if clock.now() >= deadline {
            return Outcome::Failed(err);
        }
        let step = Duration::from_secs(secs);
        let wait = if err == Errno::ETIMEDOUT {
            step.saturating_sub(clock.now().saturating_sub(t0))
        } else {
            step
        };
        if !wait.is_zero() && !clock.sleep(wait) {
            return Outcome::Failed(err);
        }
        secs = (secs * 2).min(10);
    }
}

/// What the background parent does after its one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentOutcome {
    Mounted,
    AlreadyMounted,
    /// Permanent error: report it in the foreground, no backgrounding.
    Failed(Errno),
    /// Temporary error: log it and continue in a background child.
    Background(Errno),
}

pub fn bg_parent(
    tracker: &mut PermanentTracker,
    attempt: &mut dyn FnMut() -> Result<(), Errno>,
    is_mountpoint: &mut dyn FnMut() -> bool,
) -> ParentOutcome {
    match attempt() {
        Ok(()) => ParentOutcome::Mounted,
        Err(Errno::EBUSY) if is_mountpoint() => ParentOutcome::AlreadyMounted,
        Err(e) if tracker.is_permanent(e) => ParentOutcome::Failed(e),
        Err(e) => ParentOutcome::Background(e),
    }
}

/// Background child loop: sleep 1, 2, 4 … 120 s, attempt, until `retry_minutes`
/// (default 10000) pass. `on_retry` is called with each temporary error (syslog).
pub fn bg_child(
    clock: &mut dyn Clock,
    retry_minutes: u64,
    tracker: &mut PermanentTracker,
    attempt: &mut dyn FnMut() -> Result<(), Errno>,
    is_mountpoint: &mut dyn FnMut() -> bool,
    on_retry: &mut dyn FnMut(Errno),
) -> Outcome {
    let deadline = clock.now() + Duration::from_secs(retry_minutes.saturating_mul(60));
    let mut secs = 1u64;
    let mut last = Errno::ETIMEDOUT;
    loop {
        if !clock.sleep(Duration::from_secs(secs)) {
            return Outcome::Failed(last);
        }
        secs = (secs * 2).min(120);
        let err = match attempt() {
            Ok(()) => return Outcome::Mounted,
            Err(e) => e,
        };
        last = err;
        if err == Errno::EBUSY && is_mountpoint() {
            return Outcome::AlreadyMounted;
        }
        if tracker.is_permanent(err) || clock.now() >= deadline {
            return Outcome::Failed(err);
        }
        on_retry(err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock; attempts can advance it too.
    struct Fake {
        t: std::rc::Rc<std::cell::Cell<Duration>>,
        sleeps: Vec<u64>,
    }
    impl Clock for Fake {
        fn now(&self) -> Duration {
            self.t.get()
        }
        fn sleep(&mut self, d: Duration) -> bool {
            self.sleeps.push(d.as_millis() as u64);
            self.t.set(self.t.get() + d);
            true
        }
    }

    fn fake() -> (Fake, std::rc::Rc<std::cell::Cell<Duration>>) {
        let t = std::rc::Rc::new(std::cell::Cell::new(Duration::ZERO));
        (
            Fake {
                t: t.clone(),
                sleeps: vec![],
            },
            t,
        )
    }

    /// Runs the foreground loop against an attempt that always fails with `e`;
    /// returns the outcome and the number of attempts.
    fn fg_always(c: &mut Fake, retry_min: u64, e: Errno) -> (Outcome, usize) {
        let mut n = 0;
        let out = foreground(
            c,
            retry_min,
            &mut PermanentTracker::default(),
            &mut || {
                n += 1;
                Err(e)
            },
            &mut || false,
        );
        (out, n)
    }

    #[test]
    fn fg_backoff_sequence_and_attempt_times() {
        let (mut c, t) = fake();
        let mut times = vec![];
        let mut attempt = || {
            times.push(t.get().as_secs());
            Err(Errno::ECONNREFUSED)
        };
        let out = foreground(
            &mut c,
            1,
            &mut PermanentTracker::default(),
            &mut attempt,
            &mut || false,
        );
        assert_eq!(out, Outcome::Failed(Errno::ECONNREFUSED));
        assert_eq!(&times[..8], &[0, 1, 3, 7, 15, 25, 35, 45]);
        assert_eq!(*times.last().unwrap(), 65); // first attempt past the 60 s window
        assert_eq!(&c.sleeps[..6], &[1000, 2000, 4000, 8000, 10000, 10000]);
    }

    #[test]
    fn retry_zero_is_one_attempt() {
        let (mut c, _) = fake();
        let (out, n) = fg_always(&mut c, 0, Errno::ETIMEDOUT);
        assert_eq!(out, Outcome::Failed(Errno::ETIMEDOUT));
        assert_eq!(n, 1);
    }

    #[test]
    fn permanent_errors_stop_at_once_and_estale_needs_three() {
        let (mut c, _) = fake();
        let (out, n) = fg_always(&mut c, 2, Errno::EACCES);
        assert_eq!((out, n), (Outcome::Failed(Errno::EACCES), 1));
        let (out, n) = fg_always(&mut c, 2, Errno::ESTALE);
        assert_eq!((out, n), (Outcome::Failed(Errno::ESTALE), 3));
        let mut tr = PermanentTracker::default();
        assert!(!tr.is_permanent(Errno::ECONNRESET));
        assert!(tr.is_permanent(Errno::EIO));
    }

    #[test]
    fn quick_timeouts_still_back_off() {
        let (mut c, _) = fake();
        let (out, n) = fg_always(&mut c, 1, Errno::ETIMEDOUT);
        assert_eq!(out, Outcome::Failed(Errno::ETIMEDOUT));
        assert!(n < 12, "spun {n} times");
    }

    #[test]
    fn slow_timeouts_do_not_add_sleep() {
        let (mut c, t) = fake();
        let mut n = 0;
        let mut attempt = || {
            n += 1;
            t.set(t.get() + Duration::from_secs(13));
            Err(Errno::ETIMEDOUT)
        };
        foreground(
            &mut c,
            1,
            &mut PermanentTracker::default(),
            &mut attempt,
            &mut || false,
        );
        assert!(c.sleeps.is_empty(), "{:?}", c.sleeps);
        assert_eq!(n, 5); // 0,13,26,39,52 -> at 65 past deadline
    }

    #[test]
    fn ebusy_on_mountpoint_is_success() {
        let (mut c, _) = fake();
        let out = foreground(
            &mut c,
            2,
            &mut PermanentTracker::default(),
            &mut || Err(Errno::EBUSY),
            &mut || true,
        );
        assert_eq!(out, Outcome::AlreadyMounted);
        let out = foreground(
            &mut c,
            2,
            &mut PermanentTracker::default(),
            &mut || Err(Errno::EBUSY),
            &mut || false,
        );
        assert_eq!(out, Outcome::Failed(Errno::EBUSY));
    }

    #[test]
    fn bg_parent_decisions() {
        let mut tr = PermanentTracker::default();
        assert_eq!(
            bg_parent(&mut tr, &mut || Ok(()), &mut || false),
            ParentOutcome::Mounted
        );
        assert_eq!(
            bg_parent(&mut tr, &mut || Err(Errno::EACCES), &mut || false),
            ParentOutcome::Failed(Errno::EACCES)
        );
        assert_eq!(
            bg_parent(&mut tr, &mut || Err(Errno::ECONNREFUSED), &mut || false),
            ParentOutcome::Background(Errno::ECONNREFUSED)
        );
    }

    #[test]
    fn bg_child_backoff_to_120_and_success() {
        let (mut c, t) = fake();
        let mut times = vec![];
        let mut retries = vec![];
        let mut attempt = || {
            times.push(t.get().as_secs());
            if times.len() == 9 {
                Ok(())
            } else {
                Err(Errno::ECONNREFUSED)
            }
        };
        let out = bg_child(
            &mut c,
            10000,
            &mut PermanentTracker::default(),
            &mut attempt,
            &mut || false,
            &mut |e| retries.push(e),
        );
        assert_eq!(out, Outcome::Mounted);
        assert_eq!(times, [1, 3, 7, 15, 31, 63, 127, 247, 367]);
        assert_eq!(retries.len(), 8);
    }

    #[test]
    fn bg_child_gives_up_after_window() {
        let (mut c, _) = fake();
        let out = bg_child(
            &mut c,
            1,
            &mut PermanentTracker::default(),
            &mut || Err(Errno::ETIMEDOUT),
            &mut || false,
            &mut |_| {},
        );
        assert_eq!(out, Outcome::Failed(Errno::ETIMEDOUT));
        assert!(c.now() >= Duration::from_secs(60));
    }
}
