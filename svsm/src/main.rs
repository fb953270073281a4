//! evtpm firmware.
//!
//! Built for `x86_64-unknown-none` this is the SVSM image: the entry code, panic handler and global
//! allocator all live in the `svsm` library, linked in here. Built for the host it is an empty
//! program, so that `cargo build --workspace` and `cargo test --workspace` work; the library's
//! machine-independent logic is unit-tested on the host.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
use svsm as _;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("svsm is firmware: build it with `make firmware` (target x86_64-unknown-none)");
}
