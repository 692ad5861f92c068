//! The outside deadline of a mount started by systemd (docs/autofs-systemd.md).
//!
//! mount(8) does not pass `x-*` options to the helper, so the helper reads the
//! fstab entry of its mount point itself: an `x-systemd.mount-timeout=` there is
//! the limit (whoever started the mount: systemd enforces it at boot and on
//! `systemctl start`, and an administrator who wrote it wants failures reported
//! within it). Without one, a helper running inside a systemd mount unit (its
//! cgroup ends in `.mount`) has systemd's `DefaultTimeoutStartSec=` (90 s unless
//! /etc/systemd/system.conf says otherwise). The rule that fits the retry loop in
//! is [`crate::negotiate::budget`].

use crate::fstab;
use std::time::Duration;

fn read_bounded(path: &str) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    f.take(1 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

/// `/etc/fstab`, or `NFSMOUNT_FSTAB` in a test build.
pub fn fstab_path() -> String {
    crate::sys::env::test_override("NFSMOUNT_FSTAB")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/etc/fstab".into())
}

/// `true` when this process runs in a systemd mount unit's cgroup.
pub fn in_mount_unit(cgroup: &str) -> bool {
    cgroup.lines().any(|l| {
        l.rsplit(':')
            .next()
            .and_then(|p| p.rsplit('/').next())
            .is_some_and(|u| u.ends_with(".mount"))
    })
}

/// systemd's `DefaultTimeoutStartSec=` from system.conf text (default 90 s).
pub fn default_timeout(system_conf: Option<&str>) -> Duration {
    system_conf
        .and_then(|t| {
            t.lines()
                .filter_map(|l| l.trim().strip_prefix("DefaultTimeoutStartSec="))
                .next_back()
                .map(|v| fstab::parse_timespan(v).unwrap_or(Duration::ZERO))
        })
        .unwrap_or(Duration::from_secs(90))
}

/// The limit for mounting `spec` on `target` and where it comes from.
pub fn limit(spec: &str, target: &str) -> Option<(Duration, String)> {
    let path = fstab_path();
    if let Some(text) = read_bounded(&path) {
        let entries = fstab::parse(&text);
        let e = fstab::find(&entries, target, target, Some(spec))
            .or_else(|| fstab::find(&entries, target, target, None));
        if let Some(e) = e {
            if let Some(t) = fstab::mount_timeout(&e.opts) {
                return Some((
                    t,
                    format!(
                        "x-systemd.mount-timeout={} s ({path}:{})",
                        t.as_secs_f64(),
                        e.line
                    ),
                ));
            }
        }
    }
    if in_mount_unit(&read_bounded("/proc/self/cgroup").unwrap_or_default()) {
        let t = default_timeout(read_bounded("/etc/systemd/system.conf").as_deref());
        if !t.is_zero() {
            return Some((
                t,
                format!(
                    "systemd's mount unit timeout ({} s, DefaultTimeoutStartSec)",
                    t.as_secs_f64()
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_unit_cgroups() {
        assert!(in_mount_unit("0::/system.slice/srv-data.mount\n"));
        assert!(in_mount_unit("12:pids:/system.slice/a.mount\n0::/x"));
        assert!(!in_mount_unit("0::/system.slice/autofs.service\n"));
        assert!(!in_mount_unit(
            "0::/user.slice/user-0.slice/session-1.scope"
        ));
        assert!(!in_mount_unit(""));
    }

    #[test]
    fn systemd_default() {
        assert_eq!(default_timeout(None), Duration::from_secs(90));
        assert_eq!(
            default_timeout(Some(
                "[Manager]\n#DefaultTimeoutStartSec=90s\nDefaultTimeoutStartSec=20s\n"
            )),
            Duration::from_secs(20)
        );
        assert_eq!(
            default_timeout(Some("DefaultTimeoutStartSec=infinity\n")),
            Duration::ZERO
        );
    }
}
