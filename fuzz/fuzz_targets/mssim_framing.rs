//! The MS-simulator framing of `evtpm serve` (`mssim::serve_command`, `serve_platform`) over
//! an in-memory connection to a real engine. Input: a chunking byte (see `MemStream::new`), a
//! port byte (bit 0: command or platform port; bit 1 set: the TPM is not started yet), then
//! what the client sends. Nothing may
//! panic, and every `TPM_SEND_COMMAND` answer must be u32 size, a response of exactly that
//! size whose own size field agrees (or nothing, when powered off), then u32 0.
#![no_main]

use evtpm::serve::mssim;
use evtpm_fuzz::be32;
use evtpm_fuzz::stream::{check_wire_response, shared, MemStream};
use libfuzzer_sys::fuzz_target;

/// `TPM_SEND_COMMAND`.
const SEND_COMMAND: u32 = 8;

fuzz_target!(|data: &[u8]| {
    let [chunking, port, stream @ ..] = data else {
        return;
    };
    let sh = shared(port & 2 == 0);
    let mut s = MemStream::new(*chunking, stream);
    let platform = port & 1 == 1;
    let _ = if platform {
        mssim::serve_platform(&mut s, &sh)
    } else {
        mssim::serve_command(&mut s, &sh)
    };
    if platform {
        return;
    }
    // Each frame is read whole before its answer is written, and nothing of the next frame is
    // read before that: the input between two writes is the frame the later write answers.
    let stream = s.payload();
    let mut start = 0;
    for (pos, w) in &s.writes {
        let frame = &stream[start..*pos];
        start = *pos;
        if frame.len() < 4 || be32(frame) != SEND_COMMAND {
            continue;
        }
        assert!(w.len() >= 8, "TPM_SEND_COMMAND answer of {} bytes", w.len());
        let n = be32(w) as usize;
        assert_eq!(
            n + 8,
            w.len(),
            "answer length field {n} for {} bytes",
            w.len()
        );
        assert_eq!(&w[4 + n..], &[0; 4], "answer does not end with u32 0");
        if n > 0 {
            check_wire_response(&w[4..4 + n]);
        }
    }
});
