//! /etc/nfsmount.conf: parser and merge (nfs-utils utils/mount/configfile.c,
//! support/nfs/conffile.c). Sans-IO: files come through a
//! [`ConfSource`], the environment through a closure.
//!
//! Matches nfs-utils 2.6.2 (`support/nfs/conffile.c`, `utils/mount/configfile.c`):
//! `[ Name "arg" ]` sections (names, tags and arguments case-insensitive), `#`/`;`
//! comments, `\` continuation, quoted values, `include` (relative to the including file,
//! `-path` optional), `$NAME` from the environment else `[ environment ]`, `<main>.d/*.conf`
//! in versionsort order (dotfiles skipped, later files override), precedence MountPoint >
//! Server > Global, user options win, `X`/`noX` and `bg`/`fg` exclusion, at most one
//! version keyword, reverse order within a section, `True`/`False`, `Defaultvers`,
//! `Defaultproto`, `Invalid default setting` for other `default*`.
//!
//! Deliberate differences (each also marked "Difference:" in the code):
//! 1. `[ MountPoint ]`/`[ Server ]` without an argument (with assignments): a
//!    [`ConfError::SectionWithoutArg`] naming file:line from [`merge`] (nfs-utils segfaults
//!    on every mount).
//! 2. `k`/`m`/`g` suffixes are converted only for numeric options and only if the rest is
//!    a whole number (nfs-utils: any value, `mounthost=myhost.org` → `mounthost=0`).
//! 3. `[ Server "..." ]` matches IPv6 literals: the key for `[::1]:/x` is `::1`; the header
//!    may be `"::1"` or `"[::1]"` (a `]` inside the quoted argument is allowed).
//! 4. Values of enumerated options (`proto`, `mountproto`, `sec`, `lookupcache`,
//!    `local_lock`, `xprtsec`, `write`, `rdirplus`, `vers`, `nfsvers`, `Defaultproto`,
//!    `Defaultvers`) are lower-cased: `Proto=Tcp` → `proto=tcp`.
//! 5. `X=False`: `noX` only where the kernel has a `no` form (or the option is unknown);
//!    `Soft=False` → `hard`, `Hard=False` → `soft`, `bg=False` → `fg`, `fg=False` → `bg`,
//!    `Ro=False` → `rw`, `Sync=False` → `async`, `noX=False` → `X`; otherwise the line is
//!    dropped with [`ConfWarning::FalseIgnored`] (nfs-utils: `nosoft`, `nobg`, ...).
//! 6. Keyword groups are exclusive like `bg`/`fg`: `soft`/`hard`/`softerr`,
//!    `udp`/`tcp`/`rdma`/`proto`, `ro`/`rw`, `sync`/`async`; and the keyword a `False`
//!    produces is checked too. So `-o tcp` is not overridden by `Proto=udp`, nor `-o soft`
//!    by `Hard=True`.
//! 7. A later `tag` in `[ Server "b" ]` no longer deletes the same tag of `[ Server "a" ]`
//!    (nfs-utils' override ignores the argument).
//! 8. `$NAME` falls back to the arg-less `[ environment ]` section from any section
//!    (nfs-utils only from arg-less sections) and indirections are bounded (nfs-utils
//!    loops forever on `A=$A`).
//! 9. `include` nesting is bounded ([`MAX_INCLUDE_DEPTH`]) and so is the total number
//!    of included files read by one load ([`MAX_INCLUDES`]); beyond → "error loading
//!    included config" (nfs-utils recurses until it crashes).
//! 10. A section header with an unterminated quote is ignored until the next section
//!     (nfs-utils keeps the section without its argument).
//! 11. Unbalanced quotes in the user's options: [`ConfError::UnbalancedQuotes`] (nfs-utils
//!     warns "Unable calloc memory" and mounts with *no* options).
//!
//! Sans-IO: no files, environment or clock; the caller supplies a [`ConfSource`] and an
//! environment closure (it should pass an empty environment when running setuid for a
//! non-root caller).
#![forbid(unsafe_code)]

mod load;
mod merge;
pub mod versionsort;

pub use merge::{merge, ConfDecision, Merged};

use crate::options::OptError;
use std::path::Path;

/// Where configuration text comes from.
pub trait ConfSource {
    /// The whole file, or `None` if it cannot be read (missing files are silently skipped).
    fn read(&self, path: &Path) -> Option<String>;
    /// Names (not paths) of the regular files, symlinks and unknown-type entries in
    /// `dir`, any order; `None` if the directory cannot be read.
    fn list_dir(&self, dir: &Path) -> Option<Vec<String>>;
}

