//! The vTPM protocol (protocol 2; SVSM spec chapter 8).
//!
//! * `SVSM_VTPM_QUERY` (0): RCX = bitmap of supported platform commands (table 14: only
//!   `TPM_SEND_COMMAND`, bit 8), RDX = supported TPM features (none: 0).
//! * `SVSM_VTPM_CMD` (1): RCX = GPA of a page holding a `TPM_SEND_COMMAND` request (tables 15
//!   and 16); the response (table 17) replaces it in the same page. A TPM error is a successful
//!   call: the error travels in the TPM response.
//!
//! The request must be a whole 4 KiB page of guest RAM; locality must be 0 (the spec reserves
//! other localities); the command may be at most 4087 bytes (what fits the page) and at most
//! the engine's maximum. Anything else is `SVSM_ERR_INVALID_PARAMETER` (or
//! `SVSM_ERR_INVALID_ADDRESS` for a page the guest may not name) and leaves the page alone.

use super::core::PageState;
use super::{Registers, Svsm, SvsmError, SvsmResult};
use crate::mm::guest::{GuestMemory, PAGE_SIZE};
use alloc::vec;
use tpm_proto::framing::svsm::{self as wire, Request, RequestError};

pub const SVSM_VTPM_QUERY: u32 = 0;
pub const SVSM_VTPM_CMD: u32 = 1;

/// The `TPM_SEND_COMMAND` request header (SVSM spec, table 16); the command bytes follow.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpmSendCommandRequest {
    /// `TPM_SEND_COMMAND` (8).
    pub command: u32,
    /// Must be 0.
    pub locality: u8,
    /// Length of the TPM command that follows.
    pub size: u32,
}

const _: () = assert!(::core::mem::offset_of!(TpmSendCommandRequest, command) == wire::REQ_COMMAND);
const _: () =
    assert!(::core::mem::offset_of!(TpmSendCommandRequest, locality) == wire::REQ_LOCALITY);
const _: () = assert!(::core::mem::offset_of!(TpmSendCommandRequest, size) == wire::REQ_SIZE);
const _: () = assert!(::core::mem::size_of::<TpmSendCommandRequest>() == wire::REQ_BUFFER);

/// The `TPM_SEND_COMMAND` response header (SVSM spec, table 17); the response bytes follow.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TpmSendCommandResponse {
    /// Length of the TPM response that follows.
    pub size: u32,
}

const _: () = assert!(::core::mem::offset_of!(TpmSendCommandResponse, size) == wire::RSP_SIZE);
const _: () = assert!(::core::mem::size_of::<TpmSendCommandResponse>() == wire::RSP_BUFFER);
const _: () = assert!(wire::PAGE_SIZE as u64 == PAGE_SIZE);

/// The vTPM engine as the protocol sees it: its one entry point (see [`vtpm::Tpm::execute`]).
/// It runs under [`Svsm::engine`], with no other lock held.
pub trait Engine {
    /// Runs `command` received at `locality`, writes the response into `response` and returns
    /// its length.
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize;
}

impl<P: vtpm::Platform> Engine for vtpm::Tpm<P> {
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        vtpm::Tpm::execute(self, locality, command, response)
    }
}

/// `TPM_RC_FAILURE`: answered when the engine's response cannot be delivered whole.
const TPM_RC_FAILURE: u32 = 0x101;

/// Runs vTPM call `call`.
pub fn handle<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    call: u32,
    regs: &mut Registers,
) -> SvsmResult {
    match call {
        SVSM_VTPM_QUERY => {
            regs.rcx = wire::SUPPORTED_COMMANDS;
            regs.rdx = 0;
            Ok(())
        }
        SVSM_VTPM_CMD => send_command(svsm, regs.rcx),
        _ => Err(SvsmError::UnsupportedCall),
    }
}

