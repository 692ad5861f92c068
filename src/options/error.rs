//! Option errors. `Display` is the exact nfs-utils text without the `progname: ` prefix.

use crate::errno::Errno;

/// The option string has an unterminated double quote.
///
/// nfs-utils 2.6.2 silently dropped *all* options in that case (spec §2.1, §8.18); we
/// fail instead (the helper exits 32).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unbalanced quotes in mount options")]
pub struct TokenizeError;

/// An option that mount.nfs rejects before any network traffic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptError {
    /// More than one of `v2`/`v3`/`v4*`/`vers`/`nfsvers`.
    #[error("multiple version options not permitted")]
    MultipleVersions,
    /// `which` is one of `vers=`, `nfsvers=`, `v`, `minorversion=`.
    #[error("parsing error on '{0}' option")]
    VersionParse(&'static str),
    /// Unknown netid in `proto=`, `mountproto=` or `Defaultproto`.
    #[error("Failed to find '{0}' protocol")]
    ProtocolNotFound(String),
    /// `which` is one of `port=`, `mountport=`, `mountvers=`, `nfsprog=`, `mountprog=`.
    #[error("invalid value for '{0}' option")]
    InvalidValue(&'static str),
    /// nfsmount.conf `Defaultvers` did not parse, and the mount is not version-specific.
    /// nfs-utils fails such mounts silently (the warning was printed while reading the
    /// configuration); we print this line. Exit 32.
    #[error("invalid Defaultvers setting in nfsmount.conf")]
    DefaultVersInvalid,
}

impl OptError {
    /// The errno nfs-utils leaves behind for this failure (all of these end in exit 32;
    /// none is passed to `mount_error`).
    pub fn errno_like(&self) -> Errno {
        match self {
            OptError::ProtocolNotFound(_) => Errno::EPROTONOSUPPORT,
            _ => Errno::EINVAL,
        }
    }
}
