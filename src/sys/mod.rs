//! sys (placeholder; see the owning issue).
pub mod net;
