//! Glue between the sans-IO nfsmount.conf core ([`crate::conf`]) and the system:
//! reading files, the environment for `$VAR`, and reporting warnings on stderr and
//! to syslog (LOG_DAEMON, ident = program name), as nfs-utils does.

use crate::conf::{self, ConfSource, Config};
use crate::sys;
use std::path::{Path, PathBuf};

/// Reads configuration files from the real file system.
pub struct FsSource;

impl ConfSource for FsSource {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
    fn list_dir(&self, dir: &Path) -> Option<Vec<String>> {
        let rd = std::fs::read_dir(dir).ok()?;
        let mut names = Vec::new();
        for e in rd.flatten() {
            let is_file_like = e
                .file_type()
                .map(|t| t.is_file() || t.is_symlink())
                .unwrap_or(true);
            if is_file_like {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        Some(names)
    }
}

/// `/etc/nfsmount.conf`, or `NFSMOUNT_CONF` when overrides are allowed.
pub fn main_path() -> PathBuf {
    sys::env::test_override("NFSMOUNT_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/nfsmount.conf"))
}

fn warn(progname: &str, msg: &str) {
    eprintln!("{progname}: {msg}");
    sys::syslog::log(
        sys::syslog::LOG_DAEMON,
        sys::syslog::LOG_WARNING,
        progname,
        msg,
    );
}

/// Load the configuration, reporting its warnings.
pub fn load(progname: &str) -> Config {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (cfg, warnings) = Config::load(&FsSource, &main_path(), &env);
    for w in warnings {
        warn(progname, &w.to_string());
    }
    cfg
}

/// Result of the merge the mount code needs.
pub struct MergedOpts {
    pub opts: String,
    pub default_vers: Option<(u32, Option<u32>)>,
    /// A bad `Defaultvers` makes every mount fail (as in nfs-utils).
    pub default_vers_invalid: bool,
    pub default_proto: Option<crate::options::Netid>,
    pub default_family: crate::options::Family,
    pub default_proto_udp_first: bool,
}

/// Merge config options into the command-line options for this mount.
/// On a configuration error, the message is printed and the error returned.
pub fn merge(
    progname: &str,
    cfg: &Config,
    user_opts: &str,
    target: &str,
    spec: &str,
) -> Result<MergedOpts, crate::error::MountError> {
    match conf::merge(cfg, user_opts, target, &crate::spec::server_key(spec)) {
        Ok(m) => {
            for w in &m.warnings {
                warn(progname, &w.to_string());
            }
            let udp_first = m
                .default_proto
                .as_ref()
                .map(|p| p.transport != crate::options::proto::Transport::Tcp)
                .unwrap_or(false);
            Ok(MergedOpts {
                opts: m.opts,
                default_vers: m.default_vers,
                default_vers_invalid: m.default_vers_invalid,
                default_proto: m.default_proto,
                default_family: m.default_family,
                default_proto_udp_first: udp_first,
            })
        }
        Err(e) => Err(crate::error::MountError::from(e).emit(progname)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_keys() {
        assert_eq!(crate::spec::server_key("srv:/x"), "srv");
        assert_eq!(crate::spec::server_key("[::1]:/x"), "::1");
        assert_eq!(crate::spec::server_key("[fe80::1%eth0]:/x"), "fe80::1%eth0");
        assert_eq!(crate::spec::server_key("noColon"), "noColon");
    }
}
