//! The dispatcher of one mount: validation ([`Mounter::prepare`]), resolution,
//! and the choice between the strategies — NFSv4 (`v4`), NFSv3 (`v3`, with the
//! storm-safe variant in `stormsafe`) and the 4.2 → 4.1 → 4.0 → 3 fallback of
//! `negotiate::autonegotiate`. The retry loop around [`Mounter::attempt`] is
//! `negotiate::retry`, driven by `mount::run`.

use super::context::{Attempt, Findings, MountCtx, Services};
use super::Request;
use crate::error::{Errno, MountError};
use crate::negotiate::{self, Attempts, V3Outcome};
use crate::options::version::{VersionMode, VersionSel};
use crate::sys;
use crate::sys::resolve::{FamilyFilter, ResolveError};
use std::net::SocketAddr;

/// One mount: its read-only context, the services strategies use, the server's
/// addresses (resolved once, on the first attempt) and what attempts learned.
pub struct Mounter {
    pub ctx: MountCtx,
    pub io: Services,
    pub addrs: Option<Vec<SocketAddr>>,
    pub found: Findings,
}

fn say(line: String) {
    crate::report::err(&line);
}

impl Mounter {
    /// nfs-utils' `nfs_validate_options` + the v2 check ([`validate`]), then the
    /// services (kernel seam, RPC client). Prints its own message and returns
    /// the error on failure. Sends nothing on the network.
    pub fn prepare(req: &Request) -> Result<Mounter, MountError> {
        let ctx = validate(req)?;
        Ok(Mounter {
            found: Findings {
                extra_opts: ctx.opts.join(),
                ..Findings::default()
            },
            ctx,
            io: Services {
                kernel: sys::kernel::system_kernel(),
                client: crate::client::Client::with_default_backends(),
            },
            addrs: None,
        })
    }

    /// Remount: no resolution, negotiation or retry; the options as they stand.
    pub fn remount(&mut self) -> Result<(), Errno> {
        let data = self.ctx.opts.join();
        self.io.sys_mount(&self.ctx, &data, 0)
    }

    /// One attempt over all addresses and (when negotiating) versions.
    pub fn attempt(&mut self) -> Result<(), Errno> {
        self.resolve()?;
        self.attempt_resolved()
    }

    /// Resolves the server once (the first step of [`Mounter::attempt`]).
    pub fn resolve(&mut self) -> Result<(), Errno> {
        if self.addrs.is_none() {
            match sys::resolve::resolve(&self.ctx.host, self.ctx.family) {
                Ok(a) => self.addrs = Some(a),
                Err(ResolveError::Temporary(_)) => return Err(Errno::EAGAIN),
                Err(ResolveError::Permanent(t)) => {
                    say(format!(
                        "{}: Failed to resolve server {}: {t}",
                        self.ctx.req.progname, self.ctx.host
                    ));
                    return Err(Errno::EALREADY);
                }
            }
        }
        Ok(())
    }

    fn attempt_resolved(&mut self) -> Result<(), Errno> {
        let version = self.ctx.version;
        match (version.major, version.mode) {
            (3, _) => match self.v3(false) {
                V3Outcome::Mounted => Ok(()),
                V3Outcome::Failed(e) => Err(e),
                V3Outcome::V4Registered => Err(Errno::EAGAIN),
            },
            (4, VersionMode::Specific) => self.strategy().v4_all(None),
            (4, _) => {
                let general = version.mode == VersionMode::General;
                let start = version.minor;
                negotiate::autonegotiate(self, start, general)
            }
            _ => Err(Errno::EIO),
        }
    }

    /// The bundle a strategy call gets.
    fn strategy(&mut self) -> Attempt<'_> {
        Attempt {
            ctx: &self.ctx,
            io: &mut self.io,
            addrs: self.addrs.as_deref().unwrap_or_default(),
            found: &mut self.found,
        }
    }

    fn v3(&mut self, checkv4: bool) -> V3Outcome {
        self.strategy().v3_all(checkv4)
    }
}

impl Attempts for Mounter {
    fn v4(&mut self, minor: u32) -> Result<(), Errno> {
        self.strategy().v4_all(Some(minor))
    }
    fn v3(&mut self, checkv4: bool) -> V3Outcome {
        Mounter::v3(self, checkv4)
    }
}

/// The validated context of a mount (nfs-utils' `nfs_validate_options` and the
/// v2 check): spec, transport family, version selection, `sloppy` and
/// `stormsafe` handling.
fn validate(req: &Request) -> Result<MountCtx, MountError> {
    let p = &req.progname;
    let mut opts = req.fs_opts.clone();
    let remount = req.ms_flags & libc::MS_REMOUNT != 0;
    let mut host = String::new();
    let mut export_path = String::new();
    if !remount {
        match crate::spec::parse_spec(&req.spec) {
            Ok((spec, warnings)) => {
                for w in warnings {
                    say(format!("{p}: {w}"));
                }
                host = spec.host;
                export_path = spec.path;
            }
            Err(e) => return Err(MountError::from(e).emit(p)),
        }
    }
    // Only what nfs-utils' `nfs_validate_options` checks here (spec, proto=,
    // version options). The values of port=, mountport=, mountvers=, nfsprog=,
    // mountprog= and mountproto= are checked on the NFSv3 path, where nfs-utils
    // checks them (`nfs_options2pmap`), so the lines and the errno that follow
    // are the same on every path (see `v3_one`).
    let family =
        match crate::options::netid::nfs_family_with_default(&opts, req.conf_default_family) {
            Ok(crate::options::netid::Family::Inet) => FamilyFilter::V4,
            Ok(crate::options::netid::Family::Inet6) => FamilyFilter::V6,
            Ok(crate::options::netid::Family::Unspec) => FamilyFilter::Any,
            Err(e) => return Err(MountError::from(e).emit(p)),
        };
    opts.remove_all("addr");
    let version = match select_version(req, &opts) {
        Ok(v) => v,
        Err(e) => return Err(MountError::from(e).emit(p)),
    };
    if version.mode != VersionMode::Specific {
        crate::options::version::strip_version_tokens(&mut opts);
    }
    crate::options::sloppy_fixup(&mut opts, req.sloppy);
    let stormsafe_ask = crate::negotiate::pressure::ask_of(opts.0.iter().map(|o| o.key.as_str()));
    let stormsafe = stormsafe_ask == crate::negotiate::pressure::Ask::On;
    opts.remove_all("stormsafe");
    opts.remove_all("nostormsafe");
    if version.major == 2 {
        return Err(MountError::Mount {
            spec: req.spec.clone(),
            target: req.target.clone(),
            errno: Errno::EOPNOTSUPP,
            hint: None,
        }
        .emit(p));
    }
    Ok(MountCtx {
        req: req.clone(),
        opts,
        version,
        host,
        family,
        export_path,
        stormsafe,
        stormsafe_ask,
    })
}

/// The version selection of the options, with nfsmount.conf's `Defaultvers`.
fn select_version(
    req: &Request,
    opts: &crate::options::OptList,
) -> Result<VersionSel, crate::options::OptError> {
    use crate::options::version::DefaultVers;
    let conf_default = match (req.conf_default_vers_invalid, req.conf_default_vers) {
        (true, _) => DefaultVers::Invalid,
        (false, Some((maj, min))) => DefaultVers::Set(maj, min),
        (false, None) => DefaultVers::Unset,
    };
    crate::options::version::select_version_ext(opts, req.fstype == "nfs4", conf_default)
}
