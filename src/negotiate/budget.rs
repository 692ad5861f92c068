//! Fitting the retry budget inside an outside deadline (systemd's mount unit
//! timeout), so the helper — not systemd's SIGTERM/SIGKILL — reports why the
//! mount failed.
//!
//! Rule (docs/autofs-systemd.md): with a limit `T`,
//! * the retry loop starts no attempt after `T - margin`, `margin = clamp(T/4, 2 s, 15 s)`
//!   (an attempt's own RPC waits are bounded by about 10-20 s, the margin keeps most of
//!   them inside `T`), and never runs longer than the mount's own `retry=`;
//! * a watchdog ends the helper at `T - 1 s` (at `T/2` for `T` under 2 s) with one
//!   line naming the step that was running, exit 32, before systemd's SIGTERM.
//!
//! Without a limit nothing changes.

use std::time::Duration;

/// The budget for one mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// How long the retry loop may keep starting attempts.
    pub retry: Duration,
    /// When the helper gives up regardless (`None`: never).
    pub watchdog: Option<Duration>,
}

pub fn margin(limit: Duration) -> Duration {
    (limit / 4).clamp(Duration::from_secs(2), Duration::from_secs(15))
}

/// The budget for a mount whose `retry=` allows `retry` under an outside `limit`.
pub fn fit(retry: Duration, limit: Option<Duration>) -> Budget {
    let Some(t) = limit else {
        return Budget {
            retry,
            watchdog: None,
        };
    };
    let watchdog = if t >= Duration::from_secs(2) {
        t - Duration::from_secs(1)
    } else {
        t / 2
    };
    Budget {
        retry: retry.min(t.saturating_sub(margin(t))),
        watchdog: Some(watchdog),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn no_limit_no_change() {
        assert_eq!(
            fit(s(120), None),
            Budget {
                retry: s(120),
                watchdog: None
            }
        );
    }

    #[test]
    fn the_limit_wins_when_shorter() {
        // systemd's default 90 s: margin 15 s
        assert_eq!(fit(s(120), Some(s(90))).retry, s(75));
        assert_eq!(fit(s(120), Some(s(90))).watchdog, Some(s(89)));
        // 10 s: margin 2.5 s
        assert_eq!(fit(s(120), Some(s(10))).retry, Duration::from_millis(7500));
        // very short: margin 2 s, retry budget 0 = one attempt
        assert_eq!(fit(s(120), Some(s(2))).retry, s(0));
        assert_eq!(
            fit(s(120), Some(Duration::from_secs(1))).watchdog,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn retry_wins_when_shorter() {
        assert_eq!(fit(s(0), Some(s(90))).retry, s(0));
        assert_eq!(fit(s(60), Some(s(600))).retry, s(60));
        assert_eq!(fit(s(60), Some(s(600))).watchdog, Some(s(599)));
    }
}
