//! The SVSM calling convention and the protocol dispatcher (AMD 58019, "Secure VM Service Module
//! for SEV-SNP Guests", rev 1.00: chapter 4 "Calling Convention", chapter 5 core protocol,
//! chapter 7 attestation, chapter 8 vTPM).
//!
//! A guest at a lower VMPL asks for a service by setting `call_pending` in its calling area and
//! executing VMGEXIT with
//!
//! * RAX = protocol << 32 | call,
//! * arguments in RCX, RDX, R8 and R9,
//!
//! and finds the result code in RAX (and per-call results in RCX, RDX, R8, R9) when the SVSM
//! resumes it with `call_pending` cleared.
//!
//! Everything here is pure: the handlers take guest memory ([`GuestMemory`]), the engine
//! ([`vtpm::Engine`]) and the page-state operations ([`core::PageState`]) through [`Svsm`], so
//! they run on the host in unit tests exactly as in the firmware.

pub mod attest;
pub mod core;
pub mod vtpm;

use self::core::{PageState, Vcpus};
use self::vtpm::Engine;
use crate::mm::guest::{GuestMap, GuestMemError, GuestMemory};

/// Protocol 0: core services (chapter 5).
pub const SVSM_CORE_PROTOCOL: u32 = 0;
/// Protocol 1: attestation (chapter 7).
pub const SVSM_ATTEST_PROTOCOL: u32 = 1;
/// Protocol 2: vTPM (chapter 8).
pub const SVSM_VTPM_PROTOCOL: u32 = 2;

/// `SVSM_SUCCESS`.
pub const SVSM_SUCCESS: u64 = 0;

/// Every error result code of the spec ("SVSM Result Codes" table, chapter 4; the PVALIDATE
/// codes are the instruction's return codes plus 0x8000_1000, chapter 5). One variant per code,
/// so a handler's result maps 1:1 to what the guest sees in RAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvsmError {
    /// `SVSM_ERR_INCOMPLETE`.
    Incomplete,
    /// `SVSM_ERR_UNSUPPORTED_PROTOCOL`.
    UnsupportedProtocol,
    /// `SVSM_ERR_UNSUPPORTED_CALL`.
    UnsupportedCall,
    /// `SVSM_ERR_INVALID_ADDRESS`.
    InvalidAddress,
    /// `SVSM_ERR_INVALID_FORMAT`.
    InvalidFormat,
    /// `SVSM_ERR_INVALID_PARAMETER`.
    InvalidParameter,
    /// `SVSM_ERR_INVALID_REQUEST`.
    InvalidRequest,
    /// `SVSM_ERR_BUSY`.
    Busy,
    /// `SVSM_ERR_PVALIDATE_FAIL_INPUT`.
    PvalidateFailInput,
    /// `SVSM_ERR_PVALIDATE_FAIL_SIZEMISMATCH`.
    PvalidateFailSizeMismatch,
    /// `SVSM_ERR_PVALIDATE_FAIL_UNCHANGED`.
    PvalidateFailUnchanged,
}

impl SvsmError {
    /// Every error, for tests and decoders.
    pub const ALL: [SvsmError; 11] = [
        SvsmError::Incomplete,
        SvsmError::UnsupportedProtocol,
        SvsmError::UnsupportedCall,
        SvsmError::InvalidAddress,
        SvsmError::InvalidFormat,
        SvsmError::InvalidParameter,
        SvsmError::InvalidRequest,
        SvsmError::Busy,
        SvsmError::PvalidateFailInput,
        SvsmError::PvalidateFailSizeMismatch,
        SvsmError::PvalidateFailUnchanged,
    ];

