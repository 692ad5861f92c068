//! rpcproxyd (placeholder until its issue lands).

/// Entry point of the rpcproxyd binary; returns the exit status.
pub fn daemon_main() -> i32 {
    eprintln!("rpcproxyd: not implemented yet");
    1
}
