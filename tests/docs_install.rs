//! `make install DESTDIR=…` produces the documented tree (names, symbolic links, modes,
//! contents), `make uninstall` removes every file again, and the knobs (PREFIX, SBINDIR,
//! SETUID, dpkg-divert) do what docs/install.md says.  Uses the binaries of this test
//! build (BUILDDIR), so no release build is needed.

mod docs_support;

use docs_support::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn have_make() -> bool {
    require_tool("make", "install tests").is_some()
        && require_tool("gzip", "install tests").is_some()
}

fn make(dest: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("make")
        .arg("-C")
        .arg(root())
        .arg("--no-print-directory")
        .args(args)
        .arg(format!("DESTDIR={}", dest.display()))
        .arg(format!("BUILDDIR={}", bin_dir().display()))
        .stdin(Stdio::null())
        .output()
        .expect("run make");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File(u32),
    Link(String),
}

/// Every file and symbolic link below `dest`, by path relative to it.
fn tree(dest: &Path) -> BTreeMap<String, Entry> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap().display().to_string();
                out.insert(rel, Entry::Link(target));
            } else if meta.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, Entry::File(meta.permissions().mode() & 0o7777));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dest, dest, &mut out);
    out
}

fn expected(prefix: &str, sbindir: &str, helper_mode: u32) -> BTreeMap<String, Entry> {
    let p = prefix.trim_start_matches('/');
    let s = sbindir.trim_start_matches('/');
    let mut m = BTreeMap::new();
    let file = |m: &mut BTreeMap<String, Entry>, path: String, mode| {
        m.insert(path, Entry::File(mode));
    };
    let link = |m: &mut BTreeMap<String, Entry>, path: String, to: &str| {
        m.insert(path, Entry::Link(to.to_string()));
    };
    file(&mut m, format!("{s}/mount.nfs"), helper_mode);
    for l in ["mount.nfs4", "umount.nfs", "umount.nfs4"] {
        link(&mut m, format!("{s}/{l}"), "mount.nfs");
        link(
            &mut m,
            format!("{p}/share/bash-completion/completions/{l}"),
            "mount.nfs",
        );
        link(
            &mut m,
            format!("{p}/share/fish/vendor_completions.d/{l}.fish"),
            "mount.nfs.fish",
        );
    }
    // the operators' tools (nfsmount explain / doctor)
    link(&mut m, format!("{s}/nfsmount"), "mount.nfs");
    file(
        &mut m,
        format!("{p}/share/bash-completion/completions/nfsmount"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/share/zsh/site-functions/_nfsmount"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/share/fish/vendor_completions.d/nfsmount.fish"),
        0o644,
    );
    file(&mut m, format!("{p}/sbin/rpcproxyd"), 0o755);
    for page in ["mount.nfs", "umount.nfs", "rpcproxyd", "nfsmount"] {
        file(&mut m, format!("{p}/share/man/man8/{page}.8.gz"), 0o644);
    }
    link(
        &mut m,
        format!("{p}/share/man/man8/mount.nfs4.8.gz"),
        "mount.nfs.8.gz",
    );
    link(
        &mut m,
        format!("{p}/share/man/man8/umount.nfs4.8.gz"),
        "umount.nfs.8.gz",
    );
    file(
        &mut m,
        format!("{p}/share/man/man5/nfsmount.conf.5.gz"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/share/bash-completion/completions/mount.nfs"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/share/zsh/site-functions/_mount.nfs"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/share/fish/vendor_completions.d/mount.nfs.fish"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/lib/systemd/system/rpcproxyd.service"),
        0o644,
    );
    file(
        &mut m,
        format!("{p}/lib/systemd/system/rpcproxyd.socket"),
        0o644,
    );
    m
}

fn gunzip(path: &Path) -> String {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("gzip -dc");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8 man page")
}

