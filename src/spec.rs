//! Mount spec parsing: `host:/path`, `[v6addr]:/path` (nfs-utils
//! utils/mount/parse_dev.c `nfs_parse_devname`).
#![forbid(unsafe_code)]

/// Longest host name accepted (`NFS_MAXHOSTNAME`).
pub const MAX_HOSTNAME: usize = 255;
/// Longest export path accepted (`NFS_MAXPATHNAME`).
pub const MAX_PATHNAME: usize = 1024;

/// A parsed spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Host name or address literal (brackets removed; an IPv6 scope id `%eth0` is kept).
    pub host: String,
    /// Export path (everything after the `:`).
    pub path: String,
    /// The spec used the `[addr]:` form.
    pub bracketed: bool,
}

/// Spec errors; `Display` is the exact nfs-utils text without `progname: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("remote share not in 'host:dir' format")]
    BadFormat,
    #[error("closing bracket missing from server address")]
    MissingBracket,
    #[error("NFS URLs are not supported")]
    Url,
    #[error("server hostname is too long")]
    HostnameTooLong,
    #[error("export pathname is too long")]
    PathnameTooLong,
}

/// Warning printed for `host1,host2:/path` (only the first host is used).
pub const WARN_MULTIPLE_HOSTNAMES: &str = "warning: multiple hostnames not supported";

/// Parse a mount spec. Returns the spec and warnings (each to be printed as
/// `<progname>: <warning>`).
///
/// Difference from nfs-utils: with a comma in the host part, nfs-utils computes an
/// empty path (a dangling `else` in `nfs_parse_devname`); here the path is the text after the `:`.
pub fn parse_spec(devname: &str) -> Result<(Spec, Vec<String>), SpecError> {
    let mut warnings = Vec::new();
    if let Some(rest) = devname.strip_prefix('[') {
        let close = rest.find(']').ok_or(SpecError::MissingBracket)?;
        let host = &rest[..close];
        let path = rest[close + 1..]
            .strip_prefix(':')
            .ok_or(SpecError::BadFormat)?;
        if host.len() > MAX_HOSTNAME {
            return Err(SpecError::HostnameTooLong);
        }
        if path.len() > MAX_PATHNAME {
            return Err(SpecError::PathnameTooLong);
        }
        return Ok((
            Spec {
                host: host.to_string(),
                path: path.to_string(),
                bracketed: true,
            },
            warnings,
        ));
    }
    if devname.starts_with("nfs://") {
        return Err(SpecError::Url);
    }
    let colon = devname.find(':').ok_or(SpecError::BadFormat)?;
    let mut host = &devname[..colon];
    if host.len() > MAX_HOSTNAME {
        return Err(SpecError::HostnameTooLong);
    }
    if let Some(comma) = host.find(',') {
        host = &host[..comma];
        warnings.push(WARN_MULTIPLE_HOSTNAMES.to_string());
    }
    let path = &devname[colon + 1..];
    if path.len() > MAX_PATHNAME {
        return Err(SpecError::PathnameTooLong);
    }
    Ok((
        Spec {
            host: host.to_string(),
            path: path.to_string(),
            bracketed: false,
        },
        warnings,
    ))
}

/// The nfsmount.conf `[ Server "..." ]` key for a spec: the host part. nfs-utils uses
/// the text before the first `:` (so `[::1]:/x` gives `[`); we use the bracket contents
/// for IPv6 literals (`::1`). Falls back to the text before the first `:` if the spec
/// does not parse.
pub fn server_key(devname: &str) -> String {
    if devname.starts_with('[') {
        if let Ok((s, _)) = parse_spec(devname) {
            return s.host;
        }
    }
    devname.split(':').next().unwrap_or("").to_string()
}
