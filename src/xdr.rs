//! XDR (RFC 4506) primitives: an append-only [`Encoder`] and a bounds-checked [`Decoder`].
//!
//! Design:
//! * Everything is big-endian and padded to 4-byte units, as the standard requires.
//! * The decoder never trusts a length from the wire: every variable-length item is read
//!   with an explicit caller-supplied cap, and the cap *and* the remaining input are
//!   checked before any allocation. A hostile length therefore costs nothing.
//! * Padding bytes must be zero on decode (strict; RFC 4506 says they are zero).
//! * Errors are typed ([`XdrError`]); no input can make the decoder panic.
#![forbid(unsafe_code)]

use thiserror::Error;

/// Why an XDR item could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XdrError {
    /// The input ended inside an item.
    #[error("XDR: input truncated (needed {needed} bytes, {left} left)")]
    Truncated { needed: usize, left: usize },
    /// A length prefix exceeds the cap for that item.
    #[error("XDR: length {len} exceeds the limit {max}")]
    TooLong { len: u64, max: usize },
    /// A boolean was neither 0 nor 1.
    #[error("XDR: invalid boolean {0}")]
    BadBool(u32),
    /// An enum discriminant is not one the protocol defines.
    #[error("XDR: invalid value {value} for {what}")]
    BadEnum { what: &'static str, value: u32 },
    /// Non-zero padding bytes.
    #[error("XDR: non-zero padding")]
    BadPadding,
    /// A string was not valid UTF-8 where text is required.
    #[error("XDR: string is not valid UTF-8")]
    BadUtf8,
    /// Bytes were left over after the last item.
    #[error("XDR: {0} trailing bytes")]
    Trailing(usize),
    /// A value did not meet a protocol constraint (e.g. too many list entries).
    #[error("XDR: {0}")]
    Invalid(&'static str),
}

/// Bytes of padding after `len` bytes of data.
pub fn pad_len(len: usize) -> usize {
    (4 - (len % 4)) % 4
}

/// Append-only XDR writer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_capacity(n: usize) -> Self {
        Encoder {
            buf: Vec::with_capacity(n),
        }
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(u32::from(v))
    }
    /// Fixed-length opaque: the bytes plus padding, no length prefix.
    pub fn opaque_fixed(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(&[0u8; 3][..pad_len(data.len())]);
        self
    }
    /// Variable-length opaque: length prefix, bytes, padding.
    ///
    /// # Panics
    /// Never for inputs below 4 GiB; longer slices are a caller bug and are truncated
    /// by the cast check below (we assert instead of writing a wrong length).
    pub fn opaque(&mut self, data: &[u8]) -> &mut Self {
        let len = u32::try_from(data.len()).expect("XDR opaque longer than 4 GiB");
        self.u32(len);
        self.opaque_fixed(data)
    }
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.opaque(s.as_bytes())
    }
    /// Raw bytes already in XDR form (e.g. pre-encoded arguments).
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Bounds-checked XDR reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// The unconsumed tail (e.g. a procedure result after the RPC header).
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// Current offset from the start.
    pub fn position(&self) -> usize {
        self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        if n > self.remaining() {
            return Err(XdrError::Truncated {
                needed: n,
                left: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn i32(&mut self) -> Result<i32, XdrError> {
        Ok(self.u32()? as i32)
    }
    pub fn u64(&mut self) -> Result<u64, XdrError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        Ok((hi << 32) | lo)
    }
    pub fn bool(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(XdrError::BadBool(v)),
        }
    }
    fn padding(&mut self, len: usize) -> Result<(), XdrError> {
        let p = self.take(pad_len(len))?;
        if p.iter().any(|&b| b != 0) {
            return Err(XdrError::BadPadding);
        }
        Ok(())
    }
    /// Fixed-length opaque of exactly `n` bytes (plus padding).
    pub fn opaque_fixed(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let d = self.take(n)?;
        self.padding(n)?;
        Ok(d)
    }
    /// Variable-length opaque of at most `max` bytes, borrowed from the input.
    pub fn opaque_ref(&mut self, max: usize) -> Result<&'a [u8], XdrError> {
        let len = self.u32()?;
        if len as u64 > max as u64 {
            return Err(XdrError::TooLong {
                len: u64::from(len),
                max,
            });
        }
        self.opaque_fixed(len as usize)
    }
    /// Variable-length opaque of at most `max` bytes, copied. The copy happens only
    /// after the length passed both the cap and the remaining-input check.
    pub fn opaque(&mut self, max: usize) -> Result<Vec<u8>, XdrError> {
        self.opaque_ref(max).map(<[u8]>::to_vec)
    }
    /// String of at most `max` bytes that must be UTF-8.
    pub fn string(&mut self, max: usize) -> Result<String, XdrError> {
        let b = self.opaque_ref(max)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| XdrError::BadUtf8)
    }
    /// Array length prefix, checked against `max` entries and against the input left
    /// (each entry takes at least `min_entry_size` bytes), so a caller may safely
    /// `Vec::with_capacity` the result.
    pub fn array_len(&mut self, max: usize, min_entry_size: usize) -> Result<usize, XdrError> {
        let n = self.u32()?;
        if n as u64 > max as u64 {
            return Err(XdrError::TooLong {
                len: u64::from(n),
                max,
            });
        }
        let n = n as usize;
        let need = n.saturating_mul(min_entry_size.max(1));
        if need > self.remaining() {
            return Err(XdrError::Truncated {
                needed: need,
                left: self.remaining(),
            });
        }
        Ok(n)
    }
    /// Succeeds only if all input was consumed.
    pub fn finish(&self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::Trailing(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padding_and_lengths() {
        let mut e = Encoder::new();
        e.opaque(b"abcde").string("").u32(7).bool(true).u64(1 << 40);
        let b = e.into_bytes();
        assert_eq!(
            &b[..12],
            &[0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]
        );
        let mut d = Decoder::new(&b);
        assert_eq!(d.opaque(5).unwrap(), b"abcde");
        assert_eq!(d.string(0).unwrap(), "");
        assert_eq!(d.u32().unwrap(), 7);
        assert!(d.bool().unwrap());
        assert_eq!(d.u64().unwrap(), 1 << 40);
        d.finish().unwrap();
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        let b = [0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            Decoder::new(&b).opaque(1024),
            Err(XdrError::TooLong { .. })
        ));
        // Within the cap but beyond the input.
        let b = [0, 0, 0, 100, 1, 2];
        assert!(matches!(
            Decoder::new(&b).opaque(1024),
            Err(XdrError::Truncated { .. })
        ));
        let b = [0, 0, 0, 200];
        assert!(matches!(
            Decoder::new(&b).array_len(1000, 4),
            Err(XdrError::Truncated { .. })
        ));
    }

    #[test]
    fn strict_bool_and_padding() {
        assert_eq!(
            Decoder::new(&[0, 0, 0, 2]).bool(),
            Err(XdrError::BadBool(2))
        );
        let b = [0, 0, 0, 1, b'x', 0, 1, 0];
        assert_eq!(Decoder::new(&b).opaque(4), Err(XdrError::BadPadding));
        assert_eq!(Decoder::new(&[1, 2]).finish(), Err(XdrError::Trailing(2)));
    }

    proptest! {
        #[test]
        fn opaque_round_trip(v in proptest::collection::vec(any::<u8>(), 0..64), n in any::<u32>()) {
            let mut e = Encoder::new();
            e.opaque(&v).u32(n);
            let b = e.into_bytes();
            prop_assert_eq!(b.len() % 4, 0);
            let mut d = Decoder::new(&b);
            prop_assert_eq!(d.opaque(64).unwrap(), v);
            prop_assert_eq!(d.u32().unwrap(), n);
            prop_assert!(d.finish().is_ok());
        }

        #[test]
        fn decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut d = Decoder::new(&b);
            let _ = d.string(16);
            let _ = d.opaque(usize::MAX);
            let _ = d.array_len(usize::MAX, 0);
            let _ = d.u64();
        }
    }
}
