//! swtpm's socket interface (`swtpm socket --server … --ctrl …`).
//!
//! * Data channel: raw TPM commands, no framing beyond the TPM header's size field; the
//!   response is written back as is. QEMU keeps one connection; tpm2-tss's `swtpm` TCTI opens
//!   one per command.
//! * Control channel (`tpm_ioctl.h`, `ctrlchannel.c`): u32 command code then the request part of
//!   the command's `ptm_*` union; the reply is the response part, starting with a u32 TPM (1.2)
//!   result. All integers big-endian. As in swtpm, one message is what one receive returns:
//!   clients send each request with one write and some (QEMU) send the whole union, so bytes
//!   beyond what a command needs are ignored.

use super::{ctrl_unix, Shared, Stop, SwtpmLocality, TPM_RC_FAILURE};
use crate::wire::{self, read_exact_by, read_some};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tpm_proto::{HEADER_SIZE, MAX_COMMAND_SIZE, MAX_RESPONSE_SIZE};

/// Control commands (`tpm_ioctl.h`, "Commands used by the non-CUSE TPMs").
pub mod cmd {
    pub const GET_CAPABILITY: u32 = 0x01;
    pub const INIT: u32 = 0x02;
    pub const SHUTDOWN: u32 = 0x03;
    pub const GET_TPMESTABLISHED: u32 = 0x04;
    pub const SET_LOCALITY: u32 = 0x05;
    pub const HASH_START: u32 = 0x06;
    pub const HASH_DATA: u32 = 0x07;
    pub const HASH_END: u32 = 0x08;
    pub const CANCEL_TPM_CMD: u32 = 0x09;
    pub const STORE_VOLATILE: u32 = 0x0a;
    pub const RESET_TPMESTABLISHED: u32 = 0x0b;
    pub const GET_STATEBLOB: u32 = 0x0c;
    pub const SET_STATEBLOB: u32 = 0x0d;
    pub const STOP: u32 = 0x0e;
    pub const GET_CONFIG: u32 = 0x0f;
    pub const SET_DATAFD: u32 = 0x10;
    pub const SET_BUFFERSIZE: u32 = 0x11;
    pub const GET_INFO: u32 = 0x12;
}

/// `PTM_CAP_*` bits of `CMD_GET_CAPABILITY`.
pub mod cap {
    pub const INIT: u32 = 1;
    pub const SHUTDOWN: u32 = 1 << 1;
    pub const GET_TPMESTABLISHED: u32 = 1 << 2;
    pub const SET_LOCALITY: u32 = 1 << 3;
    pub const HASHING: u32 = 1 << 4;
    pub const CANCEL_TPM_CMD: u32 = 1 << 5;
    pub const RESET_TPMESTABLISHED: u32 = 1 << 7;
    pub const STOP: u32 = 1 << 10;
    pub const GET_CONFIG: u32 = 1 << 11;
    pub const SET_DATAFD: u32 = 1 << 12;
    pub const SET_BUFFERSIZE: u32 = 1 << 13;
    pub const GET_INFO: u32 = 1 << 14;
}

/// TPM 1.2 result codes the control channel answers with (`libtpms/tpm_error.h`).
pub mod res {
    pub const SUCCESS: u32 = 0;
    pub const BAD_PARAMETER: u32 = 3;
    pub const FAIL: u32 = 9;
    pub const BAD_ORDINAL: u32 = 10;
    pub const IOERROR: u32 = 0x1f;
    pub const BAD_LOCALITY: u32 = 0x3d;
}

/// What we implement. Hashing (`_TPM_Hash_*`), cancellation, state blobs and volatile-state
/// storage are not offered: the engine has no H-CRTM/DRTM sequence, commands run to completion
/// under the engine lock, and the TPM is ephemeral by design.
const CAPS: u32 = cap::INIT
    | cap::SHUTDOWN
    | cap::GET_TPMESTABLISHED
    | cap::SET_LOCALITY
    | cap::RESET_TPMESTABLISHED
    | cap::STOP
    | cap::GET_CONFIG
    | cap::SET_BUFFERSIZE
    | cap::GET_INFO;

/// Largest control message kept in memory: the command word and `ptm_hdata`'s request
/// (u32 length, 4096 bytes of data).
const MSG_MAX: usize = 4 + 4 + 4096;
/// Largest `CMD_HASH_DATA` payload read (and discarded) before the connection is closed.
const MAX_HASH_DATA: u32 = 1 << 20;
/// `PTM_GETINFO_SIZE`: largest piece of the info string in one reply.
const GETINFO_SIZE: usize = 3 * 1024;

