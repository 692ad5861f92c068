//! cargo-fuzz target `mountinfo_utab`; the body is `mountinfo_utab` in fuzz/common/parsers.rs, also run
//! as an ordinary test by tests/fuzz_parser_bodies.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../common/parsers.rs"]
mod parsers;

fuzz_target!(|data: &[u8]| {
    parsers::mountinfo_utab(data);
});
