//! evtpm's SVSM firmware: boot, CPU, memory, console, the vTPM engine's platform, the SVSM
//! protocols ([`protocol`]) and the `qemu-test` platform that serves them over a serial port
//! ([`platform::qemu_test`]).
//!
//! Modules that touch the machine (`boot`, `cpu` instructions, `mm::heap`, `entry`, the COM2
//! loop) build only for `target_os = "none"`; the logic they use (entropy retry, TSC scaling, log
//! formatting, the self-test's command bytes, locks, guest-address checks, every protocol
//! handler, the serial framing) builds everywhere and is unit-tested on the host. Guest memory
//! is named only through [`mm::guest`].
//!
//! `unsafe` lives only in [`cpu`], [`mm`] and (later) `sev`.
#![no_std]

#[cfg(test)]
extern crate std;

extern crate alloc;

#[cfg(target_os = "none")]
mod boot;
pub mod console;
pub mod cpu;
#[cfg(target_os = "none")]
mod entry;
pub mod mm;
pub mod platform;
pub mod protocol;
pub mod selftest;
pub mod service;
pub mod sev;
