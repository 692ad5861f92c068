//! Shared helpers for the CLI tests: run the helper binary under one of its four
//! installed names, with the test seams (mount(2) log, utab, conf) in a scratch dir.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("mount-nfs");
        for name in ["mount.nfs", "mount.nfs4", "umount.nfs", "umount.nfs4"] {
            std::os::unix::fs::symlink(&bin, dir.path().join(name)).unwrap();
        }
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        std::fs::write(dir.path().join("nfsmount.conf"), "").unwrap();
        Env { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn mnt(&self) -> String {
        self.path("mnt")
            .canonicalize()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// A command for `name` (e.g. "mount.nfs") with all test seams pointed into the
    /// scratch dir and mount(2) faked with the given errno script.
    pub fn cmd(&self, name: &str, errnos: &str) -> Command {
        Command::from_std(self.std_cmd(name, errnos))
    }

    /// [`Env::cmd`] as a plain std Command (for spawning and signalling).
    pub fn std_cmd(&self, name: &str, errnos: &str) -> std::process::Command {
        let mut c = std::process::Command::new(self.path(name));
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("NFSMOUNT_SYSCALL_LOG", self.path("syscalls.log"))
            .env("NFSMOUNT_SYSCALL_ERRNOS", errnos)
            .env("NFSMOUNT_UTAB", self.path("utab"))
            .env("NFSMOUNT_CONF", self.path("nfsmount.conf"))
            .env("NFSMOUNT_SYSLOG_SOCKET", self.path("no-syslog"))
            .env("NFSMOUNT_TIME_SCALE", "1000");
        c
    }

    pub fn write_conf(&self, text: &str) {
        std::fs::write(self.path("nfsmount.conf"), text).unwrap();
    }

    /// Lines of the mount(2)/umount2(2) log.
    pub fn syscalls(&self) -> Vec<String> {
        read_lines(&self.path("syscalls.log"))
    }

    /// Just the data strings of the logged mount(2) calls.
    pub fn mount_data(&self) -> Vec<String> {
        self.syscalls()
            .iter()
            .filter_map(|l| l.split(" data=").nth(1))
            .map(|d| {
                d.rsplit_once(" => ")
                    .map(|(a, _)| a)
                    .unwrap_or(d)
                    .to_string()
            })
            .collect()
    }

    pub fn utab(&self) -> Vec<String> {
        read_lines(&self.path("utab"))
    }
}

pub fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|t| t.lines().map(String::from).collect())
        .unwrap_or_default()
}
