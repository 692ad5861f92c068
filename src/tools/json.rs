//! A small JSON writer for `nfsmount explain --json` and `nfsmount doctor --json`
//! (no serde: the dependency list is fixed). Objects keep their insertion order.
//! Strings are escaped per RFC 8259: `"` `\` and every control character; other
//! characters are written as UTF-8. Non-finite floats become `null`.
#![forbid(unsafe_code)]

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }
    pub fn opt_str(s: Option<impl Into<String>>) -> Json {
        s.map(|s| Json::Str(s.into())).unwrap_or(Json::Null)
    }
    /// Adds a member (builder style). On a non-object this is a no-op.
    pub fn with(mut self, key: &str, v: Json) -> Json {
        self.set(key, v);
        self
    }
    pub fn set(&mut self, key: &str, v: Json) {
        if let Json::Obj(m) = self {
            m.push((key.to_string(), v));
        }
    }
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Pretty text, two-space indentation, trailing newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Float(f) if f.is_finite() => {
                let s = format!("{f}");
                out.push_str(&s);
                if !s.contains(['.', 'e', 'E']) {
                    out.push_str(".0");
                }
            }
            Json::Float(_) => out.push_str("null"),
            Json::Str(s) => escape_into(out, s),
            Json::Arr(a) if a.is_empty() => out.push_str("[]"),
            Json::Obj(m) if m.is_empty() => out.push_str("{}"),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    v.write(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    escape_into(out, k);
                    out.push_str(": ");
                    v.write(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// `s` as a JSON string literal.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Int(n)
    }
}
impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Json {
    fn from(n: usize) -> Json {
        Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<i32> for Json {
    fn from(n: i32) -> Json {
        Json::Int(n.into())
    }
}
impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Int(n.into())
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Json {
        Json::Arr(v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(escape("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(escape("x\ny\tz\r"), r#""x\ny\tz\r""#);
        assert_eq!(escape("\u{1}\u{1f}\u{7f}"), r#""\u0001\u001f\u007f""#);
        assert_eq!(escape("\u{2028}"), r#""\u2028""#);
        assert_eq!(escape("héllo ✓"), "\"héllo ✓\"");
        assert_eq!(escape(""), "\"\"");
    }

    #[test]
    fn documents_keep_member_order_and_nest() {
        let j = Json::obj()
            .with("b", 1i64.into())
            .with("a", Json::Arr(vec![true.into(), Json::Null]))
            .with("c", Json::obj())
            .with("d", Json::Float(1.0))
            .with("e", Json::Float(f64::NAN));
        assert_eq!(
            j.pretty(),
            "{\n  \"b\": 1,\n  \"a\": [\n    true,\n    null\n  ],\n  \"c\": {},\n  \"d\": 1.0,\n  \"e\": null\n}\n"
        );
        assert_eq!(j.get("b"), Some(&Json::Int(1)));
        assert_eq!(j.get("zz"), None);
    }

    proptest::proptest! {
        #[test]
        fn escaped_strings_have_no_raw_controls_or_lone_quotes(s in ".*") {
            let e = escape(&s);
            proptest::prop_assert!(e.starts_with('"') && e.ends_with('"'));
            let inner = &e[1..e.len() - 1];
            proptest::prop_assert!(!inner.chars().any(|c| (c as u32) < 0x20));
            // every quote inside is escaped
            let b = inner.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c == b'"' {
                    let mut k = i;
                    let mut slashes = 0;
                    while k > 0 && b[k - 1] == b'\\' { slashes += 1; k -= 1; }
                    proptest::prop_assert!(slashes % 2 == 1);
                }
            }
        }
    }
}
