//! The SEV-SNP machine once [`super::start`] has checked the hypervisor: the pages shared
//! with it (the GHCB and the guest-request pages), port I/O as GHCB IOIO exits, and the guest
//! requests under VMPCK0 over them. Firmware target only; none of it can run without SNP
//! hardware.
//!
//! The shared pages come from a pool in the image (`.bss`, 128 KiB-aligned so that its pages
//! share one 2 MiB mapping): a GHCB page per CPU slot ([`crate::cpu::percpu`]) and the two
//! guest-request pages. Each is rescinded (PVALIDATE), turned shared in the RMP (GHCB MSR
//! protocol page state change) and mapped with the C-bit clear ([`crate::mm::paging`]), in the
//! order Linux uses, all by the boot CPU before any other runs. Each CPU then registers its own
//! GHCB page and exits through it. One lock serialises the exits (console I/O, guest requests)
//! and the guest-request pages.

use super::ghcb::msr::{self, PageState};
use super::ghcb::{exit_code, ioio_info1, ioio_result, Field, Ghcb};
use super::guest_request::ghcb_transport::{GhcbTransport, SharedMemory, SharedPages};
use super::guest_request::report::SnpReports;
use super::guest_request::{GuestRequester, TransportError};
use super::instr;
use super::layout::SECRETS_GPA;
use super::rmp::PvalidateResult;
use super::secrets::SecretsPage;
use super::shared::SnpSharedMemory;
use crate::cpu::lock::SpinLock;
use crate::cpu::percpu::MAX_CPUS;
use core::cell::UnsafeCell;

/// Pages of the pool: a GHCB page per CPU slot, then the request and the response page.
const POOL_PAGES: usize = MAX_CPUS + 2;

/// The pool of shared pages. The linker script puts it at a 128 KiB boundary (section
/// `.bss.snp_pool`), so that all of it lies in one 2 MiB mapping; `setup` checks.
#[repr(C, align(4096))]
struct Pool(UnsafeCell<[[u8; 4096]; POOL_PAGES]>);
// SAFETY: the pool is only ever named by address (`setup`), never through a reference, and
// once shared it is reached only through `SnpSharedMemory`'s volatile copies under `SHARED`.
unsafe impl Sync for Pool {}
#[link_section = ".bss.snp_pool"]
static POOL: Pool = Pool(UnsafeCell::new([[0; 4096]; POOL_PAGES]));
const _: () = assert!(POOL_PAGES * 4096 <= 128 * 1024);

/// The shared pages, once set up.
static SHARED: SpinLock<Option<SnpSharedMemory>> = SpinLock::new(None);

/// Why the shared pages could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupError {
    Pvalidate(PvalidateResult),
    PageStateChange(msr::MsrProtocolError),
    Map(&'static str),
    Register(msr::MsrProtocolError),
}

/// Makes the pool shared, registers the boot CPU's GHCB page and returns where the
/// guest-request pages are. The other CPUs register theirs with [`register_this_cpu`].
///
/// # Safety
///
/// Once, on the boot CPU, with nothing else running; `cbit` is the C-bit the entry code
/// mapped memory with.
pub unsafe fn setup(cbit: u32) -> Result<SharedPages, SetupError> {
    let base = POOL.0.get() as u64;
    let mask = 1u64 << cbit;
    if base >> 21 != (base + POOL_PAGES as u64 * 4096 - 1) >> 21 {
        return Err(SetupError::Map("the shared pool straddles a 2 MiB page"));
    }
    for i in 0..POOL_PAGES as u64 {
        let va = base + i * 4096;
        // SAFETY: a pool page: no Rust object lives there (named by address only), and it is
        // not accessed privately again.
        match unsafe { instr::pvalidate_own_page(va, false) } {
            PvalidateResult::Success | PvalidateResult::Unchanged => {}
            e => return Err(SetupError::Pvalidate(e)),
        }
        let request = msr::page_state_change_request(va, PageState::Shared)
            .map_err(SetupError::PageStateChange)?;
        msr::decode_page_state_change(instr::msr_protocol(request))
            .map_err(SetupError::PageStateChange)?;
        // SAFETY: boot CPU, nothing else running (caller); the page is shared in the RMP now
        // and holds no Rust object.
        unsafe { crate::mm::paging::map_shared(va, mask) }.map_err(SetupError::Map)?;
    }
    let request = base + MAX_CPUS as u64 * 4096;
    // SAFETY: the pool's pages are 4 KiB aligned, below 1 GiB, mapped C-bit clear, shared in
    // the RMP and used by nothing but the value made here.
    let mut mem = unsafe { SnpSharedMemory::new(base..request, request..request + 2 * 4096) };
    mem.register().map_err(SetupError::Register)?;
    *SHARED.lock() = Some(mem);
    Ok(SharedPages {
        request,
        response: request + 4096,
        certs: 0,
        cert_pages: 0,
    })
}

