//! NFS program NULL procedure, the reachability "ping" for versions 3 and 4.
//! Both the arguments and the result are void (empty XDR).
#![forbid(unsafe_code)]

use crate::xdr::XdrError;

pub const VERSION3: u32 = 3;
pub const VERSION4: u32 = 4;
pub const PROC_NULL: u32 = 0;
/// The standard NFS port.
pub const NFS_PORT: u16 = 2049;

/// A void result must be empty.
pub fn decode_void(b: &[u8]) -> Result<(), XdrError> {
    if b.is_empty() {
        Ok(())
    } else {
        Err(XdrError::Trailing(b.len()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn void() {
        assert!(super::decode_void(&[]).is_ok());
        assert!(super::decode_void(&[0, 0, 0, 0]).is_err());
    }
}
