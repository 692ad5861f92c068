//! Shared code of the `docs_*` tests: the command-line flag table, the completion
//! generators (driven by `nfsmount::options::catalog::OPTIONS`) and roff helpers.
//!
//! The completions in `completions/` are generated from here; `make completions`
//! (`NFSMOUNT_BLESS=1 cargo test --test docs_completions`) rewrites them.
#![allow(dead_code)]

use nfsmount::options::catalog::{OptKind, OptionInfo, OPTIONS};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Root of the source tree.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

// ---------------------------------------------------------------------------
// Command-line flags.  tests/docs_manpages.rs checks this table against the
// helper binary (every letter it accepts) and against the man pages.
// ---------------------------------------------------------------------------

/// One command-line flag.
pub struct Flag {
    pub short: char,
    pub longs: &'static [&'static str],
    /// Name of the argument, for flags that take one.
    pub arg: Option<&'static str>,
    pub help: &'static str,
}

const fn flag(short: char, longs: &'static [&'static str], help: &'static str) -> Flag {
    Flag {
        short,
        longs,
        arg: None,
        help,
    }
}

/// Flags of mount.nfs / mount.nfs4.
pub const MOUNT_FLAGS: &[Flag] = &[
    flag('f', &["fake"], "do everything except the mount system call"),
    flag('n', &["no-mtab"], "do not record the mount in the utab"),
    flag('r', &["read-only", "ro"], "mount read-only"),
    flag('w', &["read-write", "rw"], "mount read-write"),
    flag('v', &["verbose"], "report each step"),
    flag('V', &["version"], "print the version and exit"),
    Flag {
        short: 'o',
        longs: &["options"],
        arg: Some("options"),
        help: "comma-separated mount options",
    },
    flag('s', &["sloppy"], "tolerate unknown mount options"),
    flag('h', &["help"], "print a usage summary and exit"),
];

/// Flags of umount.nfs / umount.nfs4.
pub const UMOUNT_FLAGS: &[Flag] = &[
    flag('f', &["force"], "force the unmount (MNT_FORCE)"),
    flag('l', &["lazy"], "detach now, clean up later (MNT_DETACH)"),
    flag('n', &["no-mtab"], "do not update the utab"),
    flag(
        'r',
        &["read-only"],
        "remount read-only if the file system is busy",
    ),
    flag('v', &["verbose"], "report what happens"),
    flag('h', &["help"], "print a usage summary and exit"),
];

/// An option of rpcproxyd (documented in rpcproxyd.8).
pub struct DaemonFlag {
    pub long: &'static str,
    pub short: Option<char>,
    /// A harmless value for options that take one.
    pub value: Option<&'static str>,
}

const fn dflag(long: &'static str, short: Option<char>, value: Option<&'static str>) -> DaemonFlag {
    DaemonFlag { long, short, value }
}

/// Options of rpcproxyd.
pub const RPCPROXYD_FLAGS: &[DaemonFlag] = &[
    dflag("debug", Some('d'), None),
    dflag("foreground", Some('f'), None),
    dflag("socket", None, Some("/nonexistent/rpcproxyd.sock")),
    dflag("idle-timeout", None, Some("30")),
    dflag("pidfile", None, Some("/nonexistent/rpcproxyd.pid")),
    dflag("cache-ttl", None, Some("5")),
    dflag("stats", None, None),
    dflag("json", None, None),
    dflag("help", Some('h'), None),
];

/// The test-only environment variables every helper honours (CONTRIBUTING.md).
pub const ENV_VARS: &[&str] = &[
    "NFSMOUNT_CONF",
    "NFSMOUNT_SYSCALL_LOG",
    "NFSMOUNT_SYSCALL_ERRNOS",
    "NFSMOUNT_UTAB",
    "NFSMOUNT_MOUNTINFO",
    "NFSMOUNT_TIME_SCALE",
];

// ---------------------------------------------------------------------------
// Completion candidates derived from the catalog.
// ---------------------------------------------------------------------------

/// One thing the user can type inside `-o`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The text completed: `soft`, `noac`, `vers=`, `x-`.
    pub text: String,
    /// The catalog name it came from.
    pub key: &'static str,
    pub help: String,
}

/// Names ending in `*` (`x-*`) are prefixes.
fn prefix_of(name: &str) -> Option<&str> {
    name.strip_suffix('*')
}

