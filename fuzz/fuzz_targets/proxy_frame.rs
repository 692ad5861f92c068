//! rpcproxyd's frame decoder: arbitrary bytes in arbitrary chunks never panic, never
//! buffer beyond the cap, and every decoded frame re-encodes to itself.
//! The body is `nfsmount::proxywire::fuzz_body`, also run as a property test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nfsmount::proxywire::fuzz_body(data);
});