/// Non-fatal configuration problems. `Display` is the text nfs-utils prints after
/// `<progname>: ` (to stderr and to syslog, LOG_DAEMON).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfWarning {
    #[error("config error at {file}:{line}: non-matched ']', ignoring until next section")]
    NonMatchedBracket { file: String, line: usize },
    #[error("config error at {file}:{line}: non-matched '\"', ignoring until next section")]
    NonMatchedQuoteInHeader { file: String, line: usize },
    #[error("config error at {file}:{line}: line not empty and not an assignment")]
    NotAnAssignment { file: String, line: usize },
    #[error("config error at {file}:{line}: ignoring line not in a section")]
    NotInSection { file: String, line: usize },
    #[error("config error at {file}:{line}: unmatched quotes")]
    UnmatchedQuotes { file: String, line: usize },
    #[error("config error at {file}:{line}: missing tag in assignment")]
    MissingTag { file: String, line: usize },
    /// Also used for include loops (nesting deeper than [`MAX_INCLUDE_DEPTH`]).
    #[error("config error at {file}:{line}: error loading included config")]
    IncludeError { file: String, line: usize },
    #[error("conf_parse: last line non-terminated, ignored.")]
    LastLineNonTerminated { file: String },
    /// `default<something>` that is neither `defaultvers` nor `defaultproto`.
    #[error("Invalid default setting: '{0}'")]
    InvalidDefault(String),
    /// The error nfs-utils prints while evaluating `Defaultvers`/`Defaultproto`
    /// (e.g. "parsing error on 'vers=' option", "Failed to find 'x' protocol").
    #[error("{0}")]
    Option(OptError),
    #[error("Unable to set default protocol : {0}")]
    DefaultProto(String),
    #[error("Unable to set default family : {0}")]
    DefaultFamily(String),
    #[error("Unable to set default version: {0}")]
    DefaultVers(String),
    /// Difference: `X=False` for an option with no `no` form and no opposite keyword
    /// (e.g. `Tcp=False`, `Rsize=False`) is dropped instead of becoming the invalid `noX`.
    #[error("config error at {file}:{line}: '{tag}' has no negative form; '{tag}=False' ignored")]
    FalseIgnored {
        file: String,
        line: usize,
        tag: String,
    },
}

/// Fatal configuration problems (the mount fails, exit 32).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// Difference: nfs-utils segfaults on every mount when a `[ MountPoint ]` or
    /// `[ Server ]` section without an argument has assignments.
    #[error("config error at {file}:{line}: section '{section}' requires an argument, as in [ {section} \"name\" ]")]
    SectionWithoutArg {
        file: String,
        line: usize,
        section: String,
    },
    /// Difference: nfs-utils silently drops all options.
    #[error("unbalanced quotes in mount options")]
    UnbalancedQuotes,
}

/// Maximum nesting of `include` (Difference: nfs-utils recurses without bound).
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Most files one load reads through `include` (all levels together). The depth
/// bound alone still allowed exponential work: a file that includes itself (or a
/// chain of files each including the next) k times reads k^10 files — eight
/// 150-byte files took 38 s and millions of warnings (found by the `conf` fuzz
/// target). Beyond this, each further `include` is an "error loading included
/// config" warning and is not read.
pub const MAX_INCLUDES: usize = 100;

/// Maximum `$NAME` indirections through `[ environment ]`.
pub const MAX_ENV_DEPTH: usize = 10;

/// One `tag = value` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    /// As written (matched case-insensitively).
    pub tag: String,
    /// As written (quotes removed).
    pub raw: String,
    /// After `$NAME` expansion; `None` = unresolved `$NAME` (the binding is skipped).
    pub value: Option<String>,
    pub file: String,
    pub line: usize,
}

/// All bindings of one `[ name "arg" ]`, in the order they were (last) set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    /// Lower-cased name.
    pub name: String,
    pub arg: Option<String>,
    pub bindings: Vec<Binding>,
}

/// The loaded configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub(crate) sections: Vec<Section>,
    pub(crate) errors: Vec<ConfError>,
}

impl Config {
    /// Load `main` (e.g. `/etc/nfsmount.conf`), then every `*.conf` in `<main>.d` in
    /// `versionsort` order (dotfiles skipped); later settings override earlier ones.
    /// `$NAME` values are resolved with `env` (non-empty values only), else from the
    /// `[ environment ]` section.
    pub fn load(
        src: &dyn ConfSource,
        main: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Config, Vec<ConfWarning>) {
        load::load(src, main, env)
    }

    /// Parse one configuration text (as if it were the file `name`), for tests and tools.
    /// `include` is resolved through `src`.
    pub fn parse_text(
        src: &dyn ConfSource,
        name: &str,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Config, Vec<ConfWarning>) {
        load::load_text(src, name, text, env)
    }

    /// `true` if nothing was configured.
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.bindings.is_empty()) && self.errors.is_empty()
    }

    /// Fatal errors found while loading (also returned by [`merge`]).
    pub fn errors(&self) -> &[ConfError] {
        &self.errors
    }

    /// The effective (expanded) value of `tag` in `[ section "arg" ]`, for diagnostics.
    pub fn get(&self, section: &str, arg: Option<&str>, tag: &str) -> Option<&str> {
        self.find(section, arg)?
            .bindings
            .iter()
            .find(|b| b.tag.eq_ignore_ascii_case(tag))
            .and_then(|b| b.value.as_deref())
    }

    pub(crate) fn find(&self, section: &str, arg: Option<&str>) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(section) && arg_eq(s.arg.as_deref(), arg))
    }
}

pub(crate) fn arg_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// A [`ConfSource`] over an in-memory map (tests, tools).
#[derive(Clone, Debug, Default)]
pub struct MemSource {
    pub files: std::collections::BTreeMap<std::path::PathBuf, String>,
}

impl MemSource {
    pub fn new() -> MemSource {
        MemSource::default()
    }

    pub fn with(mut self, path: &str, text: &str) -> MemSource {
        self.files.insert(path.into(), text.to_string());
        self
    }
}

impl ConfSource for MemSource {
    fn read(&self, path: &Path) -> Option<String> {
        self.files.get(path).cloned()
    }

    fn list_dir(&self, dir: &Path) -> Option<Vec<String>> {
        let names: Vec<String> = self
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect();
        if names.is_empty() {
            None
        } else {
            Some(names)
        }
    }
}
