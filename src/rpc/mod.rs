//! ONC RPC version 2 (RFC 5531), sans-IO.
//!
//! * [`auth`]: credentials and verifiers (AUTH_NONE, AUTH_SYS; others kept opaque).
//! * [`msg`]: call and reply messages, every accept and reject status.
//! * [`record`]: TCP record marking — an encoder that splits into fragments and an
//!   incremental reassembler that can be fed arbitrary partial reads.
//!
//! Nothing here touches a socket or a clock; the transports in `sys::net` and the
//! client in `client` drive these codecs. Every length read from the wire is checked
//! against a fixed cap before anything is allocated, and malformed input yields a
//! typed error, never a panic (see the fuzz targets in `fuzz/`).
#![forbid(unsafe_code)]

pub mod auth;
pub mod msg;
pub mod record;

pub use auth::{AuthStat, AuthSys, Credential, OpaqueAuth};
pub use msg::{AcceptStat, CallHeader, RejectStat, Reply, ReplyBody, RpcDecodeError};
pub use record::{RecordError, RecordLimits, RecordReader};
