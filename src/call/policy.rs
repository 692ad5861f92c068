//! Call options and the UDP retransmission schedule (sans-IO).
//!
//! [`RetryPolicy`] follows nfs(5) and the classic ONC RPC client: wait `initial`
//! after the first send, double the wait after each retransmission up to `max`, stop
//! after `retries` retransmissions — and never exceed the call's total timeout,
//! which truncates the last wait. nfs-utils' probes use a 1 s wait that does not grow
//! (max = initial) within a 3 s total: three sends one second apart.
#![forbid(unsafe_code)]

use std::time::Duration;

/// UDP retransmission policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first transmission.
    pub initial: Duration,
    /// Cap for the doubled wait.
    pub max: Duration,
    /// Most retransmissions; `None` = as many as the total timeout allows.
    pub retries: Option<u32>,
}

impl RetryPolicy {
    /// A fixed interval, no growth (nfs-utils' `CLSET_RETRY_TIMEOUT`).
    pub fn fixed(every: Duration) -> Self {
        RetryPolicy {
            initial: every,
            max: every,
            retries: None,
        }
    }

    /// nfs(5) semantics: `timeo` tenths of a second, doubled per retransmission
    /// up to 60 s, `retrans` retransmissions.
    pub fn nfs(timeo_deciseconds: u32, retrans: u32) -> Self {
        RetryPolicy {
            initial: Duration::from_millis(u64::from(timeo_deciseconds.max(1)) * 100),
            max: Duration::from_secs(60),
            retries: Some(retrans),
        }
    }

    /// The wait after each transmission. Their sum never exceeds `total`; the
    /// number of entries is the number of sends (1 + retransmissions).
    pub fn schedule(&self, total: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut left = total;
        let mut wait = self.initial.max(Duration::from_millis(1));
        let max = self.max.max(wait);
        loop {
            let w = wait.min(left);
            out.push(w);
            left -= w;
            if left.is_zero() {
                break;
            }
            if let Some(r) = self.retries {
                if out.len() as u64 > u64::from(r) {
                    break;
                }
            }
            // A degenerate policy cannot spin forever: 1 ms minimum per send.
            wait = (wait * 2).min(max);
        }
        out
    }
}

/// Options for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOpts {
    /// Total time for the call (connect time for TCP is bounded separately by
    /// `connect_timeout`).
    pub timeout: Duration,
    /// UDP retransmission policy (ignored for TCP).
    pub retry: RetryPolicy,
    /// TCP connect bound.
    pub connect_timeout: Duration,
    /// Safe to send twice: then a dead cached connection is redialled and the call
    /// retried transparently even if it may have reached the server.
    pub idempotent: bool,
}

impl CallOpts {
    /// nfs-utils' UDP probe (rpcbind query, NULL ping, statd probe): 3 s total,
    /// retransmit every 1 s.
    pub fn udp_probe() -> Self {
        CallOpts {
            timeout: Duration::from_secs(3),
            retry: RetryPolicy::fixed(Duration::from_secs(1)),
            connect_timeout: Duration::from_secs(3),
            idempotent: true,
        }
    }
    /// nfs-utils' TCP probe: 10 s connect, 10 s call.
    pub fn tcp_probe() -> Self {
        CallOpts {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::fixed(Duration::from_secs(1)),
            connect_timeout: Duration::from_secs(10),
            idempotent: true,
        }
    }
    /// The probe preset for a transport.
    pub fn probe(tcp: bool) -> Self {
        if tcp {
            Self::tcp_probe()
        } else {
            Self::udp_probe()
        }
    }
    /// umount's UMNT: 3 s for connect and for the call.
    pub fn umnt() -> Self {
        CallOpts {
            timeout: Duration::from_secs(3),
            retry: RetryPolicy::fixed(Duration::from_secs(1)),
            connect_timeout: Duration::from_secs(3),
            idempotent: true,
        }
    }
    pub fn with_timeout(mut self, total: Duration) -> Self {
        self.timeout = total;
        self
    }
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    pub fn with_retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }
    pub fn with_idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    #[test]
    fn nfs_utils_probe_is_three_sends_one_second_apart() {
        assert_eq!(CallOpts::udp_probe().retry.schedule(s(3)), vec![s(1); 3]);
    }

    #[test]
    fn doubling_capped_and_truncated() {
        let p = RetryPolicy {
            initial: s(1),
            max: s(4),
            retries: None,
        };
        assert_eq!(
            p.schedule(s(20)),
            vec![s(1), s(2), s(4), s(4), s(4), s(4), s(1)]
        );
        let p = RetryPolicy::nfs(10, 2);
        assert_eq!(p.schedule(s(100)), vec![s(1), s(2), s(4)]);
    }

    proptest! {
        #[test]
        fn bounded(init in 0u64..5000, max in 0u64..20000, retries in proptest::option::of(0u32..10), total in 0u64..30000) {
            let p = RetryPolicy { initial: Duration::from_millis(init), max: Duration::from_millis(max), retries };
            let sch = p.schedule(Duration::from_millis(total));
            let sum: Duration = sch.iter().sum();
            prop_assert!(sum <= Duration::from_millis(total).max(Duration::from_millis(0)));
            prop_assert!(!sch.is_empty());
            if let Some(r) = retries { prop_assert!(sch.len() as u32 <= r + 1); }
        }
    }
}
