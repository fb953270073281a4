//! A structure-aware sequence of commands on a fresh TPM (see `evtpm_fuzz::seq`): every
//! response well formed, resources within the configuration at the end, and a second fresh TPM
//! given the same sequence answers exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    evtpm_fuzz::seq::check(data);
});
