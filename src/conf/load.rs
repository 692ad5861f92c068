//! Reading and parsing configuration files (nfs-utils `conffile.c` semantics).

use super::versionsort::strverscmp;
use super::{
    arg_eq, Binding, ConfError, ConfSource, ConfWarning, Config, Section, MAX_ENV_DEPTH,
    MAX_INCLUDES, MAX_INCLUDE_DEPTH,
};
use std::path::{Path, PathBuf};

/// Current section while parsing: `(name as written, arg, header line)`.
type Cur = Option<(String, Option<String>, String, usize)>;

struct Loader<'a> {
    src: &'a dyn ConfSource,
    cfg: Config,
    warnings: Vec<ConfWarning>,
    /// Files read through `include` so far (bounded by [`MAX_INCLUDES`]).
    includes: usize,
}

pub(super) fn load(
    src: &dyn ConfSource,
    main: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Config, Vec<ConfWarning>) {
    let mut l = Loader {
        src,
        cfg: Config::default(),
        warnings: Vec::new(),
        includes: 0,
    };
    if let Some(text) = src.read(main) {
        l.parse(&text, &main.to_string_lossy(), &mut None, 0);
    }
    let mut dname = main.as_os_str().to_owned();
    dname.push(".d");
    let dir = PathBuf::from(dname);
    if let Some(mut names) = src.list_dir(&dir) {
        names.sort_by(|a, b| strverscmp(a, b));
        for n in names {
            if n.starts_with('.') || n.len() <= ".conf".len() || !n.ends_with(".conf") {
                continue;
            }
            let p = dir.join(&n);
            if let Some(text) = src.read(&p) {
                l.parse(&text, &p.to_string_lossy(), &mut None, 0);
            }
        }
    }
    l.finish(env)
}

pub(super) fn load_text(
    src: &dyn ConfSource,
    name: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Config, Vec<ConfWarning>) {
    let mut l = Loader {
        src,
        cfg: Config::default(),
        warnings: Vec::new(),
        includes: 0,
    };
    l.parse(text, name, &mut None, 0);
    l.finish(env)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `dirname(file)/rel` unless `rel` is absolute.
fn relative_path(file: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let dir = match file.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => file[..i].to_string(),
        None => ".".to_string(),
    };
    if dir == "/" {
        format!("/{rel}")
    } else {
        format!("{dir}/{rel}")
    }
}