/// The command is copied out of the guest's page under [`Svsm::machine`], run under
/// [`Svsm::engine`] alone (other vCPUs' calls go on meanwhile), and the response copied back
/// under [`Svsm::machine`] after the page is checked again: a page the guest's other vCPUs
/// rescinded or made a VMSA meanwhile is not written (`SVSM_ERR_INVALID_ADDRESS`; the command
/// has run, as a TPM command whose response the caller stopped waiting for has).
fn send_command<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    gpa: u64,
) -> SvsmResult {
    let mut buf = vec![0u8; wire::PAGE_SIZE];
    {
        let m = svsm.machine.lock();
        let page = m.map.page(gpa)?;
        m.mem.copy_in(&page, &mut buf)?;
    }

    let max = tpm_proto::MAX_COMMAND_SIZE.min(wire::MAX_COMMAND);
    let request = Request::parse(&buf, max).map_err(|e| match e {
        RequestError::Truncated
        | RequestError::UnsupportedCommand(_)
        | RequestError::Oversized(_) => SvsmError::InvalidParameter,
    })?;
    if request.locality != 0 {
        return Err(SvsmError::InvalidParameter);
    }

    // The engine wants room for its largest response; the page holds 4092 bytes of it.
    let mut response = vec![0u8; vtpm::MAX_RESPONSE_SIZE.max(wire::MAX_RESPONSE)];
    let mut n = svsm
        .engine
        .lock()
        .execute(0, request.command, &mut response);
    if !(tpm_proto::HEADER_SIZE..=wire::MAX_RESPONSE).contains(&n) {
        n = failure_response(&mut response);
    }

    let out = &mut buf[..wire::RSP_BUFFER + n];
    out[wire::RSP_BUFFER..].copy_from_slice(&response[..n]);
    wire::write_response_size(out, n).ok_or(SvsmError::InvalidRequest)?;
    let mut m = svsm.machine.lock();
    let m = &mut *m;
    let head = m
        .map
        .region(gpa, out.len() as u64, 1, crate::mm::guest::PageSize::Small)?;
    m.mem.copy_out(&head, out)?;
    Ok(())
}

