//! rpcproxyd: local daemon sharing outbound RPC connections.
fn main() {
    std::process::exit(nfsmount::proxy::daemon_main());
}
