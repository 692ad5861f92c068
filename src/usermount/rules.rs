//! User mounts (fstab `user`, `users`, `owner`, `group`): the decisions a
//! setuid helper makes for a non-root caller, sans-IO.
//!
//! What libmount 2.38 does for nfs-utils' mount.nfs in "restricted" mode
//! (real uid not 0, effective uid 0), and what we do (docs/differences.md #2):
//! * **Which entry:** the first /etc/fstab line whose target equals the
//!   canonical mount point (as written or after canonicalising the fstab
//!   target) and whose source equals the spec as written (trailing slashes
//!   ignored; network sources are never canonicalised) — [`find_pair`].
//! * **Options:** the entry's options *replace* the caller's `-o` ones
//!   entirely; `-r` still adds read-only, `-w` is ignored.
//! * **Who may mount:** `user` (but not `user=<name>`) or `users` in the entry.
//!   libmount's `owner`/`group` look at the owner of a `/dev/` source and so
//!   never allow an NFS mount; here they allow the owner (group) of the mount
//!   point — [`mount_permission`].
//! * **Implied flags:** `user`/`users` imply `noexec,nosuid,nodev`,
//!   `owner`/`group` `nosuid,nodev`, unless a later option turns one back on
//!   (done by [`crate::options::vfs::split`]).
//! * **utab:** `user` becomes `user=<caller's name>` in `OPTS=` (also for a
//!   mount `owner`/`group` allowed) — [`utab_user_opts`].
//! * **Who may unmount:** the fstab entry (source and target of the mount)
//!   must still exist; `users` lets anyone, `user`/`owner`/`group` only the user
//!   named by `user=` in utab — compared exactly, where libmount accepts any
//!   name that *starts with* the recorded one — [`umount_permission`].
#![forbid(unsafe_code)]

use crate::options::OptList;

pub use crate::fstab::{parse as parse_fstab, Entry as FstabEntry, MAX_LINES as MAX_FSTAB_LINES};

/// Paths equal when trailing slashes are ignored (`/mnt/x/` = `/mnt/x`; `/` = `/`).
pub fn streq_paths(a: &str, b: &str) -> bool {
    fn trim(s: &str) -> &str {
        let t = s.trim_end_matches('/');
        if t.is_empty() && s.starts_with('/') {
            "/"
        } else {
            t
        }
    }
    trim(a) == trim(b)
}

/// The first entry for (`source`, `target`): `target` is the canonical mount
/// point; `canon` canonicalises an fstab target (None if it does not resolve).
pub fn find_pair<'a>(
    tab: &'a [FstabEntry],
    source: &str,
    target: &str,
    canon: &mut dyn FnMut(&str) -> Option<String>,
) -> Option<&'a FstabEntry> {
    if source.is_empty() || target.is_empty() {
        return None;
    }
    tab.iter().find(|e| {
        streq_paths(&e.source, source)
            && (streq_paths(&e.target, target)
                || canon(&e.target).is_some_and(|c| streq_paths(&c, target)))
    })
}

/// The user-mount options of an fstab entry, libmount-style: left to right,
/// `noX` clears what `X` set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserFlags {
    pub user: bool,
    /// The first `user` option carries a name (`user=bob`): not a grant.
    pub user_named: bool,
    pub users: bool,
    pub owner: bool,
    pub group: bool,
}

pub fn user_flags(opts: &OptList) -> UserFlags {
    let mut f = UserFlags::default();
    let mut first_user_seen = false;
    for o in opts.iter() {
        let novalue = o.value.is_none();
        match (o.key.as_str(), novalue) {
            ("user", _) => {
                if !first_user_seen {
                    first_user_seen = true;
                    f.user_named = o.value.as_deref().is_some_and(|v| !v.is_empty());
                }
                f.user = true;
            }
            ("nouser", true) => f.user = false,
            ("users", true) => f.users = true,
            ("nousers", true) => f.users = false,
            ("owner", true) => f.owner = true,
            ("noowner", true) => f.owner = false,
            ("group", true) => f.group = true,
            ("nogroup", true) => f.group = false,
            _ => {}
        }
    }
    f
}

/// The caller, as the decisions need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who<'a> {
    pub uid: u32,
    pub groups: &'a [u32],
    pub name: &'a str,
}

/// Why a user mount or unmount was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No fstab entry for this source and mount point.
    NotInFstab,
    /// The entry does not allow it.
    NotPermitted(String),
}

/// What a permitted user mount must record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// `user=<name>` goes to utab (so that this user may unmount).
    pub record_user: bool,
}

