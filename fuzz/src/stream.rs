//! An in-memory connection for the `evtpm serve` framing targets: reads return the input in
//! chunks the fuzzer chooses (with the odd timeout or interruption in between), then EOF;
//! writes are recorded with how much input had been read when they happened.

use evtpm::serve::machine::Machine;
use evtpm::serve::swtpm::CtrlStream;
use evtpm::serve::Shared;
use evtpm::wire::Deadlines;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

#[derive(Debug)]
pub struct MemStream {
    payload: Vec<u8>,
    pos: usize,
    /// Framed mode: where each read must stop (ascending ends of the records).
    ends: Vec<usize>,
    /// xorshift state choosing chunk sizes and faults; 0 = every read takes all it can.
    rng: u32,
    /// Largest chunk.
    max_chunk: usize,
    /// Each write, with the payload position at the time.
    pub writes: Vec<(usize, Vec<u8>)>,
}

/// `chunking` value of framed mode.
pub const FRAMED: u8 = 0xFF;

impl MemStream {
    /// A stream over `input`. `chunking` 0 reads greedily; [`FRAMED`] takes `input` as records
    /// (u16 length, bytes) and returns each with one read (swtpm takes one receive as one
    /// message); anything else seeds random chunk sizes (odd: 1..=8 bytes, even: 1..=1024) with
    /// occasional `WouldBlock`/`Interrupted`.
    pub fn new(chunking: u8, input: &[u8]) -> Self {
        let (mut payload, mut ends) = (Vec::new(), Vec::new());
        if chunking == FRAMED {
            let mut rest = input;
            while let [hi, lo, tail @ ..] = rest {
                let n = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
                payload.extend_from_slice(&tail[..n]);
                ends.push(payload.len());
                rest = &tail[n..];
            }
        } else {
            payload.extend_from_slice(input);
        }
        let rng = match chunking {
            0 | FRAMED => 0,
            c => u32::from(c).wrapping_mul(0x9E37_79B9) | 1,
        };
        MemStream {
            payload,
            pos: 0,
            ends,
            rng,
            max_chunk: if chunking & 1 == 1 { 8 } else { 1024 },
            writes: Vec::new(),
        }
    }

    /// The bytes the peer sends, in order.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    fn next(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = buf.len().min(self.payload.len() - self.pos);
        if let Some(end) = self.ends.iter().find(|&&e| e > self.pos) {
            n = n.min(end - self.pos);
        }
        if self.rng != 0 {
            let r = self.next();
            match r % 32 {
                0 => return Err(io::ErrorKind::WouldBlock.into()),
                1 => return Err(io::ErrorKind::Interrupted.into()),
                _ => n = n.min(1 + (r >> 8) as usize % self.max_chunk),
            }
        }
        buf[..n].copy_from_slice(&self.payload[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.push((self.pos, buf.to_vec()));
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl CtrlStream for MemStream {
    const PASSES_FDS: bool = false;
    fn recv_msg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        Ok((self.read(buf)?, None))
    }
}

/// Server state around a freshly manufactured engine, started already when `startup_clear`
/// (`evtpm serve --startup clear`). Deadlines never expire: the stream never stalls.
pub fn shared(startup_clear: bool) -> Shared {
    let machine = Machine::new(Box::new(crate::manufacture()), startup_clear);
    let deadlines = Deadlines {
        frame: Duration::from_secs(3600),
        idle: None,
    };
    Shared::new(machine, deadlines, 4).0
}

/// Asserts that `rsp`, a response as written to a client, is a well-formed TPM response: at
/// least a header, size field equal to its length, a response tag, errors header-only.
pub fn check_wire_response(rsp: &[u8]) {
    assert!(
        rsp.len() >= 10,
        "response shorter than a header: {rsp:02x?}"
    );
    assert_eq!(
        crate::be32(&rsp[2..6]) as usize,
        rsp.len(),
        "size field disagrees with length: {rsp:02x?}"
    );
    let tag = crate::be16(rsp);
    assert!(
        tag == crate::ST_NO_SESSIONS || tag == crate::ST_SESSIONS,
        "tag {tag:#06x}"
    );
    if crate::rc(rsp) != 0 {
        assert_eq!(rsp.len(), 10, "error response with a body: {rsp:02x?}");
    }
}
