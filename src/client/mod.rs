//! client (placeholder; see the owning issue).
