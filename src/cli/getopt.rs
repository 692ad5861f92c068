//! A small, faithful emulation of glibc's `getopt_long` as mount.nfs uses it.
//!
//! Why by hand instead of clap: the helpers must be byte-compatible with nfs-utils
//! (glibc's exact diagnostics, exit status 1 for usage errors, GNU argument
//! permutation, unique-prefix abbreviation of long options, `-oOPTS` and `-o OPTS`,
//! clustered short flags). clap can be bent to most of this but not to glibc's
//! message texts, so a 150-line parser is the simpler, testable choice.
#![forbid(unsafe_code)]

/// One long option: name, whether it takes an argument, and the short letter it maps to.
#[derive(Clone, Copy, Debug)]
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: bool,
    pub val: char,
}

/// A parsed option occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub opt: char,
    pub arg: Option<String>,
}

/// Result of a full parse: options in order, positionals in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub opts: Vec<Parsed>,
    pub positionals: Vec<String>,
}

/// A getopt diagnostic. `Display` gives glibc's text without the `argv[0]: ` prefix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GetoptError {
    #[error("invalid option -- '{0}'")]
    InvalidShort(char),
    #[error("option requires an argument -- '{0}'")]
    ShortNeedsArg(char),
    #[error("unrecognized option '{0}'")]
    UnrecognizedLong(String),
    #[error("option '--{0}' requires an argument")]
    LongNeedsArg(&'static str),
    #[error("option '--{0}' doesn't allow an argument")]
    LongTakesNoArg(&'static str),
    #[error("option '{given}' is ambiguous; possibilities:{}", .candidates.iter().map(|c| format!(" '--{c}'")).collect::<String>())]
    Ambiguous {
        given: String,
        candidates: Vec<&'static str>,
    },
}

/// Parse `args` (without argv[0]) GNU-style: options may follow positionals,
/// `--` ends option processing. `shorts` uses getopt syntax (`"fhnrVvwo:s"`).
pub fn getopt_long(
    args: &[String],
    shorts: &str,
    longs: &[LongOpt],
) -> Result<Outcome, GetoptError> {
    let mut out = Outcome::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            out.positionals.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let lo = find_long(name, a, longs)?;
            let arg = if lo.has_arg {
                match inline {
                    Some(v) => Some(v),
                    None if i < args.len() => {
                        i += 1;
                        Some(args[i - 1].clone())
                    }
                    None => return Err(GetoptError::LongNeedsArg(lo.name)),
                }
            } else if inline.is_some() {
                return Err(GetoptError::LongTakesNoArg(lo.name));
            } else {
                None
            };
            out.opts.push(Parsed { opt: lo.val, arg });
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a.chars().skip(1).collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                match short_spec(shorts, c) {
                    None => return Err(GetoptError::InvalidShort(c)),
                    Some(false) => out.opts.push(Parsed { opt: c, arg: None }),
                    Some(true) => {
                        let rest: String = chars[k..].iter().collect();
                        let arg = if !rest.is_empty() {
                            rest
                        } else if i < args.len() {
                            i += 1;
                            args[i - 1].clone()
                        } else {
                            return Err(GetoptError::ShortNeedsArg(c));
                        };
                        out.opts.push(Parsed {
                            opt: c,
                            arg: Some(arg),
                        });
                        break;
                    }
                }
            }
            continue;
        }
        out.positionals.push(a.clone());
    }
    Ok(out)
}

/// `Some(takes_arg)` if `c` is in the getopt short-option string.
fn short_spec(shorts: &str, c: char) -> Option<bool> {
    if c == ':' {
        return None;
    }
    let mut it = shorts.chars().peekable();
    while let Some(s) = it.next() {
        let takes = it.peek() == Some(&':');
        if takes {
            it.next();
        }
        if s == c {
            return Some(takes);
        }
    }
    None
}

