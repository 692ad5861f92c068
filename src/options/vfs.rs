//! What libmount does with the option string before mount.nfs looks at it: split it
//! into `MS_*` flags, userspace options and file-system options (libmount's split of the option string, as mount(8) hands it to the helper).
//!
//! SELinux context options (`context=`, `fscontext=`, `defcontext=`, `rootcontext=`,
//! `seclabel`) are removed: SELinux labelling is not supported by this implementation.

use super::list::{Opt, OptList};

/// Linux `MS_*` mount flags (values from `<linux/mount.h>`).
pub mod ms {
    pub const RDONLY: u64 = 1;
    pub const NOSUID: u64 = 2;
    pub const NODEV: u64 = 4;
    pub const NOEXEC: u64 = 8;
    pub const SYNCHRONOUS: u64 = 16;
    pub const REMOUNT: u64 = 32;
    pub const MANDLOCK: u64 = 64;
    pub const DIRSYNC: u64 = 128;
    pub const NOSYMFOLLOW: u64 = 256;
    pub const NOATIME: u64 = 1024;
    pub const NODIRATIME: u64 = 2048;
    pub const BIND: u64 = 4096;
    pub const REC: u64 = 16384;
    pub const UNBINDABLE: u64 = 1 << 17;
    pub const PRIVATE: u64 = 1 << 18;
    pub const SLAVE: u64 = 1 << 19;
    pub const SHARED: u64 = 1 << 20;
    pub const SILENT: u64 = 32768;
    pub const RELATIME: u64 = 1 << 21;
    pub const I_VERSION: u64 = 1 << 23;
    pub const STRICTATIME: u64 = 1 << 24;
    pub const LAZYTIME: u64 = 1 << 25;
}

/// The split option set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `MS_*` bits for `mount(2)`.
    pub ms_flags: u64,
    /// Options for mount.nfs (and, after its rewriting, the kernel).
    pub fs: OptList,
    /// Userspace options (never reach the kernel), in order.
    pub user: OptList,
    /// The userspace options libmount keeps in utab `OPTS=`: `user[=..]`, `_netdev`,
    /// `x-*`, `uhelper=`, `helper=`, `loop[=]` — one entry per known name (the first;
    /// `x-*` all), `user` dropped when a later `nouser` turns it off — not `nofail`,
    /// `users`, `owner`, `group`, `noauto`, `comment=`, `X-*`, `defaults`.
    pub utab_user: OptList,
}

/// `(name, bits, invert)`: `invert` clears the bits instead of setting them.
const VFS: &[(&str, u64, bool)] = &[
    ("ro", ms::RDONLY, false),
    ("rw", ms::RDONLY, true),
    ("exec", ms::NOEXEC, true),
    ("noexec", ms::NOEXEC, false),
    ("suid", ms::NOSUID, true),
    ("nosuid", ms::NOSUID, false),
    ("dev", ms::NODEV, true),
    ("nodev", ms::NODEV, false),
    ("sync", ms::SYNCHRONOUS, false),
    ("async", ms::SYNCHRONOUS, true),
    ("dirsync", ms::DIRSYNC, false),
    ("remount", ms::REMOUNT, false),
    ("bind", ms::BIND, false),
    ("rbind", ms::BIND | ms::REC, false),
    ("silent", ms::SILENT, false),
    ("loud", ms::SILENT, true),
    ("mand", ms::MANDLOCK, false),
    ("nomand", ms::MANDLOCK, true),
    ("atime", ms::NOATIME, true),
    ("noatime", ms::NOATIME, false),
    ("iversion", ms::I_VERSION, false),
    ("noiversion", ms::I_VERSION, true),
    ("diratime", ms::NODIRATIME, true),
    ("nodiratime", ms::NODIRATIME, false),
    ("relatime", ms::RELATIME, false),
    ("norelatime", ms::RELATIME, true),
    ("strictatime", ms::STRICTATIME, false),
    ("nostrictatime", ms::STRICTATIME, true),
    ("lazytime", ms::LAZYTIME, false),
    ("nolazytime", ms::LAZYTIME, true),
    ("symfollow", ms::NOSYMFOLLOW, true),
    ("nosymfollow", ms::NOSYMFOLLOW, false),
    // Propagation: libmount 2.38 passes these in the same mount(2) call.
    ("private", ms::PRIVATE, false),
    ("rprivate", ms::PRIVATE | ms::REC, false),
    ("shared", ms::SHARED, false),
    ("rshared", ms::SHARED | ms::REC, false),
    ("slave", ms::SLAVE, false),
    ("rslave", ms::SLAVE | ms::REC, false),
    ("unbindable", ms::UNBINDABLE, false),
    ("runbindable", ms::UNBINDABLE | ms::REC, false),
];