/// May `who` mount the fstab entry with options `opts`? `mp_owner` is the
/// (uid, gid) of the mount point directory.
pub fn mount_permission(opts: &OptList, who: &Who, mp_owner: (u32, u32)) -> Result<Grant, Refusal> {
    let f = user_flags(opts);
    let user = f.user && !f.user_named;
    let owner_ok = f.owner && mp_owner.0 == who.uid;
    let group_ok = f.group && who.groups.contains(&mp_owner.1);
    if user || owner_ok || group_ok {
        return Ok(Grant { record_user: true });
    }
    if f.users {
        return Ok(Grant { record_user: false });
    }
    let why = if f.user && f.user_named {
        "its 'user=<name>' does not allow user mounts (a plain 'user' does)".to_string()
    } else if f.owner || f.group {
        let mut w = Vec::new();
        if f.owner {
            w.push(format!(
                "'owner': the mount point is owned by uid {}, not you",
                mp_owner.0
            ));
        }
        if f.group {
            w.push(format!(
                "'group': you are not in the mount point's group (gid {})",
                mp_owner.1
            ));
        }
        w.join("; ")
    } else {
        "it has none of user, users, owner, group".to_string()
    };
    Err(Refusal::NotPermitted(why))
}

/// utab `OPTS=` of a user mount: the userspace options libmount keeps, with any
/// `user[=…]` replaced by `user=<name>` when the grant records the user (and
/// dropped otherwise, so no name the caller did not earn is stored).
pub fn utab_user_opts(kept: &OptList, grant: Grant, name: &str) -> OptList {
    let mut out = OptList::default();
    let mut placed = false;
    for o in kept.iter() {
        if o.key == "user" {
            if grant.record_user && !placed {
                out.append("user", Some(name));
                placed = true;
            }
            continue;
        }
        out.0.push(o.clone());
    }
    if grant.record_user && !placed {
        out.append("user", Some(name));
    }
    out
}

