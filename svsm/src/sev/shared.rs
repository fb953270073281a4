//! The pages the SVSM shares with the hypervisor, and the GHCB exit over them: the
//! [`SharedMemory`] of SNP hardware. Firmware target only ([`super::snp`] makes the pages shared
//! and constructs it); the `qemu-test` platform never does.
//!
//! Shared pages are hypervisor-writable at any time, so they are reached only by volatile byte
//! copies into and out of private buffers, as guest memory is in [`crate::mm::guest`]; no Rust
//! reference ever points into them.

use super::ghcb::msr::{decode_register_ghcb_gpa, register_ghcb_gpa_request, MsrProtocolError};
use super::ghcb::{Ghcb, GHCB_SIZE};
use super::guest_request::ghcb_transport::SharedMemory;
use super::guest_request::TransportError;
use super::instr;
use core::ops::Range;

const GHCB_PAGE: u64 = 4096;

/// The GHCB pages (one per CPU slot, [`crate::cpu::percpu`]) and a range of other shared
/// pages, identity mapped.
#[derive(Debug)]
pub struct SnpSharedMemory {
    ghcbs: Range<u64>,
    shared: Range<u64>,
}

impl SnpSharedMemory {
    /// The GHCB pages `ghcbs` (slot `i`'s at `ghcbs.start + i * 4096`) and the shared pages
    /// `shared`.
    ///
    /// # Safety
    ///
    /// The caller must have made sure that:
    /// 1. `ghcbs` and `shared` are 4 KiB aligned, do not overlap, and lie below
    ///    [`crate::mm::guest::IdentityMapped::MAPPED_END`];
    /// 2. they are mapped identity with the C-bit clear and their RMP state is shared (page
    ///    state change done, validation rescinded);
    /// 3. no Rust object lives in them and nothing else in the firmware reads or writes them
    ///    while this value exists.
    pub unsafe fn new(ghcbs: Range<u64>, shared: Range<u64>) -> SnpSharedMemory {
        SnpSharedMemory { ghcbs, shared }
    }

    /// Registers the current CPU's GHCB page (its slot's) with the hypervisor (GHCB MSR
    /// protocol, SNP GHCB GPA registration), records it in the slot and leaves its GPA in the
    /// GHCB MSR. Each vCPU registers its own page: the hypervisor takes a vCPU's GHCB exits
    /// only through the page that vCPU registered.
    pub fn register(&mut self) -> Result<(), MsrProtocolError> {
        let cpu = crate::cpu::percpu::current();
        let gpa = self.ghcbs.start + cpu.slot() as u64 * GHCB_PAGE;
        if gpa + GHCB_PAGE > self.ghcbs.end {
            return Err(MsrProtocolError::BadAddress(gpa));
        }
        let request = register_ghcb_gpa_request(gpa)?;
        decode_register_ghcb_gpa(instr::msr_protocol(request), gpa)?;
        instr::write_ghcb_msr(gpa);
        cpu.set_ghcb(gpa);
        Ok(())
    }

    fn checked(&self, gpa: u64, len: usize) -> Result<u64, TransportError> {
        let end = gpa
            .checked_add(len as u64)
            .ok_or(TransportError("shared range overflows"))?;
        if self.shared.start <= gpa && end <= self.shared.end {
            Ok(gpa)
        } else {
            Err(TransportError("not in the shared pages"))
        }
    }
}

impl SharedMemory for SnpSharedMemory {
    fn write(&mut self, gpa: u64, bytes: &[u8]) -> Result<(), TransportError> {
        let dst = self.checked(gpa, bytes.len())? as *mut u8;
        // SAFETY: `dst..dst + len` lies in the shared range (checked), which `new`'s caller
        // guarantees is identity-mapped memory owned by no Rust object; volatile byte stores.
        unsafe {
            for (i, b) in bytes.iter().enumerate() {
                core::ptr::write_volatile(dst.add(i), *b);
            }
        }
        Ok(())
    }

    fn read(&mut self, gpa: u64, bytes: &mut [u8]) -> Result<(), TransportError> {
        let src = self.checked(gpa, bytes.len())? as *const u8;
        // SAFETY: as in `write`; volatile byte loads take a snapshot of memory the hypervisor
        // may change concurrently.
        unsafe {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = core::ptr::read_volatile(src.add(i));
            }
        }
        Ok(())
    }

    /// A GHCB exit through the current CPU's registered GHCB page.
    fn exit(&mut self, ghcb: &mut Ghcb) -> Result<(), TransportError> {
        let gpa = crate::cpu::percpu::current()
            .ghcb()
            .filter(|g| self.ghcbs.contains(g))
            .ok_or(TransportError("this CPU has no GHCB page"))?;
        let page = gpa as *mut u8;
        // SAFETY: `page` is this CPU's GHCB page (inside `ghcbs`, checked above; no other CPU
        // uses it), a whole 4 KiB identity-mapped shared page owned by
        // no Rust object (`new`); volatile byte stores.
        unsafe {
            for (i, b) in ghcb.as_bytes().iter().enumerate() {
                core::ptr::write_volatile(page.add(i), *b);
            }
        }
        instr::write_ghcb_msr(gpa);
        instr::vmgexit();
        // SAFETY: as above; volatile byte loads of GHCB_SIZE bytes into the private copy.
        unsafe {
            for (i, b) in ghcb.as_bytes_mut().iter_mut().enumerate().take(GHCB_SIZE) {
                *b = core::ptr::read_volatile(page.add(i));
            }
        }
        Ok(())
    }
}
