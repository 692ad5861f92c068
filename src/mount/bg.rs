//! The `bg` path: one attempt in the foreground, then a daemonized child that
//! keeps trying with a 1 → 120 s backoff and reports through syslog.

use super::attempt::Mounter;
use super::Request;
use crate::error::{bg_syslog_line, Errno, MountError};
use crate::negotiate::retry::{self, Outcome, ParentOutcome};
use crate::negotiate::PermanentTracker;
use crate::sys;
use std::io::Write;

fn syslog_bg(line: &str) {
    sys::syslog::log(sys::syslog::LOG_AUTH, sys::syslog::LOG_ERR, "mount", line);
}

pub fn run(req: Request, mut m: Mounter, mut tracker: PermanentTracker) -> Result<(), MountError> {
    let target = req.target.clone();
    match retry::bg_parent(&mut tracker, &mut || m.attempt(), &mut || {
        sys::process::is_mountpoint(&target)
    }) {
        ParentOutcome::Mounted => return super::finish(&req, &m, Outcome::Mounted),
        ParentOutcome::AlreadyMounted => return super::finish(&req, &m, Outcome::AlreadyMounted),
        ParentOutcome::Failed(e) => return super::finish(&req, &m, Outcome::Failed(e)),
        ParentOutcome::Background(e) => syslog_bg(&bg_syslog_line(&m.ctx.host, e, true)),
    }
    println!("{}: backgrounding \"{}\"", req.progname, req.spec);
    println!("{}: mount options: \"{}\"", req.progname, req.all_opts);
    let _ = std::io::stdout().flush();
    if let Err(e) = sys::process::daemonize() {
        return Err(MountError::Background(e).emit(&req.progname));
    }
    // The child: a fresh start (re-resolve), as nfs-utils re-runs nfsmount_string.
    let mut child = Mounter::prepare(&req)?;
    let (minutes, _) = crate::options::parse_retry(&child.ctx.opts, true);
    let mut clock = sys::clock::RealClock::new();
    let host = child.ctx.host.clone();
    let outcome = retry::bg_child(
        &mut clock,
        minutes,
        &mut tracker,
        &mut || child.attempt(),
        &mut || sys::process::is_mountpoint(&target),
        &mut |e: Errno| syslog_bg(&bg_syslog_line(&host, e, true)),
    );
    if let Outcome::Failed(e) = outcome {
        // nfs-utils sends the final give-up to /dev/null; we log it.
        syslog_bg(&bg_syslog_line(&host, e, false));
    }
    drop(m);
    super::finish(&req, &child, outcome)
}
