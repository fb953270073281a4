//! Memory: the heap, the firmware image's extent, and the one door to guest memory
//! ([`guest`]).

pub mod guest;
#[cfg(target_os = "none")]
pub mod heap;
pub mod paging;

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

/// The command line of a PVH boot (`hvm_start_info.cmdline_paddr`, x86/HVM direct boot ABI:
/// magic 0x336ec578 at 0, the command line's physical address at 0x18), at most 256 bytes up to
/// its NUL. `None` without start info, with a bad magic, or outside the identity-mapped first GiB.
#[cfg(target_os = "none")]
pub fn pvh_cmdline(boot_info: u64) -> Option<alloc::string::String> {
    const MAPPED_END: u64 = 1 << 30;
    const MAX: u64 = 256;
    if boot_info == 0 || !boot_info.is_multiple_of(8) || boot_info + 0x20 > MAPPED_END {
        return None;
    }
    // SAFETY: `boot_info` is the start-info address the PVH loader passed in %ebx, 8-aligned
    // and (checked above) inside the identity-mapped first GiB; the reads are volatile copies
    // of plain integers and create no reference into that memory.
    let (magic, cmdline) = unsafe {
        (
            core::ptr::read_volatile(boot_info as *const u32),
            core::ptr::read_volatile((boot_info + 0x18) as *const u64),
        )
    };
    if magic != 0x336e_c578 || cmdline == 0 || cmdline + MAX > MAPPED_END {
        return None;
    }
    let mut bytes = alloc::vec::Vec::new();
    for i in 0..MAX {
        // SAFETY: `cmdline + i` is inside the identity-mapped first GiB (checked above); a
        // volatile byte read of loader-written memory.
        let b = unsafe { core::ptr::read_volatile((cmdline + i) as *const u8) };
        if b == 0 {
            break;
        }
        bytes.push(b);
    }
    alloc::string::String::from_utf8(bytes).ok()
}
