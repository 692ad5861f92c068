//! TCP record marking (RFC 5531 §11).
//!
//! Each record is a sequence of fragments; each fragment starts with a 4-byte header
//! whose top bit marks the last fragment and whose low 31 bits give its length.
//!
//! [`encode_record`] splits a message into fragments of at most a given size.
//! [`RecordReader`] is a push-style reassembler: feed it whatever `read()` returned
//! (one byte or many records at once) and pop complete records. Limits are checked
//! as each fragment header arrives, *before* its payload is buffered: the record size
//! cap bounds memory, the fragment-count cap bounds work on streams of tiny or empty
//! fragments. After an error the reader stays failed — the byte stream has lost
//! framing and the connection must be dropped.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use thiserror::Error;

/// The "last fragment" bit in a fragment header.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;
/// Largest fragment length a header can express.
pub const MAX_FRAGMENT_LEN: usize = 0x7fff_ffff;

/// Caps applied while reassembling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    /// Largest complete record (sum of its fragments), bytes.
    pub max_record: usize,
    /// Most fragments in one record.
    pub max_fragments: usize,
}

impl Default for RecordLimits {
    /// 1 MiB records, 64 fragments.
    fn default() -> Self {
        RecordLimits {
            max_record: 1 << 20,
            max_fragments: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("RPC record of at least {len} bytes exceeds the limit {max}")]
    TooLarge { len: u64, max: usize },
    #[error("RPC record has more than {max} fragments")]
    TooManyFragments { max: usize },
    #[error("RPC record stream already failed")]
    Poisoned,
}

/// Frames `msg` as one record of fragments no longer than `max_fragment` bytes
/// (clamped to 1..=2^31-1). An empty message is one empty last fragment.
pub fn encode_record(msg: &[u8], max_fragment: usize) -> Vec<u8> {
    let max = max_fragment.clamp(1, MAX_FRAGMENT_LEN);
    let nfrags = msg.len().div_ceil(max).max(1);
    let mut out = Vec::with_capacity(msg.len() + 4 * nfrags);
    let mut chunks = msg.chunks(max).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&LAST_FRAGMENT.to_be_bytes());
        return out;
    }
    while let Some(c) = chunks.next() {
        let mut h = c.len() as u32;
        if chunks.peek().is_none() {
            h |= LAST_FRAGMENT;
        }
        out.extend_from_slice(&h.to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// Incremental record reassembler; see the module docs.
#[derive(Debug)]
pub struct RecordReader {
    limits: RecordLimits,
    header: [u8; 4],
    header_len: usize,
    /// Payload bytes still expected for the current fragment.
    frag_left: usize,
    frag_last: bool,
    in_fragment: bool,
    frags: usize,
    record: Vec<u8>,
    done: VecDeque<Vec<u8>>,
    failed: bool,
}

impl RecordReader {
    pub fn new(limits: RecordLimits) -> Self {
        RecordReader {
            limits,
            header: [0; 4],
            header_len: 0,
            frag_left: 0,
            frag_last: false,
            in_fragment: false,
            frags: 0,
            record: Vec::new(),
            done: VecDeque::new(),
            failed: false,
        }
    }

    fn fail<T>(&mut self, e: RecordError) -> Result<T, RecordError> {
        self.failed = true;
        self.record = Vec::new();
        Err(e)
    }

    /// Consumes `data`; complete records become available via [`Self::pop`].
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), RecordError> {
        if self.failed {
            return Err(RecordError::Poisoned);
        }
        loop {
            if !self.in_fragment {
                if data.is_empty() {
                    return Ok(());
                }
                let n = (4 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                self.header_len += n;
                data = &data[n..];
                if self.header_len < 4 {
                    return Ok(());
                }
                self.header_len = 0;
                let h = u32::from_be_bytes(self.header);
                let len = (h & !LAST_FRAGMENT) as usize;
                self.frag_last = h & LAST_FRAGMENT != 0;
                self.frags += 1;
                if self.frags > self.limits.max_fragments {
                    return self.fail(RecordError::TooManyFragments {
                        max: self.limits.max_fragments,
                    });
                }
                let total = self.record.len() as u64 + len as u64;
                if total > self.limits.max_record as u64 {
                    return self.fail(RecordError::TooLarge {
                        len: total,
                        max: self.limits.max_record,
                    });
                }
                self.frag_left = len;
                self.in_fragment = true;
            }
            let n = self.frag_left.min(data.len());
            self.record.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.frag_left -= n;
            if self.frag_left > 0 {
                return Ok(());
            }
            self.in_fragment = false;
            if self.frag_last {
                self.frags = 0;
                self.done.push_back(std::mem::take(&mut self.record));
            }
        }
    }

    /// The next complete record, oldest first.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.done.pop_front()
    }

    /// True if no partial record is buffered (a clean point to stop reading).
    pub fn is_idle(&self) -> bool {
        !self.in_fragment && self.header_len == 0 && self.frags == 0
    }

    pub fn has_failed(&self) -> bool {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn multi_fragment_record() {
        let msg: Vec<u8> = (0..10u8).collect();
        let wire = encode_record(&msg, 4);
        assert_eq!(&wire[..4], &[0, 0, 0, 4]);
        assert_eq!(&wire[16..20], &[0x80, 0, 0, 2]);
        let mut r = RecordReader::new(RecordLimits::default());
        for b in &wire {
            r.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(r.pop().unwrap(), msg);
        assert!(r.pop().is_none());
        assert!(r.is_idle());
    }

    #[test]
    fn huge_fragment_refused_at_header() {
        let mut r = RecordReader::new(RecordLimits::default());
        let e = r.feed(&[0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(matches!(e, RecordError::TooLarge { .. }));
        assert_eq!(r.feed(&[0]), Err(RecordError::Poisoned));
    }

    #[test]
    fn cumulative_size_and_fragment_caps() {
        let lim = RecordLimits {
            max_record: 10,
            max_fragments: 3,
        };
        let mut r = RecordReader::new(lim);
        let mut w = vec![0, 0, 0, 6];
        w.extend([1; 6]);
        w.extend([0, 0, 0, 6]);
        assert!(matches!(r.feed(&w), Err(RecordError::TooLarge { .. })));
        let mut r = RecordReader::new(lim);
        let w = [0u8; 16]; // four empty non-last fragments
        assert!(matches!(
            r.feed(&w),
            Err(RecordError::TooManyFragments { max: 3 })
        ));
    }

    #[test]
    fn empty_record() {
        let mut r = RecordReader::new(RecordLimits::default());
        r.feed(&encode_record(&[], 8)).unwrap();
        assert_eq!(r.pop().unwrap(), Vec::<u8>::new());
    }

    proptest! {
        #[test]
        fn round_trip_any_split(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 1..4),
                                frag in 1usize..40, cut in 1usize..17) {
            let mut wire = Vec::new();
            for m in &msgs { wire.extend(encode_record(m, frag)); }
            let mut r = RecordReader::new(RecordLimits { max_record: 1000, max_fragments: 200 });
            for c in wire.chunks(cut) { r.feed(c).unwrap(); }
            for m in &msgs { prop_assert_eq!(&r.pop().unwrap(), m); }
            prop_assert!(r.pop().is_none());
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut r = RecordReader::new(RecordLimits { max_record: 64, max_fragments: 4 });
            let _ = r.feed(&b);
            while r.pop().is_some() {}
        }
    }
}