/// Registers the current CPU's GHCB page (its slot's in the pool), on a CPU other than the boot
/// CPU, after [`setup`].
pub fn register_this_cpu() -> Result<(), SetupError> {
    SHARED
        .lock()
        .as_mut()
        .ok_or(SetupError::Map("no shared pages"))?
        .register()
        .map_err(SetupError::Register)
}

/// One port access as a GHCB IOIO exit: `write` is `Some(value)` for OUT; IN returns the value.
/// A refused exit reads as all ones (an absent device) and drops a write.
pub fn ioio(port: u16, size: u8, write: Option<u32>) -> u32 {
    let Some(info1) = ioio_info1(port, size, write.is_none()) else {
        return u32::MAX;
    };
    let mut shared = SHARED.lock();
    let Some(mem) = shared.as_mut() else {
        return u32::MAX;
    };
    let mut ghcb = Ghcb::default();
    ghcb.prepare(exit_code::IOIO, info1, 0);
    if let Some(v) = write {
        ghcb.set(Field::Rax, u64::from(v));
    }
    if mem.exit(&mut ghcb).is_err() {
        return u32::MAX;
    }
    match (write, ioio_result(&ghcb, size)) {
        (None, Ok(v)) => v,
        _ => u32::MAX,
    }
}

/// The shared pages as the guest-request transport's machine, one locked access at a time.
#[derive(Debug)]
pub struct SharedGhcb;

impl SharedMemory for SharedGhcb {
    fn write(&mut self, gpa: u64, bytes: &[u8]) -> Result<(), TransportError> {
        SHARED
            .lock()
            .as_mut()
            .ok_or(TransportError("no shared pages"))?
            .write(gpa, bytes)
    }
    fn read(&mut self, gpa: u64, bytes: &mut [u8]) -> Result<(), TransportError> {
        SHARED
            .lock()
            .as_mut()
            .ok_or(TransportError("no shared pages"))?
            .read(gpa, bytes)
    }
    fn exit(&mut self, ghcb: &mut Ghcb) -> Result<(), TransportError> {
        SHARED
            .lock()
            .as_mut()
            .ok_or(TransportError("no shared pages"))?
            .exit(ghcb)
    }
}

/// SNP attestation reports for the vTPM service: VMPCK0 moved out of the secrets page (so the
/// page keeps no copy), guest requests through the shared pages. Also returns the secrets page
/// without VMPCK0, from which the guest's copy is made (`sev::launch::prepare`).
pub fn reports(
    pages: SharedPages,
) -> Result<(SnpReports<GhcbTransport<SharedGhcb>>, SecretsPage), &'static str> {
    let mut bytes = [0u8; 4096];
    let src = SECRETS_GPA as *const u8;
    for (i, b) in bytes.iter_mut().enumerate() {
        // SAFETY: the secrets page is an identity-mapped private page the PSP filled at launch
        // (layout::SECRETS_GPA, inside the boot map); volatile byte loads, no reference made.
        *b = unsafe { core::ptr::read_volatile(src.add(i)) };
    }
    let mut page = SecretsPage::from_bytes(&bytes).map_err(|_| "secrets page: unknown layout")?;
    zeroize::Zeroize::zeroize(&mut bytes);
    let vmpck0 = page.take_vmpck0().map_err(|_| "secrets page: no VMPCK0")?;
    let transport =
        GhcbTransport::new(SharedGhcb, pages).ok_or("guest-request pages not aligned")?;
    Ok((
        SnpReports::new(GuestRequester::new(vmpck0), transport),
        page,
    ))
}

