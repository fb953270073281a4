//! Memory: the heap (later: page tables and the one door to guest memory).

#[cfg(target_os = "none")]
pub mod heap;