    /// The value the guest sees in RAX.
    pub const fn code(self) -> u64 {
        match self {
            SvsmError::Incomplete => 0x8000_0000,
            SvsmError::UnsupportedProtocol => 0x8000_0001,
            SvsmError::UnsupportedCall => 0x8000_0002,
            SvsmError::InvalidAddress => 0x8000_0003,
            SvsmError::InvalidFormat => 0x8000_0004,
            SvsmError::InvalidParameter => 0x8000_0005,
            SvsmError::InvalidRequest => 0x8000_0006,
            SvsmError::Busy => 0x8000_0007,
            SvsmError::PvalidateFailInput => 0x8000_1001,
            SvsmError::PvalidateFailSizeMismatch => 0x8000_1006,
            SvsmError::PvalidateFailUnchanged => 0x8000_1010,
        }
    }

    /// The error with RAX value `code`, if it is one.
    pub fn from_code(code: u64) -> Option<SvsmError> {
        SvsmError::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The spec's name.
    pub const fn name(self) -> &'static str {
        match self {
            SvsmError::Incomplete => "SVSM_ERR_INCOMPLETE",
            SvsmError::UnsupportedProtocol => "SVSM_ERR_UNSUPPORTED_PROTOCOL",
            SvsmError::UnsupportedCall => "SVSM_ERR_UNSUPPORTED_CALL",
            SvsmError::InvalidAddress => "SVSM_ERR_INVALID_ADDRESS",
            SvsmError::InvalidFormat => "SVSM_ERR_INVALID_FORMAT",
            SvsmError::InvalidParameter => "SVSM_ERR_INVALID_PARAMETER",
            SvsmError::InvalidRequest => "SVSM_ERR_INVALID_REQUEST",
            SvsmError::Busy => "SVSM_ERR_BUSY",
            SvsmError::PvalidateFailInput => "SVSM_ERR_PVALIDATE_FAIL_INPUT",
            SvsmError::PvalidateFailSizeMismatch => "SVSM_ERR_PVALIDATE_FAIL_SIZEMISMATCH",
            SvsmError::PvalidateFailUnchanged => "SVSM_ERR_PVALIDATE_FAIL_UNCHANGED",
        }
    }
}

impl From<GuestMemError> for SvsmError {
    /// A malformed address (alignment, page crossing, length) is a bad parameter; a well-formed
    /// address the guest may not name (not its RAM, the SVSM's, a VMSA) is a bad address.
    fn from(e: GuestMemError) -> SvsmError {
        match e {
            GuestMemError::Unaligned | GuestMemError::BadLength | GuestMemError::CrossesPage => {
                SvsmError::InvalidParameter
            }
            GuestMemError::OutOfRange
            | GuestMemError::SvsmOwned
            | GuestMemError::Vmsa
            | GuestMemError::NotValidated => SvsmError::InvalidAddress,
            GuestMemError::VmsaState | GuestMemError::TooManyVmsas => SvsmError::InvalidParameter,
            GuestMemError::LengthMismatch => SvsmError::InvalidRequest,
        }
    }
}

/// What a handler returns: success, or one spec error code.
pub type SvsmResult<T = ()> = Result<T, SvsmError>;

/// The RAX value for a handler's result.
pub fn result_code(r: SvsmResult) -> u64 {
    match r {
        Ok(()) => SVSM_SUCCESS,
        Err(e) => e.code(),
    }
}

/// The registers of one call: inputs before dispatch, outputs after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registers {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub r8: u64,
    pub r9: u64,
}

impl Registers {
    /// RAX for `call` of `protocol`.
    pub const fn request(protocol: u32, call: u32) -> u64 {
        ((protocol as u64) << 32) | call as u64
    }

    /// RAX[63:32].
    pub const fn protocol(&self) -> u32 {
        (self.rax >> 32) as u32
    }

    /// RAX[31:0].
    pub const fn call(&self) -> u32 {
        self.rax as u32
    }
}

/// The calling area (chapter 4, "SVSM Calling Area" table): one per vCPU, in guest memory.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CallingArea {
    /// Set to 1 by the guest before a call; cleared by the SVSM once it handled the call.
    pub call_pending: u8,
    /// Set by the SVSM when it has memory to give back (`SVSM_CORE_WITHDRAW_MEM`).
    pub mem_available: u8,
    pub reserved: [u8; 6],
}

