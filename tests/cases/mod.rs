//! The shared case list (tests/cases/mount.cases): the parser the host runner
//! uses; the VM runner (scripts/vm/cases.sh `data_case`) reads the same file.

use std::path::{Path, PathBuf};

/// One row of mount.cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountCase {
    pub name: String,
    pub helper: String,
    /// `v4` or `v6`.
    pub server: String,
    /// The -o value; `None` for `-`.
    pub options: Option<String>,
    pub fstype: String,
    pub expect: Vec<String>,
}

pub fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/mount.cases")
}

/// Parses the list; an error names the line.
pub fn parse(text: &str) -> Result<Vec<MountCase>, String> {
    let mut out: Vec<MountCase> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let at = || format!("mount.cases:{}", n + 1);
        if f.len() != 6 || f.iter().any(|x| x.is_empty()) {
            return Err(format!(
                "{}: want 6 fields separated by \" | \": {line:?}",
                at()
            ));
        }
        if !f[0]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(format!("{}: bad case name {:?}", at(), f[0]));
        }
        if !matches!(f[1], "mount.nfs" | "mount.nfs4") {
            return Err(format!("{}: helper must be mount.nfs or mount.nfs4", at()));
        }
        if !matches!(f[2], "v4" | "v6") {
            return Err(format!("{}: server must be v4 or v6", at()));
        }
        if f[3].contains(char::is_whitespace) {
            return Err(format!("{}: options must not contain spaces", at()));
        }
        if out.iter().any(|c| c.name == f[0]) {
            return Err(format!("{}: case {} listed twice", at(), f[0]));
        }
        out.push(MountCase {
            name: f[0].to_string(),
            helper: f[1].to_string(),
            server: f[2].to_string(),
            options: (f[3] != "-").then(|| f[3].to_string()),
            fstype: f[4].to_string(),
            expect: if f[5] == "-" {
                Vec::new()
            } else {
                f[5].split_whitespace().map(String::from).collect()
            },
        });
    }
    Ok(out)
}

pub fn load() -> Vec<MountCase> {
    let text = std::fs::read_to_string(path()).expect("tests/cases/mount.cases");
    parse(&text).unwrap_or_else(|e| panic!("{e}"))
}
