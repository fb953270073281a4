//! Unmarshals arbitrary bytes as one of the Part 2 structures of `tpm-proto` (the first byte
//! chooses which) and, when that succeeds, re-marshals into a 4096-byte buffer and unmarshals
//! again: the bytes must be the ones consumed and the value must be equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tpm_proto::roundtrip;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    if let Err(m) = roundtrip::check(kind, bytes) {
        panic!("round trip of {} failed at {}", m.kind, m.stage);
    }
});
