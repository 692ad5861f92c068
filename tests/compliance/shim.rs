//! The side-by-side harness shared by the compliance, audit and fault-matrix
//! tests: nfs-utils' /sbin/mount.nfs and ours, each under the LD_PRELOAD shim
//! (mountshim.c) that logs mount(2)/umount2(2) and returns scripted errnos.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const NFS_UTILS: &str = "/sbin/mount.nfs";

/// Builds the shim into `dir` and links the four helper names under
/// `dir/theirs/` (nfs-utils) and `dir/ours/` (ours). Returns the shim's path.
pub fn prepare(dir: &Path) -> PathBuf {
    assert!(
        Path::new(NFS_UTILS).exists(),
        "{NFS_UTILS} missing: apt-get install nfs-common"
    );
    let shim = dir.join("mountshim.so");
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&shim)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/compliance/mountshim.c"
        ))
        .status()
        .expect("cc");
    assert!(st.success(), "building the shim failed");
    for (sub, target) in [
        ("theirs", PathBuf::from(NFS_UTILS)),
        ("ours", assert_cmd::cargo::cargo_bin("mount-nfs")),
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for n in ["mount.nfs", "mount.nfs4", "umount.nfs", "umount.nfs4"] {
            std::os::unix::fs::symlink(&target, dir.join(sub).join(n)).unwrap();
        }
    }
    shim
}
