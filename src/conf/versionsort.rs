//! `strverscmp(3)` ordering, as `scandir(..., versionsort)` uses for `<conf>.d`.

use std::cmp::Ordering;

/// Compare like glibc `strverscmp`: digit runs compare numerically; a digit run with
/// leading zeros is a fractional part and sorts before one without.
pub fn strverscmp(a: &str, b: &str) -> Ordering {
    let a = a.as_bytes();
    let b = b.as_bytes();
    // find the first difference
    let mut i = 0;
    while i < a.len() && i < b.len() && a[i] == b[i] {
        i += 1;
    }
    if i == a.len() && i == b.len() {
        return Ordering::Equal;
    }
    let ca = a.get(i).copied();
    let cb = b.get(i).copied();
    let dig = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    // start of the digit run containing position i (shared prefix)
    let mut s = i;
    while s > 0 && a[s - 1].is_ascii_digit() {
        s -= 1;
    }
    let in_run = s < i || (dig(ca) && dig(cb));
    if !in_run || !(dig(ca) || dig(cb)) {
        return ca.cmp(&cb);
    }
    let run = |x: &[u8]| {
        let mut e = s;
        while e < x.len() && x[e].is_ascii_digit() {
            e += 1;
        }
        e
    };
    let (ea, eb) = (run(a), run(b));
    let ra = &a[s..ea];
    let rb = &b[s..eb];
    let frac_a = ra.len() > 1 && ra[0] == b'0';
    let frac_b = rb.len() > 1 && rb[0] == b'0';
    let zero_prefix = s < i && a[s] == b'0';
    if zero_prefix || (frac_a && frac_b) {
        // fractional parts: while only zeros were seen, more zeros sort first
        // ("000" < "00"); after a non-zero digit, plain character order ("01" < "010")
        let only_zeros = a[s..i].iter().all(|&c| c == b'0');
        if only_zeros {
            match (dig(ca), dig(cb)) {
                (true, false) => return Ordering::Less,
                (false, true) => return Ordering::Greater,
                _ => {}
            }
        }
        return ca.cmp(&cb);
    }
    if frac_a != frac_b {
        return if frac_a {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // integral: longer run is bigger, else first differing digit
    ra.len().cmp(&rb.len()).then_with(|| ca.cmp(&cb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        let mut v = vec![
            "20-b.conf",
            "10-a.conf",
            "9-z.conf",
            "100.conf",
            "a.conf",
            "09.conf",
        ];
        v.sort_by(|a, b| strverscmp(a, b));
        assert_eq!(
            v,
            [
                "09.conf",
                "9-z.conf",
                "10-a.conf",
                "20-b.conf",
                "100.conf",
                "a.conf"
            ]
        );
        assert_eq!(strverscmp("x1.conf", "x1.conf"), Ordering::Equal);
        assert_eq!(strverscmp("a2", "a10"), Ordering::Less);
        assert_eq!(strverscmp("a", "b"), Ordering::Less);
        assert_eq!(strverscmp("file", "file2"), Ordering::Less);
        let mut w = vec!["10", "9", "1", "0", "09", "010", "01", "00", "000"];
        w.sort_by(|a, b| strverscmp(a, b));
        assert_eq!(w, ["000", "00", "01", "010", "09", "0", "1", "9", "10"]);
    }
}
