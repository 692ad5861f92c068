//! The helper binary's dispatcher: argv[0] picks the personality, [`cli`] parses
//! the rest into plain values, and [`crate::mount`] or [`crate::umount`] runs.
//! The only module that knows both the parser and the commands.
#![forbid(unsafe_code)]

use crate::args::{usage, Personality, MOUNT_USAGE, UMOUNT_USAGE};
use crate::cli;
use crate::error::exit;

/// Entry point of the helper binary; returns the exit status.
pub fn helper_main() -> i32 {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv0 = argv.first().cloned().unwrap_or_else(|| "mount.nfs".into());
    let progname = std::path::Path::new(&argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mount.nfs".into());
    let rest = &argv[argv.len().min(1)..];
    let personality = Personality::from_progname(&progname);
    match personality {
        Personality::UmountNfs | Personality::UmountNfs4 => match cli::parse_umount(rest) {
            cli::UmountCmd::Run(a) => crate::umount::umount_main(&progname, a),
            cli::UmountCmd::Help => usage_exit(UMOUNT_USAGE, &progname, &argv0, None),
            cli::UmountCmd::BadOption(e) => usage_exit(UMOUNT_USAGE, &progname, &argv0, Some(e)),
        },
        Personality::MountNfs | Personality::MountNfs4 => match cli::parse_mount(rest) {
            cli::MountCmd::Run(a) => crate::mount::mount_main(&progname, personality, a),
            cli::MountCmd::Version => {
                println!("{}", cli::version_line(&progname));
                exit::SUCCESS
            }
            cli::MountCmd::Help => usage_exit(MOUNT_USAGE, &progname, &argv0, None),
            cli::MountCmd::BadOption(e) => usage_exit(MOUNT_USAGE, &progname, &argv0, Some(e)),
        },
    }
}

/// `-h` or a getopt error: glibc's diagnostic (naming argv[0]) on stderr, the
/// usage block on stdout, exit 1.
fn usage_exit(
    template: &str,
    progname: &str,
    argv0: &str,
    err: Option<cli::getopt::GetoptError>,
) -> i32 {
    if let Some(e) = err {
        eprintln!("{argv0}: {e}");
    }
    print!("{}", usage(template, progname));
    exit::USAGE
}
