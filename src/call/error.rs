//! [`RpcError`]: why a call failed, with enough detail to reproduce nfs-utils'
//! decisions and libtirpc's messages.
//!
//! Every error maps to a libtirpc `clnt_stat` ([`RpcError::clnt_stat`]);
//! [`RpcError::clnt_sperrno_text`] gives the text `clnt_sperrno()` prints for it and
//! [`RpcError::clnt_sperror`] the longer `clnt_sperror()` form with the errno,
//! version range or auth reason appended.
//!
//! TCP connect failures are mapped the way nfs-utils' getport code does:
//! ETIMEDOUT → RPC_TIMEDOUT, ECONNREFUSED → RPC_CANTRECV, other errnos →
//! RPC_SYSTEMERROR.
use crate::rpc::AuthStat;
use nix::errno::Errno;
use thiserror::Error;

/// libtirpc's `enum clnt_stat` values we produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ClntStat {
    Success = 0,
    CantEncodeArgs = 1,
    CantDecodeRes = 2,
    CantSend = 3,
    CantRecv = 4,
    TimedOut = 5,
    VersMismatch = 6,
    AuthError = 7,
    ProgUnavail = 8,
    ProgVersMismatch = 9,
    ProcUnavail = 10,
    CantDecodeArgs = 11,
    SystemError = 12,
    UnknownHost = 13,
    PmapFailure = 14,
    ProgNotRegistered = 15,
    Failed = 16,
    UnknownProto = 17,
    N2AXlateFailure = 22,
}

impl ClntStat {
    /// libtirpc's `clnt_sperrno()` text.
    pub fn text(self) -> &'static str {
        use ClntStat::*;
        match self {
            Success => "RPC: Success",
            CantEncodeArgs => "RPC: Can't encode arguments",
            CantDecodeRes => "RPC: Can't decode result",
            CantSend => "RPC: Unable to send",
            CantRecv => "RPC: Unable to receive",
            TimedOut => "RPC: Timed out",
            VersMismatch => "RPC: Incompatible versions of RPC",
            AuthError => "RPC: Authentication error",
            ProgUnavail => "RPC: Program unavailable",
            ProgVersMismatch => "RPC: Program/version mismatch",
            ProcUnavail => "RPC: Procedure unavailable",
            CantDecodeArgs => "RPC: Server can't decode arguments",
            SystemError => "RPC: Remote system error",
            UnknownHost => "RPC: Unknown host",
            PmapFailure => "RPC: Port mapper failure",
            ProgNotRegistered => "RPC: Program not registered",
            Failed => "RPC: Failed (unspecified error)",
            UnknownProto => "RPC: Unknown protocol",
            // libtirpc's text table stops at 17.
            N2AXlateFailure => "RPC: (unknown error code)",
        }
    }
}

