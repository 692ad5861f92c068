//! libmount's utab (`/run/mount/utab`): the userspace mount information that the
//! kernel's mountinfo does not keep (our `ATTRS=` option string for umount's UMNT,
//! and userspace options such as `_netdev` or `x-*` in `OPTS=`).
//!
//! Line format (libmount compatible): `SRC=<spec> TARGET=<dir> ROOT=/ [ATTRS=<o>]
//! [OPTS=<o>]`, fields separated by one space, values with space, tab, newline and
//! backslash written as octal escapes (`\040` …). Updates take libmount's lock file
//! (`<utab>.lock`, flock LOCK_EX), write a temporary file and rename it into place,
//! so concurrent mount(8)/umount(8) and our helpers never interleave.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub src: String,
    pub target: String,
    pub root: String,
    pub attrs: Option<String>,
    pub opts: Option<String>,
}

impl Entry {
    pub fn new(src: &str, target: &str, attrs: Option<&str>, opts: Option<&str>) -> Entry {
        Entry {
            src: src.into(),
            target: target.into(),
            root: "/".into(),
            attrs: attrs.filter(|s| !s.is_empty()).map(Into::into),
            opts: opts.filter(|s| !s.is_empty()).map(Into::into),
        }
    }

    /// One utab line, without the newline.
    pub fn format(&self) -> String {
        let mut s = format!("SRC={} TARGET={}", mangle(&self.src), mangle(&self.target));
        if !self.root.is_empty() {
            s.push_str(&format!(" ROOT={}", mangle(&self.root)));
        }
        if let Some(a) = &self.attrs {
            s.push_str(&format!(" ATTRS={}", mangle(a)));
        }
        if let Some(o) = &self.opts {
            s.push_str(&format!(" OPTS={}", mangle(o)));
        }
        s
    }

    /// Parse one line; unknown fields (ID=, BINDSRC=, …) are ignored.
    pub fn parse(line: &str) -> Option<Entry> {
        let mut e = Entry::default();
        for field in line_fields(line) {
            let (k, v) = field.split_once('=')?;
            let v = unmangle(v);
            match k {
                "SRC" => e.src = v,
                "TARGET" => e.target = v,
                "ROOT" => e.root = v,
                "ATTRS" => e.attrs = Some(v),
                "OPTS" => e.opts = Some(v),
                _ => {}
            }
        }
        (!e.target.is_empty()).then_some(e)
    }

    /// Whether libmount would keep this entry at all (it needs attributes or options).
    pub fn worth_storing(&self) -> bool {
        self.attrs.is_some() || self.opts.is_some()
    }
}

/// The fields of a line: separated by the blanks [`mangle`] escapes (space, tab),
/// as libmount reads them. Not `split_whitespace`: a value may hold a vertical tab,
/// form feed or Unicode space unescaped, and splitting there lost the entry (found
/// by the `mountinfo_utab` fuzz target).
fn line_fields(line: &str) -> impl Iterator<Item = &str> {
    line.split([' ', '\t']).filter(|f| !f.is_empty())
}

/// Escape as libmount/`/proc/mounts` do.
pub fn mangle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

/// Reverse of [`mangle`] for any `\ooo` octal escape.
pub fn unmangle(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a whole utab; malformed lines are skipped.
pub fn parse_all(text: &str) -> Vec<Entry> {
    text.lines().filter_map(Entry::parse).collect()
}

/// The utab path: `NFSMOUNT_UTAB` (tests), else `/run/mount/utab`.
pub fn default_path() -> PathBuf {
    crate::sys::env::test_override("NFSMOUNT_UTAB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/mount/utab"))
}

/// Read all entries (a missing file is empty).
pub fn read(path: &Path) -> Vec<Entry> {
    std::fs::read_to_string(path)
        .map(|t| parse_all(&t))
        .unwrap_or_default()
}

/// `TARGET=` of a raw utab line, unmangled.
fn line_target(line: &str) -> Option<String> {
    line_fields(line)
        .find_map(|f| f.strip_prefix("TARGET="))
        .map(unmangle)
}

