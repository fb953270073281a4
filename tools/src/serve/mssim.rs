//! The Microsoft TPM 2.0 simulator's TCP protocol, as the reference simulator's `TcpServer.c`
//! serves it and tpm2-tss's `mssim` TCTI and the IBM TSS speak it. Every integer is big-endian.
//!
//! * Command port: `TPM_SEND_COMMAND` (u32 8, u8 locality, u32 size, command) is answered with
//!   u32 size, response, u32 0. `TPM_REMOTE_HANDSHAKE`, `TPM_SET_ALTERNATIVE_RESULT`,
//!   `TPM_SESSION_END` (close) and `TPM_STOP` (exit) as in the reference; the platform signals
//!   below are accepted here too. Anything else closes the connection, as the reference does.
//! * Platform port (command port + 1): each u32 signal is answered with a u32 0, or 1 when the
//!   signal is not supported; an unknown signal is answered with 1 and closes the connection.

use super::{Shared, Stop, TPM_RC_COMMAND_SIZE, TPM_RC_FAILURE};
use crate::wire::{self, read_exact_by, read_frame_start};
use std::io::{self, Read, Write};
use std::time::Instant;
use tpm_proto::framing::mssim::*;
use tpm_proto::{MAX_COMMAND_SIZE, MAX_RESPONSE_SIZE};

/// Server version answered to `TPM_REMOTE_HANDSHAKE`.
const SERVER_VERSION: u32 = 1;
/// `TpmEndPointInfo` flags of the handshake: platform available (0x01), raw mode (0x04),
/// physical presence supported (0x08) — what the reference simulator reports.
const ENDPOINT_INFO: u32 = 0x01 | 0x04 | 0x08;
/// Ack for a signal this engine cannot honour.
const NOT_SUPPORTED: u32 = 1;
/// Largest oversized `TPM_SEND_COMMAND` payload read and dropped to keep the stream in step.
const MAX_DISCARD: u64 = 64 * 1024;
/// Largest `TPM_SIGNAL_HASH_DATA` payload accepted (the reference's buffer size).
const MAX_HASH_DATA: u32 = 1 << 20;

/// What to do after a signal.
enum Next {
    Continue,
    Close,
}

/// Serves one command-port connection until the client ends it.
pub fn serve_command<S: Read + Write>(s: &mut S, sh: &Shared) -> io::Result<()> {
    // One buffer for the whole reply: u32 size, response, u32 0; written with a single write.
    let mut reply = vec![0u8; 4 + MAX_RESPONSE_SIZE + 4];
    let mut cmd = vec![0u8; MAX_COMMAND_SIZE];
    loop {
        let mut word = [0u8; 4];
        if !read_frame_start(s, &mut word, &sh.deadlines, &|| sh.is_stopping())? {
            return Ok(());
        }
        let deadline = Instant::now() + sh.deadlines.frame;
        match wire::be32(&word) {
            SEND_COMMAND => {
                let mut h = [0u8; SEND_COMMAND_HEADER];
                read_exact_by(s, &mut h, deadline)?;
                let (locality, size) = (h[0], wire::be32(&h[1..]) as usize);
                if size > MAX_COMMAND_SIZE {
                    // Too large for the TPM: TPM_RC_COMMAND_SIZE. A payload of reasonable size is
                    // read and dropped so the connection stays in step; a larger one cannot be
                    // skipped safely, so the connection is closed after the answer.
                    log::warn!("TPM_SEND_COMMAND of {size} bytes refused (max {MAX_COMMAND_SIZE})");
                    let n = frame_response(&mut reply, &wire::error_response(TPM_RC_COMMAND_SIZE));
                    if size as u64 > MAX_DISCARD {
                        return s.write_all(&reply[..n]);
                    }
                    wire::discard_by(s, size as u64, deadline)?;
                    s.write_all(&reply[..n])?;
                    continue;
                }
                read_exact_by(s, &mut cmd[..size], deadline)?;
                let n = sh
                    .execute(locality, &cmd[..size], &mut reply[4..4 + MAX_RESPONSE_SIZE])
                    .unwrap_or(0);
                // Powered off: the reference answers an empty response.
                reply[..4].copy_from_slice(&(n as u32).to_be_bytes());
                reply[4 + n..8 + n].fill(0);
                s.write_all(&reply[..8 + n])?;
            }
            REMOTE_HANDSHAKE => {
                let mut v = [0u8; 4];
                read_exact_by(s, &mut v, deadline)?;
                if wire::be32(&v) == 0 {
                    log::warn!("TPM_REMOTE_HANDSHAKE with client version 0; closing");
                    return Ok(());
                }
                write_words(s, &[SERVER_VERSION, ENDPOINT_INFO, 0])?;
            }
            SET_ALTERNATIVE_RESULT => {
                let mut v = [0u8; 4];
                read_exact_by(s, &mut v, deadline)?;
                write_words(s, &[0])?;
            }
            SESSION_END => return Ok(()),
            STOP => {
                sh.request_stop(Stop::MssimStop);
                return Ok(());
            }
            other => match signal(other, s, sh, deadline)? {
                Some(Next::Continue) => {}
                Some(Next::Close) => return Ok(()),
                None => {
                    log::warn!("unknown command-port command {other:#x}; closing");
                    return Ok(());
                }
            },
        }
    }
}

