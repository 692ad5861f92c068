//! mount.nfs / mount.nfs4: the whole flow from parsed arguments to exit status.
//!
//! Order of work (nfs-utils' libmount variant, spec §1.3):
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
pub mod v3;
pub mod v4;

use crate::args::{MountArgs, Personality};
use crate::error::{mount_status, Errno, MountError};
use crate::negotiate::retry::{self, Outcome};
use crate::negotiate::PermanentTracker;
use crate::options::OptList;
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
    eprintln!("{line}");
}

/// Entry point of mount.nfs / mount.nfs4; returns the exit status.
pub fn mount_main(progname: &str, personality: Personality, args: MountArgs) -> i32 {
    mount_status(&mount(progname, personality, args))
}

/// The whole mount; every failure has been printed when it returns.
fn mount(progname: &str, personality: Personality, args: MountArgs) -> Result<(), MountError> {
    let fail = |e: MountError| Err(e.emit(progname));
    let cfg = config::load(progname);
    let Some(mountpoint) = args.mountpoint.clone() else {
        return fail(MountError::NoMountPoint);
    };
    let Some(spec) = args.spec.clone() else {
        return fail(MountError::NoMountSpec);
    };
    if !sys::process::euid_is_root() || !sys::process::uid_is_root() {
        return fail(MountError::NotRoot);
    }
    // autofs and systemd stop a slow mount with SIGTERM: say where it was.
    sys::termination::install(progname, MountError::Stopped.exit_code());
    let fstype = if personality == Personality::MountNfs4 {
        "nfs4"
    } else {
        "nfs"
    };
    let target = match mount_point(mountpoint) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };

    let merged = config::merge(progname, &cfg, &args.options, &target, &spec)?;
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
        utab_user: split.utab_user.join(),
        fake: args.fake,
        nomtab: args.nomtab,
        verbose: args.verbose,
        sloppy: args.sloppy,
        conf_default_vers: merged.default_vers,
        conf_default_vers_invalid: merged.default_vers_invalid,
        conf_default_proto: merged.default_proto,
        conf_default_family: merged.default_family,
        conf_default_proto_udp_first: merged.default_proto_udp_first,
    };
    run(req)
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

/// Validation, then the remount / foreground / background paths. Failures are
/// printed when it returns.
pub fn run(req: Request) -> Result<(), MountError> {
    let mut m = Mounter::prepare(&req)?;
    if req.ms_flags & libc::MS_REMOUNT != 0 {
        return match m.remount() {
            Ok(()) => {
                if !req.nomtab {
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
    if crate::options::is_bg(&m.ctx.opts) {
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
        print!(
            "{}: timeout set for {}",
            req.progname,
            sys::clock::ctime_in(minutes * 60)
        );
    }
    let mut clock = sys::clock::RealClock::new();
    let outcome = retry::foreground(
        &mut clock,
        minutes,
        &mut tracker,
        &mut || m.attempt(),
        &mut || sys::process::is_mountpoint(&target),
    );
    finish(&req, &m, outcome)
}

/// utab after a loop ends, or the failure (printed).
fn finish(req: &Request, m: &Mounter, outcome: Outcome) -> Result<(), MountError> {
    match outcome {
        Outcome::Mounted => {
            store_utab(req, m);
            Ok(())
        }
        Outcome::AlreadyMounted => {
            // nfs-utils records the options as they were before the attempt.
            store_utab(req, m);
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