/// Every candidate, in catalog order.
pub fn candidates() -> Vec<Candidate> {
    let mut out = Vec::new();
    for o in OPTIONS {
        let help = o.summary.to_string();
        if let Some(p) = prefix_of(o.name) {
            out.push(Candidate {
                text: p.to_string(),
                key: o.name,
                help,
            });
            continue;
        }
        match o.kind {
            OptKind::Flag => out.push(Candidate {
                text: o.name.to_string(),
                key: o.name,
                help,
            }),
            OptKind::Negatable => {
                out.push(Candidate {
                    text: o.name.to_string(),
                    key: o.name,
                    help: help.clone(),
                });
                out.push(Candidate {
                    text: format!("no{}", o.name),
                    key: o.name,
                    help: format!("negation of {}", o.name),
                });
                if !o.values.is_empty() {
                    out.push(Candidate {
                        text: format!("{}=", o.name),
                        key: o.name,
                        help,
                    });
                }
            }
            OptKind::Value | OptKind::NumericValue => out.push(Candidate {
                text: format!("{}=", o.name),
                key: o.name,
                help,
            }),
        }
    }
    out
}

/// Options with an enumerated value set, in catalog order.
pub fn valued() -> Vec<&'static OptionInfo> {
    OPTIONS
        .iter()
        .filter(|o| !o.values.is_empty() && prefix_of(o.name).is_none())
        .collect()
}

const HEADER: &str = "GENERATED from src/options/catalog.rs and tests/docs_support/mod.rs \
by `make completions`; do not edit by hand.";

fn flag_words(flags: &[Flag]) -> String {
    let mut w = Vec::new();
    for f in flags {
        w.push(format!("-{}", f.short));
        for l in f.longs {
            w.push(format!("--{l}"));
        }
    }
    w.join(" ")
}

/// Characters that need no quoting in any of the three shells.
fn plain(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.=:/+,@%".contains(c))
}

fn sh_quote(s: &str) -> String {
    if plain(s) && !s.is_empty() {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ----------------------------------------------------------------- bash ----

pub fn gen_bash() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# bash completion for mount.nfs, mount.nfs4, umount.nfs, umount.nfs4 (nfsmount)\n# {HEADER}\n"
    );
    let _ = writeln!(s, "_nfsmount_mount_flags='{}'", flag_words(MOUNT_FLAGS));
    let _ = writeln!(s, "_nfsmount_umount_flags='{}'", flag_words(UMOUNT_FLAGS));
    let names: Vec<String> = candidates().into_iter().map(|c| c.text).collect();
    let _ = writeln!(s, "_nfsmount_opts=(");
    for chunk in names.chunks(8) {
        let q: Vec<String> = chunk.iter().map(|n| sh_quote(n)).collect();
        let _ = writeln!(s, "    {}", q.join(" "));
    }
    let _ = writeln!(s, ")\n");
    let _ = writeln!(
        s,
        "# _nfsmount_values KEY: the values KEY= accepts, one word each.\n_nfsmount_values()\n{{\n    case $1 in"
    );
    for o in valued() {
        let vals: Vec<String> = o.values.iter().map(|v| sh_quote(v)).collect();
        let _ = writeln!(
            s,
            "        {}) printf '%s\\n' {} ;;",
            o.name,
            vals.join(" ")
        );
    }
    let _ = writeln!(s, "    esac\n}}\n");
    s.push_str(BASH_BODY);
    s
}

