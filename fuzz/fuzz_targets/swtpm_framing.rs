//! The swtpm socket framing of `evtpm serve` (`swtpm::serve_data`, `serve_ctrl`) over in-memory
//! connections to a real engine. Input: a chunking byte (see `MemStream::new`), a mode byte
//! (mod 3: data channel; control channel; control channel then data channel, split at the
//! following u16; mode / 3 odd: the TPM is not started yet), then what the client sends. Nothing may panic, and every response on the
//! data channel must be a well-formed TPM response whose size field equals its length.
#![no_main]

use evtpm::serve::{swtpm, SwtpmLocality};
use evtpm_fuzz::stream::{check_wire_response, shared, MemStream};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let [chunking, mode, rest @ ..] = data else {
        return;
    };
    let (ctrl, data_ch): (&[u8], &[u8]) = match mode % 3 {
        0 => (&[], rest),
        1 => (rest, &[]),
        _ => {
            let [hi, lo, rest @ ..] = rest else {
                return;
            };
            rest.split_at((usize::from(*hi) << 8 | usize::from(*lo)).min(rest.len()))
        }
    };
    let sh = Arc::new(shared((mode / 3) & 1 == 0));
    if !ctrl.is_empty() {
        let mut s = MemStream::new(*chunking, ctrl);
        let _ = swtpm::serve_ctrl(&mut s, &sh);
        for (_, w) in &s.writes {
            assert!(w.len() >= 4, "control reply of {} bytes", w.len());
        }
    }
    if !data_ch.is_empty() {
        let mut s = MemStream::new(*chunking, data_ch);
        let _ = swtpm::serve_data(&mut s, &sh, &SwtpmLocality::Instance);
        for (_, w) in &s.writes {
            check_wire_response(w);
        }
    }
});
