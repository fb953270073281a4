//! Platform framings that carry TPM commands.
//!
//! * The Microsoft reference simulator's TCP protocol ("mssim", used by tpm2-tss's `mssim` TCTI
//!   and the IBM TSS): every field big-endian.
//! * The SVSM vTPM protocol (AMD 58019, SVSM specification, section 8, tables 15–17): the request
//!   and response live in one guest page and every field is **little-endian** and packed.

use crate::marshal::Reader;
use crate::rc::Rc;

/// Commands of the MS-simulator command port (`TpmTcpProtocol.h`).
pub mod mssim {
    pub const SIGNAL_POWER_ON: u32 = 1;
    pub const SIGNAL_POWER_OFF: u32 = 2;
    pub const SIGNAL_PHYS_PRES_ON: u32 = 3;
    pub const SIGNAL_PHYS_PRES_OFF: u32 = 4;
    pub const SIGNAL_HASH_START: u32 = 5;
    pub const SIGNAL_HASH_DATA: u32 = 6;
    pub const SIGNAL_HASH_END: u32 = 7;
    pub const SEND_COMMAND: u32 = 8;
    pub const SIGNAL_CANCEL_ON: u32 = 9;
    pub const SIGNAL_CANCEL_OFF: u32 = 10;
    pub const SIGNAL_NV_ON: u32 = 11;
    pub const SIGNAL_NV_OFF: u32 = 12;
    pub const SIGNAL_KEY_CACHE_ON: u32 = 13;
    pub const SIGNAL_KEY_CACHE_OFF: u32 = 14;
    pub const REMOTE_HANDSHAKE: u32 = 15;
    pub const SET_ALTERNATIVE_RESULT: u32 = 16;
    pub const SIGNAL_RESET: u32 = 17;
    pub const SIGNAL_RESTART: u32 = 18;
    pub const SESSION_END: u32 = 20;
    pub const STOP: u32 = 21;
    pub const GET_COMMAND_RESPONSE_SIZES: u32 = 25;
    pub const TEST_FAILURE_MODE: u32 = 30;

    /// Header of `TPM_SEND_COMMAND` after the command word: locality (u8), size (u32).
    pub const SEND_COMMAND_HEADER: usize = 5;
}

/// SVSM vTPM protocol (AMD 58019, section 8).
pub mod svsm {
    /// `SVSM_VTPM_QUERY` (call 0) and `SVSM_VTPM_CMD` (call 1) of protocol 2.
    pub const VTPM_QUERY: u32 = 0;
    pub const VTPM_CMD: u32 = 1;
    /// `TPM_SEND_COMMAND`: the only platform command the protocol defines (table 14).
    pub const TPM_SEND_COMMAND: u32 = 8;
    /// Bit of the supported-platform-commands bitmap returned by `SVSM_VTPM_QUERY` in RCX.
    pub const SUPPORTED_COMMANDS: u64 = 1 << TPM_SEND_COMMAND;
    /// The request and response share one 4 KiB page.
    pub const PAGE_SIZE: usize = 4096;
    /// Offsets in the `TPM_SEND_COMMAND` request (table 16).
    pub const REQ_COMMAND: usize = 0;
    pub const REQ_LOCALITY: usize = 4;
    pub const REQ_SIZE: usize = 5;
    pub const REQ_BUFFER: usize = 9;
    /// Offsets in the response (table 17).
    pub const RSP_SIZE: usize = 0;
    pub const RSP_BUFFER: usize = 4;
    /// Largest TPM command that fits the request page: 4096 - 9 = 4087.
    pub const MAX_COMMAND: usize = PAGE_SIZE - REQ_BUFFER;
    /// Largest TPM response that fits the response page.
    pub const MAX_RESPONSE: usize = PAGE_SIZE - RSP_BUFFER;