/// `line` with `key=` set to `value` (mangled) or removed (`None`); every other
/// field, known to us or not, is kept as it was.
fn set_field(line: &str, key: &str, value: Option<&str>) -> String {
    let prefix = format!("{key}=");
    let new = value.map(|v| format!("{prefix}{}", mangle(v)));
    let mut fields: Vec<String> = Vec::new();
    let mut done = false;
    for f in line_fields(line) {
        if f.starts_with(&prefix) {
            if let Some(n) = &new {
                if !done {
                    fields.push(n.clone());
                }
            }
            done = true;
        } else {
            fields.push(f.to_string());
        }
    }
    if let (false, Some(n)) = (done, new) {
        fields.push(n);
    }
    fields.join(" ")
}

/// Append an entry under the lock.
pub fn add(path: &Path, entry: &Entry) -> std::io::Result<()> {
    let line = entry.format();
    update(path, |lines| lines.push(line))
}

/// After a remount: update the attributes of the entry for `target`, or add one
/// without `ROOT=` (what libmount does when it has no entry to update).
pub fn remount(path: &Path, src: &str, target: &str, attrs: &str) -> std::io::Result<()> {
    update(path, |lines| {
        let attrs = Some(attrs).filter(|a| !a.is_empty());
        match lines
            .iter()
            .rposition(|l| line_target(l).as_deref() == Some(target))
        {
            Some(i) => lines[i] = set_field(&lines[i], "ATTRS", attrs),
            None => {
                let mut e = Entry::new(src, target, attrs, None);
                e.root.clear();
                if e.worth_storing() {
                    lines.push(e.format());
                }
            }
        }
    })
}

/// Remove the last entry for `target` under the lock. Returns whether one existed.
pub fn remove(path: &Path, target: &str) -> std::io::Result<bool> {
    let mut found = false;
    update(path, |lines| {
        if let Some(i) = lines
            .iter()
            .rposition(|l| line_target(l).as_deref() == Some(target))
        {
            lines.remove(i);
            found = true;
        }
    })?;
    Ok(found)
}

/// Runs `f` on the utab's lines under libmount's lock and writes the result
/// through a temporary file renamed into place. Lines are kept as they were
/// (other programs' entries may carry fields we do not know, such as `ID=`), and
/// nothing is parsed that the change does not need: adding an entry is a copy
/// plus one line, whatever the table's size (a storm of 1,000 mounts rewrites
/// it 1,000 times).
fn update(path: &Path, f: impl FnOnce(&mut Vec<String>)) -> std::io::Result<()> {
    // A setuid helper run by a user writes utab as root (sys::privs).
    let _root = crate::sys::privs::root();
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))?;
    // A table we cannot read (bytes that are not UTF-8, an I/O error) is left
    // alone rather than replaced by our lines only.
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    f(&mut lines);
    let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("utab");
    remove_stale_temps(dir, base);
    let tmp = dir.join(format!(".{base}.{}", std::process::id()));
    let mut text = String::with_capacity(old.len() + 256);
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    // One write, no fsync: like libmount. The rename makes the update atomic for
    // readers; durability would buy nothing, /run is emptied at every boot (and an
    // fsync costs ~0.4 ms per mount where /run is not a tmpfs).
    std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
    std::fs::rename(&tmp, path)
}

