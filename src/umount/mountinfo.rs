//! `/proc/self/mountinfo` parsing (format of proc(5)), free of I/O.
#![forbid(unsafe_code)]

use crate::utab::unmangle;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountInfo {
    pub root: String,
    pub target: String,
    pub vfs_opts: String,
    pub fstype: String,
    pub source: String,
    pub super_opts: String,
}

impl MountInfo {
    /// VFS and superblock options merged, as libmount presents them.
    pub fn all_options(&self) -> String {
        match (self.vfs_opts.is_empty(), self.super_opts.is_empty()) {
            (false, false) => format!("{},{}", self.vfs_opts, self.super_opts),
            (false, true) => self.vfs_opts.clone(),
            _ => self.super_opts.clone(),
        }
    }
}

pub fn parse_line(line: &str) -> Option<MountInfo> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 3 {
        return None;
    }
    Some(MountInfo {
        root: unmangle(fields[3]),
        target: unmangle(fields[4]),
        vfs_opts: fields[5].to_string(),
        fstype: unmangle(fields[sep + 1]),
        source: unmangle(fields[sep + 2]),
        super_opts: fields
            .get(sep + 3)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    })
}

pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

/// libmount's lookup for umount: the last mount whose target is `spec` (repeated
/// and trailing slashes do not matter, as in util-linux's `streq_paths`), else
/// (for a `host:/path` spec) the last one whose source is `spec`.
pub fn find<'a>(table: &'a [MountInfo], spec: &str) -> Option<&'a MountInfo> {
    let squashed = super::canon::squash_slashes(spec);
    table
        .iter()
        .rev()
        .find(|m| m.target == spec)
        .or_else(|| {
            table
                .iter()
                .rev()
                .find(|m| spec.starts_with('/') && m.target == squashed)
        })
        .or_else(|| table.iter().rev().find(|m| m.source == spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
99 22 0:50 / /mnt/with\\040space rw,relatime shared:40 - nfs4 10.0.0.1:/x rw,vers=4.2,rsize=1048576,addr=10.0.0.1,clientaddr=10.0.0.2
100 22 0:51 / /mnt/v3 rw,relatime - nfs 10.0.0.1:/y rw,vers=3,mountaddr=10.0.0.1,mountvers=3,mountport=20048,mountproto=udp,addr=10.0.0.1
101 22 0:52 / /mnt/v3 rw,relatime - nfs 10.0.0.1:/z rw,vers=3,addr=10.0.0.1";

    #[test]
    fn parses_and_unescapes() {
        let t = parse(SAMPLE);
        assert_eq!(t.len(), 4);
        assert_eq!(t[1].target, "/mnt/with space");
        assert_eq!(t[1].fstype, "nfs4");
        assert_eq!(t[1].source, "10.0.0.1:/x");
        assert_eq!(t[0].all_options(), "rw,nosuid,nodev,noexec,relatime,rw");
    }

    #[test]
    fn finds_last_by_target_then_source() {
        let t = parse(SAMPLE);
        assert_eq!(find(&t, "/mnt/v3").unwrap().source, "10.0.0.1:/z");
        assert_eq!(find(&t, "10.0.0.1:/y").unwrap().target, "/mnt/v3");
        assert!(find(&t, "/nope").is_none());
        assert_eq!(find(&t, "/mnt/v3/").unwrap().source, "10.0.0.1:/z");
        assert_eq!(find(&t, "//mnt///v3//").unwrap().source, "10.0.0.1:/z");
        assert!(find(&t, "/mnt/./v3").is_none());
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse_line("").is_none());
        assert!(parse_line("1 2 3").is_none());
        assert!(parse_line("1 2 3 4 5 - nfs").is_none());
    }
}