/// The #VC backend of SNP hardware: CPUID from the CPUID page (`cpu::cpuid`, routed), port I/O
/// and MSRs through the GHCB.
struct GhcbVc;

impl super::vc::VcBackend for GhcbVc {
    fn cpuid(&mut self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let r = crate::cpu::cpuid(leaf, subleaf);
        [r.eax, r.ebx, r.ecx, r.edx]
    }
    fn io(&mut self, port: u16, size: u8, write: Option<u32>) -> Result<u32, super::vc::VcError> {
        Ok(ioio(port, size, write))
    }
    fn msr(&mut self, msr: u32, write: Option<u64>) -> Result<u64, super::vc::VcError> {
        use super::vc::VcError;
        let mut shared = SHARED.lock();
        let mem = shared.as_mut().ok_or(VcError::Hypervisor)?;
        let mut ghcb = Ghcb::default();
        ghcb.prepare(exit_code::MSR, u64::from(write.is_some()), 0);
        ghcb.set(Field::Rcx, u64::from(msr));
        if let Some(v) = write {
            ghcb.set(Field::Rax, v & 0xFFFF_FFFF);
            ghcb.set(Field::Rdx, v >> 32);
        }
        mem.exit(&mut ghcb).map_err(|_| VcError::Hypervisor)?;
        ghcb.exit_result().map_err(|_| VcError::Hypervisor)?;
        if write.is_some() {
            return Ok(0);
        }
        let lo = ghcb.get(Field::Rax).ok_or(VcError::Hypervisor)?;
        let hi = ghcb.get(Field::Rdx).ok_or(VcError::Hypervisor)?;
        Ok((hi << 32) | (lo & 0xFFFF_FFFF))
    }
}

/// Handles a #VC raised by the firmware's own code (`frame`: the saved registers; its error
/// code is the exit code). `false` if it cannot be handled (then it is fatal).
pub fn handle_vc(frame: &mut crate::cpu::idt::TrapFrame) -> bool {
    if frame.error_code == super::vc::code::PAGE_NOT_VALIDATED {
        // A guest address the guest never validated: the guest copy fails instead (the only
        // code that touches guest memory), anything else is fatal.
        return match crate::mm::guest::guest_copy_fixup(frame.rip) {
            Some(resume) => {
                frame.rip = resume;
                true
            }
            None => false,
        };
    }
    let image = crate::mm::image();
    if frame.rip < image.start || frame.rip.saturating_add(15) > image.end {
        return false;
    }
    let mut insn = [0u8; 15];
    for (i, b) in insn.iter_mut().enumerate() {
        // SAFETY: `rip..rip + 15` lies in the firmware image (checked), identity-mapped
        // private memory; volatile byte loads, no reference made.
        *b = unsafe { core::ptr::read_volatile((frame.rip as *const u8).add(i)) };
    }
    let Ok((action, len)) = super::vc::decode(frame.error_code, &insn) else {
        return false;
    };
    let mut regs = super::vc::VcRegs {
        rax: frame.rax,
        rbx: frame.rbx,
        rcx: frame.rcx,
        rdx: frame.rdx,
        rip: frame.rip,
    };
    if super::vc::apply(action, len, &mut regs, &mut GhcbVc).is_err() {
        return false;
    }
    (frame.rax, frame.rbx, frame.rcx, frame.rdx, frame.rip) =
        (regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rip);
    true
}
