//! utab (placeholder).
