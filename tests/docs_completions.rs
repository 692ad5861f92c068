//! The shell completions in completions/ are generated from the option catalog
//! (`nfsmount::options::catalog::OPTIONS`) and the flag tables in docs_support.
//! These tests fail when a committed file differs from what the generator makes now
//! (`make completions` rewrites them), when an option of the catalog is missing from
//! a file, and when the completion functions misbehave in a real shell.

mod docs_support;

use docs_support::*;
use nfsmount::options::catalog::{OptKind, OPTIONS};
use std::process::{Command, Stdio};

const BASH: &str = "completions/mount.nfs.bash";
const ZSH: &str = "completions/_mount.nfs";
const FISH: &str = "completions/mount.nfs.fish";

fn check_generated(rel: &str, want: String) {
    let path = root().join(rel);
    if std::env::var_os("NFSMOUNT_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("writing {rel}: {e}"));
        eprintln!("rewrote {rel}");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let first = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(have.lines().count().min(want.lines().count()));
        panic!(
            "{rel} does not match the option catalog (first difference at line {}).\n\
             Run `make completions` and commit the result.",
            first + 1
        );
    }
}

#[test]
fn bash_completion_is_up_to_date() {
    check_generated(BASH, gen_bash());
}

#[test]
fn zsh_completion_is_up_to_date() {
    check_generated(ZSH, gen_zsh());
}

#[test]
fn fish_completion_is_up_to_date() {
    check_generated(FISH, gen_fish());
}

