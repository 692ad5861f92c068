//! cargo-fuzz target `negotiate`; the body is `negotiate` in fuzz/common/parsers.rs, also run
//! as an ordinary test by tests/fuzz_parser_bodies.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../common/parsers.rs"]
mod parsers;

fuzz_target!(|data: &[u8]| {
    parsers::negotiate(data);
});
