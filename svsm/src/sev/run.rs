//! The guest at VMPL1 on SEV-SNP hardware (firmware target only; nothing here can run without
//! SNP): the guest firmware's memory prepared from the launch-information page
//! ([`super::launch::prepare`], through PVALIDATE, page state changes and RMPADJUST), the
//! guest's VMSA made from an SVSM page and registered for the boot vCPU (SNP AP Creation), and
//! one request loop per vCPU: run VMPL1 (GHCB MSR protocol, SNP Run VMPL), serve the call its
//! VMSA holds ([`super::launch::turn`]), run it again.
//!
//! The other vCPUs of the launch wait in `snp_start` (boot code) until the boot vCPU has built
//! the SVSM; then each claims a CPU slot ([`crate::cpu::percpu`]) with the stack the boot vCPU
//! left for it, builds its own GDT, TSS (IST stacks) and IDT, registers its own GHCB page,
//! learns its APIC ID from the hypervisor, adds it to the SVSM's vCPUs and runs its loop. That
//! loop waits until the guest registers a VMSA for its APIC ID (`SVSM_CORE_CREATE_VCPU`, on any
//! vCPU; the guest then starts it with its own AP Creation) and runs the newest one. All vCPUs
//! share one [`Svsm`], whose locks keep a vTPM command on one vCPU from stalling the others.
//!
//! Where the launch stops short of the SVSM specification: RAM above 512 GiB (the reach of one
//! page-directory-pointer table of 1 GiB pages) is not mapped, and so not in the guest map: a
//! call naming it gets `INVALID_ADDRESS`; a vCPU beyond [`MAX_CPUS`] is never served.

use super::ghcb::msr;
use super::ghcb::{ap_creation_info1, exit_code, ApCreation, Field, Ghcb};
use super::guest_request::ghcb_transport::SharedMemory;
use super::instr;
use super::launch::{
    self, GuestVmsa, LaunchInfo, LoopState, Target, GUEST_VMPL, LAUNCH_INFO_GPA, MEMORY_MAP_GPA,
};
use super::layout::{termination, CPUID_GPA};
use super::rmp::{PvalidateResult, RmpAttributes, RmpadjustResult, VmplPermissions};
use super::secrets::SecretsPage;
use super::start::terminate;
use super::vmsa::{guest_reset_vmsa, VMSA_SIZE};
use crate::cpu::percpu::MAX_CPUS;
use crate::mm::guest::{GuestMap, GuestMemory, GuestRegion, IdentityMapped, PageSize};
use crate::protocol::attest::Attestation;
use crate::protocol::core::{PageState, PvalidateFail, Vcpus};
use crate::protocol::vtpm::Engine;
use crate::protocol::{Caller, Machine, Svsm, SvsmError, SvsmResult};
use log::{error, info};

/// `SEV_FEATURES` of the guest's VMSA: SNPActive.
const GUEST_SEV_FEATURES: u64 = 0x1;
/// The boot vCPU's APIC ID if the hypervisor does not say (QEMU and KVM number vCPUs from 0).
const BSP_APIC_ID: u32 = 0;

/// Everything VMPL1 may do with its own memory.
fn guest_access() -> RmpAttributes {
    RmpAttributes::new(GUEST_VMPL, VmplPermissions::ALL, false)
        .unwrap_or_else(|_| terminate(termination::GUEST_MEMORY))
}

/// A copy of a private page of the SVSM's launch (launch information, CPUID page).
fn read_launch_page(gpa: u64) -> [u8; 4096] {
    let mut page = [0u8; 4096];
    let src = gpa as *const u8;
    for (i, b) in page.iter_mut().enumerate() {
        // SAFETY: `gpa` is one of the launch's pages below the image (layout, launch), inside
        // the identity map, private and validated by the launch; volatile byte loads, no
        // reference made.
        *b = unsafe { core::ptr::read_volatile(src.add(i)) };
    }
    page
}

/// The page operations of [`launch::prepare`] on SNP hardware.
struct Hardware<'a> {
    map: &'a GuestMap,
    mem: &'a mut IdentityMapped,
}

impl launch::SnpPages for Hardware<'_> {
    fn make_private(&mut self, gpa: u64) -> bool {
        msr::page_state_change_request(gpa, msr::PageState::Private)
            .is_ok_and(|r| msr::decode_page_state_change(instr::msr_protocol(r)).is_ok())
    }

    fn pvalidate(&mut self, gpa: u64) -> PvalidateResult {
        match self.map.page(gpa) {
            Ok(region) => instr::pvalidate(&region, PageSize::Small, true),
            Err(_) => PvalidateResult::FailInput,
        }
    }

    fn rmpadjust(&mut self, gpa: u64, attrs: RmpAttributes) -> RmpadjustResult {
        match self.map.page(gpa) {
            Ok(region) => instr::rmpadjust(&region, PageSize::Small, attrs),
            Err(_) => RmpadjustResult::FailInput,
        }
    }

    fn write(&mut self, gpa: u64, page: &[u8; 4096]) -> bool {
        self.map
            .page(gpa)
            .is_ok_and(|region| self.mem.copy_out(&region, page).is_ok())
    }
}

