//! Operators' tools behind the `nfsmount` name of the helper binary:
//! `nfsmount explain` (what mount.nfs would do, and why) and `nfsmount doctor`
//! (pre-flight of this machine and a server). See docs/explain-doctor.md.

pub mod doctor;
pub mod explain;
pub mod json;

use crate::error::ToolExit;

pub const USAGE: &str =
    "usage: nfsmount explain SPEC DIR [-o OPTIONS] [--fstab[=FILE]] [--probe] [--json]
       nfsmount doctor [SERVER[:/PATH]] [--json]
       nfsmount --version | --help
";

/// Entry point for the `nfsmount` name; `args` excludes argv[0].
pub fn main(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("explain") => explain::main(&args[1..]),
        Some("doctor") => doctor::main(&args[1..]),
        Some("-V" | "--version") => {
            println!("{}", crate::cli::version_line("nfsmount"));
            ToolExit::Ok.code()
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ToolExit::Ok.code()
        }
        Some(other) => {
            eprintln!("nfsmount: unknown command '{other}'");
            eprint!("{USAGE}");
            ToolExit::Usage.code()
        }
        None => {
            eprint!("{USAGE}");
            ToolExit::Usage.code()
        }
    }
}