/// Serves one data-channel connection until the client closes it.
pub fn serve_data<S: Read + Write>(
    s: &mut S,
    sh: &Shared,
    locality: &SwtpmLocality,
) -> io::Result<()> {
    // Larger than any command, so that one read takes an oversized command whole, as swtpm does.
    let mut cmd = vec![0u8; 4 * MAX_COMMAND_SIZE];
    let mut rsp = vec![0u8; MAX_RESPONSE_SIZE];
    loop {
        // swtpm takes what one read returns as one command and checks its size field against
        // that length. Here a command may also arrive in pieces: reading goes on until the size
        // field is satisfied or the frame deadline passes. Whatever was received is then given to
        // the engine, which answers TPM_RC_COMMAND_SIZE when length and size field disagree —
        // bytes beyond the size field are not kept for the next command, exactly as with swtpm.
        let Some(mut n) = read_some(s, &mut cmd, &sh.deadlines, &|| sh.is_stopping())? else {
            return Ok(());
        };
        let deadline = Instant::now() + sh.deadlines.frame;
        loop {
            let want = if n < HEADER_SIZE {
                HEADER_SIZE
            } else {
                wire::header_size(&cmd).unwrap_or(0) as usize
            };
            if n >= want || want > MAX_COMMAND_SIZE || Instant::now() >= deadline {
                break;
            }
            match s.read(&mut cmd[n..want]) {
                Ok(0) => return Ok(()),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted || wire::is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let size = n;
        let loc = match locality {
            SwtpmLocality::Instance => sh.swtpm_locality.load(Ordering::Relaxed),
            SwtpmLocality::Ctrl(l) => l.load(Ordering::Relaxed),
        };
        // A stopped TPM (CMD_STOP, or before CMD_INIT) answers TPM_RC_FAILURE, as swtpm does.
        let n = sh
            .execute(loc, &cmd[..size], &mut rsp)
            .unwrap_or_else(|| wire::write_response_header(&mut rsp, TPM_RC_FAILURE));
        s.write_all(&rsp[..n])?;
    }
}

/// A control-channel transport: TCP, or a unix socket that can carry a file descriptor.
pub trait CtrlStream: Read + Write {
    /// Whether `CMD_SET_DATAFD` can work on this transport.
    const PASSES_FDS: bool;
    /// The first receive of a message, with any file descriptor passed alongside it.
    fn recv_msg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)>;
}

impl CtrlStream for TcpStream {
    const PASSES_FDS: bool = false;
    fn recv_msg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        Ok((self.read(buf)?, None))
    }
}

