//! spec (placeholder).
