//! mount (placeholder; see the owning issue).
