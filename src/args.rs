//! How a helper was invoked, as plain values: the personality chosen by argv[0],
//! the parsed mount/umount command lines and the usage texts. Produced by
//! [`crate::cli`], consumed by [`crate::mount`] and [`crate::umount`] (neither
//! depends on the parser). No I/O.
#![forbid(unsafe_code)]

/// Which of the four installed names we were called as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Personality {
    MountNfs,
    MountNfs4,
    UmountNfs,
    UmountNfs4,
}

impl Personality {
    /// nfs-utils: a name starting with `umount` selects umount mode; exactly
    /// `mount.nfs4` selects fstype nfs4; anything else is mount.nfs.
    pub fn from_progname(progname: &str) -> Personality {
        if progname.starts_with("umount") {
            if progname == "umount.nfs4" {
                Personality::UmountNfs4
            } else {
                Personality::UmountNfs
            }
        } else if progname == "mount.nfs4" {
            Personality::MountNfs4
        } else {
            Personality::MountNfs
        }
    }
}

pub const MOUNT_USAGE: &str = "usage: %s remotetarget dir [-rvVwfnsh] [-o nfsoptions]
options:
\t-r\t\tMount file system readonly
\t-v\t\tVerbose
\t-V\t\tPrint version
\t-w\t\tMount file system read-write
\t-f\t\tFake mount, do not actually mount
\t-n\t\tDo not update /etc/mtab
\t-s\t\tTolerate sloppy mount options rather than fail
\t-h\t\tPrint this help
\tnfsoptions\tRefer to mount.nfs(8) or nfs(5)

";

pub const UMOUNT_USAGE: &str = "usage: %s dir [-fvnrlh]
options:
\t-f\tforce unmount
\t-v\tverbose
\t-n\tDo not update /etc/mtab
\t-r\tremount
\t-l\tlazy unmount
\t-h\tprint this help

";

/// The usage block with the program name filled in.
pub fn usage(template: &str, progname: &str) -> String {
    template.replacen("%s", progname, 1)
}

/// Parsed mount.nfs command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountArgs {
    pub fake: bool,
    pub nomtab: bool,
    pub verbose: bool,
    pub sloppy: bool,
    /// `-o` values and `-r`/`-w` (as `ro`/`rw`), comma-joined in command-line order.
    pub options: String,
    pub spec: Option<String>,
    pub mountpoint: Option<String>,
}

/// Parsed umount.nfs command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UmountArgs {
    pub force: bool,
    pub lazy: bool,
    pub nomtab: bool,
    pub readonly: bool,
    pub verbose: bool,
    pub types: Option<String>,
    pub spec: Option<String>,
}