#[test]
fn install_then_uninstall_default_layout() {
    if !have_make() {
        return;
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    let (ok, log) = make(d, &["install"]);
    assert!(ok, "make install failed:\n{log}");
    assert_eq!(tree(d), expected("/usr", "/sbin", 0o755), "installed tree");

    // Contents are what the tree holds.
    let helper = std::fs::read(d.join("sbin/mount.nfs")).unwrap();
    assert!(helper == std::fs::read(bin_dir().join("mount-nfs")).unwrap());
    let daemon = std::fs::read(d.join("usr/sbin/rpcproxyd")).unwrap();
    assert!(daemon == std::fs::read(bin_dir().join("rpcproxyd")).unwrap());
    assert_eq!(
        gunzip(&d.join("usr/share/man/man8/mount.nfs.8.gz")),
        read("man/mount.nfs.8")
    );
    assert_eq!(
        gunzip(&d.join("usr/share/man/man5/nfsmount.conf.5.gz")),
        read("man/nfsmount.conf.5")
    );
    let unit = std::fs::read_to_string(d.join("usr/lib/systemd/system/rpcproxyd.service")).unwrap();
    assert_eq!(unit, read("systemd/rpcproxyd.service"));

    // The symbolic links resolve inside the tree.
    assert!(d.join("sbin/umount.nfs4").is_file());

    // Installing twice is fine (symbolic links are replaced, not nested).
    let (ok, log) = make(d, &["install"]);
    assert!(ok, "second make install failed:\n{log}");
    assert_eq!(tree(d), expected("/usr", "/sbin", 0o755));

    let (ok, log) = make(d, &["uninstall"]);
    assert!(ok, "make uninstall failed:\n{log}");
    let left = tree(d);
    assert!(left.is_empty(), "make uninstall left {left:?}");
}

#[test]
fn prefix_sbindir_and_setuid_knobs() {
    if !have_make() {
        return;
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    let args = [
        "install",
        "PREFIX=/usr/local",
        "SBINDIR=/usr/local/sbin",
        "SETUID=1",
    ];
    let (ok, log) = make(d, &args);
    assert!(ok, "make {args:?} failed:\n{log}");
    assert_eq!(tree(d), expected("/usr/local", "/usr/local/sbin", 0o4755));
    let unit =
        std::fs::read_to_string(d.join("usr/local/lib/systemd/system/rpcproxyd.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/local/sbin/rpcproxyd --foreground\n"),
        "unit not adjusted to PREFIX:\n{unit}"
    );
    let (ok, log) = make(
        d,
        &["uninstall", "PREFIX=/usr/local", "SBINDIR=/usr/local/sbin"],
    );
    assert!(ok, "make uninstall failed:\n{log}");
    assert!(tree(d).is_empty());
}

/// `make install-setuid` is `make install SETUID=1`: the same files, the helper
/// setuid root, and `make uninstall` removes them all.
#[test]
fn install_setuid_target() {
    if !have_make() {
        return;
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    let (ok, log) = make(d, &["install-setuid"]);
    assert!(ok, "make install-setuid failed:\n{log}");
    assert_eq!(tree(d), expected("/usr", "/sbin", 0o4755));
    assert!(log.contains("is setuid root"), "{log}");
    let (ok, log) = make(d, &["uninstall"]);
    assert!(ok, "make uninstall failed:\n{log}");
    assert!(tree(d).is_empty());
}

#[test]
fn install_without_built_binaries_says_what_to_do() {
    if !have_make() {
        return;
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let out = Command::new("make")
        .arg("-C")
        .arg(root())
        .args([
            "--no-print-directory",
            "install-bin",
            "BUILDDIR=/nonexistent",
        ])
        .arg(format!("DESTDIR={}", dest.path().display()))
        .output()
        .expect("make");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run 'make'"), "unhelpful message: {err}");
    assert!(tree(dest.path()).is_empty());
}

/// install-divert / uninstall-divert call dpkg-divert for the four helpers and the
/// three man pages nfs-common ships under the same names (a stand-in records them).
#[test]
fn divert_targets_call_dpkg_divert() {
    if !have_make() {
        return;
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    let tools = tempfile::tempdir().expect("tempdir");
    let log = tools.path().join("calls");
    let fake = tools.path().join("dpkg-divert");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let divert = format!("DPKG_DIVERT={}", fake.display());

    let (ok, out) = make(d, &["install-divert", &divert, "PKG_SBINDIR=/sbin"]);
    assert!(ok, "make install-divert failed:\n{out}");
    let names = [
        "/sbin/mount.nfs",
        "/sbin/mount.nfs4",
        "/sbin/umount.nfs",
        "/sbin/umount.nfs4",
        "/usr/share/man/man8/mount.nfs.8.gz",
        "/usr/share/man/man8/umount.nfs.8.gz",
        "/usr/share/man/man5/nfsmount.conf.5.gz",
    ];
    let root_arg = format!("--root {}", d.display());
    let want_add: Vec<String> = names
        .iter()
        .map(|n| format!("{root_arg} --local --rename --add {n}"))
        .collect();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().collect::<Vec<_>>(), want_add);

    // uninstall-divert removes our files first, then the diversions.
    let (ok, out) = make(d, &["install"]);
    assert!(ok, "make install failed:\n{out}");
    std::fs::remove_file(&log).unwrap();
    let (ok, out) = make(d, &["uninstall-divert", &divert, "PKG_SBINDIR=/sbin"]);
    assert!(ok, "make uninstall-divert failed:\n{out}");
    assert!(tree(d).is_empty(), "uninstall-divert left files behind");
    let want_remove: Vec<String> = names
        .iter()
        .map(|n| format!("{root_arg} --local --rename --remove {n}"))
        .collect();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().collect::<Vec<_>>(), want_remove);
}

/// The real dpkg-divert, confined to a sandbox root (`--root DESTDIR`) holding stand-ins
/// for nfs-common's files: install-divert + install keep the originals as `.distrib`,
/// uninstall-divert brings them back and leaves no diversion.
#[test]
fn divert_round_trip_with_real_dpkg_divert() {
    if !have_make() {
        return;
    }
    if which("dpkg-divert").is_none() {
        return skipped("dpkg-divert round trip", "dpkg-divert is not installed");
    }
    let dest = tempfile::tempdir().expect("tempdir");
    let d = dest.path();
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "sbin",
        "usr/share/man/man8",
    ] {
        std::fs::create_dir_all(d.join(dir)).unwrap();
    }
    std::fs::write(d.join("var/lib/dpkg/status"), "").unwrap();
    std::fs::write(d.join("var/lib/dpkg/diversions"), "").unwrap();
    std::fs::write(d.join("sbin/mount.nfs"), "nfs-utils helper\n").unwrap();
    std::os::unix::fs::symlink("mount.nfs", d.join("sbin/umount.nfs")).unwrap();
    std::fs::write(
        d.join("usr/share/man/man8/mount.nfs.8.gz"),
        "nfs-utils page",
    )
    .unwrap();

    let (ok, out) = make(d, &["install-divert", "install", "PKG_SBINDIR=/sbin"]);
    assert!(ok, "make install-divert install failed:\n{out}");
    assert_eq!(
        std::fs::read_to_string(d.join("sbin/mount.nfs.distrib")).unwrap(),
        "nfs-utils helper\n"
    );
    assert_eq!(
        std::fs::read_link(d.join("sbin/umount.nfs.distrib")).unwrap(),
        Path::new("mount.nfs")
    );
    assert_eq!(
        std::fs::read(d.join("sbin/mount.nfs")).unwrap(),
        std::fs::read(bin_dir().join("mount-nfs")).unwrap()
    );
    let diversions = std::fs::read_to_string(d.join("var/lib/dpkg/diversions")).unwrap();
    assert_eq!(diversions.matches(":\n").count(), 7, "{diversions}");

    let (ok, out) = make(d, &["uninstall-divert", "PKG_SBINDIR=/sbin"]);
    assert!(ok, "make uninstall-divert failed:\n{out}");
    assert_eq!(
        std::fs::read_to_string(d.join("sbin/mount.nfs")).unwrap(),
        "nfs-utils helper\n"
    );
    assert_eq!(
        std::fs::read_link(d.join("sbin/umount.nfs")).unwrap(),
        Path::new("mount.nfs")
    );
    assert_eq!(
        std::fs::read_to_string(d.join("usr/share/man/man8/mount.nfs.8.gz")).unwrap(),
        "nfs-utils page"
    );
    assert!(!d.join("sbin/mount.nfs.distrib").exists());
    assert!(!d.join("usr/sbin/rpcproxyd").exists());
    let diversions = std::fs::read_to_string(d.join("var/lib/dpkg/diversions")).unwrap();
    assert!(diversions.is_empty(), "diversions left: {diversions}");
}

/// docs/install.md explains every knob of the Makefile and every user-facing target.
#[test]
fn install_md_covers_the_makefile() {
    let makefile = read("Makefile");
    let doc = read("docs/install.md");
    let tools = ["CARGO", "INSTALL", "GZIP", "DPKG_DIVERT"];
    let mut missing = Vec::new();
    for line in makefile.lines() {
        let Some((name, _)) = line.split_once("?=") else {
            continue;
        };
        let name = name.trim();
        if tools.contains(&name) || name.is_empty() {
            continue;
        }
        if !doc.contains(&format!("`{name}`")) && !doc.contains(&format!("{name}=")) {
            missing.push(name.to_string());
        }
    }
    for target in [
        "install",
        "uninstall",
        "install-divert",
        "uninstall-divert",
        "check-docs",
        "completions",
        "static",
    ] {
        assert!(
            makefile.contains(&format!("\n{target}:")),
            "Makefile has no {target} target"
        );
        if !doc.contains(&format!("make {target}")) {
            missing.push(format!("make {target}"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/install.md does not mention {missing:?}"
    );
}
