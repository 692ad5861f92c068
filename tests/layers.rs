//! The import graph of `src/` follows the layer diagram in docs/CONTRIBUTING.md
//! ("Layers"): a module may name (`crate::…`) only modules on rows below its own,
//! and neither the top-level module graph nor the graph of the files inside one
//! module has a circle.
//!
//! The diagram is read from the document itself (the fenced block after the
//! `<!-- layers -->` marker), so the picture and the check cannot drift. Paths are
//! found by a small lexer that skips comments, string and char literals: every
//! `crate::a::…`, `crate::{a, b::…}` and, inside a module's files, `super::x`
//! naming a sibling file.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DOC: &str = "docs/CONTRIBUTING.md";
const MARKER: &str = "<!-- layers -->";

/// Circles between the files of one module that are known and scheduled to go
/// (each entry: the module and the files of the circle). Empty when none remain;
/// the test fails when a listed circle is gone, so the list cannot go stale.
const KNOWN_FILE_CIRCLES: &[(&str, &[&str])] = &[];

// ---------------------------------------------------------------- the checker

/// Blanks comments and the contents of string/char literals (keeps newlines,
/// so byte offsets and line numbers stay meaningful).
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0
                || !is_ident(b[i - 1])
                || (b[i - 1] == 'b' && (i < 2 || !is_ident(b[i - 2]))))
        {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('r');
            for _ in 0..hashes {
                out.push(' ');
            }
            out.push('"');
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    out.push('"');
                    for _ in 0..hashes {
                        out.push(' ');
                    }
                    j += 1 + hashes;
                    break;
                }
                out.push(blank(b[j]));
                j += 1;
            }
            i = j;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // char literal ('x', '\n', '\'', '\u{..}') or a lifetime ('a)
            if next == Some('\\') {
                out.push('\'');
                i += 2;
                out.push(' ');
                while i < b.len() && b[i] != '\'' {
                    out.push(' ');
                    i += 1;
                }
                out.push('\'');
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first segments of every path that starts with `prefix` (`crate` or
/// `super`), with the line it is on: `crate::a::b` gives `a`, `crate::{a, b::c}`
/// gives `a` and `b`. `prefix` must not be the tail of a longer path or name
/// (`$crate`, `my_crate::`, `super::super::` is taken as one `super`).
fn paths_after(stripped: &str, prefix: &str) -> Vec<(usize, String)> {
    let b: Vec<char> = stripped.chars().collect();
    let pat: Vec<char> = format!("{prefix}::").chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        if b[i] == '\n' {
            line += 1;
        }
        let starts = b[i..].starts_with(&pat)
            && (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == '$' || b[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + pat.len();
        while b.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        if b.get(j) == Some(&'{') {
            // a group: the first segment of each top-level item
            let mut depth = 0;
            let mut at_item_start = true;
            while j < b.len() {
                let c = b[j];
                match c {
                    '{' => {
                        depth += 1;
                        if depth == 1 {
                            at_item_start = true;
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => at_item_start = true,
                    c if depth == 1 && at_item_start && is_ident(c) => {
                        let s: String = b[j..].iter().take_while(|c| is_ident(**c)).collect();
                        j += s.len();
                        out.push((line, s));
                        at_item_start = false;
                        continue;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else {
            let s: String = b[j..].iter().take_while(|c| is_ident(**c)).collect();
            if !s.is_empty() {
                out.push((line, s));
            }
        }
        i += pat.len();
    }
    out
}

/// The rows of the layer diagram, top (highest) first. A row is
/// `name name … | description`.
fn parse_layers(doc: &str) -> Result<Vec<Vec<String>>, String> {
    let at = doc
        .find(MARKER)
        .ok_or_else(|| format!("{DOC}: no {MARKER} marker"))?;
    let mut lines = doc[at + MARKER.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty());
    match lines.next() {
        Some(l) if l.trim_start().starts_with("```") => {}
        other => {
            return Err(format!(
                "{DOC}: {MARKER} must be followed by a fence, got {other:?}"
            ))
        }
    }
    let mut rows = Vec::new();
    for l in lines {
        if l.trim_start().starts_with("```") {
            return Ok(rows);
        }
        let names = l.split('|').next().unwrap_or("");
        let row: Vec<String> = names.split_whitespace().map(str::to_string).collect();
        if row.is_empty() {
            continue;
        }
        if let Some(bad) = row.iter().find(|n| !n.chars().all(is_ident)) {
            return Err(format!(
                "{DOC}: layer row {l:?}: {bad:?} is not a module name"
            ));
        }
        rows.push(row);
    }
    Err(format!("{DOC}: the layer block is not closed"))
}

/// One `crate::` / sibling reference found in a file.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    file: String,
    line: usize,
}

/// Module path of a file under src/: src/a.rs and src/a/mod.rs are `[a]`,
/// src/a/b.rs is `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts
}

/// Top-level edges (module → other top-level module) and file-level edges inside
/// each top-level module (`a::x` → `a::y`, siblings only).
fn edges_of(files: &[(String, String)]) -> (Vec<Edge>, Vec<Edge>) {
    // the file modules of each top-level module
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, _) in files {
        let p = module_path(Path::new(rel));
        if p.len() >= 2 {
            children
                .entry(p[0].clone())
                .or_default()
                .insert(p[1].clone());
        }
    }
    let mut top = Vec::new();
    let mut inner = Vec::new();
    for (rel, text) in files {
        let p = module_path(Path::new(rel));
        if p.is_empty() || p == ["lib"] {
            continue;
        }
        let s = strip(text);
        let kids = children.get(&p[0]).cloned().unwrap_or_default();
        let here = p.get(1).cloned();
        for (line, first) in paths_after(&s, "crate") {
            if first != p[0] {
                top.push(Edge {
                    from: p[0].clone(),
                    to: first,
                    file: rel.clone(),
                    line,
                });
            }
        }
        // crate::a::y / super::y from file a::x
        if let Some(here) = here {
            let mut sib = Vec::new();
            let prefix_self = format!("crate::{}", p[0]);
            sib.extend(paths_after(&s, &prefix_self));
            if p.len() == 2 {
                sib.extend(paths_after(&s, "super"));
            }
            for (line, y) in sib {
                if kids.contains(&y) && y != here {
                    inner.push(Edge {
                        from: format!("{}::{here}", p[0]),
                        to: format!("{}::{y}", p[0]),
                        file: rel.clone(),
                        line,
                    });
                }
            }
        }
    }
    (top, inner)
}

/// Edges that go up or sideways in the diagram, and names the diagram lacks.
fn layer_violations(
    rows: &[Vec<String>],
    modules: &BTreeSet<String>,
    edges: &[Edge],
) -> Vec<String> {
    let mut rank: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for m in row {
            if rank.insert(m, rows.len() - i).is_some() {
                out.push(format!("{DOC}: {m} appears twice in the layer diagram"));
            }
        }
    }
    for m in modules {
        if !rank.contains_key(m.as_str()) {
            out.push(format!(
                "{DOC}: module {m} (src/lib.rs) is missing from the layer diagram"
            ));
        }
    }
    for m in rank.keys() {
        if !modules.contains(*m) {
            out.push(format!(
                "{DOC}: the layer diagram names {m}, which src/lib.rs does not declare"
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for e in edges {
        let (Some(a), Some(b)) = (rank.get(e.from.as_str()), rank.get(e.to.as_str())) else {
            continue;
        };
        if b >= a && seen.insert((e.from.clone(), e.to.clone(), e.file.clone())) {
            out.push(format!(
                "{}:{}: {} imports {}, which is not below it in {DOC}'s layers",
                e.file, e.line, e.from, e.to
            ));
        }
    }
    out
}

/// Every circle of the graph, each as its nodes (strongly connected components
/// with more than one node, or a node with an edge to itself).
fn circles(edges: &[(String, String)]) -> Vec<Vec<String>> {
    let mut adj: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default();
    }
    // Tarjan's algorithm, iteratively enough for graphs of this size.
    struct St<'a> {
        adj: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut St<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for &w in &s.adj[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            let self_loop = s.adj[v].contains(v);
            if comp.len() > 1 || self_loop {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        adj: &adj,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&str> = adj.keys().copied().collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

// ------------------------------------------------------------- the real tree

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, base, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

fn src_files() -> Vec<(String, String)> {
    let src = root().join("src");
    let mut v = Vec::new();
    rust_files(&src, &src, &mut v);
    v
}

/// The top-level modules src/lib.rs declares.
fn declared_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    strip(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

fn doc_rows() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root().join(DOC)).unwrap();
    parse_layers(&doc).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn imports_follow_the_documented_layers() {
    let rows = doc_rows();
    let (top, _) = edges_of(&src_files());
    assert!(
        top.len() > 50,
        "the scan found only {} crate:: paths",
        top.len()
    );
    let v = layer_violations(&rows, &declared_modules(), &top);
    assert!(v.is_empty(), "layer violations:\n{}", v.join("\n"));
}

#[test]
fn module_graph_has_no_circle() {
    let (top, inner) = edges_of(&src_files());
    let pairs = |es: &[Edge]| -> Vec<(String, String)> {
        es.iter().map(|e| (e.from.clone(), e.to.clone())).collect()
    };
    let c = circles(&pairs(&top));
    assert!(c.is_empty(), "circles between top-level modules: {c:?}");
    let known: BTreeSet<Vec<String>> = KNOWN_FILE_CIRCLES
        .iter()
        .map(|(m, files)| {
            let mut v: Vec<String> = files.iter().map(|f| format!("{m}::{f}")).collect();
            v.sort();
            v
        })
        .collect();
    let found: BTreeSet<Vec<String>> = circles(&pairs(&inner)).into_iter().collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "circles between the files of a module: {new:?}"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "KNOWN_FILE_CIRCLES lists circles that are gone, drop them: {gone:?}"
    );
}

/// Does `text` name an exit status constant (`exit::FAIL`, `error::exit::USAGE`)?
/// The same rule as `grep -l 'exit::[A-Z]'`.
fn names_exit_code(text: &str) -> bool {
    text.match_indices("exit::")
        .any(|(i, m)| text[i + m.len()..].starts_with(|c: char| c.is_ascii_uppercase()))
}

/// Exit statuses are chosen in the error table (src/error.rs) and by the
/// binary's dispatcher (src/app.rs) only.
#[test]
fn exit_codes_are_chosen_in_one_table() {
    let allowed = ["error.rs", "app.rs"];
    let found: Vec<String> = src_files()
        .into_iter()
        .filter(|(rel, text)| names_exit_code(text) && !allowed.contains(&rel.as_str()))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        found.is_empty(),
        "exit codes chosen outside the error table: {found:?}"
    );
    assert!(names_exit_code("return exit::FAIL;") && !names_exit_code("std::process::exit(1)"));
}

/// `unsafe` is denied crate-wide (Cargo.toml `[lints]`); the one allow is on
/// `mod sys` in src/lib.rs.
#[test]
fn unsafe_is_allowed_on_the_sys_layer_only() {
    let mut allows = Vec::new();
    for (rel, text) in src_files() {
        let s = strip(&text);
        for (i, line) in s.lines().enumerate() {
            if line.contains("allow(unsafe_code)") {
                let next = s.lines().nth(i + 1).unwrap_or("").trim().to_string();
                allows.push(format!("{rel}:{}: {next}", i + 1));
            }
        }
    }
    assert_eq!(allows.len(), 1, "{allows:?}");
    assert!(
        allows[0].starts_with("lib.rs:") && allows[0].ends_with("pub mod sys;"),
        "{allows:?}"
    );
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains("[lints.rust]\nunsafe_code = \"deny\""),
        "Cargo.toml [lints]"
    );
    assert!(
        cargo.contains("undocumented_unsafe_blocks = \"deny\""),
        "Cargo.toml [lints.clippy]"
    );
}

// ------------------------------------------------- the checker can fail

fn e(from: &str, to: &str) -> Edge {
    Edge {
        from: from.into(),
        to: to.into(),
        file: format!("src/{from}.rs"),
        line: 1,
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn checker_finds_circles() {
    assert!(circles(&pairs(&[("a", "b"), ("b", "c")])).is_empty());
    assert_eq!(
        circles(&pairs(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    assert_eq!(circles(&pairs(&[("x", "x")])), vec![vec!["x".to_string()]]);
    let two = circles(&pairs(&[
        ("a", "b"),
        ("b", "a"),
        ("c", "d"),
        ("d", "c"),
        ("b", "c"),
    ]));
    assert_eq!(two.len(), 2, "{two:?}");
}

#[test]
fn checker_finds_upward_sideways_and_undocumented_imports() {
    let doc = "intro\n<!-- layers -->\n\n```text\ntop      | the top\nmid1 mid2 | middle\nlow      | bottom\n```\n";
    let rows = parse_layers(doc).unwrap();
    assert_eq!(rows, vec![vec!["top"], vec!["mid1", "mid2"], vec!["low"]]);
    let mods: BTreeSet<String> = ["top", "mid1", "mid2", "low"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(layer_violations(&rows, &mods, &[e("top", "mid1"), e("mid2", "low")]).is_empty());
    let up = layer_violations(&rows, &mods, &[e("low", "top")]);
    assert_eq!(up.len(), 1, "{up:?}");
    assert!(up[0].contains("low imports top"), "{up:?}");
    assert_eq!(
        layer_violations(&rows, &mods, &[e("mid1", "mid2")]).len(),
        1,
        "same row"
    );
    let mut more = mods.clone();
    more.insert("new".into());
    let missing = layer_violations(&rows, &more, &[]);
    assert!(
        missing[0].contains("new") && missing[0].contains("missing"),
        "{missing:?}"
    );
    assert!(parse_layers("no marker").is_err());
    assert!(
        parse_layers("<!-- layers -->\n```\na | x\n").is_err(),
        "unclosed"
    );
}

#[test]
fn lexer_finds_paths_and_skips_comments_and_literals() {
    let src = r####"
use crate::alpha::X;
use crate::{beta, gamma::{Y, Z}, delta::*};
// crate::commented
/* crate::block /* nested crate::deep */ still */
/// doc crate::doclink
let s = "crate::in_string";
let r = r#"crate::in_raw "quoted" "#;
let c = '"'; let l: &'static str = "x"; fn f<'a>() {}
let q = crate::epsilon::f();
let m = $crate::macro_path; let n = my_crate::other; let o = a::crate::no;
pub(crate) fn g() {}
use super::sibling;
"####;
    let found: Vec<String> = paths_after(&strip(src), "crate")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(found, ["alpha", "beta", "gamma", "delta", "epsilon"]);
    let sup: Vec<String> = paths_after(&strip(src), "super")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(sup, ["sibling"]);
    // line numbers survive stripping
    let lines: Vec<usize> = paths_after(&strip(src), "crate")
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, [2, 3, 3, 3, 10]);
}

#[test]
fn file_level_edges_see_siblings_only() {
    let files = vec![
        (
            "m/mod.rs".to_string(),
            "pub mod a; pub mod b; use crate::other::X;".to_string(),
        ),
        (
            "m/a.rs".to_string(),
            "use super::b::T; use super::Item; use crate::m::c::U;".to_string(),
        ),
        ("m/b.rs".to_string(), "use crate::m::a::S;".to_string()),
        ("m/c.rs".to_string(), "".to_string()),
    ];
    let (top, inner) = edges_of(&files);
    assert_eq!(top.len(), 1);
    assert_eq!((top[0].from.as_str(), top[0].to.as_str()), ("m", "other"));
    let mut got: Vec<(String, String)> = inner
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        pairs(&[("m::a", "m::b"), ("m::a", "m::c"), ("m::b", "m::a")])
    );
    assert_eq!(circles(&got), vec![vec!["m::a".to_string(), "m::b".into()]]);
}