/// Userspace options: `(name, kept_in_utab)`. Matched on the key.
const USERSPACE: &[(&str, bool)] = &[
    ("defaults", false),
    ("auto", false),
    ("noauto", false),
    ("user", true),
    ("nouser", false),
    ("users", false),
    ("nousers", false),
    ("owner", false),
    ("noowner", false),
    ("group", false),
    ("nogroup", false),
    ("_netdev", true),
    ("comment", false),
    ("nofail", false),
    ("uhelper", true),
    ("helper", true),
    ("loop", true),
    ("offset", false),
    ("sizelimit", false),
    ("encryption", false),
];

/// libmount's dm-verity options (dropped); other `verity.*` names are fs options.
const VERITY: &[&str] = &[
    "verity.hashdevice",
    "verity.roothash",
    "verity.hashoffset",
    "verity.roothashfile",
    "verity.fecdevice",
    "verity.fecoffset",
    "verity.fecroots",
    "verity.roothashsig",
    "verity.oncorruption",
];

/// Userspace options libmount knows only as flags: written with a value
/// (`nofail=1`, `owner=x`) they are not recognised and stay file-system options,
/// so they reach the kernel (observed with nfs-utils 2.6.2 / libmount 2.38.1).
const FLAG_ONLY: &[&str] = &[
    "auto", "noauto", "nouser", "users", "nousers", "owner", "noowner", "group", "nogroup",
    "_netdev", "nofail",
];

/// SELinux options, removed.
const SELINUX: &[&str] = &[
    "context",
    "fscontext",
    "defcontext",
    "rootcontext",
    "seclabel",
];

/// Classify one option: `Some(true)` = userspace kept in utab, `Some(false)` = userspace
/// not kept, `None` = not userspace.
fn userspace(o: &Opt) -> Option<bool> {
    if o.key.starts_with("x-") {
        return Some(true);
    }
    if o.key.starts_with("X-") || VERITY.contains(&o.key.as_str()) {
        return Some(false);
    }
    if o.value.is_some() && FLAG_ONLY.contains(&o.key.as_str()) {
        return None;
    }
    USERSPACE
        .iter()
        .find(|(n, _)| *n == o.key)
        .map(|&(_, keep)| keep)
}

/// Split a full option list (after the nfsmount.conf merge) the way libmount does.
///
/// Flags are applied left to right, so the rightmost of `ro`/`rw` (etc.) wins. `user`
/// and `users` imply `noexec,nosuid,nodev`, `owner` and `group` imply `nosuid,nodev`,
/// at their position (a later `exec`/`suid`/`dev` overrides). `defaults` sets nothing.
pub fn split(all: &OptList) -> Split {
    let mut s = Split::default();
    let mut user_on = false;
    for o in all.iter() {
        if let Some(&(_, bits, invert)) = VFS.iter().find(|(n, _, _)| *n == o.key) {
            if o.value.is_none() {
                if invert {
                    s.ms_flags &= !bits;
                } else {
                    s.ms_flags |= bits;
                }
                continue;
            }
        }
        if SELINUX.contains(&o.key.as_str()) {
            continue;
        }
        if let Some(keep) = userspace(o) {
            match (o.key.as_str(), o.value.as_deref()) {
                // `user=<name>` names the saved user; only `user`/`user=` imply these.
                ("user", None | Some("")) | ("users", None) => {
                    s.ms_flags |= ms::NOEXEC | ms::NOSUID | ms::NODEV
                }
                ("owner" | "group", None) => s.ms_flags |= ms::NOSUID | ms::NODEV,
                ("user", _) => user_on = true,
                ("nouser", _) => user_on = false,
                _ => {}
            }
            if o.key == "user" {
                user_on = true;
            }
            // libmount keeps one entry per known utab option (the first); `x-*`
            // options are kept as they come.
            let known_dup =
                !o.key.starts_with("x-") && s.utab_user.0.iter().any(|u| u.key == o.key);
            if keep && !known_dup {
                s.utab_user.0.push(o.clone());
            }
            s.user.0.push(o.clone());
            continue;
        }
        s.fs.0.push(o.clone());
    }
    // `nouser` after the last `user` drops it from utab (the flag is off).
    if !user_on {
        s.utab_user.0.retain(|u| u.key != "user");
    }
    s
}