/// Why an RPC failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpcError {
    /// rpcbind said the program/version/transport is not registered (port 0 or
    /// empty universal address).
    #[error("RPC: Program not registered")]
    ProgNotRegistered,
    /// No reply within the call's total timeout.
    #[error("RPC: Timed out")]
    TimedOut,
    #[error("RPC: Unable to send; errno = {}", crate::error::strerror(*.0))]
    CantSend(Errno),
    #[error("RPC: Unable to receive; errno = {}", crate::error::strerror(*.0))]
    CantRecv(Errno),
    /// TCP connect failed (ETIMEDOUT when the connect timeout expired).
    #[error("cannot connect: {}", crate::error::strerror(*.0))]
    CantConnect(Errno),
    #[error("RPC: Program unavailable")]
    ProgUnavail,
    #[error("RPC: Program/version mismatch; low version = {low}, high version = {high}")]
    ProgVersMismatch { low: u32, high: u32 },
    #[error("RPC: Procedure unavailable")]
    ProcUnavail,
    #[error("RPC: Server can't decode arguments")]
    GarbageArgs,
    /// The server answered SYSTEM_ERR.
    #[error("RPC: Remote system error")]
    SystemErr,
    /// The server does not speak RPC version 2.
    #[error("RPC: Incompatible versions of RPC; low version = {low}, high version = {high}")]
    RpcVersMismatch { low: u32, high: u32 },
    #[error("RPC: Authentication error; why = {0}")]
    AuthError(AuthStat),
    /// The reply (or its record framing) could not be decoded.
    #[error("RPC: Can't decode result ({0})")]
    Decode(String),
    /// The arguments or credential violate protocol limits.
    #[error("RPC: Can't encode arguments ({0})")]
    CantEncodeArgs(String),
    /// rpcbind returned a malformed universal address.
    #[error("RPC: malformed universal address {0:?}")]
    N2AXlateFailure(String),
    /// No reserved source port could be bound: EACCES/EPERM when the process lacks
    /// the privilege (not root), EADDRINUSE when every port in 512–1023 outside the
    /// blacklist is taken. libtirpc reports this as RPC_SYSTEMERROR.
    #[error("cannot bind a reserved port: {}{}", crate::error::strerror(*.0), if matches!(.0, Errno::EACCES | Errno::EPERM) { " (needs root)" } else { "" })]
    ReservedPort(Errno),
    /// Any other local failure (socket(), bind(), ...).
    #[error("RPC: Remote system error - {}", crate::error::strerror(*.0))]
    SystemError(Errno),
    /// A backend declined the call (e.g. rpcproxyd not running); the client tries
    /// the next backend. Never returned when at least one backend handled the call.
    #[error("no RPC backend available")]
    BackendUnavailable,
}

impl RpcError {
    /// The libtirpc status this error corresponds to.
    pub fn clnt_stat(&self) -> ClntStat {
        use RpcError::*;
        match self {
            ProgNotRegistered => ClntStat::ProgNotRegistered,
            TimedOut => ClntStat::TimedOut,
            CantSend(_) => ClntStat::CantSend,
            CantRecv(_) => ClntStat::CantRecv,
            CantConnect(Errno::ETIMEDOUT) => ClntStat::TimedOut,
            CantConnect(Errno::ECONNREFUSED) => ClntStat::CantRecv,
            CantConnect(_) => ClntStat::SystemError,
            ProgUnavail => ClntStat::ProgUnavail,
            ProgVersMismatch { .. } => ClntStat::ProgVersMismatch,
            ProcUnavail => ClntStat::ProcUnavail,
            GarbageArgs => ClntStat::CantDecodeArgs,
            SystemErr => ClntStat::SystemError,
            RpcVersMismatch { .. } => ClntStat::VersMismatch,
            AuthError(_) => ClntStat::AuthError,
            Decode(_) => ClntStat::CantDecodeRes,
            CantEncodeArgs(_) => ClntStat::CantEncodeArgs,
            N2AXlateFailure(_) => ClntStat::N2AXlateFailure,
            SystemError(_) | ReservedPort(_) => ClntStat::SystemError,
            BackendUnavailable => ClntStat::Failed,
        }
    }

