//! rpcproxyd's frame decoder: arbitrary bytes in arbitrary chunks never panic, never
//! buffer beyond the cap, and every decoded frame re-encodes to itself.
//! Add to fuzz/Cargo.toml (the fuzz crate from the rpc branch):
//!   [[bin]] name = "proxy_frame", path = "fuzz_targets/proxy_frame.rs",
//!   test = false, doc = false, bench = false
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nfsmount::proxy::frame::fuzz_body(data);
});