/// May `who` unmount a mount whose fstab entry has `fstab_opts` and whose
/// utab/mountinfo userspace options are `mount_opts`? `fstab_opts` None: no
/// fstab entry for the mount's source and target.
pub fn umount_permission(
    fstab_opts: Option<&OptList>,
    mount_opts: &OptList,
    who: &Who,
) -> Result<(), Refusal> {
    let Some(fo) = fstab_opts else {
        return Err(Refusal::NotInFstab);
    };
    let f = user_flags(fo);
    if f.users {
        return Ok(());
    }
    if !(f.user || f.owner || f.group) {
        return Err(Refusal::NotPermitted(
            "its /etc/fstab entry has none of user, users, owner, group".into(),
        ));
    }
    let recorded = mount_opts
        .iter()
        .find(|o| o.key == "user")
        .and_then(|o| o.value.as_deref())
        .filter(|v| !v.is_empty());
    match recorded {
        Some(n) if n == who.name => Ok(()),
        Some(n) => Err(Refusal::NotPermitted(format!(
            "it was mounted by user {n}, not by you"
        ))),
        None => Err(Refusal::NotPermitted(
            "no user is recorded for it in utab (user=)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ol(s: &str) -> OptList {
        OptList::parse(s).unwrap()
    }

    const TAB: &str = "# comment\n\
        \n\
        srv:/home   /mnt/home   nfs  user,noauto 0 0\n\
        srv:/pub/   /mnt/pub/   nfs  users\n\
        srv:/a\\040b /mnt/a\\040b nfs defaults\n\
        onlyone\n\
        srv:/home   /mnt/other  nfs  users\n";

    #[test]
    fn parses_fstab() {
        let t = parse_fstab(TAB);
        assert_eq!(t.len(), 4);
        assert_eq!(t[0].source, "srv:/home");
        assert_eq!(t[0].line, 3);
        assert_eq!(t[2].source, "srv:/a b");
        assert_eq!(t[2].target, "/mnt/a b");
        assert_eq!(t[1].opts, "users");
        assert_eq!(parse_fstab("a /b")[0].opts, "defaults");
        assert_eq!(parse_fstab("x\\134y\\0 /b")[0].source, "x\\y\\0");
    }

    #[test]
    fn pair_matching() {
        let t = parse_fstab(TAB);
        let mut none = |_: &str| None;
        assert_eq!(
            find_pair(&t, "srv:/home", "/mnt/home", &mut none)
                .unwrap()
                .line,
            3
        );
        // trailing slashes on either side
        assert_eq!(
            find_pair(&t, "srv:/pub", "/mnt/pub", &mut none)
                .unwrap()
                .line,
            4
        );
        assert_eq!(
            find_pair(&t, "srv:/home/", "/mnt/home/", &mut none)
                .unwrap()
                .line,
            3
        );
        // the source must be the entry's: another export on the same mount point
        assert!(find_pair(&t, "srv:/etc", "/mnt/home", &mut none).is_none());
        assert!(find_pair(&t, "evil:/home", "/mnt/home", &mut none).is_none());
        // same source on another mount point: that line
        assert_eq!(
            find_pair(&t, "srv:/home", "/mnt/other", &mut none)
                .unwrap()
                .line,
            7
        );
        // the fstab target is canonicalised (a symlink in fstab)
        let mut canon = |p: &str| (p == "/mnt/pub/").then(|| "/data/pub".to_string());
        assert_eq!(
            find_pair(&t, "srv:/pub", "/data/pub", &mut canon)
                .unwrap()
                .line,
            4
        );
        assert!(find_pair(&t, "", "/mnt/home", &mut none).is_none());
    }

    #[test]
    fn flags_left_to_right() {
        assert!(user_flags(&ol("user")).user);
        assert!(!user_flags(&ol("user,nouser")).user);
        let f = user_flags(&ol("user=bob"));
        assert!(f.user && f.user_named);
        let f = user_flags(&ol("user,user=bob"));
        assert!(f.user && !f.user_named);
        assert!(user_flags(&ol("nousers,users")).users);
        assert!(!user_flags(&ol("users,nousers")).users);
        assert!(user_flags(&ol("owner")).owner);
        assert!(user_flags(&ol("group")).group);
        assert_eq!(user_flags(&ol("rw,vers=3")), UserFlags::default());
    }

    fn bob() -> Who<'static> {
        Who {
            uid: 1000,
            groups: &[1000, 27],
            name: "bob",
        }
    }

    #[test]
    fn who_may_mount() {
        let w = bob();
        assert_eq!(
            mount_permission(&ol("user"), &w, (0, 0)),
            Ok(Grant { record_user: true })
        );
        assert_eq!(
            mount_permission(&ol("users"), &w, (0, 0)),
            Ok(Grant { record_user: false })
        );
        assert!(mount_permission(&ol("vers=3"), &w, (1000, 1000)).is_err());
        assert!(mount_permission(&ol("user,nouser"), &w, (0, 0)).is_err());
        assert!(matches!(
            mount_permission(&ol("user=bob"), &w, (0, 0)),
            Err(Refusal::NotPermitted(s)) if s.contains("user=")
        ));
        // owner / group: the mount point's owner
        assert_eq!(
            mount_permission(&ol("owner"), &w, (1000, 0)),
            Ok(Grant { record_user: true })
        );
        assert!(mount_permission(&ol("owner"), &w, (1001, 1000)).is_err());
        assert!(mount_permission(&ol("group"), &w, (0, 27)).is_ok());
        assert!(matches!(
            mount_permission(&ol("group"), &w, (0, 28)),
            Err(Refusal::NotPermitted(s)) if s.contains("gid 28")
        ));
    }

    #[test]
    fn utab_opts() {
        let g = Grant { record_user: true };
        assert_eq!(
            utab_user_opts(&ol("user,_netdev"), g, "bob").join(),
            "user=bob,_netdev"
        );
        assert_eq!(
            utab_user_opts(&ol("_netdev"), g, "bob").join(),
            "_netdev,user=bob"
        );
        assert_eq!(utab_user_opts(&ol("user=eve"), g, "bob").join(), "user=bob");
        let n = Grant { record_user: false };
        assert_eq!(
            utab_user_opts(&ol("user=eve,_netdev"), n, "bob").join(),
            "_netdev"
        );
    }

    #[test]
    fn who_may_unmount() {
        let w = bob();
        let eve = Who {
            uid: 1001,
            groups: &[1001],
            name: "eve",
        };
        let bobby = Who {
            uid: 1002,
            groups: &[1002],
            name: "bobby",
        };
        let mine = ol("user=bob");
        assert!(umount_permission(Some(&ol("user")), &mine, &w).is_ok());
        assert!(umount_permission(Some(&ol("user")), &mine, &eve).is_err());
        // libmount's strncmp would let "bobby" unmount bob's mount
        assert!(umount_permission(Some(&ol("user")), &mine, &bobby).is_err());
        assert!(umount_permission(Some(&ol("users")), &mine, &eve).is_ok());
        assert!(umount_permission(Some(&ol("owner")), &mine, &w).is_ok());
        assert!(umount_permission(Some(&ol("group")), &mine, &eve).is_err());
        assert_eq!(umount_permission(None, &mine, &w), Err(Refusal::NotInFstab));
        assert!(umount_permission(Some(&ol("defaults")), &mine, &w).is_err());
        assert!(umount_permission(Some(&ol("user")), &ol("_netdev"), &w).is_err());
    }

    proptest::proptest! {
        // Hostile fstab text: bounded, never panics.
        #[test]
        fn fstab_never_panics(s in "\\PC{0,400}") {
            let t = parse_fstab(&s);
            let mut c = |_: &str| None;
            let _ = find_pair(&t, "a:/b", "/c", &mut c);
        }
    }
}
