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
//! mount), provided the binary mount interface can carry every option; if it
//! cannot, the mount stays in text mode as before (no error). `nostormsafe`
//! (or `Stormsafe=False` in nfsmount.conf) turns the rule off; `stormsafe`
//! forces the path (and refuses options it cannot carry, as before).
#![forbid(unsafe_code)]

/// Reserved ports in TIME_WAIT from which on the path is taken: over a
/// quarter of the kernel's 359-port range, far above what normal use leaves
/// (a few per mount and minute) and well before the range runs out.
pub const TIME_WAIT_THRESHOLD: usize = 100;

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

/// The decision; `reserved_time_wait` is the count of local ports < 1024 in
/// TIME_WAIT, `None` when it could not be read (then: no adaptive switch).
pub fn choose(ask: Ask, v3_ipv4: bool, reserved_time_wait: Option<usize>) -> Path {
    match ask {
        Ask::On => Path::Stormsafe,
        Ask::Off => Path::Text,
        Ask::Auto => match reserved_time_wait {
            Some(n) if v3_ipv4 && n >= TIME_WAIT_THRESHOLD => Path::Adaptive,
            _ => Path::Text,
        },
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

    #[test]
    fn pressure_switches_only_adaptive_v3_ipv4_mounts() {
        let t = TIME_WAIT_THRESHOLD;
        assert_eq!(choose(Ask::Auto, true, Some(t - 1)), Path::Text);
        assert_eq!(choose(Ask::Auto, true, Some(t)), Path::Adaptive);
        assert_eq!(choose(Ask::Auto, true, Some(359)), Path::Adaptive);
        assert_eq!(
            choose(Ask::Auto, false, Some(359)),
            Path::Text,
            "IPv6 or not v3"
        );
        assert_eq!(choose(Ask::Auto, true, None), Path::Text, "unknown count");
        assert_eq!(choose(Ask::Off, true, Some(359)), Path::Text);
        assert_eq!(choose(Ask::On, true, Some(0)), Path::Stormsafe);
        assert_eq!(choose(Ask::On, false, None), Path::Stormsafe);
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
