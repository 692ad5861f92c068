//! mount.nfs / mount.nfs4: the whole flow from parsed arguments to exit status.
//!
//! Order of work (nfs-utils' libmount variant, utils/mount/mount_libmount.c
//! `mount_main`):
//! arguments → root check → mount point check → nfsmount.conf merge → libmount-style
//! split into MS_* flags / userspace / fs options → validation (no network traffic
//! before options are known good) → foreground or background retry loop around
//! [`attempt::Mounter::attempt`] → utab.

pub mod attempt;
mod bg;
pub mod binary;
pub mod config;
pub mod context;
mod diagnose;
mod statd;
mod stormsafe;
pub mod systemd;
pub mod v3;
pub mod v4;

use crate::args::{MountArgs, Personality};
use crate::error::{mount_status, Errno, MountError};
use crate::negotiate::retry::{self, Outcome};
use crate::negotiate::PermanentTracker;
use crate::options::OptList;
use crate::report;
use crate::sys;
use attempt::Mounter;

/// Everything a mount attempt needs that does not change between attempts.
#[derive(Clone, Debug)]
pub struct Request {
    pub progname: String,
    pub spec: String,
    /// Canonical mount point.
    pub target: String,
    pub fstype: &'static str,
    pub ms_flags: u64,
    /// fs options after config merge and split (what mount.nfs works on).
    pub fs_opts: OptList,
    /// Full option string after the config merge (printed when backgrounding).
    pub all_opts: String,
    /// Userspace options libmount keeps in utab (`OPTS=`).
    pub utab_user: String,
    pub fake: bool,
    pub nomtab: bool,
    pub verbose: bool,
    pub sloppy: bool,
    pub conf_default_vers: Option<(u32, Option<u32>)>,
    pub conf_default_vers_invalid: bool,
    pub conf_default_proto: Option<crate::options::Netid>,
    pub conf_default_family: crate::options::Family,
    pub conf_default_proto_udp_first: bool,
}

fn err_line(line: &str) {
    report::err(line);
}

/// Entry point of mount.nfs / mount.nfs4; returns the exit status.
pub fn mount_main(progname: &str, personality: Personality, args: MountArgs) -> i32 {
    mount_status(&mount(progname, personality, args))
}

/// The whole mount; every failure has been printed when it returns.
fn mount(progname: &str, personality: Personality, args: MountArgs) -> Result<(), MountError> {
    let cfg = config::load(progname);
    let (req, _) = build_request(progname, personality, &args, &cfg, true)?;
    run(req)
}

