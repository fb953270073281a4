//! Hostile guests against the SVSM dispatcher (see `evtpm_fuzz::svsm`): sequences of guest
//! memory writes and SVSM calls of every protocol; the SVSM's memory stays untouched, calls
//! complete, failed calls change no register.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    evtpm_fuzz::svsm::check(data);
});