const _: () = assert!(::core::mem::offset_of!(CallingArea, call_pending) == 0);
const _: () = assert!(::core::mem::offset_of!(CallingArea, mem_available) == 1);
const _: () = assert!(::core::mem::offset_of!(CallingArea, reserved) == 2);
const _: () = assert!(::core::mem::size_of::<CallingArea>() == CALLING_AREA_SIZE as usize);

/// Bytes of the calling area the SVSM reads and writes (the rest of its page is the guest's).
pub const CALLING_AREA_SIZE: u64 = 8;

/// Who is calling: the guest vCPU's identity and the VMSA properties a new vCPU must share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The VMPL the guest runs at (never 0: that is the SVSM's).
    pub vmpl: u8,
    /// The caller's `SEV_FEATURES`; a VMSA given to `SVSM_CORE_CREATE_VCPU` must match.
    pub sev_features: u64,
}

/// The SVSM's state and the machine it serves: guest memory and its map, the vTPM engine, the
/// page-state operations (PVALIDATE, RMPADJUST on SNP; simulated on `qemu-test`), the vCPUs and
/// the calling vCPU's calling area.
#[derive(Debug)]
pub struct Svsm<M, E, P> {
    pub mem: M,
    pub map: GuestMap,
    pub engine: E,
    pub pages: P,
    pub vcpus: Vcpus,
    pub caller: Caller,
    /// GPA of the calling vCPU's calling area.
    pub caa: u64,
}

impl<M: GuestMemory, E: Engine, P: PageState> Svsm<M, E, P> {
    /// Handles a VMGEXIT from the guest: if the calling area has `call_pending` set, dispatches
    /// the call in `regs` (RAX gets the result code), then clears `call_pending` in that calling
    /// area. Returns whether a call was handled; without one (flag clear, or a calling area the
    /// guest may no longer name) the registers are left alone.
    pub fn handle_vmgexit(&mut self, regs: &mut Registers) -> bool {
        let caa = self.caa;
        if !self.call_pending(caa) {
            return false;
        }
        dispatch(self, regs);
        if let Ok(flag) = self
            .map
            .region(caa, 1, 1, crate::mm::guest::PageSize::Small)
        {
            let _ = self.mem.copy_out(&flag, &[0]);
        }
        true
    }

    fn call_pending(&self, caa: u64) -> bool {
        let Ok(flag) = self
            .map
            .region(caa, 1, 1, crate::mm::guest::PageSize::Small)
        else {
            return false;
        };
        let mut b = [0u8];
        self.mem.copy_in(&flag, &mut b).is_ok() && b[0] & 1 == 1
    }
}