/// The core protocol's page operations on SNP hardware: PVALIDATE, and RMPADJUST for the
/// guest's access to what it validated and for the VMSA attribute.
#[derive(Debug)]
struct SnpPages;

impl PageState for SnpPages {
    fn pvalidate(
        &mut self,
        region: &GuestRegion<'_>,
        size: PageSize,
        validate: bool,
    ) -> Result<(), PvalidateFail> {
        instr::pvalidate(region, size, validate).to_result()?;
        if validate && instr::rmpadjust(region, size, guest_access()) != RmpadjustResult::Success {
            // A page the guest cannot use is rescinded again rather than left validated.
            let _ = instr::pvalidate(region, size, false);
            return Err(PvalidateFail::Input);
        }
        Ok(())
    }

    fn set_vmsa(&mut self, page: &GuestRegion<'_>, vmsa: bool) -> SvsmResult {
        let attrs = if vmsa {
            RmpAttributes::new(GUEST_VMPL, VmplPermissions::NONE, true)
        } else {
            RmpAttributes::new(GUEST_VMPL, VmplPermissions::ALL, false)
        }
        .map_err(|_| SvsmError::InvalidParameter)?;
        match instr::rmpadjust(page, PageSize::Small, attrs) {
            RmpadjustResult::Success => Ok(()),
            _ => Err(SvsmError::InvalidAddress),
        }
    }
}

/// A VMSA page of VMPL1, reached by copies: the SVSM's own first VMSA of the guest (a page of
/// SVSM memory), or one the guest registered with `SVSM_CORE_CREATE_VCPU` (a page of guest RAM
/// inside the identity map, which the guest can no longer write: its RMP VMSA attribute is
/// set).
#[derive(Debug)]
struct OwnVmsa {
    va: u64,
}

impl GuestVmsa for OwnVmsa {
    fn read(&mut self, page: &mut [u8; VMSA_SIZE]) {
        let src = self.va as *const u8;
        for (i, b) in page.iter_mut().enumerate() {
            // SAFETY: `va` is a 4 KiB VMSA page, identity-mapped: the one `new_guest_vmsa`
            // allocated and leaked, or guest RAM the guest registered (no Rust object in either);
            // volatile byte loads, no reference made.
            *b = unsafe { core::ptr::read_volatile(src.add(i)) };
        }
    }

    fn write(&mut self, page: &[u8; VMSA_SIZE]) {
        let dst = self.va as *mut u8;
        for (i, b) in page.iter().enumerate() {
            // SAFETY: as in `read`; volatile byte stores while the VMSA is not running.
            unsafe { core::ptr::write_volatile(dst.add(i), *b) };
        }
    }
}

/// The guest's first VMSA at VMPL1, in a page of SVSM memory: the x86 reset state at OVMF's
/// reset vector, then RMPADJUSTed into a VMSA of VMPL1 (which VMPL1 itself cannot touch). The
/// page is never 2 MiB aligned (AMD erratum 1467: a VMSA page at a 2 MiB boundary may fault).
fn new_guest_vmsa() -> Result<OwnVmsa, &'static str> {
    let layout = core::alloc::Layout::from_size_align(2 * VMSA_SIZE, VMSA_SIZE)
        .map_err(|_| "VMSA layout")?;
    // SAFETY: a nonzero-sized layout; the allocation is leaked on purpose (the VMSA lives as
    // long as the guest) and never reached through a Rust reference.
    let base = unsafe { alloc::alloc::alloc_zeroed(layout) } as u64;
    if base == 0 {
        return Err("no memory for the guest's VMSA");
    }
    let va = if base.is_multiple_of(2 << 20) {
        base + VMSA_SIZE as u64
    } else {
        base
    };
    let mut vmsa = OwnVmsa { va };
    vmsa.write(&guest_reset_vmsa(GUEST_VMPL, GUEST_SEV_FEATURES));
    let attrs = RmpAttributes::new(GUEST_VMPL, VmplPermissions::NONE, true)
        .map_err(|_| "VMSA attributes")?;
    // SAFETY: `va` is a 4 KiB page of the heap (inside the image, identity-mapped) that the
    // leaked allocation keeps from every Rust object, reached only by `OwnVmsa`'s copies.
    match unsafe { instr::rmpadjust_own_page(va, attrs) } {
        RmpadjustResult::Success => Ok(vmsa),
        _ => Err("RMPADJUST of the guest's VMSA failed"),
    }
}

