//! Negotiation and retry decisions, free of I/O.
//!
//! * [`autonegotiate`]: the NFSv4-minor → NFSv3 fallback state machine (nfs-utils utils/mount/stropts.c `nfs_autonegotiate`),
//!   driven through the [`Attempts`] trait so tests can inject errnos.
//! * [`retry`]: foreground/background retry loops over an abstract [`retry::Clock`].
#![forbid(unsafe_code)]

pub mod budget;
pub mod pressure;
pub mod retry;
pub mod v3probe;

pub use retry::{Clock, PermanentTracker};

use crate::errno::Errno;

/// Outcome of a v3 attempt made from the autonegotiation (with the v4 double check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V3Outcome {
    Mounted,
    Failed(Errno),
    /// `checkv4` found NFSv4 registered on the server after all: retry v4.
    V4Registered,
}

/// The mount attempts the state machine can ask for. Each call covers every server
/// address (the address walk is the implementor's business).
pub trait Attempts {
    /// One NFSv4 attempt at `minor` (non-specific mode formatting).
    fn v4(&mut self, minor: u32) -> Result<(), Errno>;
    /// One NFSv3 attempt; with `checkv4` it also pings NFSv4 on TCP 2049 and returns
    /// [`V3Outcome::V4Registered`] instead of mounting when that answers.
    fn v3(&mut self, checkv4: bool) -> V3Outcome;
}

/// nfs-utils' `nfs_autonegotiate`, with the ≥ 2.8.2 rule that a v3 ETIMEDOUT is
/// reported (so the retry loop continues) rather than masked by the v4 errno.
///
/// `general` is true for `vers=4`/`mount.nfs4` (never fall back to v3).
pub fn autonegotiate(a: &mut dyn Attempts, start_minor: u32, general: bool) -> Result<(), Errno> {
    let mut minor = start_minor;
    let mut result = a.v4(minor);
    let mut retried_after_refusal = false;
    loop {
        let err = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match err {
            Errno::EPROTONOSUPPORT | Errno::EINVAL | Errno::EACCES => {
                if minor > 0 {
                    minor -= 1;
                    result = a.v4(minor);
                    continue;
                }
                return fall_back(a, err, general);
            }
            Errno::ENOENT | Errno::EPERM => return fall_back(a, err, general),
            Errno::ECONNREFUSED => {
                if general || retried_after_refusal {
                    return Err(err);
                }
                match a.v3(true) {
                    V3Outcome::Mounted => return Ok(()),
                    V3Outcome::Failed(_) => return Err(Errno::ECONNREFUSED),
                    V3Outcome::V4Registered => {
                        retried_after_refusal = true;
                        result = a.v4(minor);
                        if result == Err(Errno::ECONNREFUSED) {
                            return result;
                        }
                        continue;
                    }
                }
            }
            _ => return Err(err),
        }
    }
}