/// Everything mount.nfs does before its first attempt: the argument, root and
/// mount point checks, the nfsmount.conf merge and the libmount-style split.
/// Failures are printed (through [`report`]) when it returns. `for_real` is
/// false for `nfsmount explain`: no root or user-mount check, no signal handler.
pub fn build_request(
    progname: &str,
    personality: Personality,
    args: &MountArgs,
    cfg: &crate::conf::Config,
    for_real: bool,
) -> Result<(Request, config::MergedOpts), MountError> {
    let fail = |e: MountError| Err(e.emit(progname));
    let Some(mountpoint) = args.mountpoint.clone() else {
        return fail(MountError::NoMountPoint);
    };
    let Some(spec) = args.spec.clone() else {
        return fail(MountError::NoMountSpec);
    };
    // A setuid helper run by a user: only fstab `user` entries (src/usermount).
    let user = if for_real && sys::privs::elevated() {
        match crate::usermount::prepare_mount(&spec, &mountpoint, &args.options) {
            Ok(p) => Some(p),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    if for_real && user.is_none() && (!sys::process::euid_is_root() || !sys::process::uid_is_root())
    {
        return fail(MountError::NotRoot);
    }
    if for_real {
        // autofs and systemd stop a slow mount with SIGTERM: say where it was.
        sys::termination::install(progname, MountError::Stopped.exit_code());
    }
    let fstype = if personality == Personality::MountNfs4 {
        "nfs4"
    } else {
        "nfs"
    };
    // A user mount: the fstab entry's source, options and the pinned mount point.
    let (spec, target, options) = match &user {
        Some(u) => (u.spec.clone(), u.target.clone(), u.options.clone()),
        None => match mount_point(mountpoint) {
            Ok(t) => (spec, t, args.options.clone()),
            Err(e) => return fail(e),
        },
    };

    let merged = config::merge(progname, cfg, &options, &target, &spec)?;
    let all = match OptList::parse(&merged.opts) {
        Ok(l) => l,
        Err(e) => return fail(e.into()),
    };
    let split = crate::options::vfs::split(&all);
    let req = Request {
        progname: progname.to_string(),
        spec,
        target,
        fstype,
        ms_flags: split.ms_flags,
        fs_opts: split.fs,
        all_opts: merged.opts.clone(),
        utab_user: match &user {
            Some(u) => {
                crate::usermount::rules::utab_user_opts(&split.utab_user, u.grant, &u.name).join()
            }
            None => split.utab_user.join(),
        },
        fake: args.fake,
        // A user's -f writes no utab entry: it would claim a mount that is not there.
        nomtab: args.nomtab || (user.is_some() && args.fake),
        verbose: args.verbose,
        sloppy: args.sloppy,
        conf_default_vers: merged.default_vers,
        conf_default_vers_invalid: merged.default_vers_invalid,
        conf_default_proto: merged.default_proto,
        conf_default_family: merged.default_family,
        conf_default_proto_udp_first: merged.default_proto_udp_first,
    };
    Ok((req, merged))
}

/// The canonical mount point, which must be an existing directory.
fn mount_point(mountpoint: String) -> Result<String, MountError> {
    if mountpoint.is_empty() {
        // nfs-utils cannot canonicalise "" and reports it as EFAULT.
        return Err(MountError::EmptyMountPoint);
    }
    let target = std::fs::canonicalize(&mountpoint)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(mountpoint);
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => Ok(target),
        Ok(_) => Err(MountError::MountPoint {
            target,
            errno: Errno::ENOTDIR,
        }),
        Err(e) => {
            let errno = e
                .raw_os_error()
                .map(Errno::from_raw)
                .unwrap_or(Errno::ENOENT);
            Err(MountError::MountPoint { target, errno })
        }
    }
}

/// What `nfsmount explain --probe` puts in place of the real kernel and client:
/// the same validation, negotiation and retry loop run, mount(2) is only recorded,
/// utab is left alone, statd is not started, and a `bg` mount stops after its
/// foreground attempt.
pub struct Seams {
    pub kernel: Box<dyn sys::kernel::Kernel>,
    pub client: crate::client::Client,
    /// Treat the local rpc.statd as running (explain never starts daemons).
    pub assume_statd: bool,
}

/// Validation, then the remount / foreground / background paths. Failures are
/// printed when it returns.
pub fn run(req: Request) -> Result<(), MountError> {
    run_with(req, None)
}

/// [`run`], optionally with [`Seams`] (`nfsmount explain`).
pub fn run_with(req: Request, seams: Option<Seams>) -> Result<(), MountError> {
    let mut m = Mounter::prepare(&req)?;
    let explaining = seams.is_some();
    if let Some(s) = seams {
        m.io.kernel = s.kernel;
        m.io.client = s.client;
        m.found.statd_ok = s.assume_statd;
    }
    if req.ms_flags & libc::MS_REMOUNT != 0 {
        return match m.remount() {
            Ok(()) => {
                if !req.nomtab && !explaining {
                    let _ = crate::utab::remount(
                        &crate::utab::default_path(),
                        &req.spec,
                        &req.target,
                        &req.fs_opts.join(),
                    );
                }
                Ok(())
            }
            Err(errno) => Err(MountError::Mount {
                spec: req.spec.clone(),
                target: req.target.clone(),
                errno,
                hint: None,
            }
            .emit(&req.progname)),
        };
    }
    let mut tracker = PermanentTracker::default();
    let target = req.target.clone();
    // systemd's deadline for this mount, if any (mount::systemd)
    let limit = if explaining {
        None
    } else {
        systemd::limit(&req.spec, &req.target)
    };
    let watchdog = limit.as_ref().and_then(|(t, _)| {
        crate::negotiate::budget::fit(std::time::Duration::ZERO, Some(*t)).watchdog
    });
    if let (Some(w), Some((_, why))) = (watchdog, &limit) {
        sys::termination::watchdog(w, why);
    }
    if crate::options::is_bg(&m.ctx.opts) {
        if explaining {
            use retry::ParentOutcome;
            let outcome = match retry::bg_parent(&mut tracker, &mut || m.attempt(), &mut || {
                sys::process::is_mountpoint(&target)
            }) {
                ParentOutcome::Mounted => Outcome::Mounted,
                ParentOutcome::AlreadyMounted => Outcome::AlreadyMounted,
                ParentOutcome::Failed(e) => Outcome::Failed(e),
                ParentOutcome::Background(_) => {
                    report::out(&format!(
                        "{}: backgrounding \"{}\"\n{}: mount options: \"{}\"\n",
                        req.progname, req.spec, req.progname, req.all_opts
                    ));
                    return Ok(());
                }
            };
            return finish_with(&req, &m, outcome, false);
        }
        return bg::run(req, m, tracker);
    }
    let (minutes, invalid) = crate::options::parse_retry(&m.ctx.opts, false);
    if invalid && req.verbose {
        err_line(&format!(
            "{}: invalid retry timeout was specified; using default timeout",
            req.progname
        ));
    }
    if req.verbose {
        report::out(&format!(
            "{}: timeout set for {}",
            req.progname,
            sys::clock::ctime_in(minutes * 60)
        ));
    }
    let budget = crate::negotiate::budget::fit(
        std::time::Duration::from_secs(minutes.saturating_mul(60)),
        limit.as_ref().map(|(t, _)| *t),
    );
    if let (true, Some((_, why))) = (req.verbose, &limit) {
        err_line(&format!(
            "{}: {why}: retrying for at most {:.1} s",
            req.progname,
            budget.retry.as_secs_f64()
        ));
    }
    let mut clock = sys::clock::RealClock::new();
    let outcome = retry::foreground_for(
        &mut clock,
        budget.retry,
        &mut tracker,
        &mut || m.attempt(),
        &mut || sys::process::is_mountpoint(&target),
    );
    finish_with(&req, &m, outcome, !explaining)
}

/// utab after a loop ends, or the failure (printed).
fn finish(req: &Request, m: &Mounter, outcome: Outcome) -> Result<(), MountError> {
    finish_with(req, m, outcome, true)
}

fn finish_with(req: &Request, m: &Mounter, outcome: Outcome, utab: bool) -> Result<(), MountError> {
    match outcome {
        Outcome::Mounted => {
            if utab {
                store_utab(req, m);
            }
            Ok(())
        }
        Outcome::AlreadyMounted => {
            // nfs-utils records the options as they were before the attempt.
            if utab {
                store_utab(req, m);
            }
            Ok(())
        }
        Outcome::Failed(e) => {
            let hint = diagnose::diagnosis(&m.ctx, &m.found, e);
            let err = if e == Errno::ESPIPE {
                MountError::Rpc {
                    spec: req.spec.clone(),
                    last: m.found.last_rpc_error.clone(),
                    hint,
                }
            } else {
                MountError::Mount {
                    spec: req.spec.clone(),
                    target: req.target.clone(),
                    errno: e,
                    hint,
                }
            };
            Err(err.emit(&req.progname))
        }
    }
}

/// Record the mount in utab unless `-n`. A failure never changes the exit status.
fn store_utab(req: &Request, m: &Mounter) {
    if req.nomtab {
        return;
    }
    let mut entry = crate::utab::Entry::new(
        &req.spec,
        &req.target,
        Some(&m.found.extra_opts),
        Some(&req.utab_user),
    );
    if req.ms_flags & libc::MS_BIND != 0 {
        // libmount records a bind mount without ROOT= (as nfs-utils leaves it).
        entry.root.clear();
    }
    if !entry.worth_storing() {
        return;
    }
    if let Err(e) = crate::utab::add(&crate::utab::default_path(), &entry) {
        if req.verbose {
            err_line(&format!("{}: could not update utab: {e}", req.progname));
        }
    }
}
