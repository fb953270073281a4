//! The CPU: port I/O, random-number and timestamp instructions, CPUID, halting, and the spin lock
//! the rest of the firmware builds on.
//!
//! This module, [`crate::mm`] and the firmware-only parts of [`crate::sev`] are the only places
//! with `unsafe`. The instruction wrappers build only for the firmware target; the pure logic
//! around them (entropy retry, TSC frequency, the lock) is tested on the host.

pub mod idt;
pub mod io;
pub mod lock;
pub mod percpu;
pub mod rand;
pub mod tsc;

/// Where the SNP CPUID page is once an SEV-SNP start has taken over CPUID (0: not yet).
#[cfg(target_os = "none")]
static SNP_CPUID_PAGE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// From now on, answer [`cpuid`] from the SNP CPUID page at `gpa` instead of executing CPUID,
/// which in an SEV-SNP guest raises #VC and would ask the (untrusted) hypervisor.
///
/// # Safety
///
/// `gpa` must be the identity-mapped, private, validated CPUID page the PSP filled at launch,
/// which nothing writes for the rest of the firmware's life.
#[cfg(target_os = "none")]
pub unsafe fn use_snp_cpuid_page(gpa: u64) {
    SNP_CPUID_PAGE.store(gpa, core::sync::atomic::Ordering::Release);
}

/// `CPUID` with `leaf` and `subleaf`; under SEV-SNP, the CPUID page's values (all zero for a
/// leaf it does not record, as above a CPU's maximum leaf).
#[cfg(target_os = "none")]
pub fn cpuid(leaf: u32, subleaf: u32) -> core::arch::x86_64::CpuidResult {
    let page = SNP_CPUID_PAGE.load(core::sync::atomic::Ordering::Acquire);
    if page != 0 {
        // SAFETY: `use_snp_cpuid_page`'s caller guarantees a page of private memory that is
        // never written again, so a shared slice over it aliases no mutable access.
        let bytes = unsafe { core::slice::from_raw_parts(page as *const u8, 4096) };
        let [eax, ebx, ecx, edx] =
            crate::sev::layout::cpuid_lookup(bytes, leaf, subleaf).unwrap_or_default();
        return core::arch::x86_64::CpuidResult { eax, ebx, ecx, edx };
    }
    core::arch::x86_64::__cpuid_count(leaf, subleaf)
}

/// Stops this CPU for good: interrupts off, `HLT` forever.
#[cfg(target_os = "none")]
pub fn halt() -> ! {
    loop {
        // SAFETY: CLI and HLT touch no memory and no Rust-visible state; with interrupts off the
        // CPU stays halted (an NMI returns to the loop, which halts again).
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
