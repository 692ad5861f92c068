//! Command-line parsing: flags of the four personalities into plain values.
//!
//! The parser is [`getopt`], a faithful `getopt_long` emulation (see its module docs
//! for why clap is not used here). It returns plain values ([`crate::args`]);
//! [`crate::app`] hands them to [`crate::mount`] or [`crate::umount`].
#![forbid(unsafe_code)]

pub mod getopt;

use getopt::{getopt_long, GetoptError, LongOpt};

// The parsed values live in `crate::args` (mount and umount take them without
// depending on this parser); re-exported here for the parser's users.
pub use crate::args::{usage, MountArgs, Personality, UmountArgs, MOUNT_USAGE, UMOUNT_USAGE};

/// The nfs-utils release whose behaviour this helper reproduces.
pub const NFS_UTILS_COMPAT: &str = "2.6.2";

/// Our version line, in nfs-utils' `mount.nfs: (...)` shape. It names nfsmount and
/// keeps `nfs-utils <x.y.z>`: autofs runs `mount.nfs -V`, looks for "nfs-utils",
/// takes the text after the next space as major.minor.fix and, without it, stops
/// using string options and probing singleton hosts (lib/mounts.c).
pub fn version_line(progname: &str) -> String {
    format!(
        "{progname}: (nfsmount {}, drop-in for linux nfs-utils {NFS_UTILS_COMPAT})",
        env!("CARGO_PKG_VERSION")
    )
}

const MOUNT_LONGS: &[LongOpt] = &[
    LongOpt {
        name: "fake",
        has_arg: false,
        val: 'f',
    },
    LongOpt {
        name: "help",
        has_arg: false,
        val: 'h',
    },
    LongOpt {
        name: "no-mtab",
        has_arg: false,
        val: 'n',
    },
    LongOpt {
        name: "read-only",
        has_arg: false,
        val: 'r',
    },
    LongOpt {
        name: "ro",
        has_arg: false,
        val: 'r',
    },
    LongOpt {
        name: "verbose",
        has_arg: false,
        val: 'v',
    },
    LongOpt {
        name: "version",
        has_arg: false,
        val: 'V',
    },
    LongOpt {
        name: "read-write",
        has_arg: false,
        val: 'w',
    },
    LongOpt {
        name: "rw",
        has_arg: false,
        val: 'w',
    },
    LongOpt {
        name: "options",
        has_arg: true,
        val: 'o',
    },
    LongOpt {
        name: "sloppy",
        has_arg: false,
        val: 's',
    },
];

const UMOUNT_LONGS: &[LongOpt] = &[
    LongOpt {
        name: "force",
        has_arg: false,
        val: 'f',
    },
    LongOpt {
        name: "help",
        has_arg: false,
        val: 'h',
    },
    LongOpt {
        name: "no-mtab",
        has_arg: false,
        val: 'n',
    },
    LongOpt {
        name: "verbose",
        has_arg: false,
        val: 'v',
    },
    LongOpt {
        name: "read-only",
        has_arg: false,
        val: 'r',
    },
    LongOpt {
        name: "lazy",
        has_arg: false,
        val: 'l',
    },
    LongOpt {
        name: "types",
        has_arg: true,
        val: 't',
    },
];

/// Every flag each personality accepts (short, long names). Used by the docs tests.
pub fn accepted_flags(umount: bool) -> Vec<(Option<char>, &'static str)> {
    let (shorts, longs) = if umount {
        ("fvnrlh", UMOUNT_LONGS)
    } else {
        ("fhnrVvwo:s", MOUNT_LONGS)
    };
    longs
        .iter()
        .map(|l| (shorts.contains(l.val).then_some(l.val), l.name))
        .collect()
}

/// What the mount command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum MountCmd {
    Run(MountArgs),
    Version,
    Help,
    /// getopt diagnostic (printed as `argv0: <msg>`), then usage, exit 1.
    BadOption(GetoptError),
}