const BASH_BODY: &str = r#"# Drop from every reply the part of CUR that readline treats as already
# typed: everything up to its last COMP_WORDBREAKS character (= and :).
_nfsmount_trim()
{
    local cur=$1 i k=-1
    for ((i = 0; i < ${#cur}; i++)); do
        [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]] && k=$i
    done
    ((k >= 0)) || return 0
    for i in "${!COMPREPLY[@]}"; do
        COMPREPLY[i]=${COMPREPLY[i]:k+1}
    done
}

# Complete a comma-separated option list; $1 is what is typed so far.
_nfsmount_complete_opts()
{
    local cur=$1 head last key v o
    head=
    [[ $cur == *,* ]] && head=${cur%,*},
    last=${cur##*,}
    COMPREPLY=()
    if [[ $last == *=* ]]; then
        key=${last%%=*}
        while IFS= read -r v; do
            [[ $key=$v == "$last"* ]] && COMPREPLY+=("$head$key=$v")
        done < <(_nfsmount_values "$key")
    else
        for o in "${_nfsmount_opts[@]}"; do
            [[ $o == "$last"* ]] && COMPREPLY+=("$head$o")
        done
        if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *[=-] ]]; then
            compopt -o nospace 2>/dev/null
        fi
    fi
}

_nfsmount()
{
    local line cur prev words cmd flags want_o=
    line=${COMP_LINE:0:COMP_POINT}
    cur=${line##*[[:space:]]}
    read -r -a words <<<"${line%"$cur"}"
    prev=${words[${#words[@]}-1]}
    cmd=${words[0]##*/}
    COMPREPLY=()

    case $cmd in
        umount.*) flags=$_nfsmount_umount_flags ;;
        *) flags=$_nfsmount_mount_flags ;;
    esac

    if [[ $cmd != umount.* ]]; then
        case $prev in
            -o | --options) want_o=$cur ;;
        esac
        case $cur in
            --options=*) want_o=${cur#--options=} ;;
            -o?*) want_o=${cur#-o} ;;
        esac
        if [[ -n $want_o || $prev == -o || $prev == --options ]]; then
            _nfsmount_complete_opts "$want_o"
            local pre=${cur%"$want_o"} i
            for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=$pre${COMPREPLY[i]}
            done
            _nfsmount_trim "$cur"
            return 0
        fi
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return 0
    fi

    # Positional arguments.
    local w n=0 skip=
    for w in "${words[@]:1}"; do
        if [[ -n $skip ]]; then
            skip=
        elif [[ $w == -o || $w == --options ]]; then
            skip=1
        elif [[ $w != -* ]]; then
            n=$((n + 1))
        fi
    done
    if [[ $cmd == umount.* ]]; then
        ((n == 0)) || return 0
        local mounts
        mounts=$(awk '$3 == "nfs" || $3 == "nfs4" { print $2 }' /proc/self/mounts 2>/dev/null)
        COMPREPLY=($(compgen -W "$mounts" -- "$cur"))
    elif ((n == 0)); then
        # server:/path: offer host names, then let the user type the path.
        [[ $cur == *:* ]] && return 0
        COMPREPLY=($(compgen -A hostname -S : -- "$cur"))
        compopt -o nospace 2>/dev/null
    elif ((n == 1)); then
        COMPREPLY=($(compgen -d -- "$cur"))
    fi
    return 0
}

complete -F _nfsmount mount.nfs mount.nfs4 umount.nfs umount.nfs4
"#;

// ------------------------------------------------------------------ zsh ----

/// Escape text for a `_values`/`_arguments` description inside single quotes.
fn zsh_desc(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('[', r"\[")
        .replace(']', r"\]")
        .replace(':', r"\:")
        .replace('\'', r"'\''")
}

pub fn gen_zsh() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "#compdef mount.nfs mount.nfs4 umount.nfs umount.nfs4\n# zsh completion for the nfsmount helpers.\n# {HEADER}\n"
    );
    let _ = writeln!(s, "_nfsmount_opts() {{\n  local -a specs\n  specs=(");
    for c in candidates() {
        let info = OPTIONS.iter().find(|o| o.name == c.key).expect("key");
        // A negatable option with values (rdirplus, rdirplus=force) is one entry
        // whose value is optional (`::`).
        let optional_value = info.kind == OptKind::Negatable && !info.values.is_empty();
        if optional_value && c.text == info.name {
            continue;
        }
        let name = zsh_desc(c.text.trim_end_matches('='));
        let help = zsh_desc(&c.help);
        let spec = if c.text.ends_with('=') {
            let action = if info.values.is_empty() {
                " ".to_string()
            } else {
                format!("({})", info.values.join(" "))
            };
            let colons = if optional_value { "::" } else { ":" };
            format!("{name}[{help}]{colons}{}:{action}", zsh_desc(info.name))
        } else {
            format!("{name}[{help}]")
        };
        let _ = writeln!(s, "    '{spec}'");
    }
    let _ = writeln!(s, "  )\n  _values -s , 'NFS mount option' $specs\n}}\n");
    s.push_str(
        "_nfsmount_mounts() {\n  local -a mps expl\n  mps=(${(f)\"$(awk '$3 == \"nfs\" || $3 == \"nfs4\" { print $2 }' /proc/self/mounts 2>/dev/null)\"})\n  _wanted mounts expl 'NFS mount point' compadd -a mps\n}\n\n",
    );
    let _ = writeln!(
        s,
        "case $service in\n  umount.nfs|umount.nfs4)\n    _arguments -s -S \\"
    );
    for f in UMOUNT_FLAGS {
        let _ = writeln!(s, "      {} \\", zsh_flag(f));
    }
    let _ = writeln!(
        s,
        "      '1:NFS mount point:_nfsmount_mounts'\n    ;;\n  *)\n    _arguments -s -S \\"
    );
    for f in MOUNT_FLAGS {
        let _ = writeln!(s, "      {} \\", zsh_flag(f));
    }
    let _ = writeln!(
        s,
        "      '1:remote file system (host\\:/path):_hosts' \\\n      '2:mount point:_files -/'\n    ;;\nesac"
    );
    s
}

fn zsh_flag(f: &Flag) -> String {
    let mut names = vec![format!("-{}", f.short)];
    names.extend(f.longs.iter().map(|l| format!("--{l}")));
    let help = zsh_desc(f.help);
    let (rep, action) = if f.arg.is_some() {
        ("*", ":NFS mount options:_nfsmount_opts".to_string())
    } else {
        ("", String::new())
    };
    let excl = if rep.is_empty() {
        format!("({})", names.join(" "))
    } else {
        String::new()
    };
    let forms: Vec<String> = names
        .iter()
        .map(|n| {
            if f.arg.is_some() {
                if n.starts_with("--") {
                    format!("{n}=")
                } else {
                    format!("{n}+")
                }
            } else {
                n.clone()
            }
        })
        .collect();
    format!("'{excl}{rep}'{{{}}}'[{help}]{action}'", forms.join(","))
}

// ----------------------------------------------------------------- fish ----

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

pub fn gen_fish() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# fish completion for mount.nfs, mount.nfs4, umount.nfs, umount.nfs4 (nfsmount)\n# {HEADER}\n# Installed once per command name (symbolic links); load it only once.\nif not set -q __nfsmount_fish_loaded\nset -g __nfsmount_fish_loaded 1\n"
    );
    let _ = writeln!(s, "function __nfsmount_opt_names");
    for c in candidates() {
        let _ = writeln!(
            s,
            "    printf '%s\\t%s\\n' {} {}",
            fish_quote(&c.text),
            fish_quote(&c.help)
        );
    }
    let _ = writeln!(
        s,
        "end\n\nfunction __nfsmount_opt_values\n    switch $argv[1]"
    );
    for o in valued() {
        let vals: Vec<String> = o.values.iter().map(|v| fish_quote(v)).collect();
        let _ = writeln!(
            s,
            "        case {}\n            printf '%s\\n' {}",
            fish_quote(o.name),
            vals.join(" ")
        );
    }
    let _ = writeln!(s, "    end\nend\n");
    s.push_str(FISH_BODY);
    for (cmds, flags) in [
        ("mount.nfs mount.nfs4", MOUNT_FLAGS),
        ("umount.nfs umount.nfs4", UMOUNT_FLAGS),
    ] {
        let _ = writeln!(s, "for c in {cmds}");
        for f in flags {
            let mut line = format!("    complete -c $c -s {}", f.short);
            for l in f.longs {
                let _ = write!(line, " -l {l}");
            }
            if f.arg.is_some() {
                line.push_str(" -x -a '(__nfsmount_complete_opts)'");
            }
            let _ = write!(line, " -d {}", fish_quote(f.help));
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(s, "end");
    }
    s.push_str(
        "for c in umount.nfs umount.nfs4\n    complete -c $c -f -a '(__nfsmount_nfs_mounts)'\nend\nend\n",
    );
    s
}

