//! The CPU: port I/O, random-number and timestamp instructions, CPUID, halting, and the spin lock
//! the rest of the firmware builds on.
//!
//! This module, [`crate::mm`] and the firmware-only parts of [`crate::sev`] are the only places
//! with `unsafe`. The instruction wrappers build only for the firmware target; the pure logic
//! around them (entropy retry, TSC frequency, the lock) is tested on the host.

pub mod idt;
pub mod io;
pub mod lock;
pub mod rand;
pub mod tsc;

/// `CPUID` with `leaf` and `subleaf`.
#[cfg(target_os = "none")]
pub fn cpuid(leaf: u32, subleaf: u32) -> core::arch::x86_64::CpuidResult {
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