/// glibc rules: an exact match wins; otherwise a unique prefix; several prefix
/// matches that all map to the same option are not ambiguous.
fn find_long(name: &str, given: &str, longs: &[LongOpt]) -> Result<LongOpt, GetoptError> {
    if let Some(lo) = longs.iter().find(|l| l.name == name) {
        return Ok(*lo);
    }
    let matches: Vec<&LongOpt> = longs
        .iter()
        .filter(|l| !name.is_empty() && l.name.starts_with(name))
        .collect();
    match matches.as_slice() {
        [] => Err(GetoptError::UnrecognizedLong(given.to_string())),
        [one] => Ok(**one),
        [first, rest @ ..] => {
            if rest
                .iter()
                .all(|l| l.val == first.val && l.has_arg == first.has_arg)
            {
                Ok(**first)
            } else {
                Err(GetoptError::Ambiguous {
                    given: given.to_string(),
                    candidates: matches.iter().map(|l| l.name).collect(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONGS: &[LongOpt] = &[
        LongOpt {
            name: "fake",
            has_arg: false,
            val: 'f',
        },
        LongOpt {
            name: "read-only",
            has_arg: false,
            val: 'r',
        },
        LongOpt {
            name: "ro",
            has_arg: false,
            val: 'r',
        },
        LongOpt {
            name: "read-write",
            has_arg: false,
            val: 'w',
        },
        LongOpt {
            name: "rw",
            has_arg: false,
            val: 'w',
        },
        LongOpt {
            name: "options",
            has_arg: true,
            val: 'o',
        },
        LongOpt {
            name: "version",
            has_arg: false,
            val: 'V',
        },
        LongOpt {
            name: "verbose",
            has_arg: false,
            val: 'v',
        },
    ];

    fn p(args: &[&str]) -> Result<Outcome, GetoptError> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        getopt_long(&v, "fhnrVvwo:s", LONGS)
    }

    fn opts(o: &Outcome) -> Vec<(char, Option<&str>)> {
        o.opts.iter().map(|p| (p.opt, p.arg.as_deref())).collect()
    }

    #[test]
    fn permutes_and_clusters() {
        let o = p(&["srv:/x", "/mnt", "-oro,vers=3", "-v", "-o", "soft", "-sf"]).unwrap();
        assert_eq!(o.positionals, ["srv:/x", "/mnt"]);
        assert_eq!(
            opts(&o),
            [
                ('o', Some("ro,vers=3")),
                ('v', None),
                ('o', Some("soft")),
                ('s', None),
                ('f', None)
            ]
        );
    }

    #[test]
    fn cluster_with_trailing_arg_option() {
        let o = p(&["-fvo", "x=1", "a", "b"]).unwrap();
        assert_eq!(opts(&o), [('f', None), ('v', None), ('o', Some("x=1"))]);
        assert_eq!(o.positionals, ["a", "b"]);
    }

    #[test]
    fn long_prefixes() {
        assert_eq!(opts(&p(&["--fa"]).unwrap()), [('f', None)]);
        assert!(matches!(p(&["--versi"]).unwrap().opts[0].opt, 'V'));
        assert_eq!(opts(&p(&["--ro"]).unwrap()), [('r', None)]); // exact beats prefix
        assert_eq!(opts(&p(&["--opt=a,b"]).unwrap()), [('o', Some("a,b"))]);
        assert_eq!(opts(&p(&["--options", "a"]).unwrap()), [('o', Some("a"))]);
    }

    #[test]
    fn ambiguous_prefix_lists_candidates() {
        let e = p(&["--re"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "option '--re' is ambiguous; possibilities: '--read-only' '--read-write'"
        );
        // --verb is unique, --ver is not
        assert!(p(&["--verb"]).is_ok());
        assert!(matches!(p(&["--ver"]), Err(GetoptError::Ambiguous { .. })));
    }

    #[test]
    fn diagnostics() {
        assert_eq!(p(&["-Z"]).unwrap_err().to_string(), "invalid option -- 'Z'");
        assert_eq!(
            p(&["-t", "nfs"]).unwrap_err().to_string(),
            "invalid option -- 't'"
        );
        assert_eq!(
            p(&["-o"]).unwrap_err().to_string(),
            "option requires an argument -- 'o'"
        );
        assert_eq!(
            p(&["--bogus=1"]).unwrap_err().to_string(),
            "unrecognized option '--bogus=1'"
        );
        assert_eq!(
            p(&["--options"]).unwrap_err().to_string(),
            "option '--options' requires an argument"
        );
        assert_eq!(
            p(&["--fake=1"]).unwrap_err().to_string(),
            "option '--fake' doesn't allow an argument"
        );
    }

    #[test]
    fn double_dash_ends_options() {
        let o = p(&["-v", "--", "-f", "x"]).unwrap();
        assert_eq!(opts(&o), [('v', None)]);
        assert_eq!(o.positionals, ["-f", "x"]);
    }

    #[test]
    fn lone_dash_is_positional() {
        let o = p(&["-", "x"]).unwrap();
        assert_eq!(o.positionals, ["-", "x"]);
    }
}