/// SNP AP Creation of `vmsa` for the vCPU `apic_id` at the guest's VMPL.
fn register_vmsa(vmsa: &OwnVmsa, apic_id: u32) -> Result<(), &'static str> {
    let info1 =
        ap_creation_info1(ApCreation::Create, GUEST_VMPL, apic_id).ok_or("AP Creation input")?;
    let mut ghcb = Ghcb::default();
    ghcb.prepare(exit_code::SNP_AP_CREATION, info1, vmsa.va);
    ghcb.set(Field::Rax, GUEST_SEV_FEATURES);
    super::snp::SharedGhcb
        .exit(&mut ghcb)
        .map_err(|_| "AP Creation exit")?;
    ghcb.exit_result()
        .map_err(|_| "the hypervisor refused the guest's VMSA")
}

/// The guest's RAM: the loader's memory map (RAM above 4 GiB mapped now with 1 GiB pages, if
/// the CPU has them; else left out), and the guest firmware, which the loader does not list.
fn guest_ram(info: &LaunchInfo) -> alloc::vec::Vec<core::ops::Range<u64>> {
    let ram = match launch::parse_memory_map(&read_launch_page(MEMORY_MAP_GPA)) {
        Ok(ram) => ram,
        Err(e) => {
            error!("memory map: {e:?}");
            terminate(termination::LAUNCH_INFO)
        }
    };
    let top = ram.iter().map(|r| r.end).max().unwrap_or(0);
    let gib_pages = crate::cpu::cpuid(0x8000_0001, 0).edx & (1 << 26) != 0;
    let mapped = if gib_pages {
        // SAFETY: the boot CPU, before the guest runs; the CPU has 1 GiB pages; the C-bit is
        // the one the entry code mapped with.
        unsafe { crate::mm::paging::map_high(top, 1u64 << super::start::cbit()) }
    } else {
        IdentityMapped::MAPPED_END
    };
    let ram = launch::guest_ram(ram, mapped, &info.firmware);
    info!(
        "guest RAM: {} ranges up to {:#x} (mapped to {mapped:#x})",
        ram.len(),
        top
    );
    ram
}

/// Launches the guest firmware at VMPL1 and serves it on the boot vCPU, forever. `secrets` is
/// the SVSM's secrets page without VMPCK0. Ends the guest (termination set 0xE) on any failure.
pub fn launch<E: Engine + Send + 'static>(
    engine: E,
    attestation: alloc::boxed::Box<dyn Attestation + Send>,
    secrets: &SecretsPage,
) -> ! {
    let image = crate::mm::image();
    let svsm_mem = MEMORY_MAP_GPA..image.end;
    let info = match LaunchInfo::parse(&read_launch_page(LAUNCH_INFO_GPA)) {
        Ok(info) => info,
        Err(e) => {
            error!("launch information: {e:?}");
            terminate(termination::LAUNCH_INFO)
        }
    };
    if let Err(e) = info.check(&svsm_mem) {
        error!("launch information refused: {e:?}");
        terminate(termination::LAUNCH_INFO);
    }
    let ram = guest_ram(&info);
    let map = GuestMap::new(&ram, core::slice::from_ref(&svsm_mem));
    let Some(mut mem) = IdentityMapped::new(&map) else {
        terminate(termination::GUEST_MEMORY)
    };
    let cpuid = read_launch_page(CPUID_GPA);
    let start = match launch::prepare(
        &info,
        &mut launch::SnpPrep(Hardware {
            map: &map,
            mem: &mut mem,
        }),
        secrets,
        &cpuid,
        &svsm_mem,
    ) {
        Ok(start) => start,
        Err(e) => {
            error!("guest memory: {e:?}");
            terminate(termination::GUEST_MEMORY)
        }
    };
    info!(
        "guest firmware {:#x}..{:#x} granted to VMPL1; secrets page at {:#x}, calling area at {:#x}",
        info.firmware.start, info.firmware.end, start.secrets, start.caa
    );
    let bsp_apic_id = own_apic_id().unwrap_or(BSP_APIC_ID);
    crate::cpu::percpu::current().set_apic_id(bsp_apic_id);
    let own = match new_guest_vmsa().and_then(|v| register_vmsa(&v, bsp_apic_id).map(|_| v)) {
        Ok(v) => v,
        Err(e) => {
            error!("guest VMSA: {e}");
            terminate(termination::GUEST_VMSA)
        }
    };
    let machine = Machine {
        mem,
        map,
        pages: SnpPages,
        vcpus: Vcpus::new(&[bsp_apic_id]),
    };
    let svsm: &'static SnpSvsm<E> = alloc::boxed::Box::leak(alloc::boxed::Box::new(Svsm::new(
        machine,
        engine,
        Some(attestation),
    )));
    /// The vCPUs share the SVSM by reference: it must be `Sync` (its state is behind locks).
    fn shared_by_all_cpus<T: Sync>(_: &T) {}
    shared_by_all_cpus(svsm);
    let (waiting, aps) =
        crate::cpu::percpu::release_aps(ap_loop::<E>, svsm as *const SnpSvsm<E> as u64);
    if waiting > aps {
        error!("{waiting} other vCPUs, {aps} served: the SVSM serves at most {MAX_CPUS} vCPUs");
    }
    info!("{aps} other vCPUs released; running the guest at VMPL1");
    serve(svsm, bsp_apic_id, Some((own, start.caa)))
}

