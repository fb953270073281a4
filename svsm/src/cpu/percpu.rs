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

/// Where the boot CPU copies the SIPI trampoline under plain QEMU (boot code,
/// `ap_trampoline`): below 1 MiB, 4 KiB aligned, outside the guest RAM of `qemu-test`.
pub const AP_TRAMPOLINE: u64 = 0x8000;
const _: () = assert!(AP_TRAMPOLINE.is_multiple_of(4096) && AP_TRAMPOLINE < 0x10_0000);

/// Stack of each vCPU other than the boot vCPU: the engine runs on whichever vCPU sends a
/// command (an RSA key generation included).
pub const AP_STACK_SIZE: usize = 256 * 1024;

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
pub use firmware::{current, enter, release_aps, start_aps_by_sipi};

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

    extern "C" {
        /// How many other vCPUs wait for the release (boot code, `.data`).
        static ap_waiting: u32;
        /// Set to release them (boot code, `.data`).
        static mut ap_release: u32;
        /// The top of each CPU slot's stack (boot code, `.data`).
        static mut ap_stacks: [u64; MAX_CPUS];
        /// The SIPI trampoline's bytes (boot code, `.rodata`).
        static ap_trampoline: u8;
        static ap_trampoline_end: u8;
    }

    /// What the other vCPUs run once in their slot: a platform's AP function and its argument.
    static AP_ENTRY: AtomicU64 = AtomicU64::new(0);
    static AP_ARG: AtomicU64 = AtomicU64::new(0);

    /// How many other vCPUs wait for the release now.
    fn waiting() -> usize {
        // SAFETY: a u32 in the image's .data that the waiting vCPUs increment atomically (LOCK
        // INC); a volatile load.
        unsafe { core::ptr::read_volatile(&raw const ap_waiting) as usize }
    }

    /// Gives a stack to a CPU slot for each vCPU waiting for the release (at most
    /// `MAX_CPUS - 1`), says what they run (`entry(arg)`, after [`enter`] and their own
    /// GDT/TSS/IDT) and releases them. Returns (waiting, given a slot). A vCPU that arrives
    /// later, or one beyond the slots, finds no stack and waits for good.
    pub fn release_aps(entry: fn(u64) -> !, arg: u64) -> (usize, usize) {
        let waiting = waiting();
        let aps = waiting.min(MAX_CPUS - 1);
        let stacks = (&raw mut ap_stacks).cast::<u64>();
        for slot in 1..=aps {
            let stack: &'static mut [u8] = alloc::vec![0u8; AP_STACK_SIZE].leak();
            let top = (stack.as_ptr() as u64 + AP_STACK_SIZE as u64) & !0xF;
            // SAFETY: `slot` < MAX_CPUS, inside the array; the vCPUs that read `ap_stacks`
            // wait for `ap_release`, set below after these stores (and a fence); this CPU is
            // the only writer.
            unsafe { core::ptr::write_volatile(stacks.add(slot), top) };
        }
        AP_ARG.store(arg, Ordering::Release);
        AP_ENTRY.store(entry as usize as u64, Ordering::Release);
        core::sync::atomic::fence(Ordering::SeqCst);
        // SAFETY: a u32 in the image's .data that only this CPU writes; the waiting vCPUs
        // read it.
        unsafe { core::ptr::write_volatile(&raw mut ap_release, 1) };
        (waiting, aps)
    }

    /// Under plain QEMU: copies the SIPI trampoline to [`AP_TRAMPOLINE`], sends INIT, SIPI,
    /// SIPI to all other CPUs (local APIC at its default base, xAPIC mode), and waits until no
    /// more arrive for 20 ms (at most 1 s). Returns how many wait for the release.
    pub fn start_aps_by_sipi(clock: &crate::cpu::tsc::TscClock) -> usize {
        let src = &raw const ap_trampoline;
        let len = (&raw const ap_trampoline_end as usize) - (src as usize);
        // SAFETY: `len` bytes of the image's .rodata (the trampoline) copied to low memory that
        // is identity-mapped, not guest RAM on this platform and holds no Rust object.
        unsafe {
            core::ptr::copy_nonoverlapping(src, AP_TRAMPOLINE as *mut u8, len.min(4096));
        }
        const ICR_LOW: u64 = 0xFEE0_0300;
        const ALL_EXCLUDING_SELF: u32 = 0b11 << 18;
        const INIT_ASSERT: u32 = 0x4500;
        const STARTUP: u32 = 0x4600;
        let icr = |value: u32| {
            // SAFETY: the local APIC's interrupt command register at its default physical
            // base, identity-mapped (first 4 GiB); an MMIO store that sends an IPI.
            unsafe { core::ptr::write_volatile(ICR_LOW as *mut u32, value) };
            // Wait for delivery (ICR bit 12, delivery status).
            // SAFETY: as above, an MMIO load.
            while unsafe { core::ptr::read_volatile(ICR_LOW as *const u32) } & (1 << 12) != 0 {
                core::hint::spin_loop();
            }
        };
        let vector = (AP_TRAMPOLINE >> 12) as u32;
        icr(ALL_EXCLUDING_SELF | INIT_ASSERT);
        icr(ALL_EXCLUDING_SELF | STARTUP | vector);
        icr(ALL_EXCLUDING_SELF | STARTUP | vector);
        let start = clock.now_ms();
        let (mut seen, mut since) = (0, start);
        while clock.now_ms() - since < 20 && clock.now_ms() - start < 1000 {
            let n = waiting();
            if n != seen {
                (seen, since) = (n, clock.now_ms());
            }
            core::hint::spin_loop();
        }
        seen
    }

    /// The Rust entry of every vCPU other than the boot vCPU (`ap_start64`, boot code), on the
    /// stack of CPU slot `slot` (`snp`: from an SEV-SNP launch, else plain QEMU): its slot, its
    /// own GDT, TSS (IST stacks) and IDT, then what [`release_aps`] was told. Nothing here
    /// raises #VC (no I/O, CPUID or intercepted MSR), so an SNP vCPU gets to register its GHCB
    /// page first thing in `entry`. A vCPU that cannot get there halts.
    #[no_mangle]
    extern "C" fn svsm_ap_main(slot: u32, _snp: u32) -> ! {
        if enter(slot as usize).is_none() {
            crate::cpu::halt()
        }
        crate::cpu::idt::install();
        let entry = AP_ENTRY.load(Ordering::Acquire);
        if entry == 0 {
            crate::cpu::halt()
        }
        // SAFETY: `entry` is the `fn(u64) -> !` that `release_aps` stored before releasing
        // this vCPU; a function pointer round-trips through an integer of its width.
        let entry = unsafe { core::mem::transmute::<usize, fn(u64) -> !>(entry as usize) };
        entry(AP_ARG.load(Ordering::Acquire))
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
