//! cargo-fuzz target `conf`; the body is `conf` in fuzz/common/parsers.rs, also run
//! as an ordinary test by tests/fuzz_parser_bodies.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../common/parsers.rs"]
mod parsers;

fuzz_target!(|data: &[u8]| {
    parsers::conf(data);
});
