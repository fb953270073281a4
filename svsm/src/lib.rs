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
//! The SEV-SNP layer is [`sev`]: the GHCB MSR protocol and page layout, the secrets page, SNP
//! guest requests under VMPCK0 and the SNP [`service::ReportSource`] over them, all pure and
//! unit-tested on the host (the guest-request state machine against a fake PSP); and
//! `sev::instr` (the PVALIDATE, RMPADJUST, VMGEXIT and GHCB MSR instructions) and
//! `sev::shared` (shared pages and the GHCB exit), built only for the firmware target. The
//! `qemu-test` boot path uses none of it. The SNP start exists up to the vTPM service:
//! `snp_start` in `boot` (the C-bit from the CPUID page, private identity map, long mode, one
//! boot vCPU), then [`sev::start`] (GHCB version, C-bit and hypervisor features checked over the
//! MSR protocol; CPUID answered from the CPUID page; the GHCB and guest-request pages made
//! shared and registered; port I/O as GHCB exits) and `sev::snp` (VMPCK0 moved out of the
//! secrets page, SNP reports through guest requests), after which the engine is manufactured
//! and provisioned as on `qemu-test`; a #VC handler emulates CPUID, IN/OUT and MSR accesses
//! ([`sev::vc`]). Not yet: the guest's secrets-page copy,
//! its VMSA at VMPL1 and the per-vCPU request loop; an SNP launch ends there, on purpose, with
//! a termination request saying so. None of the SNP path can run without SNP hardware.
//!
//! `unsafe` lives only in [`cpu`], [`mm`] and the firmware-only parts of [`sev`].
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
