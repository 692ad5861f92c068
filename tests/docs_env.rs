//! The `NFSMOUNT_*` environment variables the code reads are exactly those that
//! README.md, docs/CONTRIBUTING.md and mount.nfs(8) document — no undocumented
//! knob, no documented one that does nothing.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `NFSMOUNT_X` names in `text`; with `quoted`, only inside a string literal
/// (`"NFSMOUNT_X"`: what code passes to getenv, not what a comment mentions).
fn names(text: &str, quoted: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("NFSMOUNT_") {
        if quoted && !text[..i].ends_with('"') {
            continue;
        }
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let closed = text[i + name.len()..].starts_with('"');
        if name.len() > "NFSMOUNT_".len() && (!quoted || closed) {
            out.insert(name);
        }
    }
    out
}

fn read_by_code(dir: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            read_by_code(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.extend(names(&std::fs::read_to_string(&p).unwrap(), true));
        }
    }
}

#[test]
fn documented_variables_are_the_ones_the_code_reads() {
    let mut code = BTreeSet::new();
    read_by_code(&root().join("src"), &mut code);
    assert!(code.len() >= 10, "found only {code:?}");
    for doc in ["README.md", "docs/CONTRIBUTING.md", "man/mount.nfs.8"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        // mount.nfs(8) escapes '_' nowhere, but roff may break a name with \&
        let documented = names(&text.replace("\\&", ""), false);
        let undocumented: Vec<_> = code.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&code).collect();
        assert!(
            undocumented.is_empty() && stale.is_empty(),
            "{doc}: read by the code but not documented: {undocumented:?}; documented but not read: {stale:?}"
        );
    }
}

#[test]
fn the_name_scanner_separates_code_from_prose() {
    let src = r#"let a = test_override("NFSMOUNT_ONE"); // NFSMOUNT_TWO
        let b = format!("{}", "NFSMOUNT_THREE=1"); /// `NFSMOUNT_FOUR`"#;
    let q: Vec<String> = names(src, true).into_iter().collect();
    assert_eq!(q, ["NFSMOUNT_ONE"]);
    let all: Vec<String> = names(src, false).into_iter().collect();
    assert_eq!(all.len(), 4, "{all:?}");
}