const FISH_BODY: &str = r#"# Complete the option list being typed after -o.
function __nfsmount_complete_opts
    set -l tok (commandline -ct)
    set tok (string replace -r -- '^(-o|--options=)' '' $tok)
    set -l head (string replace -r -- '[^,]*$' '' $tok)
    set -l last (string replace -r -- '^.*,' '' $tok)
    if string match -q -- '*=*' $last
        set -l key (string split -m 1 -- = $last)[1]
        for v in (__nfsmount_opt_values $key)
            printf '%s%s=%s\n' $head $key $v
        end
    else
        for line in (__nfsmount_opt_names)
            printf '%s%s\n' $head $line
        end
    end
end

function __nfsmount_nfs_mounts
    awk '$3 == "nfs" || $3 == "nfs4" { print $2 }' /proc/self/mounts 2>/dev/null
end

"#;

// ----------------------------------------------------------------- roff ----

/// Plain text of a roff line: font escapes and common special characters resolved,
/// quotes of macro arguments dropped.
pub fn roff_text(line: &str) -> String {
    let mut s = line.to_string();
    for (from, to) in [
        (r"\fB", ""),
        (r"\fI", ""),
        (r"\fR", ""),
        (r"\fP", ""),
        (r"\-", "-"),
        (r"\(aq", "'"),
        (r"\(dq", "\""),
        (r"\(bu", "*"),
        (r"\&", ""),
        (r"\e", "\\"),
    ] {
        s = s.replace(from, to);
    }
    if s.starts_with('.') {
        // Macro line: drop the macro name and argument quotes.
        s = match s.split_once(' ') {
            Some((_, rest)) => rest.replace('"', " "),
            None => String::new(),
        };
    }
    s
}