/// A header-only `TPM_RC_FAILURE` response (`TPM_ST_NO_SESSIONS`, size 10).
fn failure_response(buf: &mut [u8]) -> usize {
    buf[..2].copy_from_slice(&0x8001u16.to_be_bytes());
    buf[2..6].copy_from_slice(&10u32.to_be_bytes());
    buf[6..10].copy_from_slice(&TPM_RC_FAILURE.to_be_bytes());
    tpm_proto::HEADER_SIZE
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::SVSM_VTPM_PROTOCOL as VTPM;
    use super::*;

    const PAGE: u64 = 0x40_0000;
    const GET_RANDOM_8: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8];

    fn put(s: &mut TestSvsm, locality: u8, cmd: &[u8]) {
        let mut page = [0u8; 4096];
        wire::write_request(&mut page, locality, cmd).unwrap();
        write(s, PAGE, &page);
    }

    #[test]
    fn query_reports_send_command_and_no_features() {
        let mut s = svsm();
        let r = call(&mut s, VTPM, SVSM_VTPM_QUERY, [5, 5, 5, 5]);
        assert_eq!((r.rax, r.rcx, r.rdx), (0, 1 << 8, 0));
        assert_eq!((r.r8, r.r9), (5, 5));
    }

    #[test]
    fn cmd_runs_the_engine_and_writes_the_response_in_place() {
        let mut s = svsm();
        put(&mut s, 0, &GET_RANDOM_8);
        let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [PAGE, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        assert_eq!(s.engine().seen, [(0, GET_RANDOM_8.to_vec())]);
        let page = read(&s, PAGE, 4096);
        let rsp = wire::parse_response(&page).unwrap();
        assert_eq!(rsp, [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 12]);
    }

    #[test]
    fn cmd_with_the_real_engine_answers_tpm_errors_inside_a_successful_call() {
        use vtpm::{Config, Platform, PlatformError, Tpm};
        #[derive(Debug)]
        struct Counter(u8);
        impl Platform for Counter {
            fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
                for b in buf {
                    self.0 = self.0.wrapping_add(1);
                    *b = self.0;
                }
                Ok(())
            }
            fn monotonic_ms(&self) -> u64 {
                0
            }
        }
        let mut s = with_engine(Tpm::manufacture(Config::default(), Counter(0)).unwrap());
        let mut page = [0u8; 4096];
        wire::write_request(&mut page, 0, &GET_RANDOM_8).unwrap();
        write(&mut s, PAGE, &page);
        let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [PAGE, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        page.copy_from_slice(&read(&s, PAGE, 4096));
        let rsp = wire::parse_response(&page).unwrap();
        // Before TPM2_Startup: TPM_RC_INITIALIZE, as a TPM response.
        assert_eq!(rsp.len(), 10);
        assert_eq!(&rsp[6..10], &0x100u32.to_be_bytes());
    }

    #[test]
    fn cmd_refuses_hostile_requests_and_leaves_the_page_alone() {
        type Case = (&'static str, u64, fn(&mut [u8; 4096]), SvsmError);
        let cases: [Case; 9] = [
            (
                "locality 1",
                PAGE,
                |p| p[4] = 1,
                SvsmError::InvalidParameter,
            ),
            (
                "locality 4",
                PAGE,
                |p| p[4] = 4,
                SvsmError::InvalidParameter,
            ),
            (
                "platform command 9",
                PAGE,
                |p| p[0] = 9,
                SvsmError::InvalidParameter,
            ),
            (
                "size 4088",
                PAGE,
                |p| p[5..9].copy_from_slice(&4088u32.to_le_bytes()),
                SvsmError::InvalidParameter,
            ),
            (
                "size u32::MAX",
                PAGE,
                |p| p[5..9].copy_from_slice(&u32::MAX.to_le_bytes()),
                SvsmError::InvalidParameter,
            ),
            (
                "unaligned page",
                PAGE + 8,
                |_| {},
                SvsmError::InvalidParameter,
            ),
            (
                "svsm memory",
                SVSM_MEM.start,
                |_| {},
                SvsmError::InvalidAddress,
            ),
            ("beyond ram", RAM.end, |_| {}, SvsmError::InvalidAddress),
            ("gpa zero", 0, |_| {}, SvsmError::InvalidAddress),
        ];
        for (what, gpa, spoil, e) in cases {
            let mut s = svsm();
            let mut page = [0u8; 4096];
            wire::write_request(&mut page, 0, &GET_RANDOM_8).unwrap();
            spoil(&mut page);
            write(&mut s, PAGE, &page);
            let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [gpa, 0, 0, 0]);
            assert_eq!(r.rax, e.code(), "{what}");
            assert_eq!(r.rcx, gpa, "{what}");
            assert!(s.engine().seen.is_empty(), "{what}");
            assert_eq!(read(&s, PAGE, 4096), page, "{what}");
        }
    }

    #[test]
    fn cmd_accepts_the_largest_command_that_fits() {
        let mut s = svsm();
        let cmd = std::vec![0x5a; wire::MAX_COMMAND];
        put(&mut s, 0, &cmd);
        let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [PAGE, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        assert_eq!(s.engine().seen[0].1.len(), 4087);
    }

    #[test]
    fn cmd_refuses_a_vmsa_page() {
        let mut s = svsm();
        put(&mut s, 0, &GET_RANDOM_8);
        s.m().map.add_vmsa(PAGE).unwrap();
        let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [PAGE, 0, 0, 0]);
        assert_eq!(r.rax, SvsmError::InvalidAddress.code());
        assert!(s.engine().seen.is_empty());
    }

    #[test]
    fn an_oversized_engine_response_becomes_tpm_rc_failure() {
        #[derive(Debug)]
        struct Huge;
        impl Engine for Huge {
            fn execute(&mut self, _: u8, _: &[u8], response: &mut [u8]) -> usize {
                response.len()
            }
        }
        let mut s = with_engine(Huge);
        let mut page = [0u8; 4096];
        wire::write_request(&mut page, 0, &GET_RANDOM_8).unwrap();
        write(&mut s, PAGE, &page);
        let r = call(&mut s, VTPM, SVSM_VTPM_CMD, [PAGE, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        page.copy_from_slice(&read(&s, PAGE, 4096));
        let rsp = wire::parse_response(&page).unwrap();
        assert_eq!(&rsp[6..10], &TPM_RC_FAILURE.to_be_bytes());
    }
}
