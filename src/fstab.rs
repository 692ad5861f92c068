//! /etc/fstab lines (one parser for the helper: user mounts, explain, the systemd
//! timeout) and systemd's `x-systemd.mount-timeout=` (sans-IO).
//!
//! mount(8) hands the helper the entry's options without the ones libmount keeps
//! to itself (`x-*`, `comment=`), so the helper cannot see
//! `x-systemd.mount-timeout`; it reads the entry itself ([`crate::mount::systemd`]).
#![forbid(unsafe_code)]

use std::time::Duration;

/// Most fstab lines considered (a larger table is cut off: bounded work).
pub const MAX_LINES: usize = 10_000;

/// One /etc/fstab line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub opts: String,
    /// 1-based line number.
    pub line: usize,
}

/// fstab's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash), as getmntent(3) and libmount decode them.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if v <= 0xff {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses fstab text. Comments (`#`) and blank lines are skipped, as are lines
/// with fewer than two fields. A missing type is `auto`, missing options
/// `defaults`.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().take(MAX_LINES) {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut f = l.split_ascii_whitespace();
        let (Some(src), Some(tgt)) = (f.next(), f.next()) else {
            continue;
        };
        let fstype = f.next().unwrap_or("auto");
        let opts = f.next().unwrap_or("defaults");
        out.push(Entry {
            source: unescape(src),
            target: unescape(tgt),
            fstype: unescape(fstype),
            opts: unescape(opts),
            line: i + 1,
        });
    }
    out
}

/// The NFS entry for this mount: the last one whose mount point is `canonical` or
/// `given` (trailing slashes ignored) and, when `spec` is given, whose spec matches.
pub fn find<'a>(
    entries: &'a [Entry],
    canonical: &str,
    given: &str,
    spec: Option<&str>,
) -> Option<&'a Entry> {
    let norm = |s: &str| -> String {
        let t = s.trim_end_matches('/');
        if t.is_empty() {
            "/".into()
        } else {
            t.into()
        }
    };
    let (c, g) = (norm(canonical), norm(given));
    entries.iter().rev().find(|e| {
        let f = norm(&e.target);
        (f == c || f == g)
            && (e.fstype == "nfs" || e.fstype == "nfs4")
            && spec.map_or(true, |s| s == e.source)
    })
}

/// The options mount(8) passes to the helper: without `x-*`, `X-*` and `comment=`
/// (libmount keeps those to itself), and without `defaults`.
pub fn helper_options(opts: &str) -> String {
    opts.split(',')
        .filter(|o| {
            !o.is_empty()
                && !o.starts_with("x-")
                && !o.starts_with("X-")
                && !o.starts_with("comment=")
                && *o != "defaults"
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `x-systemd.mount-timeout=` of an option string: `None` when absent, invalid,
/// zero or `infinity` (systemd: no limit).
pub fn mount_timeout(opts: &str) -> Option<Duration> {
    let v = opts
        .split(',')
        .filter_map(|o| o.strip_prefix("x-systemd.mount-timeout="))
        .next_back()?;
    parse_timespan(v).filter(|d| !d.is_zero())
}

/// systemd.time(7) time spans: `90`, `90s`, `1min 30s`, `2m`, `1h`, `500ms`,
/// `infinity` (`None`). Bounded: at most 32 parts, at most a week.
pub fn parse_timespan(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() || s == "infinity" || s.len() > 128 {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    let mut parts = 0;
    while !rest.is_empty() {
        parts += 1;
        if parts > 32 {
            return None;
        }
        rest = rest.trim_start();
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let num: f64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "ms" | "msec" => 0.001,
            "us" | "usec" => 0.000_001,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(num * secs);
        if total > Duration::from_secs(7 * 86400) {
            return None;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_lookup() {
        let t = "# c\n\nsrv:/a /mnt/a nfs vers=3,x-systemd.mount-timeout=20 0 0\n\
                 /dev/sda1 / ext4 defaults 0 1\nsrv:/b /mnt/with\\040space nfs4 soft\nshort line\n";
        let e = parse(t);
        // two fields are an entry (type auto, options defaults), as libmount reads them
        assert_eq!(e.len(), 4);
        assert_eq!(
            (e[3].fstype.as_str(), e[3].opts.as_str()),
            ("auto", "defaults")
        );
        assert_eq!(e[0].line, 3);
        assert_eq!(e[2].target, "/mnt/with space");
        assert_eq!(
            find(&e, "/mnt/a", "/mnt/a/", None).unwrap().source,
            "srv:/a"
        );
        assert_eq!(find(&e, "/x", "/mnt/a", Some("srv:/a")).unwrap().line, 3);
        assert!(find(&e, "/mnt/a", "/mnt/a", Some("other:/a")).is_none());
        assert!(find(&e, "/", "/", None).is_none(), "not NFS");
    }

    #[test]
    fn helper_sees_no_x_options() {
        assert_eq!(
            helper_options("defaults,vers=3,x-systemd.mount-timeout=5,comment=a,_netdev,X-y"),
            "vers=3,_netdev"
        );
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timespan("1min 30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timespan("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timespan("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timespan("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timespan("infinity"), None);
        assert_eq!(parse_timespan("x"), None);
        assert_eq!(parse_timespan("5 parsecs"), None);
        assert_eq!(parse_timespan("99999d"), None);
        assert_eq!(
            mount_timeout("a,x-systemd.mount-timeout=10,b"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(mount_timeout("x-systemd.mount-timeout=0"), None);
        assert_eq!(mount_timeout("vers=3"), None);
    }
}
