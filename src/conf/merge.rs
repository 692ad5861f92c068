//! Merging nfsmount.conf options into the user's options (nfs-utils
//! `configfile.c:conf_get_mntopts`).

use super::{ConfError, ConfWarning, Config, Section};
use crate::options::catalog::{self, OptKind};
use crate::options::version::{parse_version, VersionMode};
use crate::options::{nfs_family, nfs_protocol, Family, Netid, Opt, OptList};

/// Result of [`merge`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// The full option string after the merge (user options first, then MountPoint,
    /// Server and Global options; `default*` options stripped). `sloppy` is *not* moved
    /// to the head here: that is `options::sloppy_fixup`.
    pub opts: String,
    /// `Defaultvers`: `(major, Some(minor))` specific, `(major, None)` general.
    pub default_vers: Option<(u32, Option<u32>)>,
    /// `Defaultvers` did not parse: every non-version-specific mount must fail
    /// (`options::select_version_ext` with `DefaultVers::Invalid`).
    pub default_vers_invalid: bool,
    /// `Defaultproto` transport (probe order starts with it).
    pub default_proto: Option<Netid>,
    /// `Defaultproto` family (the NFS family when no transport option is given).
    pub default_family: Family,
    /// Warnings to print (`<progname>: <warning>`, and to syslog).
    pub warnings: Vec<ConfWarning>,
    /// What happened to every configuration binding that applied to this mount, in
    /// the order the merge looked at them (for `nfsmount explain`).
    pub decisions: Vec<ConfDecision>,
}

/// One nfsmount.conf binding the merge looked at, and what it did with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfDecision {
    /// `[ Server "srv" ]`, `[ MountPoint "/mnt" ]` or `[ NFSMount_Global_Options ]`.
    pub section: String,
    pub file: String,
    pub line: usize,
    /// The tag as written.
    pub tag: String,
    /// The value as written (before `$NAME` expansion).
    pub raw: String,
    /// The option it added (`None` when skipped).
    pub emitted: Option<String>,
    /// Why it was skipped (`None` when emitted).
    pub skipped: Option<&'static str>,
}

const SECTION_MOUNTPOINT: &str = "mountpoint";
const SECTION_SERVER: &str = "server";
const SECTION_GLOBAL: &str = "nfsmount_global_options";

/// Keys that count as a version choice in the configuration.
fn is_version(field: &str) -> bool {
    matches!(field, "v3" | "v4" | "vers" | "nfsvers" | "minorversion") || field.starts_with("v4.")
}

/// Keywords that select the same thing: a config option is skipped if any member of its
/// group is already present. (nfs-utils only applies this to `bg`/`fg`; the other groups
/// are a Difference, so that e.g. `-o tcp` is not overridden by a configured `Proto=udp`.)
const GROUPS: &[&[&str]] = &[
    &["bg", "fg"],
    &["soft", "hard", "softerr"],
    &["udp", "tcp", "rdma", "proto"],
    &["ro", "rw"],
    &["sync", "async"],
];

/// Option-name aliases in nfsmount.conf.
fn alias(tag: &str) -> (String, bool) {
    let l = tag.to_ascii_lowercase();
    match l.as_str() {
        "background" => ("bg".into(), true),
        "foreground" => ("fg".into(), true),
        "sloppy" => ("sloppy".into(), true),
        _ => (l, false),
    }
}

/// The opposite keyword of a flag that has no `no` form.
fn opposite(flag: &str) -> Option<&'static str> {
    match flag {
        "soft" => Some("hard"),
        "hard" => Some("soft"),
        "bg" => Some("fg"),
        "fg" => Some("bg"),
        "ro" => Some("rw"),
        "rw" => Some("ro"),
        "sync" => Some("async"),
        "async" => Some("sync"),
        _ => None,
    }
}

/// `k`/`m`/`g` size suffix (any case) on a numeric option. The rest must be a whole
/// number (`0x` hex, leading-`0` octal, else decimal, as nfs-utils' `strtol` bases).
/// Difference: nfs-utils converts *any* value ending in k/m/g (`mounthost=myhost.org` →
/// `mounthost=0`) and ignores trailing garbage; we only convert numeric options whose
/// value parses completely.
pub fn convert_size(field: &str, value: &str) -> Option<String> {
    if !catalog::is_numeric(field) {
        return None;
    }
    let last = value.chars().last()?;
    let factor: i128 = match last.to_ascii_lowercase() {
        'k' => 1 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        _ => return None,
    };
    let num = &value[..value.len() - 1];
    let (neg, digits) = match num.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i128::from_str_radix(digits, radix).ok()?;
    let v = n.checked_mul(factor)?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok().map(|v| v.to_string())
}

struct State {
    opts: OptList,
    strict: bool,
    warnings: Vec<ConfWarning>,
    default_vers: Option<(u32, Option<u32>)>,
    default_vers_invalid: bool,
    default_proto: Option<Netid>,
    default_family: Family,
    decisions: Vec<ConfDecision>,
}

