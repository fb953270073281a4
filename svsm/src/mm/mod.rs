//! Memory: the heap, the firmware image's extent, and the one door to guest memory
//! ([`guest`]).

pub mod guest;
#[cfg(target_os = "none")]
pub mod heap;

/// The firmware image in physical memory, `__image_start..__image_end` of `linker/svsm.ld`:
/// code, data, stack and heap. SVSM-owned: never guest memory.
#[cfg(target_os = "none")]
pub fn image() -> core::ops::Range<u64> {
    extern "C" {
        static __image_start: u8;
        static __image_end: u8;
    }
    let start = (&raw const __image_start) as u64;
    let end = (&raw const __image_end) as u64;
    start..end
}