/// Serves one control-channel connection until the client closes it or sends `CMD_SHUTDOWN`.
pub fn serve_ctrl<S: CtrlStream>(s: &mut S, sh: &Arc<Shared>) -> io::Result<()> {
    let locality = Arc::new(AtomicU8::new(sh.swtpm_locality.load(Ordering::Relaxed)));
    let mut has_data_fd = false;
    let mut msg = vec![0u8; MSG_MAX];
    loop {
        let Some((len, fd)) = read_msg(s, &mut msg, sh)? else {
            return Ok(());
        };
        let code = wire::be32(&msg);
        let body = &msg[4..len];
        let mut out = Reply::default();
        let running = sh.machine().map(|m| m.is_powered()).unwrap_or(false);
        match code {
            cmd::GET_CAPABILITY => {
                let caps = if S::PASSES_FDS {
                    CAPS | cap::SET_DATAFD
                } else {
                    CAPS
                };
                out.words(&[res::SUCCESS, caps]);
            }
            cmd::INIT if body.len() != 4 => out.result(res::BAD_PARAMETER),
            cmd::INIT => out.result(with_machine(sh, |m| m.reinit())),
            cmd::STOP if !body.is_empty() => out.result(res::BAD_PARAMETER),
            cmd::STOP => out.result(with_machine(sh, |m| m.power_off())),
            cmd::SHUTDOWN if !body.is_empty() => out.result(res::BAD_PARAMETER),
            cmd::SHUTDOWN => {
                out.result(res::SUCCESS);
                s.write_all(out.bytes())?;
                sh.request_stop(Stop::SwtpmShutdown);
                return Ok(());
            }
            cmd::SET_LOCALITY if body.is_empty() => out.result(res::BAD_PARAMETER),
            cmd::SET_LOCALITY if body[0] > 4 => out.result(res::BAD_LOCALITY),
            cmd::SET_LOCALITY => {
                locality.store(body[0], Ordering::Relaxed);
                sh.swtpm_locality.store(body[0], Ordering::Relaxed);
                out.result(res::SUCCESS);
            }
            cmd::GET_CONFIG if !body.is_empty() => out.result(res::BAD_PARAMETER),
            cmd::GET_CONFIG => out.words(&[res::SUCCESS, 0]),
            cmd::SET_BUFFERSIZE if body.len() < 4 => out.result(res::BAD_PARAMETER),
            cmd::SET_BUFFERSIZE if wire::be32(body) != 0 && running => out.result(res::BAD_ORDINAL),
            cmd::SET_BUFFERSIZE => {
                // One size only: the engine's limits are fixed (TPM_PT_MAX_COMMAND_SIZE).
                let size = MAX_COMMAND_SIZE as u32;
                out.words(&[res::SUCCESS, size, size, size]);
            }
            cmd::GET_INFO => get_info(body, &mut out),
            cmd::SET_DATAFD => {
                let r = match fd {
                    None => res::BAD_PARAMETER,
                    Some(_) if has_data_fd => res::IOERROR,
                    Some(fd) => ctrl_unix::start_data_channel(fd, sh, locality.clone()),
                };
                has_data_fd |= r == res::SUCCESS;
                out.result(r);
            }
            cmd::GET_TPMESTABLISHED
            | cmd::RESET_TPMESTABLISHED
            | cmd::HASH_START
            | cmd::HASH_DATA
            | cmd::HASH_END
            | cmd::CANCEL_TPM_CMD
                if !running =>
            {
                out.result(res::BAD_ORDINAL)
            }
            cmd::GET_TPMESTABLISHED if !body.is_empty() => out.result(res::BAD_PARAMETER),
            // `ptm_est`: result, the bit, 3 bytes of padding. No DRTM sequence has ever run, so
            // the establishment bit is clear.
            cmd::GET_TPMESTABLISHED => out.bytes_raw(&[0, 0, 0, 0, 0, 0, 0, 0]),
            cmd::RESET_TPMESTABLISHED if body.is_empty() => out.result(res::BAD_PARAMETER),
            cmd::RESET_TPMESTABLISHED if body[0] > 4 => out.result(res::BAD_LOCALITY),
            cmd::RESET_TPMESTABLISHED => out.result(res::SUCCESS),
            cmd::HASH_DATA if body.len() < 4 => out.result(res::BAD_PARAMETER),
            cmd::HASH_DATA => {
                let want = wire::be32(body);
                if want > MAX_HASH_DATA {
                    log::warn!("CMD_HASH_DATA of {want} bytes; closing");
                    return Ok(());
                }
                let have = (body.len() - 4) as u64;
                let rest = u64::from(want).saturating_sub(have);
                wire::discard_by(s, rest, Instant::now() + sh.deadlines.frame)?;
                out.result(res::FAIL);
            }
            cmd::HASH_START | cmd::HASH_END | cmd::CANCEL_TPM_CMD if !body.is_empty() => {
                out.result(res::BAD_PARAMETER)
            }
            cmd::HASH_START | cmd::HASH_END | cmd::CANCEL_TPM_CMD => out.result(res::FAIL),
            cmd::SET_STATEBLOB => {
                // Its payload streams after the header; unsupported, so the stream cannot be
                // resynchronized: answer and close.
                out.result(res::BAD_ORDINAL);
                return s.write_all(out.bytes());
            }
            _ => {
                log::warn!("control channel: unsupported command {code:#x}");
                out.result(res::BAD_ORDINAL);
            }
        }
        s.write_all(out.bytes())?;
    }
}

fn with_machine(sh: &Shared, f: impl FnOnce(&mut super::Machine)) -> u32 {
    match sh.machine() {
        Ok(mut m) => {
            f(&mut m);
            res::SUCCESS
        }
        Err(_) => res::FAIL,
    }
}

