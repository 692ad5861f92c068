//! conf (placeholder; see the owning issue).