pub fn parse_mount(args: &[String]) -> MountCmd {
    let out = match getopt_long(args, "fhnrVvwo:s", MOUNT_LONGS) {
        Ok(o) => o,
        Err(e) => return MountCmd::BadOption(e),
    };
    let mut m = MountArgs::default();
    let mut opts: Vec<String> = Vec::new();
    for p in out.opts {
        match p.opt {
            'f' => m.fake = true,
            'n' => m.nomtab = true,
            'v' => m.verbose = true,
            's' => m.sloppy = true,
            'r' => opts.push("ro".into()),
            'w' => opts.push("rw".into()),
            'o' => opts.push(p.arg.unwrap_or_default()),
            'V' => return MountCmd::Version,
            _ => return MountCmd::Help,
        }
    }
    m.options = opts
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    let mut pos = out.positionals.into_iter();
    m.spec = pos.next();
    m.mountpoint = pos.next();
    // Extra positionals are silently ignored, as in the libmount variant.
    MountCmd::Run(m)
}

#[derive(Debug, PartialEq, Eq)]
pub enum UmountCmd {
    Run(UmountArgs),
    Help,
    BadOption(GetoptError),
}

pub fn parse_umount(args: &[String]) -> UmountCmd {
    let out = match getopt_long(args, "fvnrlh", UMOUNT_LONGS) {
        Ok(o) => o,
        Err(e) => return UmountCmd::BadOption(e),
    };
    let mut u = UmountArgs::default();
    for p in out.opts {
        match p.opt {
            'f' => u.force = true,
            'l' => u.lazy = true,
            'n' => u.nomtab = true,
            'r' => u.readonly = true,
            'v' => u.verbose = true,
            't' => u.types = p.arg,
            _ => return UmountCmd::Help,
        }
    }
    u.spec = out.positionals.into_iter().next();
    UmountCmd::Run(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn personalities() {
        assert_eq!(
            Personality::from_progname("mount.nfs"),
            Personality::MountNfs
        );
        assert_eq!(
            Personality::from_progname("mount.nfs4"),
            Personality::MountNfs4
        );
        assert_eq!(
            Personality::from_progname("umount.nfs"),
            Personality::UmountNfs
        );
        assert_eq!(
            Personality::from_progname("umount.nfs4"),
            Personality::UmountNfs4
        );
        assert_eq!(
            Personality::from_progname("mount-nfs"),
            Personality::MountNfs
        );
        assert_eq!(
            Personality::from_progname("umountfoo"),
            Personality::UmountNfs
        );
    }

    #[test]
    fn ro_rw_and_o_keep_order() {
        let MountCmd::Run(m) =
            parse_mount(&v(&["s:/x", "/m", "-o", "a", "-r", "--options=b", "-w"]))
        else {
            panic!()
        };
        assert_eq!(m.options, "a,ro,b,rw");
        assert_eq!(m.spec.as_deref(), Some("s:/x"));
        assert_eq!(m.mountpoint.as_deref(), Some("/m"));
    }

    #[test]
    fn version_and_help_stop_parsing() {
        assert_eq!(parse_mount(&v(&["-V", "x"])), MountCmd::Version);
        assert_eq!(parse_mount(&v(&["--vers"])), MountCmd::Version);
        assert_eq!(parse_mount(&v(&["-h"])), MountCmd::Help);
        assert!(matches!(
            parse_mount(&v(&["-N", "x"])),
            MountCmd::BadOption(_)
        ));
    }

    #[test]
    fn umount_types_is_long_only() {
        assert!(matches!(
            parse_umount(&v(&["-t", "nfs", "/m"])),
            UmountCmd::BadOption(_)
        ));
        let UmountCmd::Run(u) = parse_umount(&v(&["--types", "nfs", "/m", "-lf"])) else {
            panic!()
        };
        assert!(u.lazy && u.force);
        assert_eq!(u.types.as_deref(), Some("nfs"));
        assert_eq!(u.spec.as_deref(), Some("/m"));
    }

    #[test]
    fn usage_text_shape() {
        let u = usage(MOUNT_USAGE, "mount.nfs4");
        assert!(u.starts_with("usage: mount.nfs4 remotetarget dir [-rvVwfnsh] [-o nfsoptions]\n"));
        assert!(u.ends_with("nfs(5)\n\n"));
    }
}
