//! The side-by-side harness shared by the compliance, audit and fault-matrix
//! tests: nfs-utils' /sbin/mount.nfs and ours, each under the LD_PRELOAD shim
//! (mountshim.c) that logs mount(2)/umount2(2) and returns scripted errnos.
#![allow(dead_code)] // each test file uses a part

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
        if sub == "ours" {
            // `nfsmount explain` (tests/compliance.rs compares it with mount.nfs)
            std::os::unix::fs::symlink(&target, dir.join(sub).join("nfsmount")).unwrap();
        }
    }
    shim
}

/// What one helper run showed.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub code: i32,
    pub stdout: String,
    pub stderr: Vec<String>,
    pub calls: Vec<String>,
    pub utab: Vec<String>,
}

/// The drop-in rule: same mount(2) calls, exit status, stdout and utab;
/// nfs-utils' stderr lines first and exact, at most one line of ours after.
/// `ctx` names the case in the failure message.
pub fn assert_same(theirs: &Observed, ours: &Observed, ctx: &str) {
    let ctx = format!("{ctx}\n theirs: {theirs:#?}\n ours: {ours:#?}");
    assert_eq!(ours.calls, theirs.calls, "mount(2) calls differ: {ctx}");
    assert_eq!(ours.code, theirs.code, "exit status differs: {ctx}");
    assert_eq!(ours.stdout, theirs.stdout, "stdout differs: {ctx}");
    assert!(
        ours.stderr.len() >= theirs.stderr.len()
            && ours.stderr[..theirs.stderr.len()] == theirs.stderr[..],
        "stderr differs: {ctx}"
    );
    assert!(
        ours.stderr.len() <= theirs.stderr.len() + 1,
        "more than one extra line: {ctx}"
    );
    assert_eq!(ours.utab, theirs.utab, "utab differs: {ctx}");
}

/// libmount 2.38 may write fields we don't (ID=); keep SRC TARGET ROOT ATTRS OPTS.
pub fn normalize_utab(l: &str) -> String {
    l.split_whitespace()
        .filter(|f| {
            ["SRC=", "TARGET=", "ROOT=", "ATTRS=", "OPTS="]
                .iter()
                .any(|k| f.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