    /// libtirpc's `clnt_sperrno()` text for [`Self::clnt_stat`], e.g.
    /// "RPC: Program not registered".
    pub fn clnt_sperrno_text(&self) -> &'static str {
        self.clnt_stat().text()
    }

    /// The errno carried by socket-level failures.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            RpcError::CantSend(e)
            | RpcError::CantRecv(e)
            | RpcError::CantConnect(e)
            | RpcError::SystemError(e)
            | RpcError::ReservedPort(e) => Some(*e),
            _ => None,
        }
    }

    /// `clnt_sperror(clnt, prefix)`-style text: `"<prefix>: <sperrno>"` plus the detail
    /// libtirpc appends for the status.
    pub fn clnt_sperror(&self, prefix: &str) -> String {
        let mut s = format!("{prefix}: {}", self.clnt_sperrno_text());
        match self {
            RpcError::CantSend(e) | RpcError::CantRecv(e) => {
                s.push_str(&format!("; errno = {}", crate::error::strerror(*e)))
            }
            RpcError::CantConnect(e) if self.clnt_stat() == ClntStat::CantRecv => {
                s.push_str(&format!("; errno = {}", crate::error::strerror(*e)))
            }
            RpcError::ProgVersMismatch { low, high } | RpcError::RpcVersMismatch { low, high } => {
                s.push_str(&format!("; low version = {low}, high version = {high}"))
            }
            RpcError::AuthError(why) => s.push_str(&format!("; why = {why}")),
            _ => {}
        }
        s
    }

    /// What went wrong, in words for a diagnosis line (not nfs-utils' text: that is
    /// [`Self::clnt_sperror`]). Names the socket step for connect failures, which
    /// libtirpc folds into "Unable to receive" or "Timed out", and says what
    /// libtirpc's "(unknown error code)" stands for.
    pub fn reason(&self) -> String {
        use crate::error::strerror;
        match self {
            RpcError::CantConnect(e) => format!("cannot connect ({})", strerror(*e)),
            RpcError::CantRecv(e) => format!("receive failed ({})", strerror(*e)),
            RpcError::CantSend(e) => format!("cannot send ({})", strerror(*e)),
            RpcError::TimedOut => "timed out".into(),
            RpcError::N2AXlateFailure(u) => {
                format!("rpcbind answered a malformed address {u:?}")
            }
            RpcError::Decode(why) => format!("undecodable reply ({why})"),
            RpcError::ReservedPort(_) | RpcError::SystemError(_) => self.to_string(),
            _ => self
                .clnt_sperror("RPC")
                .trim_start_matches("RPC: ")
                .to_string(),
        }
    }

    /// True for failures after which the same call on a fresh connection may work
    /// (the connection died under us).
    pub(crate) fn is_connection_loss(&self) -> bool {
        matches!(
            self,
            RpcError::CantRecv(Errno::ECONNRESET | Errno::EPIPE | Errno::ENOTCONN)
                | RpcError::CantSend(Errno::ECONNRESET | Errno::EPIPE | Errno::ENOTCONN)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_mappings() {
        assert_eq!(
            RpcError::ProgNotRegistered.clnt_sperrno_text(),
            "RPC: Program not registered"
        );
        assert_eq!(RpcError::TimedOut.clnt_sperrno_text(), "RPC: Timed out");
        assert_eq!(
            RpcError::CantConnect(Errno::ECONNREFUSED).clnt_stat(),
            ClntStat::CantRecv
        );
        assert_eq!(
            RpcError::CantConnect(Errno::ETIMEDOUT).clnt_sperrno_text(),
            "RPC: Timed out"
        );
        assert_eq!(
            RpcError::ProgUnavail.clnt_sperrno_text(),
            "RPC: Program unavailable"
        );
        assert_eq!(
            RpcError::CantRecv(Errno::ECONNREFUSED).clnt_sperror("x"),
            "x: RPC: Unable to receive; errno = Connection refused"
        );
        assert_eq!(
            RpcError::ProgVersMismatch { low: 2, high: 3 }.clnt_sperror("p"),
            "p: RPC: Program/version mismatch; low version = 2, high version = 3"
        );
        assert_eq!(
            RpcError::AuthError(AuthStat::TOOWEAK).clnt_sperror("p"),
            "p: RPC: Authentication error; why = Client credential too weak"
        );
        assert_eq!(ClntStat::N2AXlateFailure as u32, 22);
    }

    #[test]
    fn reasons_name_the_step() {
        assert_eq!(
            RpcError::CantConnect(Errno::ECONNREFUSED).reason(),
            "cannot connect (Connection refused)"
        );
        assert_eq!(
            RpcError::CantConnect(Errno::ETIMEDOUT).reason(),
            "cannot connect (Connection timed out)"
        );
        assert_eq!(
            RpcError::N2AXlateFailure("10.0.0".into()).reason(),
            "rpcbind answered a malformed address \"10.0.0\""
        );
        assert_eq!(
            RpcError::ProgVersMismatch { low: 2, high: 3 }.reason(),
            "Program/version mismatch; low version = 2, high version = 3"
        );
        assert_eq!(
            RpcError::ProgNotRegistered.reason(),
            "Program not registered"
        );
    }
}