/// Serves one platform-port connection until the client ends it.
pub fn serve_platform<S: Read + Write>(s: &mut S, sh: &Shared) -> io::Result<()> {
    loop {
        let mut word = [0u8; 4];
        if !read_frame_start(s, &mut word, &sh.deadlines, &|| sh.is_stopping())? {
            return Ok(());
        }
        let deadline = Instant::now() + sh.deadlines.frame;
        let code = wire::be32(&word);
        match code {
            STOP => {
                sh.request_stop(Stop::MssimStop);
                return Ok(());
            }
            _ => match signal(code, s, sh, deadline)? {
                Some(Next::Continue) => {}
                Some(Next::Close) => return Ok(()),
                None => {
                    log::warn!("unknown platform signal {code:#x}; closing");
                    return write_words(s, &[NOT_SUPPORTED]);
                }
            },
        }
    }
}

/// Handles a platform signal and writes its answer; `None` for codes that are not signals.
fn signal<S: Read + Write>(
    code: u32,
    s: &mut S,
    sh: &Shared,
    deadline: Instant,
) -> io::Result<Option<Next>> {
    let with_machine = |f: &mut dyn FnMut(&mut super::Machine)| match sh.machine() {
        Ok(mut m) => {
            f(&mut m);
            0
        }
        Err(_) => TPM_RC_FAILURE,
    };
    let ack = match code {
        SIGNAL_POWER_ON => with_machine(&mut |m| m.power_on()),
        SIGNAL_POWER_OFF => with_machine(&mut |m| m.power_off()),
        // `_rpc__Signal_PowerOn(true)` and `_rpc__Signal_Restart`: `_TPM_Init`; whether it was a
        // reset or a restart is for the following TPM2_Startup to say.
        SIGNAL_RESET | SIGNAL_RESTART => with_machine(&mut |m| m.tpm_init()),
        SIGNAL_CANCEL_ON => with_machine(&mut |m| m.set_cancel(true)),
        SIGNAL_CANCEL_OFF => with_machine(&mut |m| m.set_cancel(false)),
        SIGNAL_PHYS_PRES_ON => with_machine(&mut |m| m.set_physical_presence(true)),
        SIGNAL_PHYS_PRES_OFF => with_machine(&mut |m| m.set_physical_presence(false)),
        // NV availability and the RSA key cache have no counterpart in the engine: NV is always
        // available, and keys are derived, not cached. Acknowledged as the reference does.
        SIGNAL_NV_ON | SIGNAL_NV_OFF | SIGNAL_KEY_CACHE_ON | SIGNAL_KEY_CACHE_OFF => {
            log::debug!("platform signal {code} acknowledged (no effect on this engine)");
            0
        }
        // H-CRTM/DRTM event sequences (`_TPM_Hash_Start/Data/End`): not in the engine yet.
        SIGNAL_HASH_START | SIGNAL_HASH_END => {
            log::warn!("_TPM_Hash signal {code} not supported");
            NOT_SUPPORTED
        }
        SIGNAL_HASH_DATA => {
            let mut len = [0u8; 4];
            read_exact_by(s, &mut len, deadline)?;
            let len = wire::be32(&len);
            if len > MAX_HASH_DATA {
                log::warn!("TPM_SIGNAL_HASH_DATA of {len} bytes; closing");
                return Ok(Some(Next::Close));
            }
            wire::discard_by(s, u64::from(len), deadline)?;
            log::warn!("_TPM_Hash_Data not supported");
            NOT_SUPPORTED
        }
        TEST_FAILURE_MODE => {
            log::warn!("TPM_TEST_FAILURE_MODE not supported");
            NOT_SUPPORTED
        }
        GET_COMMAND_RESPONSE_SIZES => {
            let l = match sh.machine() {
                Ok(mut m) => m.take_largest(),
                Err(_) => Default::default(),
            };
            // u32 length (16), then the four fields, then the ack.
            write_words(
                s,
                &[
                    16,
                    l.command_size,
                    l.command_code,
                    l.response_size,
                    l.response_code,
                    0,
                ],
            )?;
            return Ok(Some(Next::Continue));
        }
        SESSION_END => return Ok(Some(Next::Close)),
        _ => return Ok(None),
    };
    write_words(s, &[ack])?;
    Ok(Some(Next::Continue))
}

/// Frames a TPM response for the command port (size, bytes, 0) into `out`; returns its length.
fn frame_response(out: &mut [u8], rsp: &[u8]) -> usize {
    let n = rsp.len();
    out[..4].copy_from_slice(&(n as u32).to_be_bytes());
    out[4..4 + n].copy_from_slice(rsp);
    out[4 + n..8 + n].fill(0);
    8 + n
}

/// Writes big-endian words in one write.
fn write_words<W: Write>(w: &mut W, words: &[u32]) -> io::Result<()> {
    let mut buf = [0u8; 32];
    for (i, v) in words.iter().enumerate() {
        buf[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    w.write_all(&buf[..4 * words.len()])
}
