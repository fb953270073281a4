//! The global allocator: `linked_list_allocator` over the linker script's `.heap` region
//! (`__heap_start`..`__heap_end`, NOLOAD, so it costs nothing in the image).

use crate::cpu::lock::SpinLock;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::Heap;

/// A `linked_list_allocator` heap behind a spin lock.
#[derive(Debug)]
pub struct LockedHeap(SpinLock<Heap>);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap(SpinLock::new(Heap::empty()));

static INITIALIZED: AtomicBool = AtomicBool::new(false);

extern "C" {
    static __heap_start: u8;
    static __heap_end: u8;
}

/// The heap's extent and use, for the boot log.
#[derive(Debug, Clone, Copy)]
pub struct HeapStats {
    /// First byte of the heap.
    pub start: usize,
    /// Heap size in bytes.
    pub size: usize,
    /// Bytes allocated.
    pub used: usize,
}

/// Hands the `.heap` region to the allocator. Call once, before the first allocation; later
/// calls do nothing.
pub fn init() {
    if INITIALIZED.swap(true, Ordering::AcqRel) {
        return;
    }
    let start = (&raw const __heap_start) as usize;
    let end = (&raw const __heap_end) as usize;
    // SAFETY: `__heap_start..__heap_end` is the `.heap` section of `linker/svsm.ld`: reserved for
    // the heap alone, inside the image the loader placed and mapped (the PVH entry maps the first
    // GiB identity, the image lies at 16 MiB), and never touched by anything else. `INITIALIZED`
    // makes this the only `init`, so the allocator never gets the region twice.
    unsafe { ALLOCATOR.0.lock().init(start as *mut u8, end - start) };
}

/// The heap's extent and how much of it is in use.
pub fn stats() -> HeapStats {
    let heap = ALLOCATOR.0.lock();
    HeapStats {
        start: heap.bottom() as usize,
        size: heap.size(),
        used: heap.used(),
    }
}

// SAFETY: `alloc` returns blocks from `Heap::allocate_first_fit`, which hands out disjoint blocks
// of the requested layout from the region given in `init`, or null; `dealloc` returns them to the
// same heap. The lock serialises all access to the allocator's state.
unsafe impl GlobalAlloc for LockedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the `GlobalAlloc` contract: `ptr` came from `alloc` on this allocator with
            // this `layout` and has not been freed.
            unsafe { self.0.lock().deallocate(ptr, layout) };
        }
    }
}