fn fall_back(a: &mut dyn Attempts, v4_err: Errno, general: bool) -> Result<(), Errno> {
    if general {
        return Err(v4_err);
    }
    match a.v3(false) {
        V3Outcome::Mounted => Ok(()),
        V3Outcome::Failed(e @ (Errno::EBUSY | Errno::EACCES | Errno::ETIMEDOUT)) => Err(e),
        V3Outcome::Failed(_) | V3Outcome::V4Registered => Err(v4_err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scripted attempts: v4 results by call order, v3 results by call order.
    struct Script {
        v4: Vec<Result<(), Errno>>,
        v3: Vec<V3Outcome>,
        log: Vec<String>,
    }

    impl Attempts for Script {
        fn v4(&mut self, minor: u32) -> Result<(), Errno> {
            self.log.push(format!("v4.{minor}"));
            if self.v4.is_empty() {
                Ok(())
            } else {
                self.v4.remove(0)
            }
        }
        fn v3(&mut self, checkv4: bool) -> V3Outcome {
            self.log
                .push(format!("v3{}", if checkv4 { "+check" } else { "" }));
            if self.v3.is_empty() {
                V3Outcome::Mounted
            } else {
                self.v3.remove(0)
            }
        }
    }

    fn run(
        v4: &[Result<(), Errno>],
        v3: &[V3Outcome],
        general: bool,
    ) -> (Result<(), Errno>, String) {
        let mut s = Script {
            v4: v4.to_vec(),
            v3: v3.to_vec(),
            log: vec![],
        };
        let r = autonegotiate(&mut s, 2, general);
        (r, s.log.join(" "))
    }

    use nix::errno::Errno::*;

    #[test]
    fn minor_stepping_then_v3() {
        for e in [EPROTONOSUPPORT, EINVAL, EACCES] {
            let (r, log) = run(&[Err(e), Err(e), Err(e)], &[V3Outcome::Mounted], false);
            assert_eq!(r, Ok(()));
            assert_eq!(log, "v4.2 v4.1 v4.0 v3");
        }
    }

    #[test]
    fn general_never_falls_back() {
        let (r, log) = run(&[Err(EPROTONOSUPPORT); 3], &[], true);
        assert_eq!(r, Err(EPROTONOSUPPORT));
        assert_eq!(log, "v4.2 v4.1 v4.0");
        let (r, log) = run(&[Err(ECONNREFUSED)], &[], true);
        assert_eq!((r, log.as_str()), (Err(ECONNREFUSED), "v4.2"));
        let (r, log) = run(&[Err(ENOENT)], &[], true);
        assert_eq!((r, log.as_str()), (Err(ENOENT), "v4.2"));
    }

    #[test]
    fn enoent_eperm_go_straight_to_v3() {
        for e in [ENOENT, EPERM] {
            let (r, log) = run(&[Err(e)], &[V3Outcome::Mounted], false);
            assert_eq!((r, log.as_str()), (Ok(()), "v4.2 v3"));
        }
    }

    #[test]
    fn v3_failure_reports_v4_errno_except_busy_acces_timeout() {
        let (r, _) = run(&[Err(ENOENT)], &[V3Outcome::Failed(ECONNREFUSED)], false);
        assert_eq!(r, Err(ENOENT));
        let (r, _) = run(
            &[Err(EPROTONOSUPPORT); 3],
            &[V3Outcome::Failed(EOPNOTSUPP)],
            false,
        );
        assert_eq!(r, Err(EPROTONOSUPPORT));
        for keep in [EBUSY, EACCES, ETIMEDOUT] {
            let (r, _) = run(&[Err(ENOENT)], &[V3Outcome::Failed(keep)], false);
            assert_eq!(r, Err(keep));
        }
    }

    #[test]
    fn connection_refused_sub_cases() {
        // v4 ping fails -> v3 mounts.
        let (r, log) = run(&[Err(ECONNREFUSED)], &[V3Outcome::Mounted], false);
        assert_eq!((r, log.as_str()), (Ok(()), "v4.2 v3+check"));
        // v3 fails -> ECONNREFUSED is reported.
        let (r, _) = run(
            &[Err(ECONNREFUSED)],
            &[V3Outcome::Failed(EOPNOTSUPP)],
            false,
        );
        assert_eq!(r, Err(ECONNREFUSED));
        // v4 ping answers -> retry v4 once; refused again -> ECONNREFUSED.
        let (r, log) = run(
            &[Err(ECONNREFUSED), Err(ECONNREFUSED)],
            &[V3Outcome::V4Registered],
            false,
        );
        assert_eq!((r, log.as_str()), (Err(ECONNREFUSED), "v4.2 v3+check v4.2"));
        // v4 ping answers -> retry v4 succeeds.
        let (r, log) = run(
            &[Err(ECONNREFUSED), Ok(())],
            &[V3Outcome::V4Registered],
            false,
        );
        assert_eq!((r, log.as_str()), (Ok(()), "v4.2 v3+check v4.2"));
        // ... or steps minors from there.
        let (r, log) = run(
            &[Err(ECONNREFUSED), Err(EPROTONOSUPPORT), Ok(())],
            &[V3Outcome::V4Registered],
            false,
        );
        assert_eq!((r, log.as_str()), (Ok(()), "v4.2 v3+check v4.2 v4.1"));
    }

    #[test]
    fn other_errors_return_at_once() {
        for e in [ETIMEDOUT, EHOSTUNREACH, ESTALE, EIO, ENODEV, EBUSY] {
            let (r, log) = run(&[Err(e)], &[], false);
            assert_eq!((r, log.as_str()), (Err(e), "v4.2"));
        }
    }

    #[test]
    fn start_minor_is_honoured() {
        let mut s = Script {
            v4: vec![Err(EINVAL), Err(EINVAL)],
            v3: vec![],
            log: vec![],
        };
        assert_eq!(autonegotiate(&mut s, 1, false), Ok(()));
        assert_eq!(s.log.join(" "), "v4.1 v4.0 v3");
    }
}