/// Temporary files are only written by the lock holder, so under the lock any
/// `.<utab>.<pid>` present is what a writer killed between write and rename left
/// behind: remove it (an unreadable directory is left as it is).
fn remove_stale_temps(dir: &Path, base: &str) {
    let prefix = format!(".{base}.");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for d in rd.flatten() {
        let name = d.file_name();
        let Some(n) = name.to_str() else { continue };
        if n.strip_prefix(&prefix)
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        {
            let _ = std::fs::remove_file(d.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_removes_temporaries_of_killed_writers_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("utab");
        for n in [
            ".utab.4242",
            ".utab.1",
            ".utab.x1",
            "utab.XXXX12",
            ".other.7",
        ] {
            std::fs::write(d.path().join(n), "SRC=torn TAR").unwrap();
        }
        add(&p, &Entry::new("s:/x", "/mnt/a", Some("vers=3"), None)).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".other.7", ".utab.x1", "utab", "utab.XXXX12", "utab.lock"]
        );
        assert_eq!(read(&p).len(), 1);
    }

    #[test]
    fn format_matches_libmount_shape() {
        let e = Entry::new(
            "127.0.0.1:/x",
            "/mnt/t",
            Some("vers=4.2,rsize=8192,addr=127.0.0.1,clientaddr=127.0.0.1"),
            Some("_netdev,x-systemd.automount"),
        );
        assert_eq!(
            e.format(),
            "SRC=127.0.0.1:/x TARGET=/mnt/t ROOT=/ ATTRS=vers=4.2,rsize=8192,addr=127.0.0.1,clientaddr=127.0.0.1 OPTS=_netdev,x-systemd.automount"
        );
        assert_eq!(Entry::parse(&e.format()), Some(e));
    }

    #[test]
    fn values_with_other_whitespace_round_trip() {
        // Regression (fuzz: mountinfo_utab): a vertical tab or a Unicode space in a
        // value is not escaped, so it must not split the field.
        for t in ["/m\u{b}n", "/m\u{c}", "/a\u{a0}b", "/x\u{2003}y", "/r\rs"] {
            let e = Entry::new("s:/x", t, Some("a=1"), None);
            assert_eq!(Entry::parse(&e.format()), Some(e.clone()), "{t:?}");
            assert_eq!(line_target(&e.format()).as_deref(), Some(t));
        }
        let line = "SRC=a\\360b:/x TARGET=/m\\01360b:/x ROOT=/ OPTS=a";
        let e = Entry::parse(line).unwrap();
        assert_eq!(Entry::parse(&e.format()), Some(e));
    }

    #[test]
    fn mangling_round_trips() {
        let e = Entry::new("h:/a b", "/mnt/with space\\x", Some("a=1"), None);
        let line = e.format();
        assert!(line.contains("TARGET=/mnt/with\\040space\\134x"), "{line}");
        assert_eq!(Entry::parse(&line).unwrap(), e);
        assert_eq!(unmangle("\\"), "\\");
        assert_eq!(unmangle("a\\04"), "a\\04");
    }

    #[test]
    fn add_and_remove_under_lock() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mount/utab");
        add(&p, &Entry::new("a:/1", "/m1", Some("x"), None)).unwrap();
        add(&p, &Entry::new("a:/2", "/m2", Some("y"), None)).unwrap();
        assert_eq!(read(&p).len(), 2);
        assert!(remove(&p, "/m1").unwrap());
        assert!(!remove(&p, "/m1").unwrap());
        let left = read(&p);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].src, "a:/2");
        assert!(d.path().join("mount/utab.lock").exists());
    }

    #[test]
    fn other_programs_entries_are_kept_as_they_are() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("utab");
        let theirs = "ID=77 SRC=/dev/sdb1 TARGET=/media/usb ROOT=/ OPTS=uhelper=udisks2";
        let ours_old = "ID=78 SRC=h:/x TARGET=/mnt/x ROOT=/ ATTRS=vers=3 OPTS=_netdev";
        std::fs::write(&p, format!("{theirs}\n\n{ours_old}\n")).unwrap();
        add(&p, &Entry::new("h:/y", "/mnt/y", Some("vers=4.2"), None)).unwrap();
        remount(&p, "h:/x", "/mnt/x", "vers=3,ro").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            format!(
                "{theirs}\nID=78 SRC=h:/x TARGET=/mnt/x ROOT=/ ATTRS=vers=3,ro OPTS=_netdev\n\
                 SRC=h:/y TARGET=/mnt/y ROOT=/ ATTRS=vers=4.2\n"
            )
        );
        remount(&p, "h:/x", "/mnt/x", "").unwrap();
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .contains("ID=78 SRC=h:/x TARGET=/mnt/x ROOT=/ OPTS=_netdev\n"));
        assert!(remove(&p, "/mnt/y").unwrap());
        assert!(remove(&p, "/mnt/x").unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{theirs}\n"));
    }

    #[test]
    fn an_unreadable_table_is_not_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("utab");
        std::fs::write(&p, b"SRC=h:/x TARGET=/mnt/\xff ROOT=/\n").unwrap();
        assert!(add(&p, &Entry::new("h:/y", "/mnt/y", Some("a"), None)).is_err());
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"SRC=h:/x TARGET=/mnt/\xff ROOT=/\n"
        );
    }

    #[test]
    fn remount_without_an_entry_adds_one_without_root() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("utab");
        remount(&p, "h:/x", "/mnt/with space", "vers=3").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "SRC=h:/x TARGET=/mnt/with\\040space ATTRS=vers=3\n"
        );
        // Nothing worth storing: no entry.
        remount(&p, "h:/z", "/mnt/z", "").unwrap();
        assert_eq!(read(&p).len(), 1);
    }
}