/// The `.TP` entries of a man page section: (tag, paragraph text), both as plain text.
/// A `.TQ` adds another tag line to the same entry. An entry ends at the next `.TP`,
/// `.SS`, `.SH` or `.PP`.
pub fn tp_entries(page: &str, section: &str) -> Vec<(String, String)> {
    #[derive(PartialEq)]
    enum Next {
        Body,
        Tag,
        ExtraTag,
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    let mut open = false;
    let mut next = Next::Body;
    for line in page.lines() {
        if let Some(name) = line.strip_prefix(".SH ") {
            inside = name.trim_matches('"') == section;
            open = false;
            next = Next::Body;
            continue;
        }
        if !inside {
            continue;
        }
        if line == ".TP" {
            next = Next::Tag;
            open = false;
            continue;
        }
        if line == ".TQ" {
            next = Next::ExtraTag;
            continue;
        }
        if line.starts_with(".SS") || line == ".PP" {
            open = false;
            continue;
        }
        let text = roff_text(line);
        match next {
            Next::Tag => {
                out.push((text, String::new()));
                open = true;
            }
            Next::ExtraTag => {
                if let Some(last) = out.last_mut() {
                    last.0.push('\n');
                    last.0.push_str(&text);
                }
            }
            Next::Body if open => {
                let body = &mut out.last_mut().expect("entry").1;
                body.push_str(&text);
                body.push('\n');
            }
            Next::Body => {}
        }
        next = Next::Body;
    }
    out
}

/// The tag lines (after `.TP` / `.TQ`) of a man page section, as plain text.
pub fn tag_lines(page: &str, section: &str) -> Vec<String> {
    tp_entries(page, section)
        .iter()
        .flat_map(|(tag, _)| tag.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-*".contains(c)
}

/// `needle` occurs in `hay` as a whole word (neighbours are not word characters;
/// `=` and `,` end a word).
pub fn has_word(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let at = from + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        if !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char) {
            return true;
        }
        from = at + needle.len().max(1);
    }
    false
}

/// Find a tool on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The directory holding the freshly built binaries of this test run.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mount-nfs"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

/// A tool a check needs: its path, or `None` after saying loudly that the check is
/// skipped. With NFSMOUNT_REQUIRE_DOC_TOOLS set (scripts/check-docs) a missing tool
/// fails the test instead.
pub fn require_tool(name: &str, check: &str) -> Option<PathBuf> {
    let found = which(name);
    if found.is_none() {
        if std::env::var_os("NFSMOUNT_REQUIRE_DOC_TOOLS").is_some() {
            panic!("{name} is required for {check} (NFSMOUNT_REQUIRE_DOC_TOOLS is set) but not installed");
        }
        skipped(check, &format!("{name} is not installed"));
    }
    found
}

/// Say loudly that a check could not run.
///
/// Written straight to the process's stderr, past the test harness's output capture,
/// so that it shows in a normal `cargo test` run.
pub fn skipped(what: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {what}: {why} ***\n*** this check did not run; the result is incomplete ***\n"
    );
}
