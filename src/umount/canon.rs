//! The mount point argument of umount.nfs in canonical form, free of I/O.
//!
//! umount(8) hands the helper the target from the mount table, but callers that
//! run the helper directly write `/mnt/x/`, `/mnt//x`, `/mnt/./x`, `/mnt/a/../x` or
//! a symlink to the mount point. libmount (as nfs-utils' umount.nfs uses it, with
//! canonicalisation off) matches only paths that differ in repeated or trailing
//! slashes ([`squash_slashes`]); everything else it leaves to the kernel's path
//! walk, so the UMNT and the utab entry are skipped. We resolve the path the way
//! realpath(3) does ([`canonical`]) — but never look at a path that is itself a
//! mount point: stat(2) on the root of a dead hard-mounted NFS export blocks
//! without bound, and unmounting such a mount is exactly what the caller wants.
#![forbid(unsafe_code)]

/// Most symlinks followed in one resolution (the kernel's limit, ELOOP beyond).
pub const MAX_SYMLINKS: usize = 40;
/// Longest path accepted (PATH_MAX).
pub const MAX_PATH: usize = 4096;

/// `path` with repeated slashes collapsed and trailing slashes removed (`/` stays
/// `/`). Two paths equal after this are the same to libmount's `streq_paths`.
pub fn squash_slashes(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let body = parts.join("/");
    if path.starts_with('/') {
        format!("/{body}")
    } else {
        body
    }
}

/// What one component is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Exists and is not a symlink.
    Plain,
    /// A symlink with this content.
    Symlink(String),
}

/// realpath(3) of the absolute `path`, asking `lookup` about each prefix (as
/// lstat + readlink would) except those `is_mount_point` says are mount points,
/// which are taken as directories without looking. `None` when the path is not
/// absolute, too long, loops, or a component does not exist.
pub fn canonical(
    path: &str,
    is_mount_point: &dyn Fn(&str) -> bool,
    lookup: &mut dyn FnMut(&str) -> Option<Node>,
) -> Option<String> {
    if !path.starts_with('/') || path.len() > MAX_PATH {
        return None;
    }
    let mut todo: std::collections::VecDeque<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut links = 0usize;
    while let Some(c) = todo.pop_front() {
        match c.as_str() {
            "." => continue,
            ".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        let cand = format!("/{}", {
            let mut v = out.clone();
            v.push(c.clone());
            v.join("/")
        });
        if cand.len() > MAX_PATH {
            return None;
        }
        if is_mount_point(&cand) {
            out.push(c);
            continue;
        }
        match lookup(&cand)? {
            Node::Plain => out.push(c),
            Node::Symlink(target) => {
                links += 1;
                if links > MAX_SYMLINKS || target.is_empty() || target.len() > MAX_PATH {
                    return None;
                }
                if target.starts_with('/') {
                    out.clear();
                }
                for t in target.split('/').filter(|t| !t.is_empty()).rev() {
                    todo.push_front(t.to_string());
                }
            }
        }
    }
    Some(format!("/{}", out.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fs(links: &[(&str, &str)], plain: &[&str]) -> impl FnMut(&str) -> Option<Node> {
        let links: HashMap<String, String> = links
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let plain: Vec<String> = plain.iter().map(|s| s.to_string()).collect();
        move |p: &str| {
            if let Some(t) = links.get(p) {
                Some(Node::Symlink(t.clone()))
            } else if plain.iter().any(|q| q == p) {
                Some(Node::Plain)
            } else {
                None
            }
        }
    }

    #[test]
    fn slashes() {
        assert_eq!(squash_slashes("/mnt//x/"), "/mnt/x");
        assert_eq!(squash_slashes("/mnt/x"), "/mnt/x");
        assert_eq!(squash_slashes("///"), "/");
        assert_eq!(squash_slashes("/mnt/./x"), "/mnt/./x");
    }

    #[test]
    fn resolves_like_realpath_without_touching_mount_points() {
        let mp = |p: &str| p == "/mnt/x";
        let mut look = fs(
            &[("/l", "/mnt/x"), ("/mnt/rel", "x"), ("/mnt/up", "../mnt/x")],
            &["/mnt", "/mnt/a", "/tmp"],
        );
        for (given, want) in [
            ("/mnt/x", "/mnt/x"),
            ("/mnt/x/", "/mnt/x"),
            ("/mnt//x", "/mnt/x"),
            ("/mnt/./x", "/mnt/x"),
            ("/mnt/a/../x", "/mnt/x"),
            ("/l", "/mnt/x"),
            ("/mnt/rel", "/mnt/x"),
            ("/mnt/up/", "/mnt/x"),
            ("/../mnt/x", "/mnt/x"),
        ] {
            assert_eq!(
                canonical(given, &mp, &mut look).as_deref(),
                Some(want),
                "{given}"
            );
        }
        // The mount point itself is never looked up (it is not in the fake fs).
        assert_eq!(
            canonical("/mnt/x/.", &mp, &mut look).as_deref(),
            Some("/mnt/x")
        );
        assert_eq!(canonical("/nope/x", &mp, &mut look), None);
        assert_eq!(canonical("relative", &mp, &mut look), None);
    }

    #[test]
    fn loops_and_long_paths_are_bounded() {
        let mp = |_: &str| false;
        let mut look = fs(&[("/a", "/b"), ("/b", "/a")], &[]);
        assert_eq!(canonical("/a", &mp, &mut look), None);
        let long = format!("/{}", "x/".repeat(3000));
        let mut any = |_: &str| Some(Node::Plain);
        assert_eq!(canonical(&long, &mp, &mut any), None);
        // A self-referencing relative link.
        let mut look = fs(&[("/d/s", "s/s")], &["/d"]);
        assert_eq!(canonical("/d/s", &mp, &mut look), None);
    }
}