/// The SVSM as the firmware runs it on SNP hardware.
type SnpSvsm<E> = Svsm<IdentityMapped, E, SnpPages>;

/// The caller every vCPU's guest is: VMPL1 with the launch's `SEV_FEATURES`.
const GUEST: Caller = Caller {
    vmpl: GUEST_VMPL,
    sev_features: GUEST_SEV_FEATURES,
};

/// This vCPU's APIC ID, from the hypervisor (GHCB MSR protocol CPUID, Fn0000_000B EDX: the
/// x2APIC ID, which the CPUID page cannot hold as it differs per vCPU; Linux takes it from the
/// hypervisor the same way). A hypervisor that lies can only make vCPUs serve the wrong guest
/// vCPU (which it could also do by not running them), and a duplicate ID is refused.
fn own_apic_id() -> Option<u32> {
    let request = msr::cpuid_request(0xB, msr::CpuidRegister::Edx);
    msr::decode_cpuid(instr::msr_protocol(request), msr::CpuidRegister::Edx).ok()
}

/// One vCPU's request loop, forever: run the VMSA the guest registered last for `apic_id`
/// (`SVSM_CORE_CREATE_VCPU`, on any vCPU), or, on the boot vCPU until it registers one, the
/// SVSM's own `own` (the guest firmware's first VMSA, with its calling area); serve the call
/// it stopped for ([`launch::turn`]); run it again. A vCPU with nothing to run waits.
fn serve<E: Engine>(svsm: &SnpSvsm<E>, apic_id: u32, own: Option<(OwnVmsa, u64)>) -> ! {
    let Ok(run) = msr::run_vmpl_request(GUEST_VMPL) else {
        terminate(termination::RUN_VMPL)
    };
    let (mut own_vmsa, mut state) = match own {
        Some((v, caa)) => (Some(v), LoopState::boot(GUEST, caa)),
        None => (None, LoopState::idle()),
    };
    loop {
        let registered = svsm.machine.lock().vcpus.of(apic_id);
        let Some((target, cpu)) = state.next(registered, GUEST) else {
            core::hint::spin_loop();
            continue;
        };
        if msr::decode_run_vmpl(instr::msr_protocol(run)).is_err() {
            if target == Target::Own {
                error!("the hypervisor refused to run VMPL1");
                terminate(termination::RUN_VMPL);
            }
            // A guest AP the guest has not started yet (its AP Creation comes after
            // CREATE_VCPU): try again.
            core::hint::spin_loop();
            continue;
        }
        match target {
            Target::Own => {
                if let Some(v) = own_vmsa.as_mut() {
                    launch::turn(svsm, cpu, v);
                }
            }
            Target::Guest(gpa) => {
                // The guest took over from the SVSM's own VMSA for good.
                own_vmsa = None;
                launch::turn(svsm, cpu, &mut OwnVmsa { va: gpa });
            }
        }
    }
}

/// An AP's request loop over the SVSM at `svsm` (the boot vCPU's, leaked: 'static), run by
/// [`crate::cpu::percpu::release_aps`] once the vCPU has its slot and tables: its own GHCB page
/// first (before anything that could raise #VC or log), its APIC ID, then the loop.
fn ap_loop<E: Engine + Send + 'static>(svsm: u64) -> ! {
    // SAFETY: `svsm` is the address `launch` gave `release_aps`: a leaked `SnpSvsm<E>`,
    // shared by reference only (its state is behind its locks), for the firmware's whole life.
    let svsm = unsafe { &*(svsm as *const SnpSvsm<E>) };
    let cpu = crate::cpu::percpu::current();
    if super::snp::register_this_cpu().is_err() {
        crate::cpu::halt()
    }
    let Some(apic_id) = own_apic_id() else {
        error!("vCPU slot {}: no APIC ID from the hypervisor", cpu.slot());
        crate::cpu::halt()
    };
    cpu.set_apic_id(apic_id);
    if !svsm.machine.lock().vcpus.add_apic_id(apic_id) {
        error!("vCPU slot {}: APIC ID {apic_id} is taken", cpu.slot());
        crate::cpu::halt()
    }
    info!("vCPU with APIC ID {apic_id} (slot {}) serving", cpu.slot());
    serve(svsm, apic_id, None)
}
