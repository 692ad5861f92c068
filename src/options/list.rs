//! The option list: tokenizer, lookup and edit primitives (nfs-utils `po_*` semantics).

use super::error::TokenizeError;
use std::fmt;

/// One option: `key` or `key=value`, split at the first `=`. The value is raw: double
/// quotes are kept (`context="a,b"` has the value `"a,b"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Opt {
    pub key: String,
    pub value: Option<String>,
}

impl Opt {
    /// Split a token at its first `=`.
    pub fn from_token(tok: &str) -> Opt {
        match tok.find('=') {
            Some(i) => Opt {
                key: tok[..i].to_string(),
                value: Some(tok[i + 1..].to_string()),
            },
            None => Opt {
                key: tok.to_string(),
                value: None,
            },
        }
    }

    pub fn new(key: &str, value: Option<&str>) -> Opt {
        Opt {
            key: key.to_string(),
            value: value.map(str::to_string),
        }
    }
}

impl fmt::Display for Opt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.key, v),
            None => f.write_str(&self.key),
        }
    }
}

/// Result of [`OptList::get_numeric`] (`po_get_numeric`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numeric {
    /// The key is not present.
    Absent,
    /// The rightmost value parsed with `strtol` rules (leading blanks and a sign accepted,
    /// trailing garbage ignored: `3x` is 3).
    Ok(i64),
    /// Present but no digits, no value, or out of range.
    Bad,
}

/// An ordered option list.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct OptList(pub Vec<Opt>);

/// Split a comma-separated option string into tokens. Double quotes protect commas
/// (a `"` anywhere toggles quoting); empty tokens are skipped; an unterminated quote
/// is an error.
pub fn tokenize(s: &str) -> Result<Vec<&str>, TokenizeError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b',' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quoted = false;
        while i < b.len() {
            if b[i] == b'"' {
                quoted = !quoted;
            }
            if !quoted && b[i] == b',' {
                break;
            }
            i += 1;
        }
        if quoted {
            return Err(TokenizeError);
        }
        out.push(&s[start..i]);
    }
    Ok(out)
}

/// `strtol(s, &end, 10)`: `Some(value)` if at least one digit was consumed and the value
/// fits in an `i64`.
pub fn strtol(s: &str) -> Option<i64> {
    strtol_end(s).map(|(v, _)| v)
}

/// Like [`strtol`], also returning the rest of the string after the digits.
pub fn strtol_end(s: &str) -> Option<(i64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let ndig = t.bytes().take_while(u8::is_ascii_digit).count();
    if ndig == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for d in t[..ndig].bytes() {
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some((v, &t[ndig..]))
}

impl OptList {
    /// Tokenize (`po_split`): commas split, `"` protects commas (quotes kept), empty
    /// tokens skipped, an unterminated quote is an error.
    pub fn parse(s: &str) -> Result<OptList, TokenizeError> {
        Ok(OptList(
            tokenize(s)?.into_iter().map(Opt::from_token).collect(),
        ))
    }

    /// `po_join`: `,`-joined in order; empty list → `""`.
    pub fn join(&self) -> String {
        let mut s = String::new();
        for (i, o) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&o.to_string());
        }
        s
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Opt> {
        self.0.iter()
    }

    /// `po_get`: the value of the rightmost occurrence of `key` (`Some("")` for `key=`;
    /// `None` if absent or if that rightmost occurrence has no value).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|o| o.key == key)
            .and_then(|o| o.value.as_deref())
    }

    /// `po_contains`: exact key match.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|o| o.key == key)
    }

    /// `po_contains_prefix(prefix, n)`: the key of the `n`-th (0-based, from the left)
    /// option whose key starts with `prefix`.
    pub fn contains_prefix(&self, prefix: &str, n: usize) -> Option<&str> {
        self.0
            .iter()
            .filter(|o| o.key.starts_with(prefix))
            .nth(n)
            .map(|o| o.key.as_str())
    }

    /// `po_rightmost`: index into `keys` of the rightmost option whose key is one of them.
    pub fn rightmost(&self, keys: &[&str]) -> Option<usize> {
        self.0
            .iter()
            .rev()
            .find_map(|o| keys.iter().position(|k| *k == o.key))
    }

    /// `po_get_numeric`. The rightmost occurrence decides; written without `=`
    /// (`port`) it has no value, which nfs-utils treats as absent (`po_get` returns
    /// NULL) — even when an earlier `port=5` exists.
    pub fn get_numeric(&self, key: &str) -> Numeric {
        match self.0.iter().rev().find(|o| o.key == key) {
            None => Numeric::Absent,
            Some(o) => match o.value.as_deref() {
                None => Numeric::Absent,
                Some(v) => match strtol(v) {
                    Some(n) => Numeric::Ok(n),
                    None => Numeric::Bad,
                },
            },
        }
    }

    /// `po_remove_all`.
    pub fn remove_all(&mut self, key: &str) {
        self.0.retain(|o| o.key != key);
    }

    /// `po_append`.
    pub fn append(&mut self, key: &str, value: Option<&str>) {
        self.0.push(Opt::new(key, value));
    }

    /// `po_insert` (at the head).
    pub fn insert_head(&mut self, key: &str, value: Option<&str>) {
        self.0.insert(0, Opt::new(key, value));
    }

    /// Append a raw `key[=value]` token.
    pub fn push_token(&mut self, tok: &str) {
        self.0.push(Opt::from_token(tok));
    }
}

impl fmt::Display for OptList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.join())
    }
}

impl FromIterator<Opt> for OptList {
    fn from_iter<I: IntoIterator<Item = Opt>>(iter: I) -> Self {
        OptList(iter.into_iter().collect())
    }
}
