//! NFS version selection (nfs-utils utils/mount/network.c `nfs_nfs_version`;
//! stropts.c `nfs_set_version`, `nfs_default_version`).

use super::error::OptError;
use super::list::{strtol_end, OptList};

/// Default major/minor when nothing selects one (`NFS_DEFAULT_MAJOR`/`MINOR`).
pub const DEFAULT_MAJOR: u32 = 4;
pub const DEFAULT_MINOR: u32 = 2;

/// How the version was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionMode {
    /// Nothing given: autonegotiate (4.2 → 4.1 → 4.0 → v3), or the nfsmount.conf
    /// `Defaultvers` starting point.
    Default,
    /// `vers=4`/`nfsvers=4`/`v4`/`mount.nfs4`: v4 minors only, never v3.
    General,
    /// Exactly this version, no fallback.
    Specific,
}

/// The selected version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionSel {
    /// Major version. Values that do not fit (negative or huge) saturate to `u32::MAX`;
    /// anything but 3 and 4 makes the mount attempt fail (2: EOPNOTSUPP, else EIO).
    pub major: u32,
    pub minor: u32,
    pub mode: VersionMode,
    /// The minor came from the user's options (`vers=4.1`, `v4.1`, `minorversion=`).
    pub minor_explicit: bool,
}

/// The nfsmount.conf `Defaultvers` state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DefaultVers {
    #[default]
    Unset,
    /// `(major, Some(minor))` for a specific value such as `4.1` or `3`;
    /// `(major, None)` for a general one (`4`).
    Set(u32, Option<u32>),
    /// Did not parse: every non-specific mount fails.
    Invalid,
}

const VERSION_KEYS: [&str; 5] = ["v2", "v3", "v4", "vers", "nfsvers"];