impl Loader<'_> {
    /// `conf_parse`: split into lines (a `\` before the newline joins lines; both become
    /// blanks and the line number does not advance); an unterminated last line is ignored.
    fn parse(&mut self, text: &str, file: &str, cur: &mut Cur, depth: usize) {
        let mut lineno = 0;
        let mut line = String::new();
        for c in text.chars() {
            if c == '\n' {
                if line.ends_with('\\') {
                    line.pop();
                    line.push_str("  ");
                } else {
                    lineno += 1;
                    let l = std::mem::take(&mut line);
                    self.parse_line(&l, file, lineno, cur, depth);
                }
            } else {
                line.push(c);
            }
        }
        if !line.is_empty() {
            self.warnings.push(ConfWarning::LastLineNonTerminated {
                file: file.to_string(),
            });
        }
    }

    fn parse_line(&mut self, line: &str, file: &str, lineno: usize, cur: &mut Cur, depth: usize) {
        let at = || (file.to_string(), lineno);
        let line = line.trim_start_matches(is_space);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return;
        }
        if let Some(rest) = line.strip_prefix('[') {
            *cur = None;
            let rest = rest.trim_start_matches(is_blank);
            let first_close = rest.find(']');
            let quote = rest
                .find('"')
                .filter(|&q| first_close.map_or(true, |c| q < c));
            let (file_s, line_n) = at();
            match quote {
                // Difference: a `]` inside the quoted argument is allowed, so
                // `[ Server "[::1]" ]` works (nfs-utils stops at the first `]`).
                Some(q) => match rest[q + 1..].find('"') {
                    Some(e) => {
                        let end_q = q + 1 + e;
                        if rest[end_q + 1..].find(']').is_none() {
                            self.warnings.push(ConfWarning::NonMatchedBracket {
                                file: file_s,
                                line: line_n,
                            });
                            return;
                        }
                        let name = rest[..q].trim_end_matches(is_blank);
                        *cur = Some((
                            name.to_string(),
                            Some(rest[q + 1..end_q].to_string()),
                            file_s,
                            line_n,
                        ));
                    }
                    None if first_close.is_none() => {
                        self.warnings.push(ConfWarning::NonMatchedBracket {
                            file: file_s,
                            line: line_n,
                        });
                    }
                    // Difference: nfs-utils keeps the section without its argument
                    // (which for MountPoint/Server then crashes); we ignore it, as the
                    // message says.
                    None => {
                        self.warnings.push(ConfWarning::NonMatchedQuoteInHeader {
                            file: file_s,
                            line: line_n,
                        });
                    }
                },
                None => match first_close {
                    None => self.warnings.push(ConfWarning::NonMatchedBracket {
                        file: file_s,
                        line: line_n,
                    }),
                    Some(c) => {
                        let name = rest[..c].trim_end_matches(is_blank);
                        *cur = Some((name.to_string(), None, file_s, line_n));
                    }
                },
            }
            return;
        }
        let Some(eq) = line.find('=') else {
            let (file, line) = at();
            self.warnings
                .push(ConfWarning::NotAnAssignment { file, line });
            return;
        };
        let Some((sname, sarg, sfile, sline)) = cur.clone() else {
            let (file, line) = at();
            self.warnings.push(ConfWarning::NotInSection { file, line });
            return;
        };
        let tag = line[..eq].trim_end_matches(is_blank);
        let mut val = line[eq + 1..].trim_start_matches(is_blank);
        if let Some(q @ ('"' | '\'')) = val.chars().next() {
            let inner = &val[1..];
            match inner.find(q) {
                Some(e) => val = &inner[..e],
                None => {
                    let (file, line) = at();
                    self.warnings
                        .push(ConfWarning::UnmatchedQuotes { file, line });
                    return;
                }
            }
        } else {
            if let Some(i) = val.find('#') {
                val = &val[..i];
            }
            if let Some(i) = val.find(';') {
                val = &val[..i];
            }
            // trailing white space, keeping at least the first character (as nfs-utils)
            let keep = val.chars().next().map_or(0, char::len_utf8);
            let trimmed = val[keep..].trim_end_matches(is_space);
            val = &val[..keep + trimmed.len()];
        }
        if tag.is_empty() {
            let (file, line) = at();
            self.warnings.push(ConfWarning::MissingTag { file, line });
            return;
        }
        if tag.eq_ignore_ascii_case("include") {
            let (optional, path) = match val.strip_prefix('-') {
                Some(p) => (true, p),
                None => (false, val),
            };
            let rel = relative_path(file, path);
            let text = if depth + 1 > MAX_INCLUDE_DEPTH || self.includes >= MAX_INCLUDES {
                // a loop or absurd nesting: always reported
                let (file, line) = at();
                self.warnings.push(ConfWarning::IncludeError { file, line });
                return;
            } else {
                self.src.read(Path::new(&rel))
            };
            match text {
                None => {
                    if !optional {
                        let (file, line) = at();
                        self.warnings.push(ConfWarning::IncludeError { file, line });
                    }
                }
                Some(t) => {
                    self.includes += 1;
                    // the included file inherits the section; its changes stay local
                    let mut inc = cur.clone();
                    self.parse(&t, &rel, &mut inc, depth + 1);
                }
            }
            return;
        }
        if val.is_empty() {
            return;
        }
        self.set(
            &sname,
            sarg.as_deref(),
            (&sfile, sline),
            tag,
            val,
            file,
            lineno,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn set(
        &mut self,
        section: &str,
        arg: Option<&str>,
        header: (&str, usize),
        tag: &str,
        val: &str,
        file: &str,
        line: usize,
    ) {
        let lname = section.to_ascii_lowercase();
        if arg.is_none() && (lname == "mountpoint" || lname == "server") {
            let e = ConfError::SectionWithoutArg {
                file: header.0.to_string(),
                line: header.1,
                section: section.to_string(),
            };
            if !self.cfg.errors.contains(&e) {
                self.cfg.errors.push(e);
            }
            return;
        }
        let idx = match self
            .cfg
            .sections
            .iter()
            .position(|s| s.name == lname && arg_eq(s.arg.as_deref(), arg))
        {
            Some(i) => i,
            None => {
                self.cfg.sections.push(Section {
                    name: lname,
                    arg: arg.map(str::to_string),
                    bindings: Vec::new(),
                });
                self.cfg.sections.len() - 1
            }
        };
        // Difference: nfs-utils removes the previous binding of `tag` in *any* section of
        // this name (ignoring the argument), so `[Server "a"] timeo=1` is lost when a
        // later `[Server "b"]` sets `timeo`. We override per (section, argument, tag).
        let s = &mut self.cfg.sections[idx];
        s.bindings.retain(|b| !b.tag.eq_ignore_ascii_case(tag));
        s.bindings.push(Binding {
            tag: tag.to_string(),
            raw: val.to_string(),
            value: None,
            file: file.to_string(),
            line,
        });
    }

    /// Resolve `$NAME` values and return the result.
    fn finish(mut self, env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<ConfWarning>) {
        let environment: Vec<(String, String)> = self
            .cfg
            .find("environment", None)
            .map(|s| {
                s.bindings
                    .iter()
                    .map(|b| (b.tag.clone(), b.raw.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let resolve = |raw: &str| -> Option<String> {
            let mut v = raw.to_string();
            for _ in 0..MAX_ENV_DEPTH {
                let Some(name) = v.strip_prefix('$') else {
                    return Some(v);
                };
                if let Some(e) = env(name).filter(|e| !e.is_empty()) {
                    return Some(e);
                }
                // Difference: nfs-utils looks `[ environment ]` up with the argument of
                // the section being read, so it never resolves from a MountPoint/Server
                // section; and it loops forever on `A=$A`. We use the arg-less
                // `[ environment ]` section and bound the indirections.
                v = environment
                    .iter()
                    .find(|(t, _)| t.eq_ignore_ascii_case(name))?
                    .1
                    .clone();
            }
            None
        };
        for s in &mut self.cfg.sections {
            for b in &mut s.bindings {
                b.value = resolve(&b.raw);
            }
        }
        (self.cfg, self.warnings)
    }
}