fn section_label(sec: &Section) -> String {
    let name = match sec.name.as_str() {
        SECTION_MOUNTPOINT => "MountPoint",
        SECTION_SERVER => "Server",
        SECTION_GLOBAL => "NFSMount_Global_Options",
        other => other,
    };
    match &sec.arg {
        Some(a) => format!("[ {name} \"{a}\" ]"),
        None => format!("[ {name} ]"),
    }
}

impl State {
    fn decide(
        &mut self,
        sec: &Section,
        b: &super::Binding,
        emitted: Option<String>,
        skipped: Option<&'static str>,
    ) {
        self.decisions.push(ConfDecision {
            section: section_label(sec),
            file: b.file.clone(),
            line: b.line,
            tag: b.tag.clone(),
            raw: b.raw.clone(),
            emitted,
            skipped,
        });
    }

    /// `conf_parse_mntopts` for the sections in `secs` (all matching the same key).
    fn apply(&mut self, secs: &[&Section]) {
        let mut have_version = self
            .opts
            .rightmost(&["v3", "v4", "vers", "nfsvers", "minorversion"])
            .is_some()
            || self.opts.contains_prefix("v4.", 0).is_some();
        for sec in secs {
            // Our extra groups (#16) are exclusive across sections only: within one
            // section nfs-utils emits `hard=True` and `soft=True` both.
            let section_start = self.opts.0.len();
            // within a section, nfs-utils emits the options in reverse order of setting
            for b in sec.bindings.iter().rev() {
                let (field, is_alias) = alias(&b.tag);
                if self.present_or_opposed(&field, section_start) {
                    self.decide(
                        sec,
                        b,
                        None,
                        Some("already set (or its opposite) by the command line or an earlier section"),
                    );
                    continue;
                }
                if is_version(&field) {
                    if have_version {
                        self.decide(sec, b, None, Some("a version was already chosen"));
                        continue;
                    }
                    have_version = true;
                }
                let Some(value) = b.value.as_deref() else {
                    self.decide(sec, b, None, Some("unresolved $NAME"));
                    continue;
                };
                let emitted: Opt = if value.eq_ignore_ascii_case("false") {
                    if is_alias {
                        match field.as_str() {
                            "bg" => Opt::new("fg", None),
                            "fg" => Opt::new("bg", None),
                            _ => {
                                // Sloppy=False: suppress any later Sloppy=True
                                self.strict = true;
                                self.decide(sec, b, None, Some("Sloppy=False: no sloppy"));
                                continue;
                            }
                        }
                    } else {
                        match self.negate(&field) {
                            Some(o) => o,
                            None => {
                                self.warnings.push(ConfWarning::FalseIgnored {
                                    file: b.file.clone(),
                                    line: b.line,
                                    tag: b.tag.clone(),
                                });
                                self.decide(sec, b, None, Some("no negative form"));
                                continue;
                            }
                        }
                    }
                } else if value.eq_ignore_ascii_case("true") {
                    if field == "sloppy" && self.strict {
                        self.decide(sec, b, None, Some("an earlier Sloppy=False"));
                        continue;
                    }
                    Opt::new(&field, None)
                } else {
                    let v = if let Some(sz) = convert_size(&field, value) {
                        sz
                    } else if catalog::lowercase_value(&field)
                        || field == "defaultproto"
                        || field == "defaultvers"
                    {
                        // Difference: nfs-utils passes `Proto=Tcp` verbatim (then fails).
                        value.to_ascii_lowercase()
                    } else {
                        value.to_string()
                    };
                    Opt::new(&field, Some(&v))
                };
                // Difference: the emitted keyword (e.g. `hard` from `Soft=False`) is also
                // checked against what is already there, and keyword groups
                // (soft/hard, udp/tcp/rdma/proto) are exclusive, so user options win.
                if emitted.key != field && self.present_or_opposed(&emitted.key, section_start) {
                    self.decide(
                        sec,
                        b,
                        None,
                        Some("its keyword is already set (or opposed) by the command line or an earlier section"),
                    );
                    continue;
                }
                let text = emitted.to_string();
                self.decide(sec, b, Some(text.clone()), None);
                self.opts.0.push(emitted);
                self.default_value(&text);
            }
        }
    }

    /// Already present, its `no` form/base present, or a member of its group present:
    /// bg/fg anywhere (as nfs-utils), the other groups among the first `group_limit`
    /// options (those from the command line and earlier sections).
    fn present_or_opposed(&self, field: &str, group_limit: usize) -> bool {
        let o = &self.opts;
        if o.contains(field) {
            return true;
        }
        if let Some(base) = field.strip_prefix("no") {
            if o.contains(base) {
                return true;
            }
        }
        if o.contains(&format!("no{field}")) {
            return true;
        }
        GROUPS.iter().filter(|g| g.contains(&field)).any(|g| {
            let upto = if g.contains(&"bg") {
                o.0.len()
            } else {
                group_limit.min(o.0.len())
            };
            g.iter().any(|k| o.0[..upto].iter().any(|x| x.key == *k))
        })
    }

