//! umount.nfs / umount.nfs4 (spec §5): find the mount, refuse what isn't NFS,
//! tell mountd (UMNT, for v2/v3), umount2(2), update utab.

pub mod canon;
pub mod mountinfo;
pub mod umnt;

use crate::args::{usage, UmountArgs, UMOUNT_USAGE};
use crate::error::{exit, umount_error_line, Errno};
use crate::sys;

/// `NFSMOUNT_MOUNTINFO` (tests) or `/proc/self/mountinfo`.
fn mountinfo_path() -> std::path::PathBuf {
    sys::env::test_override("NFSMOUNT_MOUNTINFO")
        .map(Into::into)
        .unwrap_or_else(|| "/proc/self/mountinfo".into())
}

pub fn umount_main(progname: &str, args: UmountArgs) -> i32 {
    let spec = match args.spec.as_deref() {
        Some(s) if s.starts_with('/') || s.contains(':') => s.to_string(),
        _ => {
            eprintln!("{progname}: no mount point provided");
            print!("{}", usage(UMOUNT_USAGE, progname));
            return exit::USAGE;
        }
    };
    let code = run(progname, &args, &spec);
    if args.verbose {
        if code == exit::SUCCESS {
            println!("{spec}: umounted");
        } else {
            println!("{spec}: umount failed");
        }
    }
    code
}

fn run(progname: &str, args: &UmountArgs, spec: &str) -> i32 {
    if !sys::process::uid_is_root() || !sys::process::euid_is_root() {
        // libmount refuses non-root umounts without a user/users entry; we do not
        // support user umounts (see docs/differences.md).
        eprintln!(
            "{progname}: failed to prepare umount: {}\n",
            crate::error::strerror(Errno::EPERM)
        );
        return exit::FAIL;
    }
    let table = std::fs::read_to_string(mountinfo_path())
        .map(|t| mountinfo::parse(&t))
        .unwrap_or_default();
    let found = mountinfo::find(&table, spec)
        .or_else(|| {
            // `/mnt/./x`, `/mnt/a/../x`, a symlink: resolve it as realpath(3) does,
            // without stat(2) on any mount point (a dead server would hang us).
            let canon = canonical_target(spec, &table)?;
            table.iter().rev().find(|m| m.target == canon)
        })
        .cloned();
    if let Some(m) = &found {
        if m.fstype != "nfs" && m.fstype != "nfs4" {
            eprintln!("{progname}: {spec}: is not an NFS filesystem");
            return exit::USAGE;
        }
    }
    if args.verbose {
        let t = found
            .as_ref()
            .map(|m| m.fstype.as_str())
            .unwrap_or("(null)");
        println!("{spec}: {t} mount point detected");
    }
    let target = found
        .as_ref()
        .map(|m| m.target.clone())
        .unwrap_or_else(|| spec.to_string());
    let utab_path = crate::utab::default_path();
    let utab_entry = crate::utab::read(&utab_path)
        .into_iter()
        .rev()
        .find(|e| e.target == target);

    // Our -v UMNT report (differences.md #28) goes after nfs-utils' lines.
    let mut umnt_report: Option<String> = None;
    if !args.lazy {
        if let Some(m) = &found {
            if m.fstype == "nfs" {
                let opts = utab_entry
                    .as_ref()
                    .and_then(|e| e.attrs.clone())
                    .unwrap_or_else(|| m.all_options());
                umnt_report = advise_umnt(progname, &m.source, &opts, args.verbose);
            }
        } else if spec.contains(':') && !spec.starts_with('/') {
            umnt_report = advise_umnt(progname, spec, "tcp,v3", args.verbose);
        }
    }

    let mut flags = 0;
    if args.force {
        flags |= libc::MNT_FORCE;
    }
    if args.lazy {
        flags |= libc::MNT_DETACH;
    }
    let mut kernel = sys::kernel::system_kernel();
    let mut r = kernel.umount2(&target, flags);
    if r == Err(Errno::EBUSY) && args.readonly {
        let src = found
            .as_ref()
            .map(|m| m.source.clone())
            .unwrap_or_else(|| spec.to_string());
        // libmount remounts with a NULL type and NULL data.
        r = kernel.mount_no_data(&src, &target, libc::MS_REMOUNT | libc::MS_RDONLY);
        if r.is_ok() {
            // Still mounted (read-only): keep the utab entry.
            if let Some(l) = umnt_report {
                eprintln!("{l}");
            }
            return exit::SUCCESS;
        }
        r = Err(Errno::EBUSY);
    }
    let code = match r {
        Ok(()) => {
            if !args.nomtab && utab_entry.is_some() {
                let _ = crate::utab::remove(&utab_path, &target);
            }
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", umount_error_line(progname, spec, e));
            exit::FILEIO
        }
    };
    if let Some(l) = umnt_report {
        eprintln!("{l}");
    }
    code
}

/// realpath(3) of an absolute mount point argument, looking at no mount point.
fn canonical_target(spec: &str, table: &[mountinfo::MountInfo]) -> Option<String> {
    if !spec.starts_with('/') {
        return None;
    }
    let is_mp = |p: &str| table.iter().any(|m| m.target == p);
    let mut lookup = |p: &str| {
        let md = std::fs::symlink_metadata(p).ok()?;
        if md.file_type().is_symlink() {
            let t = std::fs::read_link(p).ok()?;
            Some(canon::Node::Symlink(t.to_str()?.to_string()))
        } else {
            Some(canon::Node::Plain)
        }
    };
    canon::canonical(spec, &is_mp, &mut lookup)
}

/// Tell the server's mountd that we unmounted (MOUNTPROC_UMNT). Advisory: errors
/// never change the exit status; with `-v` they are reported.
fn advise_umnt(progname: &str, source: &str, opts: &str, verbose: bool) -> Option<String> {
    umnt::advise_verbose(progname, source, opts, verbose)
}
