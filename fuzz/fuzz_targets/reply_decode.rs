#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../common/bodies.rs"]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::reply_decode(data));