    /// `X=False` for a non-alias tag.
    /// Difference: nfs-utils always emits `noX`. We emit `noX` only for options the
    /// kernel accepts in `no` form (and for unknown options, as nfs-utils), `X` for a
    /// `noX=False`, the opposite keyword for `soft`/`hard`/`bg`/`fg`, and drop it (with
    /// a warning) otherwise.
    fn negate(&self, field: &str) -> Option<Opt> {
        match catalog::lookup_key(field) {
            None => Some(Opt::new(&format!("no{field}"), None)),
            Some((info, true)) => Some(Opt::new(info.name, None)),
            Some((info, false)) if info.kind == OptKind::Negatable => {
                Some(Opt::new(&format!("no{}", info.name), None))
            }
            Some((info, false)) => opposite(info.name).map(|o| Opt::new(o, None)),
        }
    }

    /// `default_value`: evaluate `default*` options as they are appended.
    fn default_value(&mut self, text: &str) {
        let Some(field) = text
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("default"))
            .and_then(|_| text.get(7..))
        else {
            return;
        };
        let lower = field.to_ascii_lowercase();
        if lower.starts_with("proto") {
            let Ok(l) = OptList::parse(field) else {
                return;
            };
            match nfs_protocol(&l) {
                Ok(p) => self.default_proto = p,
                Err(e) => {
                    self.warnings.push(ConfWarning::Option(e));
                    self.warnings.push(ConfWarning::DefaultProto(
                        "Protocol not supported".to_string(),
                    ));
                }
            }
            match nfs_family(&l) {
                Ok(f) => self.default_family = f,
                Err(e) => {
                    self.warnings.push(ConfWarning::Option(e));
                    self.warnings.push(ConfWarning::DefaultFamily(
                        "Protocol not supported".to_string(),
                    ));
                }
            }
        } else if lower.starts_with("vers") {
            let Ok(l) = OptList::parse(field) else {
                return;
            };
            match parse_version(&l, false) {
                Ok(p) => match p.mode {
                    VersionMode::Default => {
                        self.default_vers = None;
                        self.default_vers_invalid = false;
                    }
                    VersionMode::General => {
                        self.default_vers = Some((p.major, None));
                        self.default_vers_invalid = false;
                    }
                    VersionMode::Specific => {
                        self.default_vers = Some((p.major, Some(p.minor)));
                        self.default_vers_invalid = false;
                    }
                },
                Err(e) => {
                    self.warnings.push(ConfWarning::Option(e));
                    self.warnings
                        .push(ConfWarning::DefaultVers("Invalid argument".to_string()));
                    self.default_vers = None;
                    self.default_vers_invalid = true;
                }
            }
        } else {
            self.warnings
                .push(ConfWarning::InvalidDefault(text.to_string()));
        }
    }
}

/// Merge the configuration into `user_opts` (the full option string libmount collected).
///
/// `spec_server_key` is the host part of the spec: the text before the first `:`, or
/// for `[addr]:/path` the address inside the brackets (`spec::server_key`).
/// Difference: nfs-utils uses `[` as the key for IPv6 literals, so `[ Server "..." ]`
/// never matched them; we match `::1` against `[ Server "::1" ]` and
/// `[ Server "[::1]" ]`.
pub fn merge(
    cfg: &Config,
    user_opts: &str,
    mountpoint: &str,
    spec_server_key: &str,
) -> Result<Merged, ConfError> {
    let opts = OptList::parse(user_opts).map_err(|_| ConfError::UnbalancedQuotes)?;
    if let Some(e) = cfg.errors.first() {
        return Err(e.clone());
    }
    let mut st = State {
        opts,
        strict: false,
        warnings: Vec::new(),
        default_vers: None,
        default_vers_invalid: false,
        default_proto: None,
        default_family: Family::Unspec,
        decisions: Vec::new(),
    };
    let unbracket = |a: &str| -> String {
        a.strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(a)
            .to_string()
    };
    let mp: Vec<&Section> = cfg
        .sections
        .iter()
        .filter(|s| {
            s.name == SECTION_MOUNTPOINT
                && s.arg
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(mountpoint))
        })
        .collect();
    st.apply(&mp);
    let key = unbracket(spec_server_key);
    let srv: Vec<&Section> = cfg
        .sections
        .iter()
        .filter(|s| {
            s.name == SECTION_SERVER
                && s.arg
                    .as_deref()
                    .is_some_and(|a| unbracket(a).eq_ignore_ascii_case(&key))
        })
        .collect();
    st.apply(&srv);
    let global: Vec<&Section> = cfg
        .sections
        .iter()
        .filter(|s| s.name == SECTION_GLOBAL && s.arg.is_none())
        .collect();
    st.apply(&global);
    // strip every option whose key starts with "default" (already evaluated)
    st.opts.0.retain(|o| !o.key.starts_with("default"));
    Ok(Merged {
        opts: st.opts.join(),
        default_vers: st.default_vers,
        default_vers_invalid: st.default_vers_invalid,
        default_proto: st.default_proto,
        default_family: st.default_family,
        warnings: st.warnings,
        decisions: st.decisions,
    })
}
