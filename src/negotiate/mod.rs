//! negotiate (placeholder).
