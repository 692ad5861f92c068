//! xdr (placeholder).
