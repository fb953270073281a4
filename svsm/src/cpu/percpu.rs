//! Per-CPU state: one slot per vCPU the SVSM runs on, reached through the GS base.
//!
//! Slot 0 is the boot vCPU; the others claim slots 1.. in the order they arrive from the
//! SEV-SNP entry (`snp_start`, boot code). A slot holds what must differ between vCPUs and be
//! found without a lock: the GPA of the vCPU's own GHCB page (the hypervisor accepts a vCPU's
//! GHCB exits only through the page that vCPU registered, GHCB spec 56421, "SNP GHCB GPA
//! Registration") and the vCPU's APIC ID once known.
//!
//! Each CPU writes its slot's address into `IA32_GS_BASE` (which KVM does not intercept: no
//! #VC) before anything else; nothing reloads the GS selector afterwards (`idt::install`
//! leaves GS alone), so `gs:[0]`, the slot's own address, names the current CPU's slot.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The most vCPUs the SVSM serves (slots): `evtpm igvm`'s default `--max-vcpus`. A vCPU
/// beyond them is left waiting in the boot code, and `evtpm launch` refuses more.
pub const MAX_CPUS: usize = 16;

/// One CPU's slot. `this` must stay the first field: `gs:[0]` reads it.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct PerCpu {
    this: AtomicU64,
    slot: AtomicU32,
    apic_id: AtomicU32,
    ghcb: AtomicU64,
}

const _: () = assert!(core::mem::offset_of!(PerCpu, this) == 0);

/// No APIC ID known yet.
const NO_APIC_ID: u32 = u32::MAX;

impl PerCpu {
    const fn new() -> PerCpu {
        PerCpu {
            this: AtomicU64::new(0),
            slot: AtomicU32::new(0),
            apic_id: AtomicU32::new(NO_APIC_ID),
            ghcb: AtomicU64::new(0),
        }
    }

    /// This CPU's slot number (0: the boot vCPU).
    pub fn slot(&self) -> usize {
        self.slot.load(Ordering::Relaxed) as usize
    }

    /// The GPA of this CPU's registered GHCB page, if it has one.
    pub fn ghcb(&self) -> Option<u64> {
        match self.ghcb.load(Ordering::Acquire) {
            0 => None,
            gpa => Some(gpa),
        }
    }

    /// Records the GHCB page this CPU registered with the hypervisor.
    pub fn set_ghcb(&self, gpa: u64) {
        self.ghcb.store(gpa, Ordering::Release);
    }

    /// This CPU's APIC ID, once [`PerCpu::set_apic_id`] recorded it.
    pub fn apic_id(&self) -> Option<u32> {
        match self.apic_id.load(Ordering::Relaxed) {
            NO_APIC_ID => None,
            id => Some(id),
        }
    }

    pub fn set_apic_id(&self, id: u32) {
        self.apic_id.store(id, Ordering::Relaxed);
    }
}

static SLOTS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// Slot `slot`, if there is one.
pub fn slot(slot: usize) -> Option<&'static PerCpu> {
    SLOTS.get(slot)
}

#[cfg(target_os = "none")]
pub use firmware::{current, enter};

#[cfg(target_os = "none")]
mod firmware {
    use super::*;

    /// Whether the boot CPU has entered its slot: before that, [`current`] is slot 0 without
    /// reading GS (whose base is still the reset value).
    static ENTERED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

    /// `IA32_GS_BASE`.
    const MSR_GS_BASE: u32 = 0xC000_0101;

    /// Makes slot `slot` this CPU's: records its own address and number, and points GS at it.
    /// Returns `None` for a slot beyond [`MAX_CPUS`] or one already taken. Every CPU calls it
    /// first thing (the boot CPU in `svsm_main`, the others in their entry).
    pub fn enter(slot: usize) -> Option<&'static PerCpu> {
        let s = SLOTS.get(slot)?;
        let at = s as *const PerCpu as u64;
        s.this
            .compare_exchange(0, at, Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        s.slot.store(slot as u32, Ordering::Relaxed);
        // SAFETY: WRMSR of IA32_GS_BASE changes only the GS segment base, which no Rust code
        // relies on except `current` below; the value is the address of a 'static slot.
        unsafe {
            core::arch::asm!(
                "wrmsr",
                in("ecx") MSR_GS_BASE,
                in("eax") at as u32,
                in("edx") (at >> 32) as u32,
                options(nostack, preserves_flags),
            );
        }
        ENTERED.store(true, Ordering::Release);
        Some(s)
    }

    /// The current CPU's slot.
    pub fn current() -> &'static PerCpu {
        if !ENTERED.load(Ordering::Acquire) {
            return &SLOTS[0];
        }
        let at: u64;
        // SAFETY: every CPU that runs Rust code after the boot CPU entered its slot has entered
        // one itself (`enter`, first thing), so GS points at a slot whose first field is its own
        // address; a plain load.
        unsafe {
            core::arch::asm!("mov {}, gs:[0]", out(reg) at, options(nostack, readonly, preserves_flags));
        }
        // SAFETY: `at` is the address of an element of the 'static `SLOTS` (written by `enter`).
        unsafe { &*(at as *const PerCpu) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_ghcb_and_apic_id_once_set() {
        let s = slot(MAX_CPUS - 1).unwrap();
        assert_eq!((s.ghcb(), s.apic_id()), (None, None));
        s.set_ghcb(0x1234_5000);
        s.set_apic_id(7);
        assert_eq!((s.ghcb(), s.apic_id()), (Some(0x1234_5000), Some(7)));
        assert!(slot(MAX_CPUS).is_none());
    }
}
