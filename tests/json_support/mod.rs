//! A strict, minimal JSON reader for tests of `nfsmount explain --json` and
//! `nfsmount doctor --json` (no serde in this project). Rejects trailing
//! garbage, raw control characters in strings and bad escapes, so it also checks
//! that the writer's output is valid JSON.
#![allow(dead_code)]

#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn get(&self, k: &str) -> &J {
        match self {
            J::Obj(m) => m
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no member {k:?} in {self:?}")),
            _ => panic!("not an object: {self:?}"),
        }
    }
    pub fn has(&self, k: &str) -> bool {
        matches!(self, J::Obj(m) if m.iter().any(|(x, _)| x == k))
    }
    pub fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    pub fn opt_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            J::Null => None,
            _ => panic!("not a string or null: {self:?}"),
        }
    }
    pub fn num(&self) -> f64 {
        match self {
            J::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    pub fn arr(&self) -> &[J] {
        match self {
            J::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
    pub fn is_null(&self) -> bool {
        *self == J::Null
    }
}

pub fn parse(text: &str) -> Result<J, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let v = value(b, &mut i)?;
    ws(b, &mut i);
    if i != b.len() {
        return Err(format!("trailing data at {i}"));
    }
    Ok(v)
}

fn ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && matches!(b[*i], b' ' | b'\n' | b'\r' | b'\t') {
        *i += 1;
    }
}

fn lit(b: &[u8], i: &mut usize, s: &str, v: J) -> Result<J, String> {
    if b[*i..].starts_with(s.as_bytes()) {
        *i += s.len();
        Ok(v)
    } else {
        Err(format!("bad literal at {i}"))
    }
}

fn value(b: &[u8], i: &mut usize) -> Result<J, String> {
    ws(b, i);
    match b.get(*i) {
        None => Err("unexpected end".into()),
        Some(b'n') => lit(b, i, "null", J::Null),
        Some(b't') => lit(b, i, "true", J::Bool(true)),
        Some(b'f') => lit(b, i, "false", J::Bool(false)),
        Some(b'"') => string(b, i).map(J::Str),
        Some(b'[') => {
            *i += 1;
            let mut v = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(J::Arr(v));
            }
            loop {
                v.push(value(b, i)?);
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(J::Arr(v));
                    }
                    _ => return Err(format!("expected , or ] at {i}")),
                }
            }
        }
        Some(b'{') => {
            *i += 1;
            let mut m = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(J::Obj(m));
            }
            loop {
                ws(b, i);
                let k = string(b, i)?;
                ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("expected : at {i}"));
                }
                *i += 1;
                m.push((k, value(b, i)?));
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(J::Obj(m));
                    }
                    _ => return Err(format!("expected , or }} at {i}")),
                }
            }
        }
        Some(_) => {
            let s = *i;
            while *i < b.len() && matches!(b[*i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                *i += 1;
            }
            std::str::from_utf8(&b[s..*i])
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .map(J::Num)
                .ok_or_else(|| format!("bad number at {s}"))
        }
    }
}

fn string(b: &[u8], i: &mut usize) -> Result<String, String> {
    if b.get(*i) != Some(&b'"') {
        return Err(format!("expected string at {i}"));
    }
    *i += 1;
    let mut out: Vec<u8> = Vec::new();
    loop {
        match b.get(*i) {
            None => return Err("unterminated string".into()),
            Some(b'"') => {
                *i += 1;
                return String::from_utf8(out).map_err(|e| e.to_string());
            }
            Some(b'\\') => {
                let c = *b.get(*i + 1).ok_or("bad escape")?;
                *i += 2;
                match c {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'u' => {
                        let h = std::str::from_utf8(b.get(*i..*i + 4).ok_or("short \\u")?)
                            .map_err(|e| e.to_string())?;
                        let n = u32::from_str_radix(h, 16).map_err(|e| e.to_string())?;
                        *i += 4;
                        let ch = char::from_u32(n).ok_or("surrogate \\u")?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return Err(format!("bad escape \\{}", c as char)),
                }
            }
            Some(&c) if c < 0x20 => return Err(format!("raw control character at {i}")),
            Some(&c) => {
                out.push(c);
                *i += 1;
            }
        }
    }
}
