//! Where the mount code's messages go: stderr/stdout, or — while
//! `nfsmount explain` runs the same code — into a buffer, so that explain can show
//! exactly the lines mount.nfs would print (and print nothing itself).

use std::cell::RefCell;

/// Which stream a captured line was meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

thread_local! {
    static CAPTURE: RefCell<Option<Vec<(Stream, String)>>> = const { RefCell::new(None) };
}

fn push(stream: Stream, text: &str) -> bool {
    CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(v) => {
            v.push((stream, text.to_string()));
            true
        }
        None => false,
    })
}

/// One line (without newline) for stderr.
pub fn err(line: &str) {
    if !push(Stream::Stderr, line) {
        eprintln!("{line}");
    }
}

/// Text for stdout, exactly as given (`print!`).
pub fn out(text: &str) {
    if !push(Stream::Stdout, text) {
        print!("{text}");
    }
}

/// `true` while [`capture`] runs (the mount code then also skips syslog).
pub fn capturing() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

/// Runs `f` with every message captured; returns its result and the messages.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<(Stream, String)>) {
    let prev = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = f();
    let got = CAPTURE.with(|c| std::mem::replace(&mut *c.borrow_mut(), prev));
    (r, got.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_collects_in_order_and_nests() {
        let ((), got) = capture(|| {
            err("a");
            out("b\n");
            let ((), inner) = capture(|| err("c"));
            assert_eq!(inner, vec![(Stream::Stderr, "c".to_string())]);
            assert!(capturing());
        });
        assert_eq!(
            got,
            vec![
                (Stream::Stderr, "a".to_string()),
                (Stream::Stdout, "b\n".to_string())
            ]
        );
        assert!(!capturing());
    }
}
