//! options (placeholder; see the owning issue).