fn sat(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Result of parsing the version options alone (`nfs_nfs_version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub major: u32,
    pub minor: u32,
    pub mode: VersionMode,
    pub minor_explicit: bool,
}

/// `nfs_nfs_version`: parse the version keywords. `nfs4` = the program is `mount.nfs4`.
pub(crate) fn parse_version(fs: &OptList, nfs4: bool) -> Result<Parsed, OptError> {
    let mut found: Option<(usize, &str)> = None;
    for (i, prefix) in VERSION_KEYS.iter().enumerate() {
        if let Some(key) = fs.contains_prefix(prefix, 0) {
            if found.is_some() || fs.contains_prefix(prefix, 1).is_some() {
                return Err(OptError::MultipleVersions);
            }
            found = Some((i, key));
        }
    }
    let which = |i: usize| -> &'static str {
        match i {
            0..=2 => "v",
            3 => "vers=",
            _ => "nfsvers=",
        }
    };
    let mode;
    let (val, idx): (String, usize) = match found {
        None if nfs4 => ("4".to_string(), usize::MAX),
        None => {
            return Ok(Parsed {
                major: 0,
                minor: 0,
                mode: VersionMode::Default,
                minor_explicit: false,
            })
        }
        Some((i, key)) if i <= 2 => (key[1..].to_string(), i),
        Some((i, key)) => match fs.get(key) {
            Some(v) => (v.to_string(), i),
            None => return Err(OptError::VersionParse(which(i))),
        },
    };
    let err = |i: usize| {
        if i == usize::MAX {
            OptError::VersionParse("v")
        } else {
            OptError::VersionParse(which(i))
        }
    };
    let minor_err = OptError::VersionParse("minorversion=");

    let (major, rest) = strtol_end(&val).ok_or_else(|| err(idx))?;
    if !rest.is_empty() && !rest.starts_with('.') {
        return Err(err(idx));
    }
    let mut minor: i64 = 0;
    let mut minor_explicit = false;
    let minorversion = fs.get("minorversion");
    let tail: &str;
    if major == 4 && !rest.starts_with('.') && minorversion.is_some() {
        let mv = minorversion.unwrap_or_default();
        // strtol without a digit check: "" and "x" give 0 and leave the text in place
        let (m, t) = strtol_end(mv).unwrap_or((0, mv));
        if !t.is_empty() {
            return Err(minor_err);
        }
        minor = m;
        minor_explicit = true;
        mode = VersionMode::Specific;
        tail = "";
    } else if major < 4 {
        mode = VersionMode::Specific;
        tail = rest;
    } else if let Some(after) = rest.strip_prefix('.') {
        let (m, t) = strtol_end(after).ok_or_else(|| err(idx))?;
        minor = m;
        minor_explicit = true;
        mode = VersionMode::Specific;
        tail = t;
    } else {
        // major > 4 (major == 4 without minorversion also lands here), nothing after it
        match minorversion {
            Some(mv) => {
                let (m, t) = strtol_end(mv).unwrap_or((0, mv));
                minor = m;
                minor_explicit = true;
                mode = VersionMode::Specific;
                tail = t;
            }
            None => {
                mode = VersionMode::General;
                tail = rest;
            }
        }
    }
    if !tail.is_empty() {
        return Err(err(idx));
    }
    Ok(Parsed {
        major: sat(major),
        minor: sat(minor),
        mode,
        minor_explicit,
    })
}

/// Version selection as `nfs_set_version` does it, for a modern kernel (> 2.6.31).
///
/// `conf_default` is nfsmount.conf `Defaultvers` (see [`DefaultVers::Set`]).
/// The caller then rejects major 2 with EOPNOTSUPP and, unless the mode is
/// [`VersionMode::Specific`], calls [`strip_version_tokens`].
pub fn select_version(
    fs: &OptList,
    prog_is_nfs4: bool,
    conf_default: Option<(u32, Option<u32>)>,
) -> Result<VersionSel, OptError> {
    let d = match conf_default {
        Some((maj, min)) => DefaultVers::Set(maj, min),
        None => DefaultVers::Unset,
    };
    select_version_ext(fs, prog_is_nfs4, d)
}

/// [`select_version`] with the full `Defaultvers` state (including "did not parse").
pub fn select_version_ext(
    fs: &OptList,
    prog_is_nfs4: bool,
    conf_default: DefaultVers,
) -> Result<VersionSel, OptError> {
    let p = parse_version(fs, prog_is_nfs4)?;
    let mut sel = VersionSel {
        major: p.major,
        minor: p.minor,
        mode: p.mode,
        minor_explicit: p.minor_explicit,
    };
    if sel.mode == VersionMode::Default
        && ["mounthost", "mountaddr", "mountvers", "mountproto"]
            .iter()
            .any(|k| fs.contains(k))
    {
        sel.major = 3;
        sel.minor = 0;
        sel.mode = VersionMode::Specific;
    }
    if sel.mode != VersionMode::Specific {
        match (sel.mode, conf_default) {
            (_, DefaultVers::Invalid) => return Err(OptError::DefaultVersInvalid),
            (VersionMode::Default, DefaultVers::Set(maj, min)) => {
                sel.major = maj;
                sel.minor = min.unwrap_or(DEFAULT_MINOR);
            }
            (VersionMode::General, DefaultVers::Set(maj, min)) if maj == sel.major => {
                sel.minor = min.unwrap_or(DEFAULT_MINOR);
            }
            (VersionMode::General, _) => sel.minor = DEFAULT_MINOR,
            _ => {
                sel.major = DEFAULT_MAJOR;
                sel.minor = DEFAULT_MINOR;
            }
        }
    }
    Ok(sel)
}

/// For a non-specific mode: remove every `v4`, `vers` and `nfsvers` token (the mount
/// attempt adds its own version option).
pub fn strip_version_tokens(fs: &mut OptList) {
    fs.remove_all("v4");
    fs.remove_all("vers");
    fs.remove_all("nfsvers");
}

/// Parse a `Defaultvers` value as nfs-utils does (`nfs_nfs_version` on `vers=<value>`).
pub fn parse_default_vers(value: &str) -> Result<DefaultVers, OptError> {
    let mut l = OptList::default();
    l.append("vers", Some(value));
    let p = parse_version(&l, false)?;
    Ok(match p.mode {
        VersionMode::General => DefaultVers::Set(p.major, None),
        _ => DefaultVers::Set(p.major, Some(p.minor)),
    })
}

/// Add the version option(s) of a v4 attempt to `opts`, as `nfs_do_mount_v4` does for a
/// modern kernel (> 3.4):
/// * non-specific mode (after [`strip_version_tokens`]): minor 0 → `vers=4`, minor 1 →
///   `vers=4,minorversion=1`, minor ≥ 2 → `vers=4.<minor>` (with `sel.major`, `minor`);
/// * specific mode with a `minorversion=`: every `minorversion` is removed and
///   `vers=<major>.<minor>` appended (a `nfsvers=4` already there stays);
/// * specific mode otherwise: nothing (the user's `vers=4.1`/`v4.1` stays as typed).
pub fn apply_v4_version(opts: &mut OptList, sel: &VersionSel, minor: u32) {
    if sel.mode != VersionMode::Specific {
        match minor {
            0 => opts.append("vers", Some(&sel.major.to_string())),
            1 => {
                opts.append("vers", Some(&sel.major.to_string()));
                opts.append("minorversion", Some("1"));
            }
            m => opts.append("vers", Some(&format!("{}.{m}", sel.major))),
        }
    } else if opts.get("minorversion").is_some() {
        opts.remove_all("minorversion");
        opts.append("vers", Some(&format!("{}.{}", sel.major, sel.minor)));
    }
}
