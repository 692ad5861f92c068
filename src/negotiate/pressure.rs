//! Adaptive `stormsafe`: when the reserved ports are under pressure, an NFSv3
//! mount that did not ask for it takes the storm-safe path anyway (sans-IO:
//! the caller counts the sockets).
//!
//! In text mode the kernel makes its own MNT call from a reserved port; with
//! `proto=tcp` that connection then holds its port in TIME_WAIT for 60 s. The
//! kernel takes those ports from 665–1023 (359 ports): a storm of plain
//! `vers=3,proto=tcp` mounts left 336 of them in TIME_WAIT in one VM run
//! (docs/benchmarks.md), and the next mounts would have failed. The
//! storm-safe path (binary mount data with our MNT's file handle) makes no
//! kernel MNT at all.
//!
//! **Rule.** Without `stormsafe` and without `nostormsafe`, an NFSv3 mount
//! over IPv4 whose our-own MNT returned a file handle uses the storm-safe path
//! when at least [`TIME_WAIT_THRESHOLD`] local TCP sockets on ports below 1024
//! are in TIME_WAIT (from /proc/net/tcp and tcp6 at the moment of the
//! mount), or when the helper uses rpcproxyd and at least [`PEERS_THRESHOLD`]
//! connections to the daemon's socket exist at that moment (this helper's
//! included, counted in /proc/net/unix: a storm is under way, and its
//! kernel MNTs are about to fill the range — the TIME_WAIT count alone only
//! sees them after the fact), provided the binary mount interface can carry
//! every option; if it cannot, the mount stays in text mode as before (no
//! error). `nostormsafe`
//! (or `Stormsafe=False` in nfsmount.conf) turns the rule off; `stormsafe`
//! forces the path (and refuses options it cannot carry, as before).
#![forbid(unsafe_code)]

/// Reserved ports in TIME_WAIT from which on the path is taken: over a
/// quarter of the kernel's 359-port range, far above what normal use leaves
/// (a few per mount and minute) and well before the range runs out.
pub const TIME_WAIT_THRESHOLD: usize = 100;

/// Helpers talking to rpcproxyd at once (this one included) from which on the
/// path is taken: autofs storms and parallel boots have hundreds; one
/// administrator, a script or a test suite mounting one after another has one
/// or two. A storm of 1,000 `vers=3,proto=tcp` mounts left 118 reserved ports
/// in TIME_WAIT with the TIME_WAIT rule alone (docs/benchmarks.md).
pub const PEERS_THRESHOLD: u32 = 16;

/// The signals, as the caller found them (`None`: could not be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    /// Local TCP sockets on ports < 1024 in TIME_WAIT.
    pub reserved_time_wait: Option<usize>,
    /// Connections to rpcproxyd's socket right now.
    pub peers: Option<u32>,
}

impl Pressure {
    /// Which signal is over its threshold, as a phrase for `-v`.
    pub fn reason(&self) -> Option<String> {
        if let Some(n) = self
            .reserved_time_wait
            .filter(|n| *n >= TIME_WAIT_THRESHOLD)
        {
            return Some(format!(
                "{n} reserved ports in TIME_WAIT (>= {TIME_WAIT_THRESHOLD})"
            ));
        }
        if let Some(n) = self.peers.filter(|n| *n >= PEERS_THRESHOLD) {
            return Some(format!(
                "{n} connections to rpcproxyd at once (>= {PEERS_THRESHOLD})"
            ));
        }
        None
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `stormsafe`
    On,
    /// `nostormsafe` (or `Stormsafe=False`)
    Off,
    /// neither: adaptive
    Auto,
}

/// How the mount goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Text,
    /// Storm-safe because it was asked for (refusals are errors).
    Stormsafe,
    /// Storm-safe because of port pressure (falls back to text mode when the
    /// binary interface cannot carry the options).
    Adaptive,
}

/// The decision (a signal that could not be read never switches).
pub fn choose(ask: Ask, v3_ipv4: bool, p: &Pressure) -> Path {
    match ask {
        Ask::On => Path::Stormsafe,
        Ask::Off => Path::Text,
        Ask::Auto if v3_ipv4 && p.reason().is_some() => Path::Adaptive,
        Ask::Auto => Path::Text,
    }
}

/// The user's choice from the option list (the last of `stormsafe` and
/// `nostormsafe` wins, as for every flag).
pub fn ask_of<'a>(keys: impl IntoIterator<Item = &'a str>) -> Ask {
    let mut a = Ask::Auto;
    for k in keys {
        match k {
            "stormsafe" => a = Ask::On,
            "nostormsafe" => a = Ask::Off,
            _ => {}
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tw(n: usize) -> Pressure {
        Pressure {
            reserved_time_wait: Some(n),
            peers: None,
        }
    }

    fn peers(n: u32) -> Pressure {
        Pressure {
            reserved_time_wait: Some(0),
            peers: Some(n),
        }
    }

    #[test]
    fn pressure_switches_only_adaptive_v3_ipv4_mounts() {
        let t = TIME_WAIT_THRESHOLD;
        assert_eq!(choose(Ask::Auto, true, &tw(t - 1)), Path::Text);
        assert_eq!(choose(Ask::Auto, true, &tw(t)), Path::Adaptive);
        assert_eq!(choose(Ask::Auto, true, &tw(359)), Path::Adaptive);
        assert_eq!(
            choose(Ask::Auto, false, &tw(359)),
            Path::Text,
            "IPv6 or not v3"
        );
        let unknown = Pressure::default();
        assert_eq!(choose(Ask::Auto, true, &unknown), Path::Text, "unknown");
        assert_eq!(choose(Ask::Off, true, &tw(359)), Path::Text);
        assert_eq!(choose(Ask::On, true, &tw(0)), Path::Stormsafe);
        assert_eq!(choose(Ask::On, false, &unknown), Path::Stormsafe);
    }

    #[test]
    fn many_helpers_at_once_through_rpcproxyd_switch_too() {
        let t = PEERS_THRESHOLD;
        assert_eq!(choose(Ask::Auto, true, &peers(1)), Path::Text);
        assert_eq!(choose(Ask::Auto, true, &peers(t - 1)), Path::Text);
        assert_eq!(choose(Ask::Auto, true, &peers(t)), Path::Adaptive);
        assert_eq!(choose(Ask::Auto, false, &peers(1000)), Path::Text);
        assert_eq!(choose(Ask::Off, true, &peers(1000)), Path::Text);
        let r = peers(40).reason().unwrap();
        assert!(r.contains("40 connections to rpcproxyd"), "{r}");
        let both = Pressure {
            reserved_time_wait: Some(200),
            peers: Some(40),
        };
        assert!(both.reason().unwrap().contains("200 reserved ports"));
        assert_eq!(peers(t - 1).reason(), None);
    }

    #[test]
    fn the_last_of_stormsafe_and_nostormsafe_wins() {
        assert_eq!(ask_of(["vers=3", "nolock"]), Ask::Auto);
        assert_eq!(ask_of(["stormsafe"]), Ask::On);
        assert_eq!(ask_of(["nostormsafe"]), Ask::Off);
        assert_eq!(ask_of(["stormsafe", "nostormsafe"]), Ask::Off);
        assert_eq!(ask_of(["nostormsafe", "stormsafe"]), Ask::On);
    }
}