/// Independent of the generator: every option of the catalog (and `noX` for the
/// negatable ones) is named in every committed completion file, and every allowed value
/// is offered on that option's own line.
#[test]
fn completions_name_every_catalog_option_and_value() {
    for (rel, value_line) in [
        (BASH, bash_value_line as fn(&str, &str) -> Option<String>),
        (ZSH, zsh_value_line),
        (FISH, fish_value_line),
    ] {
        let text = read(rel);
        let mut missing = Vec::new();
        for o in OPTIONS {
            if let Some(prefix) = o.name.strip_suffix('*') {
                if !text.contains(prefix) {
                    missing.push(o.name.to_string());
                }
                continue;
            }
            if !has_word(&text, o.name) {
                missing.push(o.name.to_string());
            }
            if o.kind == OptKind::Negatable && !has_word(&text, &format!("no{}", o.name)) {
                missing.push(format!("no{}", o.name));
            }
            if o.values.is_empty() {
                continue;
            }
            match value_line(&text, o.name) {
                None => missing.push(format!("{}= (no value list)", o.name)),
                Some(line) => {
                    for v in o.values {
                        if !has_word(&line, v) {
                            missing.push(format!("{}={v}", o.name));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{rel} lacks: {missing:?}; run `make completions`"
        );
    }
}

fn bash_value_line(text: &str, name: &str) -> Option<String> {
    let start = format!("        {name}) ");
    text.lines()
        .find(|l| l.starts_with(&start))
        .map(str::to_string)
}

fn zsh_value_line(text: &str, name: &str) -> Option<String> {
    let start = format!("    '{name}[");
    text.lines()
        .find(|l| l.starts_with(&start) && l.contains(":("))
        .map(str::to_string)
}

fn fish_value_line(text: &str, name: &str) -> Option<String> {
    let case = format!("        case '{name}'");
    let mut lines = text.lines();
    lines.find(|l| *l == case)?;
    lines.next().map(str::to_string)
}

/// The flags of both commands are in all three files.
#[test]
fn completions_name_every_flag() {
    for rel in [BASH, ZSH, FISH] {
        let text = read(rel);
        for f in MOUNT_FLAGS.iter().chain(UMOUNT_FLAGS) {
            for l in f.longs {
                assert!(text.contains(l), "{rel} lacks --{l}");
            }
        }
    }
}

fn run_shell(shell: &str, script: &str) -> (bool, String, String) {
    let out = Command::new(shell)
        .args(["-c", script])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {shell}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run the bash completion function for a command line (cursor at its end) and return
/// the replies, one per line.
fn bash_complete(line: &str) -> Vec<String> {
    let script = format!(
        "source {BASH} || exit 9\n\
         COMP_WORDBREAKS=$' \\t\\n\"\\'><=;|&(:'\n\
         COMP_LINE={}\nCOMP_POINT=${{#COMP_LINE}}\n\
         _nfsmount || exit 8\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        shell_quote(line)
    );
    let (ok, out, err) = run_shell("bash", &script);
    assert!(ok, "bash completion of {line:?} failed: {err}");
    assert!(err.is_empty(), "bash completion of {line:?} wrote: {err}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn bash_completes_values_after_equals() {
    if require_tool("bash", "bash completion behaviour").is_none() {
        return;
    }
    // readline replaces only the text after the last '=', so replies are trimmed.
    assert_eq!(
        bash_complete("mount.nfs srv:/x /mnt -o rw,vers=4."),
        ["4.0", "4.1", "4.2"]
    );
    assert_eq!(
        bash_complete("mount.nfs4 srv:/x /mnt --options=proto=tcp"),
        ["tcp", "tcp6"]
    );
    let sec = bash_complete("mount.nfs srv:/x /mnt -o sec=krb5");
    assert_eq!(sec, ["krb5", "krb5i", "krb5p"]);
    let ll = bash_complete("mount.nfs -o local_lock=");
    for v in ["all", "flock", "posix", "none"] {
        assert!(ll.contains(&v.to_string()), "local_lock= offers {ll:?}");
    }
}

#[test]
fn bash_completes_option_names_in_a_list() {
    if require_tool("bash", "bash completion behaviour").is_none() {
        return;
    }
    let got = bash_complete("mount.nfs srv:/x /mnt -o ro,noa");
    assert!(got.contains(&"ro,noac".to_string()), "{got:?}");
    assert!(got.contains(&"ro,noatime".to_string()), "{got:?}");
    assert!(got.iter().all(|c| c.starts_with("ro,noa")), "{got:?}");
    let got = bash_complete("mount.nfs srv:/x /mnt -o lookupc");
    assert_eq!(got, ["lookupcache="]);
}

#[test]
fn bash_completes_flags_per_command() {
    if require_tool("bash", "bash completion behaviour").is_none() {
        return;
    }
    let m = bash_complete("mount.nfs --");
    assert!(m.contains(&"--fake".to_string()) && m.contains(&"--sloppy".to_string()));
    assert!(!m.contains(&"--lazy".to_string()), "{m:?}");
    let u = bash_complete("/sbin/umount.nfs4 --");
    assert!(u.contains(&"--lazy".to_string()) && u.contains(&"--force".to_string()));
    assert!(!u.contains(&"--fake".to_string()), "{u:?}");
    assert!(!u.contains(&"--options".to_string()), "{u:?}");
}

#[test]
fn zsh_completion_parses() {
    if require_tool("zsh", "zsh completion syntax").is_none() {
        return;
    }
    let (ok, _, err) = run_shell("zsh", &format!("zsh -n {ZSH}"));
    assert!(ok && err.is_empty(), "zsh -n {ZSH}: {err}");
}

#[test]
fn fish_completes_values() {
    if require_tool("fish", "fish completion behaviour").is_none() {
        return;
    }
    let (ok, _, err) = run_shell("fish", &format!("fish -n {FISH}"));
    assert!(ok && err.is_empty(), "fish -n {FISH}: {err}");
    let (ok, out, err) = run_shell(
        "fish",
        &format!("source {FISH}; complete -C 'mount.nfs4 srv:/x /mnt -o ro,xprtsec='"),
    );
    assert!(ok, "fish: {err}");
    let got: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(
        got,
        ["ro,xprtsec=mtls", "ro,xprtsec=none", "ro,xprtsec=tls"],
        "fish offered {out:?}"
    );
    let (_, out, _) = run_shell(
        "fish",
        &format!("source {FISH}; complete -C 'umount.nfs --'"),
    );
    assert!(out.contains("--lazy") && !out.contains("--fake"), "{out}");
}
