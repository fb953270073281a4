//! evtpm's SVSM firmware: boot, CPU, memory, console and the vTPM engine's platform.
//!
//! Modules that touch the machine (`boot`, `cpu` instructions, `mm::heap`, `entry`) build only for
//! `target_os = "none"`; the logic they use (entropy retry, TSC scaling, log formatting, the
//! self-test's command bytes, locks) builds everywhere and is unit-tested on the host.
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
