//! The helper binary. Installed as mount.nfs, mount.nfs4, umount.nfs, umount.nfs4;
//! it dispatches on the basename of argv[0].
//!
//! Entered straight from the C runtime (`no_main`): std's runtime set-up locates
//! the main thread's stack guard by parsing /proc/self/maps with sscanf, a
//! measurable part of every helper's start-up in a mount storm under an emulated
//! CPU (51 -> 43 ms per exec in a TCG guest, docs/benchmarks.md).
//! `lean_startup` does the rest of what std would have done.
#![no_main]

use std::os::raw::{c_char, c_int};

#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    nfsmount::sys::process::lean_startup();
    // std::process::exit flushes Rust's stdout before exiting
    std::process::exit(nfsmount::app::helper_main());
}
