//! proto (placeholder; see the owning issue).
