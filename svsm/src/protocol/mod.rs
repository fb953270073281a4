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
//! ([`vtpm::Engine`]), the attestation service ([`attest::Attestation`]) and the page-state
//! operations ([`core::PageState`]) through [`Svsm`], so they run on the host in unit tests
//! exactly as in the firmware. [`Svsm`] is shared by every vCPU's request loop; each loop
//! keeps its own [`Cpu`].

pub mod attest;
pub mod core;
pub mod vtpm;

use self::attest::Attestation;
use self::core::{PageState, Vcpus};
use self::vtpm::Engine;
use crate::cpu::lock::SpinLock;
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

/// What the SVSM's calls change in the machine: guest memory and its map, the page-state
/// operations (PVALIDATE, RMPADJUST on SNP; simulated on `qemu-test`) and the vCPUs. One lock
/// ([`Svsm::machine`]) covers it, held only for copies and page-state changes, never while the
/// engine runs.
#[derive(Debug)]
pub struct Machine<M, P> {
    pub mem: M,
    pub map: GuestMap,
    pub pages: P,
    pub vcpus: Vcpus,
}

/// One vCPU's side of a call: who calls, and where its calling area is. Each vCPU's request
/// loop owns its own; nothing else reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    pub caller: Caller,
    /// GPA of this vCPU's calling area.
    pub caa: u64,
}

/// The SVSM's state, shared by the request loops of every vCPU. Three locks, so that no vCPU
/// waits on work that is not its own:
///
/// * [`Svsm::machine`]: guest memory, the map, page state, vCPUs — short critical sections;
/// * [`Svsm::engine`]: the vTPM engine, held while one command runs (an RSA key generation can
///   take tens of milliseconds); only a vCPU that sends a vTPM command waits for it, as a
///   guest waits for a busy TPM;
/// * [`Svsm::attestation`]: the report source (an SNP guest request to the PSP).
///
/// A call never holds two of them at once (it takes them one after the other), so there is no
/// lock order to get wrong.
pub struct Svsm<M, E, P> {
    pub machine: SpinLock<Machine<M, P>>,
    pub engine: SpinLock<E>,
    /// The attestation protocol's service; `None` where it is not offered (a bare engine).
    pub attestation: Option<SpinLock<alloc::boxed::Box<dyn Attestation + Send>>>,
}

impl<M, E, P> ::core::fmt::Debug for Svsm<M, E, P> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.debug_struct("Svsm")
            .field("attestation", &self.attestation.is_some())
            .finish_non_exhaustive()
    }
}

impl<M: GuestMemory, E: Engine, P: PageState> Svsm<M, E, P> {
    /// The SVSM over `machine`, serving `engine` and, if given, `attestation`.
    pub fn new(
        machine: Machine<M, P>,
        engine: E,
        attestation: Option<alloc::boxed::Box<dyn Attestation + Send>>,
    ) -> Self {
        Svsm {
            machine: SpinLock::new(machine),
            engine: SpinLock::new(engine),
            attestation: attestation.map(SpinLock::new),
        }
    }

    /// Handles a VMGEXIT from `cpu`'s guest: if its calling area has `call_pending` set,
    /// dispatches the call in `regs` (RAX gets the result code), then clears `call_pending` in
    /// that calling area. Returns whether a call was handled; without one (flag clear, or a
    /// calling area the guest may no longer name) the registers are left alone.
    pub fn handle_vmgexit(&self, cpu: &mut Cpu, regs: &mut Registers) -> bool {
        // The call completes in the area it was made from, even if it moved the calling area
        // (`SVSM_CORE_REMAP_CA`).
        let caa = cpu.caa;
        if !self.call_pending(caa) {
            return false;
        }
        dispatch(self, cpu, regs);
        let mut m = self.machine.lock();
        let m = &mut *m;
        if let Ok(flag) = m.map.region(caa, 1, 1, crate::mm::guest::PageSize::Small) {
            let _ = m.mem.copy_out(&flag, &[0]);
        }
        true
    }

    fn call_pending(&self, caa: u64) -> bool {
        let m = self.machine.lock();
        let Ok(flag) = m.map.region(caa, 1, 1, crate::mm::guest::PageSize::Small) else {
            return false;
        };
        let mut b = [0u8];
        m.mem.copy_in(&flag, &mut b).is_ok() && b[0] & 1 == 1
    }
}