    /// Why a vTPM request is malformed; the SVSM answers `SVSM_ERR_INVALID_PARAMETER`.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum RequestError {
        /// Shorter than the 9-byte header.
        Truncated,
        /// A platform command other than `TPM_SEND_COMMAND`.
        UnsupportedCommand(u32),
        /// The size field exceeds the page or the engine's maximum.
        Oversized(u32),
    }

    /// A parsed `TPM_SEND_COMMAND` request (table 16); `command` borrows from the page copy.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Request<'a> {
        pub locality: u8,
        pub command: &'a [u8],
    }

    impl<'a> Request<'a> {
        /// Parses a request page copied out of guest memory. `max` is the engine's largest
        /// command (at most [`MAX_COMMAND`]).
        pub fn parse(page: &'a [u8], max: usize) -> Result<Request<'a>, RequestError> {
            if page.len() < REQ_BUFFER {
                return Err(RequestError::Truncated);
            }
            let le32 = |at: usize| {
                u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
            };
            let cmd = le32(REQ_COMMAND);
            if cmd != TPM_SEND_COMMAND {
                return Err(RequestError::UnsupportedCommand(cmd));
            }
            let size = le32(REQ_SIZE);
            let limit = max.min(MAX_COMMAND).min(page.len() - REQ_BUFFER);
            if size as usize > limit {
                return Err(RequestError::Oversized(size));
            }
            Ok(Request {
                locality: page[REQ_LOCALITY],
                command: &page[REQ_BUFFER..REQ_BUFFER + size as usize],
            })
        }
    }

    /// Writes a `TPM_SEND_COMMAND` request into `page`; returns its length, or `None` if the
    /// command does not fit.
    pub fn write_request(page: &mut [u8], locality: u8, command: &[u8]) -> Option<usize> {
        let len = REQ_BUFFER.checked_add(command.len())?;
        if command.len() > MAX_COMMAND || page.len() < len {
            return None;
        }
        page[REQ_COMMAND..REQ_LOCALITY].copy_from_slice(&TPM_SEND_COMMAND.to_le_bytes());
        page[REQ_LOCALITY] = locality;
        page[REQ_SIZE..REQ_BUFFER].copy_from_slice(&(command.len() as u32).to_le_bytes());
        page[REQ_BUFFER..len].copy_from_slice(command);
        Some(len)
    }

    /// Writes the response header (table 17) for a response of `len` bytes already placed at
    /// [`RSP_BUFFER`].
    pub fn write_response_size(page: &mut [u8], len: usize) -> Option<()> {
        let len32 = u32::try_from(len).ok()?;
        if len > MAX_RESPONSE || page.len() < RSP_BUFFER + len {
            return None;
        }
        page[RSP_SIZE..RSP_BUFFER].copy_from_slice(&len32.to_le_bytes());
        Some(())
    }

    /// Reads a response (table 17) from a page: the TPM response bytes.
    pub fn parse_response(page: &[u8]) -> Option<&[u8]> {
        let size = u32::from_le_bytes(page.get(RSP_SIZE..RSP_BUFFER)?.try_into().ok()?) as usize;
        page.get(RSP_BUFFER..RSP_BUFFER.checked_add(size)?)
    }
}

/// Reads the `TPM_SEND_COMMAND` header that follows the command word on the mssim command port:
/// locality and command size. The caller reads `size` bytes next.
pub fn mssim_send_header(b: &[u8; mssim::SEND_COMMAND_HEADER]) -> Result<(u8, u32), Rc> {
    let mut r = Reader::new(b);
    Ok((r.u8()?, r.u32()?))
}

#[cfg(test)]
mod tests {
    use super::svsm::*;

    #[test]
    fn svsm_request_is_little_endian_and_packed() {
        let mut page = [0u8; PAGE_SIZE];
        let cmd = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0];
        let n = write_request(&mut page, 0, &cmd).unwrap();
        assert_eq!(n, 21);
        assert_eq!(&page[..9], &[8, 0, 0, 0, 0, 12, 0, 0, 0]);
        let req = Request::parse(&page, 4096).unwrap();
        assert_eq!(req.command, &cmd);
        assert_eq!(req.locality, 0);
    }

    #[test]
    fn svsm_request_rejects_oversize_and_unknown_command() {
        let mut page = [0u8; PAGE_SIZE];
        page[0] = 8;
        page[5..9].copy_from_slice(&4088u32.to_le_bytes());
        assert_eq!(
            Request::parse(&page, 4096),
            Err(RequestError::Oversized(4088))
        );
        page[5..9].copy_from_slice(&4087u32.to_le_bytes());
        assert!(Request::parse(&page, 4096).is_ok());
        assert_eq!(
            Request::parse(&page, 1024),
            Err(RequestError::Oversized(4087))
        );
        page[0] = 9;
        assert_eq!(
            Request::parse(&page, 4096),
            Err(RequestError::UnsupportedCommand(9))
        );
        assert_eq!(
            Request::parse(&page[..8], 4096),
            Err(RequestError::Truncated)
        );
    }

    #[test]
    fn svsm_response_round_trip() {
        let mut page = [0u8; PAGE_SIZE];
        page[4..14].copy_from_slice(&[0x80, 1, 0, 0, 0, 10, 0, 0, 0, 0]);
        write_response_size(&mut page, 10).unwrap();
        assert_eq!(&page[..4], &[10, 0, 0, 0]);
        assert_eq!(parse_response(&page).unwrap().len(), 10);
        assert!(write_response_size(&mut page, MAX_RESPONSE + 1).is_none());
    }
}
