//! sys (placeholder; see the owning issue).