/// Runs the call in `regs`: RAX gets the result code; on success the call's outputs are in the
/// other registers, on error they are unchanged.
pub fn dispatch<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    regs: &mut Registers,
) {
    let mut out = *regs;
    let result = match regs.protocol() {
        SVSM_CORE_PROTOCOL => self::core::handle(svsm, cpu, regs.call(), &mut out),
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
    use crate::cpu::lock::SpinGuard;
    use crate::mm::guest::VecMemory;
    use crate::platform::qemu_test::SimulatedRmp;
    use ::core::ops::Range;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Guest RAM 1 MiB..16 MiB; the SVSM owns 8..9 MiB; the calling area is at 2 MiB.
    pub const RAM: Range<u64> = 0x10_0000..0x100_0000;
    pub const SVSM_MEM: Range<u64> = 0x80_0000..0x90_0000;
    pub const CAA: u64 = 0x20_0000;

    /// Answers every command with a header-only response whose code is the command's length,
    /// and records what it saw.
    #[derive(Debug, Default)]
    pub struct FakeEngine {
        pub seen: std::vec::Vec<(u8, std::vec::Vec<u8>)>,
    }

    impl Engine for FakeEngine {
        fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
            self.seen.push((locality, command.to_vec()));
            let mut r = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0];
            r[6..10].copy_from_slice(&(command.len() as u32).to_be_bytes());
            response[..10].copy_from_slice(&r);
            10
        }
    }

    /// A vTPM manifest of 300 bytes of pattern; reports from the qemu-test software PSP,
    /// counted.
    #[derive(Debug)]
    pub struct FakeAttestation {
        pub manifest: std::vec::Vec<u8>,
        pub reports: Arc<AtomicUsize>,
    }

    impl attest::Attestation for FakeAttestation {
        fn vtpm_manifest(&self) -> &[u8] {
            &self.manifest
        }

        fn report(&mut self, report_data: &[u8; 64]) -> SvsmResult<std::vec::Vec<u8>> {
            self.reports.fetch_add(1, Ordering::SeqCst);
            Ok(
                evidence::test_root::qemu_test_report(report_data, 0, &[1; 32])
                    .unwrap()
                    .to_vec(),
            )
        }
    }

    /// An SVSM over [`RAM`] with `E`, the calling vCPU's [`Cpu`], and what its attestation
    /// service was given.
    #[derive(Debug)]
    pub struct Harness<E> {
        pub svsm: Svsm<VecMemory, E, SimulatedRmp>,
        pub cpu: Cpu,
        pub manifest: std::vec::Vec<u8>,
        pub reports: Arc<AtomicUsize>,
    }

    pub type TestSvsm = Harness<FakeEngine>;

    impl<E: Engine> Harness<E> {
        /// The machine (guest memory, map, pages, vCPUs), locked.
        pub fn m(&self) -> SpinGuard<'_, Machine<VecMemory, SimulatedRmp>> {
            self.svsm.machine.lock()
        }

        /// The engine, locked.
        pub fn engine(&self) -> SpinGuard<'_, E> {
            self.svsm.engine.lock()
        }

        /// Reports requested so far.
        pub fn reports(&self) -> usize {
            self.reports.load(Ordering::SeqCst)
        }
    }

    pub fn machine() -> Machine<VecMemory, SimulatedRmp> {
        Machine {
            mem: VecMemory::new(RAM.start, (RAM.end - RAM.start) as usize),
            map: GuestMap::new(&[RAM], &[SVSM_MEM]),
            pages: SimulatedRmp::new(RAM.clone()),
            vcpus: Vcpus::new(&[0, 1, 2, 3]),
        }
    }

    pub fn with_engine<E: Engine>(engine: E) -> Harness<E> {
        let manifest: std::vec::Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let reports = Arc::new(AtomicUsize::new(0));
        let attestation = FakeAttestation {
            manifest: manifest.clone(),
            reports: reports.clone(),
        };
        Harness {
            svsm: Svsm::new(machine(), engine, Some(std::boxed::Box::new(attestation))),
            cpu: Cpu {
                caller: Caller {
                    vmpl: 1,
                    sev_features: 0x1,
                },
                caa: CAA,
            },
            manifest,
            reports,
        }
    }

    pub fn svsm() -> TestSvsm {
        with_engine(FakeEngine::default())
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

    pub fn write<E: Engine>(s: &mut Harness<E>, gpa: u64, bytes: &[u8]) {
        let mut m = s.m();
        let m = &mut *m;
        let r = m
            .map
            .region(
                gpa,
                bytes.len() as u64,
                1,
                crate::mm::guest::PageSize::Small,
            )
            .unwrap();
        m.mem.copy_out(&r, bytes).unwrap();
    }

    pub fn read<E: Engine>(s: &Harness<E>, gpa: u64, len: usize) -> std::vec::Vec<u8> {
        let m = s.m();
        let r = m
            .map
            .region(gpa, len as u64, 1, crate::mm::guest::PageSize::Small)
            .unwrap();
        let mut v = std::vec![0; len];
        m.mem.copy_in(&r, &mut v).unwrap();
        v
    }

    /// Issues a call as the guest does: sets `call_pending`, "VMGEXIT", returns the registers.
    pub fn call<E: Engine>(
        s: &mut Harness<E>,
        protocol: u32,
        call: u32,
        args: [u64; 4],
    ) -> Registers {
        let caa = s.cpu.caa;
        write(s, caa, &[1]);
        let mut regs = Registers {
            rax: Registers::request(protocol, call),
            rcx: args[0],
            rdx: args[1],
            r8: args[2],
            r9: args[3],
        };
        assert!(s.svsm.handle_vmgexit(&mut s.cpu, &mut regs));
        regs
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::mm::guest::PageSize;

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
        assert!(s.engine().seen.is_empty());
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
        assert!(!s.svsm.handle_vmgexit(&mut s.cpu, &mut regs));
        assert_eq!(regs.rax, Registers::request(2, 0));
    }

    #[test]
    fn a_calling_area_the_guest_cannot_name_handles_no_call() {
        let mut s = svsm();
        s.cpu.caa = SVSM_MEM.start;
        let mut regs = Registers::default();
        assert!(!s.svsm.handle_vmgexit(&mut s.cpu, &mut regs));
        s.cpu.caa = RAM.end;
        assert!(!s.svsm.handle_vmgexit(&mut s.cpu, &mut regs));
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

    /// An engine that holds the engine lock until told to finish, as a long command (an RSA
    /// key generation) does.
    #[derive(Debug)]
    struct Gate {
        entered: std::sync::Arc<std::sync::atomic::AtomicBool>,
        release: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Engine for Gate {
        fn execute(&mut self, _: u8, command: &[u8], response: &mut [u8]) -> usize {
            use std::sync::atomic::Ordering::SeqCst;
            self.entered.store(true, SeqCst);
            while !self.release.load(SeqCst) {
                std::thread::yield_now();
            }
            FakeEngine::default().execute(0, command, response)
        }
    }

    /// Opens the gate when dropped, so that a failing test thread does not leave the engine
    /// thread spinning.
    struct OpenOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Drop for OpenOnDrop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn gated() -> (
        Harness<Gate>,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let entered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = with_engine(Gate {
            entered: entered.clone(),
            release: release.clone(),
        });
        (s, entered, release)
    }

    /// Waits until the engine was entered; fails if the command ended without entering it.
    fn wait_for<T>(
        entered: &std::sync::atomic::AtomicBool,
        vcpu0: &std::thread::ScopedJoinHandle<'_, T>,
    ) {
        while !entered.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(!vcpu0.is_finished(), "the command ended without the engine");
            std::thread::yield_now();
        }
    }

    type GatedSvsm =
        Svsm<crate::mm::guest::VecMemory, Gate, crate::platform::qemu_test::SimulatedRmp>;

    /// Runs `meanwhile` while vCPU 0 (`cpu`) is inside the engine with the command at
    /// [`CMD_PAGE`], then lets the engine finish; returns vCPU 0's RAX and what `meanwhile`
    /// returned.
    fn with_vcpu0_in_engine<'env, R>(
        svsm: &'env GatedSvsm,
        cpu: &'env mut Cpu,
        entered: &std::sync::atomic::AtomicBool,
        release: &std::sync::Arc<std::sync::atomic::AtomicBool>,
        meanwhile: impl for<'scope> FnOnce(
            &'scope std::thread::Scope<'scope, 'env>,
            &std::thread::ScopedJoinHandle<'scope, u64>,
        ) -> R,
    ) -> (u64, R) {
        std::thread::scope(|scope| {
            let _open = OpenOnDrop(release.clone());
            let vcpu0 = scope.spawn(|| {
                let mut regs = vtpm_cmd_regs();
                assert!(svsm.handle_vmgexit(cpu, &mut regs));
                regs.rax
            });
            wait_for(entered, &vcpu0);
            let r = meanwhile(scope, &vcpu0);
            release.store(true, std::sync::atomic::Ordering::SeqCst);
            (vcpu0.join().unwrap(), r)
        })
    }

    const CMD_PAGE: u64 = 0x40_0000;
    const GET_RANDOM_8: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8];

    /// Puts a vTPM command in [`CMD_PAGE`] and `call_pending` in `caa`.
    fn stage_command(s: &mut Harness<Gate>, caa: u64) {
        let mut page = [0u8; 4096];
        tpm_proto::framing::svsm::write_request(&mut page, 0, &GET_RANDOM_8).unwrap();
        write(s, CMD_PAGE, &page);
        write(s, caa, &[1]);
    }

    fn vtpm_cmd_regs() -> Registers {
        Registers {
            rax: Registers::request(SVSM_VTPM_PROTOCOL, self::vtpm::SVSM_VTPM_CMD),
            rcx: CMD_PAGE,
            ..Default::default()
        }
    }

    /// vCPU 0 sends a vTPM command that runs "forever"; meanwhile vCPU 1's core calls and an
    /// attestation call are served, each under the machine or attestation lock alone.
    #[test]
    fn other_vcpus_are_served_while_a_vtpm_command_runs() {
        let (mut s, entered, release) = gated();
        stage_command(&mut s, CAA);
        let other_caa = 0x20_1000;
        let mut other = Cpu {
            caa: other_caa,
            ..s.cpu
        };
        // The attestation request vCPU 1 will make: single service, vTPM GUID.
        let req = 0x21_0000;
        let mut r = std::vec![0u8; attest::REQUEST_SIZE];
        r[0..8].copy_from_slice(&0x30_0000u64.to_le_bytes());
        r[8..12].copy_from_slice(&4096u32.to_le_bytes());
        r[0x20..0x28].copy_from_slice(&0x30_1000u64.to_le_bytes());
        r[0x28..0x2c].copy_from_slice(&4096u32.to_le_bytes());
        r[0x40..0x50].copy_from_slice(&attest::VTPM_SERVICE_GUID.0);
        write(&mut s, req, &r);
        // A PVALIDATE list validating one page, for vCPU 1.
        let list = 0x22_0000;
        let mut l = std::vec![0u8; 16];
        l[0..2].copy_from_slice(&1u16.to_le_bytes());
        l[8..16].copy_from_slice(&(0x50_0000u64 | 4).to_le_bytes());
        write(&mut s, list, &l);

        let Harness { svsm, mut cpu, .. } = s;
        let (rax, ()) = with_vcpu0_in_engine(&svsm, &mut cpu, &entered, &release, |_, vcpu0| {
            assert!(svsm.engine.try_lock().is_none(), "vCPU 0 holds the engine");
            let calls: [(u32, u32, u64); 4] = [
                (SVSM_CORE_PROTOCOL, 6, (2 << 32) | 1), // QUERY_PROTOCOL: vTPM v1
                (SVSM_CORE_PROTOCOL, 1, list),          // PVALIDATE
                (SVSM_ATTEST_PROTOCOL, 1, req),         // ATTEST_SINGLE_SERVICE
                (SVSM_CORE_PROTOCOL, 0, 0x20_2000),     // REMAP_CA
            ];
            for (protocol, call, rcx) in calls {
                {
                    let mut m = svsm.machine.lock();
                    let m = &mut *m;
                    let flag = m.map.region(other.caa, 1, 1, PageSize::Small).unwrap();
                    m.mem.copy_out(&flag, &[1]).unwrap();
                }
                let mut regs = Registers {
                    rax: Registers::request(protocol, call),
                    rcx,
                    ..Default::default()
                };
                assert!(svsm.handle_vmgexit(&mut other, &mut regs));
                assert_eq!(regs.rax, SVSM_SUCCESS, "{protocol}:{call}");
            }
            assert_eq!(other.caa, 0x20_2000, "vCPU 1's calling area moved");
            assert!(!vcpu0.is_finished(), "vCPU 0's command is still running");
        });
        assert_eq!(rax, SVSM_SUCCESS);
        assert_eq!(cpu.caa, CAA, "vCPU 0's calling area is its own");
        let m = svsm.machine.lock();
        let mut page = [0u8; 4096];
        m.mem
            .copy_in(&m.map.page(CMD_PAGE).unwrap(), &mut page)
            .unwrap();
        let rsp = tpm_proto::framing::svsm::parse_response(&page).unwrap();
        assert_eq!(rsp, [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 12]);
        assert!(
            m.pages.is_valid(0x50_0000),
            "vCPU 1's PVALIDATE took effect"
        );
    }

    /// A second vTPM command waits for the first (as a guest waits for a busy TPM) and both
    /// are answered.
    #[test]
    fn vtpm_commands_from_two_vcpus_take_turns() {
        use std::sync::atomic::Ordering::SeqCst;
        let (mut s, entered, release) = gated();
        stage_command(&mut s, CAA);
        let second_page = 0x41_0000;
        let mut page = [0u8; 4096];
        tpm_proto::framing::svsm::write_request(
            &mut page,
            0,
            &[0x80, 1, 0, 0, 0, 10, 0, 0, 1, 0x43],
        )
        .unwrap();
        write(&mut s, second_page, &page);
        let other_caa = 0x20_1000;
        write(&mut s, other_caa, &[1]);
        let mut other = Cpu {
            caa: other_caa,
            ..s.cpu
        };
        let Harness { svsm, mut cpu, .. } = s;
        let (rax, rax1) = with_vcpu0_in_engine(&svsm, &mut cpu, &entered, &release, |scope, _| {
            let vcpu1 = scope.spawn(|| {
                let mut regs = Registers {
                    rcx: second_page,
                    ..vtpm_cmd_regs()
                };
                assert!(svsm.handle_vmgexit(&mut other, &mut regs));
                regs.rax
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(
                !vcpu1.is_finished(),
                "the second command waits for the engine"
            );
            release.store(true, SeqCst);
            vcpu1.join().unwrap()
        });
        assert_eq!(rax, SVSM_SUCCESS);
        assert_eq!(rax1, SVSM_SUCCESS);
        let m = svsm.machine.lock();
        for (gpa, len) in [(CMD_PAGE, 12u8), (second_page, 10)] {
            m.mem.copy_in(&m.map.page(gpa).unwrap(), &mut page).unwrap();
            let rsp = tpm_proto::framing::svsm::parse_response(&page).unwrap();
            assert_eq!(rsp, [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, len]);
        }
    }

    /// The command page became a VMSA (another vCPU's CREATE_VCPU) while the engine ran: the
    /// response is not written there.
    #[test]
    fn a_command_page_taken_away_meanwhile_gets_no_response() {
        let (mut s, entered, release) = gated();
        stage_command(&mut s, CAA);
        let before = read(&s, CMD_PAGE, 4096);
        let Harness { svsm, mut cpu, .. } = s;
        let (rax, ()) = with_vcpu0_in_engine(&svsm, &mut cpu, &entered, &release, |_, _| {
            svsm.machine.lock().map.add_vmsa(CMD_PAGE).unwrap();
        });
        assert_eq!(rax, SvsmError::InvalidAddress.code());
        let mut m = svsm.machine.lock();
        m.map.remove_vmsa(CMD_PAGE).unwrap();
        let mut page = [0u8; 4096];
        m.mem
            .copy_in(&m.map.page(CMD_PAGE).unwrap(), &mut page)
            .unwrap();
        assert_eq!(&page[..], &before[..], "the page is as the guest left it");
    }
}
