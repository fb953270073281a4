//! Small byte-level helpers shared by the server and the bench client.

use std::io::{self, Read};
use std::time::Instant;
use tpm_proto::HEADER_SIZE;

/// `TPM2_Startup(TPM_SU_CLEAR)`.
pub const STARTUP_CLEAR: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0];

/// `TPM_ST_NO_SESSIONS`.
const ST_NO_SESSIONS: u16 = 0x8001;

/// Writes a header-only response (`TPM_ST_NO_SESSIONS`, size 10, `rc`) into `buf`; returns its
/// length (0 if `buf` is shorter than a header).
pub fn write_response_header(buf: &mut [u8], rc: u32) -> usize {
    let Some(h) = buf.get_mut(..HEADER_SIZE) else {
        return 0;
    };
    h[..2].copy_from_slice(&ST_NO_SESSIONS.to_be_bytes());
    h[2..6].copy_from_slice(&(HEADER_SIZE as u32).to_be_bytes());
    h[6..10].copy_from_slice(&rc.to_be_bytes());
    HEADER_SIZE
}

/// A header-only response carrying `rc`.
pub fn error_response(rc: u32) -> [u8; HEADER_SIZE] {
    let mut b = [0u8; HEADER_SIZE];
    write_response_header(&mut b, rc);
    b
}

/// The size field of a command or response header.
pub fn header_size(header: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(header.get(2..6)?.try_into().ok()?))
}

/// The response code of a response, if it has a well-formed header: a known tag and a size
/// field equal to its length.
pub fn response_code(rsp: &[u8]) -> Option<u32> {
    let tag = u16::from_be_bytes(rsp.get(..2)?.try_into().ok()?);
    if !(tag == 0x8001 || tag == 0x8002 || tag == 0x00C4) || header_size(rsp)? as usize != rsp.len()
    {
        return None;
    }
    Some(u32::from_be_bytes(rsp.get(6..10)?.try_into().ok()?))
}

pub fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

/// Whether an I/O error is a receive timeout (`SO_RCVTIMEO` surfaces as either kind).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How long a connection may sit between frames and within one.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Whole-frame limit once its first byte has arrived.
    pub frame: std::time::Duration,
    /// Limit on silence between frames; `None` keeps idle connections forever (QEMU and
    /// long-lived TSS clients hold theirs for their whole life).
    pub idle: Option<std::time::Duration>,
}

/// Reads the first `buf.len()` bytes of a frame. Before the first byte arrives the connection
/// is idle: receive timeouts (the socket's `SO_RCVTIMEO`, set by the caller to a short poll
/// interval) only check `stop` and the idle limit. Returns `Ok(false)` on a clean close before
/// the frame starts; once it has started, the rest must arrive within the frame limit.
pub fn read_frame_start<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    d: &Deadlines,
    stop: &dyn Fn() -> bool,
) -> io::Result<bool> {
    let Some(first) = read_some(r, buf, d, stop)? else {
        return Ok(false);
    };
    read_exact_by(r, &mut buf[first..], Instant::now() + d.frame)?;
    Ok(true)
}

/// Waits (within the idle limit) for one read of at least one byte into `buf`; `None` when the
/// peer closed the connection.
pub fn read_some<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    d: &Deadlines,
    stop: &dyn Fn() -> bool,
) -> io::Result<Option<usize>> {
    let idle_since = Instant::now();
    loop {
        if stop() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "server stopping",
            ));
        }
        match r.read(buf) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if d.idle.is_some_and(|idle| idle_since.elapsed() >= idle) {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// `read_exact` with an overall deadline (a trickling client cannot hold a frame open longer).
pub fn read_exact_by<R: Read>(r: &mut R, mut buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    while !buf.is_empty() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "frame timeout"));
        }
        match r.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads and discards `n` bytes by `deadline`.
pub fn discard_by<R: Read>(r: &mut R, mut n: u64, deadline: Instant) -> io::Result<()> {
    let mut scratch = [0u8; 4096];
    while n > 0 {
        let take = n.min(scratch.len() as u64) as usize;
        read_exact_by(r, &mut scratch[..take], deadline)?;
        n -= take as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_is_a_well_formed_header() {
        let r = error_response(0x142);
        assert_eq!(r, [0x80, 1, 0, 0, 0, 10, 0, 0, 1, 0x42]);
        assert_eq!(response_code(&r), Some(0x142));
        assert_eq!(response_code(&r[..9]), None);
        assert_eq!(write_response_header(&mut [0u8; 9], 0), 0);
    }

    #[test]
    fn frame_start_distinguishes_clean_close_from_truncation() {
        let d = Deadlines {
            frame: std::time::Duration::from_secs(1),
            idle: None,
        };
        let mut buf = [0u8; 4];
        assert!(!read_frame_start(&mut &[][..], &mut buf, &d, &|| false).unwrap());
        let e = read_frame_start(&mut &[1u8, 2][..], &mut buf, &d, &|| false).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(read_frame_start(&mut &[1u8, 2, 3, 4, 5][..], &mut buf, &d, &|| false).unwrap());
        assert_eq!(buf, [1, 2, 3, 4]);
    }
}