/// Runs the call in `regs`: RAX gets the result code; on success the call's outputs are in the
/// other registers, on error they are unchanged.
pub fn dispatch<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &mut Svsm<M, E, P>,
    regs: &mut Registers,
) {
    let mut out = *regs;
    let result = match regs.protocol() {
        SVSM_CORE_PROTOCOL => self::core::handle(svsm, regs.call(), &mut out),
        SVSM_ATTEST_PROTOCOL => attest::handle(svsm, regs.call(), &mut out),
        SVSM_VTPM_PROTOCOL => self::vtpm::handle(svsm, regs.call(), &mut out),
        _ => Err(SvsmError::UnsupportedProtocol),
    };
    // The attestation calls also return sizes with SVSM_ERR_INVALID_PARAMETER (a buffer too
    // small); their handler writes `out` only when the guest is to see it.
    if result.is_ok() || regs.protocol() == SVSM_ATTEST_PROTOCOL {
        *regs = out;
    }
    regs.rax = result_code(result);
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::mm::guest::VecMemory;
    use crate::platform::qemu_test::SimulatedRmp;
    use ::core::ops::Range;

    /// Guest RAM 1 MiB..16 MiB; the SVSM owns 8..9 MiB; the calling area is at 2 MiB.
    pub const RAM: Range<u64> = 0x10_0000..0x100_0000;
    pub const SVSM_MEM: Range<u64> = 0x80_0000..0x90_0000;
    pub const CAA: u64 = 0x20_0000;

    /// Answers every command with a header-only response whose code is the command's length,
    /// and records what it saw.
    /// Its vTPM manifest is 300 bytes of pattern; its reports come from the qemu-test software
    /// PSP, and are counted.
    #[derive(Debug)]
    pub struct FakeEngine {
        pub seen: std::vec::Vec<(u8, std::vec::Vec<u8>)>,
        pub manifest: std::vec::Vec<u8>,
        pub reports: usize,
    }

    impl Default for FakeEngine {
        fn default() -> Self {
            FakeEngine {
                seen: std::vec::Vec::new(),
                manifest: (0..300u32).map(|i| (i * 7) as u8).collect(),
                reports: 0,
            }
        }
    }

    impl Engine for FakeEngine {
        fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
            self.seen.push((locality, command.to_vec()));
            let mut r = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0];
            r[6..10].copy_from_slice(&(command.len() as u32).to_be_bytes());
            response[..10].copy_from_slice(&r);
            10
        }

        fn vtpm_manifest(&self) -> Option<&[u8]> {
            Some(&self.manifest)
        }

        fn attestation_report(&mut self, report_data: &[u8; 64]) -> SvsmResult<std::vec::Vec<u8>> {
            self.reports += 1;
            Ok(
                evidence::test_root::qemu_test_report(report_data, 0, &[1; 32])
                    .unwrap()
                    .to_vec(),
            )
        }
    }

    pub type TestSvsm = Svsm<VecMemory, FakeEngine, SimulatedRmp>;

    pub fn svsm() -> TestSvsm {
        Svsm {
            mem: VecMemory::new(RAM.start, (RAM.end - RAM.start) as usize),
            map: GuestMap::new(&[RAM], &[SVSM_MEM]),
            engine: FakeEngine::default(),
            pages: SimulatedRmp::new(RAM.clone()),
            vcpus: Vcpus::new(&[0, 1, 2, 3]),
            caller: Caller {
                vmpl: 1,
                sev_features: 0x1,
            },
            caa: CAA,
        }
    }

    /// The registers of `SVSM_CORE_QUERY_PROTOCOL` (protocol 0, call 6) asking for the vTPM
    /// protocol (2), version 1.
    pub fn query_vtpm_protocol() -> Registers {
        Registers {
            rax: Registers::request(0, 6),
            rcx: (2 << 32) | 1,
            rdx: 0,
            r8: 0,
            r9: 0,
        }
    }

    pub fn write(s: &mut TestSvsm, gpa: u64, bytes: &[u8]) {
        let r = s
            .map
            .region(
                gpa,
                bytes.len() as u64,
                1,
                crate::mm::guest::PageSize::Small,
            )
            .unwrap();
        s.mem.copy_out(&r, bytes).unwrap();
    }

    pub fn read(s: &TestSvsm, gpa: u64, len: usize) -> std::vec::Vec<u8> {
        let r = s
            .map
            .region(gpa, len as u64, 1, crate::mm::guest::PageSize::Small)
            .unwrap();
        let mut v = std::vec![0; len];
        s.mem.copy_in(&r, &mut v).unwrap();
        v
    }

    /// Issues a call as the guest does: sets `call_pending`, "VMGEXIT", returns the registers.
    pub fn call(s: &mut TestSvsm, protocol: u32, call: u32, args: [u64; 4]) -> Registers {
        write(s, s.caa, &[1]);
        let mut regs = Registers {
            rax: Registers::request(protocol, call),
            rcx: args[0],
            rdx: args[1],
            r8: args[2],
            r9: args[3],
        };
        assert!(s.handle_vmgexit(&mut regs));
        regs
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn result_codes_match_the_spec_and_round_trip() {
        assert_eq!(result_code(Ok(())), 0);
        let codes: std::vec::Vec<u64> = SvsmError::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(
            codes,
            [
                0x8000_0000,
                0x8000_0001,
                0x8000_0002,
                0x8000_0003,
                0x8000_0004,
                0x8000_0005,
                0x8000_0006,
                0x8000_0007,
                0x8000_1001,
                0x8000_1006,
                0x8000_1010
            ]
        );
        for e in SvsmError::ALL {
            assert_eq!(SvsmError::from_code(e.code()), Some(e));
            assert!(e.name().starts_with("SVSM_ERR_"));
        }
        assert_eq!(SvsmError::from_code(0), None);
        assert_eq!(SvsmError::from_code(0x8000_0008), None);
    }

    #[test]
    fn rax_splits_into_protocol_and_call() {
        let r = Registers {
            rax: Registers::request(2, 1),
            ..Default::default()
        };
        assert_eq!(r.rax, 0x2_0000_0001);
        assert_eq!((r.protocol(), r.call()), (2, 1));
    }

    #[test]
    fn unknown_protocols_are_unsupported_and_change_nothing() {
        let mut s = svsm();
        for protocol in [3, 4, 0x100, u32::MAX] {
            let regs = call(&mut s, protocol, 0, [1, 2, 3, 4]);
            assert_eq!(regs.rax, SvsmError::UnsupportedProtocol.code());
            assert_eq!((regs.rcx, regs.rdx, regs.r8, regs.r9), (1, 2, 3, 4));
        }
        assert!(s.engine.seen.is_empty());
    }

    #[test]
    fn unknown_calls_are_unsupported() {
        let mut s = svsm();
        for (protocol, call_id) in [(0, 8), (0, u32::MAX), (1, 2), (2, 2), (2, 0x8000_0000)] {
            let regs = call(&mut s, protocol, call_id, [7, 7, 7, 7]);
            assert_eq!(
                regs.rax,
                SvsmError::UnsupportedCall.code(),
                "{protocol}:{call_id}"
            );
            assert_eq!(regs.rcx, 7);
        }
    }

    #[test]
    fn a_call_clears_call_pending_and_without_it_nothing_runs() {
        let mut s = svsm();
        let regs = call(&mut s, 2, 0, [0; 4]);
        assert_eq!(regs.rax, 0);
        assert_eq!(read(&s, CAA, 1), [0]);
        // call_pending clear: a spurious VMGEXIT is ignored.
        let mut regs = Registers {
            rax: Registers::request(2, 0),
            ..Default::default()
        };
        assert!(!s.handle_vmgexit(&mut regs));
        assert_eq!(regs.rax, Registers::request(2, 0));
    }

    #[test]
    fn a_calling_area_the_guest_cannot_name_handles_no_call() {
        let mut s = svsm();
        s.caa = SVSM_MEM.start;
        let mut regs = Registers::default();
        assert!(!s.handle_vmgexit(&mut regs));
        s.caa = RAM.end;
        assert!(!s.handle_vmgexit(&mut regs));
    }

    #[test]
    fn guest_memory_errors_map_to_parameter_or_address() {
        assert_eq!(
            SvsmError::from(GuestMemError::Unaligned),
            SvsmError::InvalidParameter
        );
        assert_eq!(
            SvsmError::from(GuestMemError::CrossesPage),
            SvsmError::InvalidParameter
        );
        assert_eq!(
            SvsmError::from(GuestMemError::SvsmOwned),
            SvsmError::InvalidAddress
        );
        assert_eq!(
            SvsmError::from(GuestMemError::Vmsa),
            SvsmError::InvalidAddress
        );
        assert_eq!(
            SvsmError::from(GuestMemError::OutOfRange),
            SvsmError::InvalidAddress
        );
    }
}
