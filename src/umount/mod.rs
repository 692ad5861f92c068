//! umount (placeholder; see the owning issue).