/// `CMD_GET_INFO`: request u64 flags, u32 offset, u32 pad; reply result, u32 total length,
/// u32 length, then that piece of a NUL-terminated JSON string.
fn get_info(body: &[u8], out: &mut Reply) {
    if body.len() < 16 {
        return out.result(res::BAD_PARAMETER);
    }
    let flags = u64::from_be_bytes(body[..8].try_into().unwrap_or_default());
    let offset = wire::be32(&body[8..12]) as usize;
    let mut parts = Vec::new();
    if flags & 1 != 0 {
        parts.push(r#""TPMSpecification":{"family":"2.0"}"#.to_string());
    }
    if flags & 2 != 0 {
        let v = env!("CARGO_PKG_VERSION");
        parts.push(format!(
            r#""TPMAttributes":{{"manufacturer":"evtpm","version":"{v}","model":"evtpm"}}"#
        ));
    }
    let mut info = format!("{{{}}}", parts.join(",")).into_bytes();
    if offset >= info.len() {
        return out.result(res::BAD_PARAMETER);
    }
    info.push(0);
    let piece = &info[offset..info.len().min(offset + GETINFO_SIZE)];
    out.words(&[res::SUCCESS, info.len() as u32, piece.len() as u32]);
    out.bytes_raw(piece);
}

/// Receives one control message into `buf`: the first receive (idle until it arrives), then
/// more reads until the command's fixed request part is complete. Returns its length and any
/// file descriptor that came with it; `None` on a clean close.
fn read_msg<S: CtrlStream>(
    s: &mut S,
    buf: &mut [u8],
    sh: &Shared,
) -> io::Result<Option<(usize, Option<OwnedFd>)>> {
    let idle_since = Instant::now();
    let (mut got, fd) = loop {
        if sh.is_stopping() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "server stopping",
            ));
        }
        match s.recv_msg(buf) {
            Ok((0, _)) => return Ok(None),
            Ok(r) => break r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if wire::is_timeout(&e) => {
                if sh.deadlines.idle.is_some_and(|t| idle_since.elapsed() >= t) {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"));
                }
            }
            Err(e) => return Err(e),
        }
    };
    let deadline = Instant::now() + sh.deadlines.frame;
    if got < 4 {
        read_exact_by(s, &mut buf[got..4], deadline)?;
        got = 4;
    }
    let need = 4 + match wire::be32(buf) {
        cmd::INIT | cmd::SET_BUFFERSIZE | cmd::HASH_DATA => 4,
        cmd::SET_LOCALITY | cmd::RESET_TPMESTABLISHED => 1,
        cmd::GET_INFO => 16,
        _ => 0,
    };
    if got < need {
        read_exact_by(s, &mut buf[got..need], deadline)?;
        got = need;
    }
    Ok(Some((got, fd)))
}

/// A control-channel reply being assembled (at most a `GET_INFO` piece plus its header).
#[derive(Debug)]
struct Reply {
    buf: [u8; 12 + GETINFO_SIZE],
    len: usize,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            buf: [0; 12 + GETINFO_SIZE],
            len: 0,
        }
    }
}

impl Reply {
    fn result(&mut self, r: u32) {
        self.words(&[r]);
    }
    fn words(&mut self, w: &[u32]) {
        for v in w {
            self.bytes_raw(&v.to_be_bytes());
        }
    }
    fn bytes_raw(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(flags: u64, offset: u32) -> Vec<u8> {
        let mut body = flags.to_be_bytes().to_vec();
        body.extend_from_slice(&offset.to_be_bytes());
        body.extend_from_slice(&[0; 4]);
        let mut out = Reply::default();
        get_info(&body, &mut out);
        out.bytes().to_vec()
    }

    #[test]
    fn get_info_returns_nul_terminated_json_with_lengths() {
        let r = info(1, 0);
        assert_eq!(wire::be32(&r), res::SUCCESS);
        let (tot, len) = (wire::be32(&r[4..]) as usize, wire::be32(&r[8..]) as usize);
        assert_eq!(tot, len);
        assert_eq!(&r[12..], b"{\"TPMSpecification\":{\"family\":\"2.0\"}}\0");
        assert_eq!(r.len(), 12 + len);
    }

    #[test]
    fn get_info_rejects_offset_past_end_and_short_request() {
        assert_eq!(wire::be32(&info(1, 1000)), res::BAD_PARAMETER);
        let mut out = Reply::default();
        get_info(&[0; 8], &mut out);
        assert_eq!(out.bytes(), res::BAD_PARAMETER.to_be_bytes());
    }
}
