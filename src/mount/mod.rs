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
mod diagnose;
mod statd;
pub mod v3;

use crate::args::{usage, MountArgs, Personality, MOUNT_USAGE};
use crate::error::{exit, mount_error_lines, Errno};
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

fn print_mount_error(req: &Request, spec: Option<&str>, e: Errno) {
    for l in mount_error_lines(&req.progname, spec, &req.target, e) {
        err_line(&l);
    }
}

pub fn mount_main(progname: &str, personality: Personality, args: MountArgs) -> i32 {
    let cfg = config::load(progname);
    let Some(mountpoint) = args.mountpoint.clone() else {
        err_line(&format!("{progname}: no mount point provided"));
        print!("{}", usage(MOUNT_USAGE, progname));
        return exit::FAIL;
    };
    let Some(spec) = args.spec.clone() else {
        err_line(&format!("{progname}: no mount spec provided"));
        return exit::FAIL;
    };
    if !sys::process::euid_is_root() || !sys::process::uid_is_root() {
        err_line(&format!(
            "{progname}: not installed setuid - \"user\" NFS mounts not supported."
        ));
        err_line(&format!(
            "{progname}: mounting needs root: run it as root (this helper does not do \"user\" mounts from fstab)"
        ));
        return exit::FAIL;
    }
    // autofs and systemd stop a slow mount with SIGTERM: say where it was.
    sys::termination::install(progname, exit::FAIL);
    let fstype = if personality == Personality::MountNfs4 {
        "nfs4"
    } else {
        "nfs"
    };
    if mountpoint.is_empty() {
        // nfs-utils cannot canonicalise "" and reports it as EFAULT.
        for l in mount_error_lines(progname, None, "", Errno::EFAULT) {
            err_line(&l);
        }
        err_line(&format!("{progname}: the mount point is an empty string"));
        return exit::FAIL;
    }
    let target = std::fs::canonicalize(&mountpoint)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(mountpoint);
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return mp_fail(progname, &target, Errno::ENOTDIR),
        Err(e) => {
            let errno = e
                .raw_os_error()
                .map(Errno::from_raw)
                .unwrap_or(Errno::ENOENT);
            return mp_fail(progname, &target, errno);
        }
    }

    let merged = match config::merge(progname, &cfg, &args.options, &target, &spec) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let all = match OptList::parse(&merged.opts) {
        Ok(l) => l,
        Err(e) => {
            err_line(&format!("{progname}: {e}"));
            return exit::FAIL;
        }
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

fn mp_fail(progname: &str, target: &str, e: Errno) -> i32 {
    for l in mount_error_lines(progname, None, target, e) {
        err_line(&l);
    }
    let hint = match e {
        Errno::ENOENT => format!("create the mount point first (mkdir -p {target})"),
        Errno::ENOTDIR => format!("the mount point must be a directory; {target} is not"),
        _ => format!("check the mount point {target}"),
    };
    err_line(&format!("{progname}: {hint}"));
    exit::FAIL
}

/// Validation, then the remount / foreground / background paths.
pub fn run(req: Request) -> i32 {
    let mut m = match Mounter::prepare(&req) {
        Ok(m) => m,
        Err(code) => return code,
    };
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
                exit::SUCCESS
            }
            Err(e) => {
                print_mount_error(&req, Some(&req.spec), e);
                exit::FAIL
            }
        };
    }
    let mut tracker = PermanentTracker::default();
    let target = req.target.clone();
    if crate::options::is_bg(&m.opts) {
        return bg::run(req, m, tracker);
    }
    let (minutes, invalid) = crate::options::parse_retry(&m.opts, false);
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

/// Exit status and utab after a loop ends.
fn finish(req: &Request, m: &Mounter, outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Mounted => {
            store_utab(req, m);
            exit::SUCCESS
        }
        Outcome::AlreadyMounted => {
            // nfs-utils records the options as they were before the attempt.
            store_utab(req, m);
            exit::SUCCESS
        }
        Outcome::Failed(e) => {
            if e == Errno::ESPIPE {
                err_line(&diagnose::rpc_mount_error(req, m));
            } else {
                print_mount_error(req, Some(&req.spec), e);
            }
            if let Some(hint) = diagnose::diagnosis(req, m, e) {
                err_line(&format!("{}: {hint}", req.progname));
            }
            exit::FAIL
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
        Some(&m.extra_opts),
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
