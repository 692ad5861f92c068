//! rpc (placeholder; see the owning issue).
