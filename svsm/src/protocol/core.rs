//! The core protocol (protocol 0; SVSM spec chapter 5, "Core Protocol Services" table).
//!
//! | call | name | here |
//! |---|---|---|
//! | 0 | `SVSM_CORE_REMAP_CA` | moves the caller's calling area |
//! | 1 | `SVSM_CORE_PVALIDATE` | validates/rescinds the listed pages through [`PageState`] |
//! | 2 | `SVSM_CORE_CREATE_VCPU` | checks and registers a VMSA for an APIC ID |
//! | 3 | `SVSM_CORE_DELETE_VCPU` | unregisters a VMSA |
//! | 4 | `SVSM_CORE_DEPOSIT_MEM` | `SVSM_ERR_UNSUPPORTED_CALL` |
//! | 5 | `SVSM_CORE_WITHDRAW_MEM` | `SVSM_ERR_UNSUPPORTED_CALL` |
//! | 6 | `SVSM_CORE_QUERY_PROTOCOL` | protocol versions |
//! | 7 | `SVSM_CORE_CONFIGURE_VTOM` | query answers "no vTOM"; configuring is refused |
//!
//! DEPOSIT_MEM and WITHDRAW_MEM only matter to an SVSM that takes memory from the guest for its
//! own use; the spec lets an SVSM that needs none answer `SVSM_ERR_UNSUPPORTED_CALL` (the
//! guest then never deposits, and `mem_available` stays 0). This SVSM's memory is fixed at
//! launch, so it does. COCONUT-SVSM does the same.

use super::vtpm::Engine;
use super::{Cpu, Machine, Registers, Svsm, SvsmError, SvsmResult, CALLING_AREA_SIZE};
use super::{SVSM_ATTEST_PROTOCOL, SVSM_CORE_PROTOCOL, SVSM_VTPM_PROTOCOL};
use crate::mm::guest::{GuestMap, GuestMemory, GuestRegion, PageSize, PAGE_SIZE};
use alloc::vec::Vec;

pub const SVSM_CORE_REMAP_CA: u32 = 0;
pub const SVSM_CORE_PVALIDATE: u32 = 1;
pub const SVSM_CORE_CREATE_VCPU: u32 = 2;
pub const SVSM_CORE_DELETE_VCPU: u32 = 3;
pub const SVSM_CORE_DEPOSIT_MEM: u32 = 4;
pub const SVSM_CORE_WITHDRAW_MEM: u32 = 5;
pub const SVSM_CORE_QUERY_PROTOCOL: u32 = 6;
pub const SVSM_CORE_CONFIGURE_VTOM: u32 = 7;

/// Versions served, per protocol: (min, max). Attestation is served where the vTPM service
/// offers a manifest and reports (always in the firmware; not by a bare engine).
const CORE_VERSIONS: (u32, u32) = (1, 1);
const VTPM_VERSIONS: (u32, u32) = (1, 1);
const ATTEST_VERSIONS: (u32, u32) = (1, 1);

/// The `SVSM_CORE_PVALIDATE` request header ("PVALIDATE Operation" table, chapter 5), followed
/// in guest memory by `entries` 8-byte [`PvalidateEntry`] values; header and entries lie within
/// one page.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PvalidateRequest {
    /// Number of entries in the list.
    pub entries: u16,
    /// Index of the next entry to process; the SVSM advances it as entries complete.
    pub next: u16,
    /// Must be zero.
    pub reserved: u32,
}

const _: () = assert!(::core::mem::offset_of!(PvalidateRequest, entries) == 0);
const _: () = assert!(::core::mem::offset_of!(PvalidateRequest, next) == 2);
const _: () = assert!(::core::mem::offset_of!(PvalidateRequest, reserved) == 4);
const _: () = assert!(::core::mem::size_of::<PvalidateRequest>() == PVALIDATE_HEADER);

const PVALIDATE_HEADER: usize = 8;
const PVALIDATE_ENTRY: usize = 8;

/// One PVALIDATE entry ("PVALIDATE Entry" table, chapter 5): bits 1:0 page size (0 = 4 KiB,
/// 1 = 2 MiB), bit 2 action (1 = validate, 0 = rescind), bit 3 ignore CF (treat "unchanged" as
/// success), bits 11:4 reserved (zero), bits 63:12 the guest frame number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PvalidateEntry(pub u64);

impl PvalidateEntry {
    const PAGE_SIZE_MASK: u64 = 0b11;
    const ACTION: u64 = 1 << 2;
    const IGNORE_CF: u64 = 1 << 3;
    const RESERVED: u64 = 0xff << 4;

    /// The page size; `None` for the reserved encodings 2 and 3.
    pub fn page_size(self) -> Option<PageSize> {
        match self.0 & Self::PAGE_SIZE_MASK {
            0 => Some(PageSize::Small),
            1 => Some(PageSize::Huge),
            _ => None,
        }
    }
    pub fn validate(self) -> bool {
        self.0 & Self::ACTION != 0
    }
    pub fn ignore_cf(self) -> bool {
        self.0 & Self::IGNORE_CF != 0
    }
    pub fn reserved_bits(self) -> u64 {
        self.0 & Self::RESERVED
    }
    pub fn gpa(self) -> u64 {
        self.0 & !0xfff
    }
}

/// PVALIDATE's failures (AMD APM vol. 3, PVALIDATE): the instruction's return codes, and CF set
/// for "the validated state did not change".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvalidateFail {
    /// `FAIL_INPUT` (1).
    Input,
    /// `FAIL_SIZEMISMATCH` (6): a 2 MiB operation on a page the RMP holds as 4 KiB pages.
    SizeMismatch,
    /// CF = 1: the page already was in the requested state.
    Unchanged,
}

impl From<PvalidateFail> for SvsmError {
    fn from(f: PvalidateFail) -> SvsmError {
        match f {
            PvalidateFail::Input => SvsmError::PvalidateFailInput,
            PvalidateFail::SizeMismatch => SvsmError::PvalidateFailSizeMismatch,
            PvalidateFail::Unchanged => SvsmError::PvalidateFailUnchanged,
        }
    }
}

/// The page-state operations the core protocol needs from the machine: PVALIDATE and the RMP
/// VMSA attribute on SNP, a simulation on `qemu-test` ([`crate::platform::qemu_test::SimulatedRmp`]).
pub trait PageState {
    /// PVALIDATE the page `region` (a whole page of `size`) to `validate`.
    fn pvalidate(
        &mut self,
        region: &GuestRegion<'_>,
        size: PageSize,
        validate: bool,
    ) -> Result<(), PvalidateFail>;
    /// Sets (`true`) or clears the VMSA attribute of a 4 KiB page, revoking (or restoring) the
    /// guest's write access to it.
    fn set_vmsa(&mut self, page: &GuestRegion<'_>, vmsa: bool) -> SvsmResult;
}

/// Offsets in the VMSA (AMD APM vol. 2, table B-4 "VMSA Layout, State Save Area") of the
/// fields `SVSM_CORE_CREATE_VCPU` checks.
pub mod vmsa {
    use crate::sev::vmsa::off;
    /// `EFER`, 8 bytes.
    pub const EFER: u64 = off::EFER as u64;
    /// `VMPL`, 1 byte.
    pub const VMPL: u64 = off::VMPL as u64;
    /// `SEV_FEATURES`, 8 bytes.
    pub const SEV_FEATURES: u64 = off::SEV_FEATURES as u64;
    /// `EFER.SVME`: must be set in a runnable VMSA.
    pub const EFER_SVME: u64 = crate::sev::vmsa::EFER_SVME;

    // The VMSA layout (Linux `struct sev_es_save_area`): VMPL at 0xCA, between the CET
    // registers and CPL, EFER at 0xD0, SEV_FEATURES at 0x3B0.
    const _: () = assert!(VMPL == 0xCA && EFER == 0xD0 && SEV_FEATURES == 0x3B0);
}

/// A registered vCPU: its VMSA page and calling area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vcpu {
    pub apic_id: u32,
    pub vmsa: u64,
    pub caa: u64,
}

/// The guest's vCPUs: which APIC IDs exist and which VMSAs the guest registered for them.
#[derive(Debug, Clone)]
pub struct Vcpus {
    apic_ids: Vec<u32>,
    registered: Vec<Vcpu>,
}

impl Vcpus {
    /// The vCPUs with these APIC IDs, none registered.
    pub fn new(apic_ids: &[u32]) -> Vcpus {
        Vcpus {
            apic_ids: apic_ids.to_vec(),
            registered: Vec::new(),
        }
    }

    /// The registered vCPUs, oldest first.
    pub fn registered(&self) -> &[Vcpu] {
        &self.registered
    }

    /// Adds a vCPU that came up (its request loop runs); `false` if its APIC ID was known.
    pub fn add_apic_id(&mut self, apic_id: u32) -> bool {
        if self.apic_ids.contains(&apic_id) {
            return false;
        }
        self.apic_ids.push(apic_id);
        true
    }

    /// The VMSA the guest registered last for `apic_id`: the one that vCPU's request loop
    /// runs (a newer registration takes over from an older one).
    pub fn of(&self, apic_id: u32) -> Option<Vcpu> {
        self.registered
            .iter()
            .rev()
            .find(|v| v.apic_id == apic_id)
            .copied()
    }
}

/// Runs core call `call`.
///
/// Every call here works under [`Svsm::machine`] alone: none waits for the engine.
pub fn handle<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    call: u32,
    regs: &mut Registers,
) -> SvsmResult {
    match call {
        SVSM_CORE_REMAP_CA => remap_ca(&mut svsm.machine.lock(), cpu, regs),
        SVSM_CORE_PVALIDATE => pvalidate(&mut svsm.machine.lock(), regs),
        SVSM_CORE_CREATE_VCPU => create_vcpu(&mut svsm.machine.lock(), cpu, regs),
        SVSM_CORE_DELETE_VCPU => delete_vcpu(&mut svsm.machine.lock(), regs),
        SVSM_CORE_DEPOSIT_MEM | SVSM_CORE_WITHDRAW_MEM => Err(SvsmError::UnsupportedCall),
        SVSM_CORE_QUERY_PROTOCOL => {
            query_protocol(regs, svsm.attestation.is_some());
            Ok(())
        }
        SVSM_CORE_CONFIGURE_VTOM => configure_vtom(regs),
        _ => Err(SvsmError::UnsupportedCall),
    }
}

/// `SVSM_CORE_REMAP_CA`: RCX = GPA of the new calling area (8-byte aligned, within a page). The
/// new area is cleared and becomes the caller's.
fn remap_ca<M: GuestMemory, P: PageState>(
    svsm: &mut Machine<M, P>,
    cpu: &mut Cpu,
    regs: &Registers,
) -> SvsmResult {
    let ca = svsm
        .map
        .region(regs.rcx, CALLING_AREA_SIZE, 8, PageSize::Small)?;
    svsm.mem.copy_out(&ca, &[0; CALLING_AREA_SIZE as usize])?;
    cpu.caa = ca.gpa();
    Ok(())
}

/// `SVSM_CORE_PVALIDATE`: RCX = GPA of a [`PvalidateRequest`]. Entries from `next` on are
/// processed in order; `next` is written back after the last one that succeeded. The first
/// failure stops the list and is the call's result.
fn pvalidate<M: GuestMemory, P: PageState>(
    svsm: &mut Machine<M, P>,
    regs: &Registers,
) -> SvsmResult {
    let gpa = regs.rcx;
    let header = svsm
        .map
        .region(gpa, PVALIDATE_HEADER as u64, 8, PageSize::Small)?;
    let mut h = [0u8; PVALIDATE_HEADER];
    svsm.mem.copy_in(&header, &mut h)?;
    let entries = u16::from_le_bytes([h[0], h[1]]);
    let next = u16::from_le_bytes([h[2], h[3]]);
    let reserved = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    // Entries that fit between the header and the end of its page.
    let room = (PAGE_SIZE - gpa % PAGE_SIZE) as usize - PVALIDATE_HEADER;
    let max_entries = room / PVALIDATE_ENTRY;
    if reserved != 0 || entries == 0 || usize::from(entries) > max_entries || next >= entries {
        return Err(SvsmError::InvalidParameter);
    }
    // `entries <= max_entries` keeps the list inside the header's page.
    let list = svsm.map.region(
        gpa + PVALIDATE_HEADER as u64,
        u64::from(entries) * PVALIDATE_ENTRY as u64,
        8,
        PageSize::Small,
    )?;
    let mut raw = alloc::vec![0u8; list.len()];
    svsm.mem.copy_in(&list, &mut raw)?;

    let mut done = next;
    let mut result = Ok(());
    for chunk in raw.chunks_exact(PVALIDATE_ENTRY).skip(usize::from(next)) {
        let mut e = [0u8; 8];
        e.copy_from_slice(chunk);
        result = pvalidate_one(svsm, PvalidateEntry(u64::from_le_bytes(e)));
        if result.is_err() {
            break;
        }
        done += 1;
    }
    if done != next {
        let field = svsm.map.region(gpa + 2, 2, 2, PageSize::Small)?;
        svsm.mem.copy_out(&field, &done.to_le_bytes())?;
    }
    result
}

fn pvalidate_one<M: GuestMemory, P: PageState>(
    svsm: &mut Machine<M, P>,
    entry: PvalidateEntry,
) -> SvsmResult {
    let size = entry.page_size().ok_or(SvsmError::InvalidParameter)?;
    if entry.reserved_bits() != 0 {
        return Err(SvsmError::InvalidParameter);
    }
    let page = match size {
        PageSize::Small => svsm.map.page(entry.gpa())?,
        PageSize::Huge => svsm.map.huge_page(entry.gpa())?,
    };
    match svsm.pages.pvalidate(&page, size, entry.validate()) {
        Ok(()) => {}
        Err(PvalidateFail::Unchanged) if entry.ignore_cf() => return Ok(()),
        Err(f) => return Err(f.into()),
    }
    if entry.validate() {
        // A page becomes the guest's only after it was cleared: the hypervisor may have mapped
        // it onto memory that held SVSM data at another guest address.
        zero(&svsm.map, &mut svsm.mem, page.gpa(), size)?;
    }
    Ok(())
}

fn zero(map: &GuestMap, mem: &mut impl GuestMemory, gpa: u64, size: PageSize) -> SvsmResult {
    let zeros = [0u8; PAGE_SIZE as usize];
    for i in 0..size.bytes() / PAGE_SIZE {
        let page = map.page(gpa + i * PAGE_SIZE)?;
        mem.copy_out(&page, &zeros)?;
    }
    Ok(())
}

/// `SVSM_CORE_CREATE_VCPU`: RCX = GPA of the new VMSA page, RDX = GPA of the new vCPU's calling
/// area, R8[31:0] = APIC ID. The VMSA must run at the caller's VMPL with `EFER.SVME` set and
/// the caller's `SEV_FEATURES`. A new VMSA for an APIC ID that has one takes over; the old one
/// stays a VMSA page until `SVSM_CORE_DELETE_VCPU`.
fn create_vcpu<M: GuestMemory, P: PageState>(
    svsm: &mut Machine<M, P>,
    cpu: &Cpu,
    regs: &Registers,
) -> SvsmResult {
    let apic_id = regs.r8 as u32;
    {
        let vmsa = svsm.map.page(regs.rcx)?;
        let caa = svsm
            .map
            .region(regs.rdx, CALLING_AREA_SIZE, 8, PageSize::Small)?;
        if caa.gpa() & !(PAGE_SIZE - 1) == vmsa.gpa() {
            return Err(SvsmError::InvalidAddress);
        }
        if !svsm.vcpus.apic_ids.contains(&apic_id) {
            return Err(SvsmError::InvalidParameter);
        }
        if svsm.vcpus.registered.len() >= crate::mm::guest::MAX_VMSAS {
            return Err(SvsmError::Busy);
        }
        // The guest loses write access first, so what is checked is what will run.
        svsm.pages.set_vmsa(&vmsa, true)?;
        if let Err(e) = check_vmsa(&svsm.map, &svsm.mem, vmsa.gpa(), cpu.caller) {
            let _ = svsm.pages.set_vmsa(&vmsa, false);
            return Err(e);
        }
    }
    if let Err(e) = svsm.map.add_vmsa(regs.rcx) {
        if let Ok(vmsa) = svsm.map.page(regs.rcx) {
            let _ = svsm.pages.set_vmsa(&vmsa, false);
        }
        return Err(e.into());
    }
    svsm.vcpus.registered.push(Vcpu {
        apic_id,
        vmsa: regs.rcx,
        caa: regs.rdx,
    });
    Ok(())
}

fn check_vmsa(
    map: &GuestMap,
    mem: &impl GuestMemory,
    page: u64,
    caller: super::Caller,
) -> SvsmResult {
    let read = |off: u64, buf: &mut [u8]| -> SvsmResult {
        let r = map.region(page + off, buf.len() as u64, 1, PageSize::Small)?;
        Ok(mem.copy_in(&r, buf)?)
    };
    let (mut efer, mut vmpl, mut features) = ([0u8; 8], [0u8; 1], [0u8; 8]);
    read(vmsa::EFER, &mut efer)?;
    read(vmsa::VMPL, &mut vmpl)?;
    read(vmsa::SEV_FEATURES, &mut features)?;
    let ok = u64::from_le_bytes(efer) & vmsa::EFER_SVME != 0
        && vmpl[0] == caller.vmpl
        && u64::from_le_bytes(features) == caller.sev_features;
    if ok {
        Ok(())
    } else {
        Err(SvsmError::InvalidParameter)
    }
}

/// `SVSM_CORE_DELETE_VCPU`: RCX = GPA of a VMSA registered with `SVSM_CORE_CREATE_VCPU`.
fn delete_vcpu<M: GuestMemory, P: PageState>(
    svsm: &mut Machine<M, P>,
    regs: &Registers,
) -> SvsmResult {
    let gpa = regs.rcx;
    let Some(i) = svsm.vcpus.registered.iter().position(|v| v.vmsa == gpa) else {
        return Err(SvsmError::InvalidAddress);
    };
    svsm.map.remove_vmsa(gpa)?;
    let cleared = match svsm.map.page(gpa) {
        Ok(page) => svsm.pages.set_vmsa(&page, false),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = cleared {
        // Still a VMSA as far as the RMP is concerned: keep it out of reach.
        let _ = svsm.map.add_vmsa(gpa);
        return Err(e);
    }
    svsm.vcpus.registered.remove(i);
    Ok(())
}

/// `SVSM_CORE_QUERY_PROTOCOL`: RCX = protocol << 32 | version. Answers RCX = max << 32 | min if
/// `version` of `protocol` is served, else 0.
fn query_protocol(regs: &mut Registers, attestation: bool) {
    let protocol = (regs.rcx >> 32) as u32;
    let version = regs.rcx as u32;
    let versions = match protocol {
        SVSM_CORE_PROTOCOL => Some(CORE_VERSIONS),
        SVSM_VTPM_PROTOCOL => Some(VTPM_VERSIONS),
        SVSM_ATTEST_PROTOCOL => attestation.then_some(ATTEST_VERSIONS),
        _ => None,
    };
    regs.rcx = match versions {
        Some((min, max)) if (min..=max).contains(&version) => {
            (u64::from(max) << 32) | u64::from(min)
        }
        _ => 0,
    };
}

/// `SVSM_CORE_CONFIGURE_VTOM`: RCX bit 0 set is a query, answered RCX = 0 (vTOM is not
/// supported); a configuration request is refused with `SVSM_ERR_INVALID_REQUEST`.
fn configure_vtom(regs: &mut Registers) -> SvsmResult {
    if regs.rcx & 1 == 1 {
        regs.rcx = 0;
        Ok(())
    } else {
        Err(SvsmError::InvalidRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use std::vec::Vec as StdVec;

    const CORE: u32 = SVSM_CORE_PROTOCOL;

    fn code(e: SvsmError) -> u64 {
        e.code()
    }

    // ---- REMAP_CA ----

    #[test]
    fn remap_ca_moves_and_clears_the_calling_area() {
        let mut s = svsm();
        write(&mut s, 0x30_0008, &[0xff; 8]);
        let r = call(&mut s, CORE, SVSM_CORE_REMAP_CA, [0x30_0008, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        assert_eq!(s.cpu.caa, 0x30_0008);
        assert_eq!(read(&s, 0x30_0008, 8), [0; 8]);
        assert_eq!(
            read(&s, CAA, 1),
            [0],
            "the call completes in the area it was made from"
        );
    }

    #[test]
    fn remap_ca_refuses_bad_addresses_and_keeps_the_old_area() {
        let mut s = svsm();
        for (gpa, e) in [
            (0x30_0004, SvsmError::InvalidParameter), // unaligned
            (SVSM_MEM.start, SvsmError::InvalidAddress),
            (RAM.end, SvsmError::InvalidAddress),
            (0, SvsmError::InvalidAddress),
        ] {
            let r = call(&mut s, CORE, SVSM_CORE_REMAP_CA, [gpa, 0, 0, 0]);
            assert_eq!(r.rax, code(e), "{gpa:#x}");
            assert_eq!(s.cpu.caa, CAA);
        }
    }

    // ---- PVALIDATE ----

    const REQ: u64 = 0x40_0000;

    fn entry(gpa: u64, huge: bool, validate: bool, ignore_cf: bool) -> u64 {
        gpa | u64::from(huge) | (u64::from(validate) << 2) | (u64::from(ignore_cf) << 3)
    }

    fn put_request(s: &mut TestSvsm, at: u64, next: u16, entries: &[u64]) {
        let mut b = StdVec::new();
        b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        b.extend_from_slice(&next.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for e in entries {
            b.extend_from_slice(&e.to_le_bytes());
        }
        write(s, at, &b);
    }

    fn next_of(s: &TestSvsm, at: u64) -> u16 {
        let b = read(s, at + 2, 2);
        u16::from_le_bytes([b[0], b[1]])
    }

    #[test]
    fn pvalidate_validates_every_entry_and_advances_next() {
        let mut s = svsm();
        write(&mut s, 0x50_0000, &[0xaa; 16]);
        put_request(
            &mut s,
            REQ,
            0,
            &[
                entry(0x50_0000, false, true, false),
                entry(0x60_0000, true, true, false),
            ],
        );
        let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        assert_eq!(next_of(&s, REQ), 2);
        assert!(s.m().pages.is_valid(0x50_0000));
        let m = s.m();
        assert!(m.pages.is_valid(0x60_0000) && m.pages.is_valid(0x7f_f000));
        drop(m);
        assert_eq!(
            read(&s, 0x50_0000, 16),
            [0; 16],
            "validated pages are cleared"
        );
    }

    #[test]
    fn pvalidate_stops_at_the_first_failure_with_its_code() {
        let mut s = svsm();
        put_request(
            &mut s,
            REQ,
            0,
            &[
                entry(0x50_0000, false, true, false),
                entry(0x50_0000, false, true, false), // again: unchanged
                entry(0x51_0000, false, true, false),
            ],
        );
        let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, code(SvsmError::PvalidateFailUnchanged));
        assert_eq!(next_of(&s, REQ), 1);
        assert!(!s.m().pages.is_valid(0x51_0000));
        // Resuming from `next` with ignore_cf finishes the list.
        put_request(
            &mut s,
            REQ,
            1,
            &[
                entry(0x50_0000, false, true, false),
                entry(0x50_0000, false, true, true),
                entry(0x51_0000, false, true, false),
            ],
        );
        let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        assert_eq!(next_of(&s, REQ), 3);
    }

    #[test]
    fn pvalidate_reports_size_mismatch_and_rescinds() {
        let mut s = svsm();
        put_request(&mut s, REQ, 0, &[entry(0x60_0000, false, true, false)]);
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]).rax,
            0
        );
        put_request(&mut s, REQ, 0, &[entry(0x60_0000, true, false, false)]);
        let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, code(SvsmError::PvalidateFailSizeMismatch));
        put_request(&mut s, REQ, 0, &[entry(0x60_0000, false, false, false)]);
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]).rax,
            0
        );
        assert!(!s.m().pages.is_valid(0x60_0000));
    }

    #[test]
    fn pvalidate_refuses_hostile_headers_without_writing() {
        let mut s = svsm();
        let good = [entry(0x50_0000, false, true, false)];
        // entries = 0; next >= entries; reserved != 0.
        put_request(&mut s, REQ, 0, &[]);
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]).rax,
            code(SvsmError::InvalidParameter)
        );
        put_request(&mut s, REQ, 1, &good);
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]).rax,
            code(SvsmError::InvalidParameter)
        );
        put_request(&mut s, REQ, 0, &good);
        write(&mut s, REQ + 4, &[1]);
        let before = read(&s, REQ, 16);
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]).rax,
            code(SvsmError::InvalidParameter)
        );
        assert_eq!(read(&s, REQ, 16), before);
        assert!(!s.m().pages.is_valid(0x50_0000));
        // More entries than fit in the page after the header.
        let at = REQ + 0x1000 - 16;
        put_request(&mut s, at, 0, &good);
        write(&mut s, at, &2u16.to_le_bytes());
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [at, 0, 0, 0]).rax,
            code(SvsmError::InvalidParameter)
        );
        // Request address unaligned, in SVSM memory, beyond RAM.
        for (gpa, e) in [
            (REQ + 4, SvsmError::InvalidParameter),
            (SVSM_MEM.start, SvsmError::InvalidAddress),
            (RAM.end + 0x1000, SvsmError::InvalidAddress),
        ] {
            assert_eq!(
                call(&mut s, CORE, SVSM_CORE_PVALIDATE, [gpa, 0, 0, 0]).rax,
                code(e)
            );
        }
        assert!(!s.m().pages.is_valid(0x50_0000));
    }

    #[test]
    fn pvalidate_refuses_hostile_entries_at_their_index() {
        for (bad, e) in [
            (0x50_0000 | 2, SvsmError::InvalidParameter), // page size 2
            (0x50_0000 | 3, SvsmError::InvalidParameter), // page size 3
            (0x50_0000 | 0x10 | 4, SvsmError::InvalidParameter), // reserved bit
            (0x50_1000 | 1 | 4, SvsmError::InvalidParameter), // 2 MiB unaligned
            (SVSM_MEM.start | 4, SvsmError::InvalidAddress),
            (RAM.end | 4, SvsmError::InvalidAddress),
            (0x80_0000 | 1 | 4, SvsmError::InvalidAddress), // 2 MiB page over the SVSM
        ] {
            let mut s = svsm();
            put_request(&mut s, REQ, 0, &[entry(0x51_0000, false, true, false), bad]);
            let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
            assert_eq!(r.rax, code(e), "entry {bad:#x}");
            assert_eq!(next_of(&s, REQ), 1, "entry {bad:#x}");
            assert!(!s.m().pages.is_valid(0x50_0000));
        }
    }

    #[test]
    fn pvalidate_refuses_vmsa_pages() {
        let mut s = svsm();
        make_vmsa(&mut s, 0x70_0000);
        let r = call(
            &mut s,
            CORE,
            SVSM_CORE_CREATE_VCPU,
            [0x70_0000, 0x71_0000, 1, 0],
        );
        assert_eq!(r.rax, 0);
        // The request itself cannot be a VMSA, and neither can an entry.
        put_request(&mut s, REQ, 0, &[entry(0x70_0000, false, false, false)]);
        let r = call(&mut s, CORE, SVSM_CORE_PVALIDATE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, code(SvsmError::InvalidAddress));
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_PVALIDATE, [0x70_0000, 0, 0, 0]).rax,
            code(SvsmError::InvalidAddress)
        );
    }

    // ---- CREATE_VCPU / DELETE_VCPU ----

    fn make_vmsa(s: &mut TestSvsm, at: u64) {
        write(s, at + vmsa::EFER, &(vmsa::EFER_SVME | 0x500).to_le_bytes());
        write(s, at + vmsa::VMPL, &[s.cpu.caller.vmpl]);
        let f = s.cpu.caller.sev_features;
        write(s, at + vmsa::SEV_FEATURES, &f.to_le_bytes());
    }

    /// A vCPU whose request loop comes up later (an AP on SNP) adds its APIC ID; from then
    /// on the guest may register a VMSA for it, and its loop finds the newest one.
    #[test]
    fn vcpus_that_come_up_later_can_be_given_vmsas_and_the_newest_counts() {
        let mut s = svsm();
        make_vmsa(&mut s, 0x70_0000);
        let create = |s: &mut TestSvsm, vmsa: u64, caa: u64, apic: u64| {
            call(s, CORE, SVSM_CORE_CREATE_VCPU, [vmsa, caa, apic, 0]).rax
        };
        assert_eq!(
            create(&mut s, 0x70_0000, 0x71_0000, 9),
            code(SvsmError::InvalidParameter),
            "APIC ID 9 has no vCPU yet"
        );
        assert!(s.m().vcpus.add_apic_id(9));
        assert!(!s.m().vcpus.add_apic_id(9), "a vCPU comes up once");
        assert_eq!(s.m().vcpus.of(9), None);
        assert_eq!(create(&mut s, 0x70_0000, 0x71_0000, 9), 0);
        make_vmsa(&mut s, 0x72_0000);
        assert_eq!(create(&mut s, 0x72_0000, 0x73_0000, 9), 0);
        let newest = Vcpu {
            apic_id: 9,
            vmsa: 0x72_0000,
            caa: 0x73_0000,
        };
        assert_eq!(s.m().vcpus.of(9), Some(newest));
        assert_eq!(
            call(&mut s, CORE, SVSM_CORE_DELETE_VCPU, [0x72_0000, 0, 0, 0]).rax,
            0
        );
        assert_eq!(s.m().vcpus.of(9).map(|v| v.vmsa), Some(0x70_0000));
        assert_eq!(s.m().vcpus.of(1), None);
    }

    #[test]
    fn create_and_delete_vcpu_register_and_release_the_vmsa() {
        let mut s = svsm();
        make_vmsa(&mut s, 0x70_0000);
        let r = call(
            &mut s,
            CORE,
            SVSM_CORE_CREATE_VCPU,
            [0x70_0000, 0x71_0000, 2, 0],
        );
        assert_eq!(r.rax, 0);
        assert!(s.m().map.is_vmsa(0x70_0000));
        assert!(s.m().pages.is_vmsa(0x70_0000));
        assert_eq!(
            s.m().vcpus.registered(),
            [Vcpu {
                apic_id: 2,
                vmsa: 0x70_0000,
                caa: 0x71_0000
            }]
        );
        // The same page again is refused: it is a VMSA now.
        let r = call(
            &mut s,
            CORE,
            SVSM_CORE_CREATE_VCPU,
            [0x70_0000, 0x71_0000, 2, 0],
        );
        assert_eq!(r.rax, code(SvsmError::InvalidAddress));
        let r = call(&mut s, CORE, SVSM_CORE_DELETE_VCPU, [0x70_0000, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        let m = s.m();
        assert!(!m.map.is_vmsa(0x70_0000) && !m.pages.is_vmsa(0x70_0000));
        drop(m);
        assert!(s.m().vcpus.registered().is_empty());
        let r = call(&mut s, CORE, SVSM_CORE_DELETE_VCPU, [0x70_0000, 0, 0, 0]);
        assert_eq!(r.rax, code(SvsmError::InvalidAddress));
    }

    #[test]
    fn create_vcpu_refuses_hostile_input_and_registers_nothing() {
        type Case = (&'static str, [u64; 3], fn(&mut TestSvsm), SvsmError);
        let cases: [Case; 8] = [
            (
                "vmsa unaligned",
                [0x70_0010, 0x71_0000, 1],
                |_| {},
                SvsmError::InvalidParameter,
            ),
            (
                "vmsa in svsm",
                [SVSM_MEM.start, 0x71_0000, 1],
                |_| {},
                SvsmError::InvalidAddress,
            ),
            (
                "caa beyond ram",
                [0x70_0000, RAM.end, 1],
                |_| {},
                SvsmError::InvalidAddress,
            ),
            (
                "caa in vmsa page",
                [0x70_0000, 0x70_0800, 1],
                |_| {},
                SvsmError::InvalidAddress,
            ),
            (
                "unknown apic id",
                [0x70_0000, 0x71_0000, 9],
                |_| {},
                SvsmError::InvalidParameter,
            ),
            (
                "wrong vmpl",
                [0x70_0000, 0x71_0000, 1],
                |s| write(s, 0x70_0000 + vmsa::VMPL, &[0]),
                SvsmError::InvalidParameter,
            ),
            (
                "svme clear",
                [0x70_0000, 0x71_0000, 1],
                |s| write(s, 0x70_0000 + vmsa::EFER, &[0; 8]),
                SvsmError::InvalidParameter,
            ),
            (
                "sev features differ",
                [0x70_0000, 0x71_0000, 1],
                |s| write(s, 0x70_0000 + vmsa::SEV_FEATURES, &[0x5; 8]),
                SvsmError::InvalidParameter,
            ),
        ];
        for (what, [vmsa_gpa, caa, apic], spoil, e) in cases {
            let mut s = svsm();
            make_vmsa(&mut s, 0x70_0000);
            spoil(&mut s);
            let r = call(
                &mut s,
                CORE,
                SVSM_CORE_CREATE_VCPU,
                [vmsa_gpa, caa, apic, 0],
            );
            assert_eq!(r.rax, code(e), "{what}");
            assert!(s.m().vcpus.registered().is_empty(), "{what}");
            let m = s.m();
            assert!(
                !m.map.is_vmsa(0x70_0000) && !m.pages.is_vmsa(0x70_0000),
                "{what}"
            );
            drop(m);
        }
    }

    // ---- DEPOSIT/WITHDRAW, QUERY_PROTOCOL, CONFIGURE_VTOM ----

    #[test]
    fn deposit_and_withdraw_are_unsupported() {
        let mut s = svsm();
        for c in [SVSM_CORE_DEPOSIT_MEM, SVSM_CORE_WITHDRAW_MEM] {
            let r = call(&mut s, CORE, c, [0x50_0000, 1, 0, 0]);
            assert_eq!(r.rax, code(SvsmError::UnsupportedCall));
            assert_eq!(r.rcx, 0x50_0000);
        }
    }

    #[test]
    fn query_protocol_reports_min_and_max_or_zero() {
        let mut s = svsm();
        let q = |s: &mut TestSvsm, p: u64, v: u64| {
            let r = call(s, CORE, SVSM_CORE_QUERY_PROTOCOL, [(p << 32) | v, 0, 0, 0]);
            assert_eq!(r.rax, 0);
            r.rcx
        };
        assert_eq!(q(&mut s, 0, 1), (1 << 32) | 1);
        assert_eq!(q(&mut s, 2, 1), (1 << 32) | 1);
        assert_eq!(q(&mut s, 0, 2), 0);
        assert_eq!(q(&mut s, 2, 0), 0);
        assert_eq!(
            q(&mut s, 1, 1),
            (1 << 32) | 1,
            "attestation, with a vTPM manifest"
        );
        assert_eq!(q(&mut s, 1, 2), 0);
        assert_eq!(q(&mut s, 3, 1), 0);
        assert_eq!(q(&mut s, 0xffff_ffff, 0xffff_ffff), 0);
    }

    #[test]
    fn configure_vtom_query_says_unsupported_and_configuring_is_refused() {
        let mut s = svsm();
        let r = call(&mut s, CORE, SVSM_CORE_CONFIGURE_VTOM, [1, 0, 0, 0]);
        assert_eq!((r.rax, r.rcx), (0, 0));
        let r = call(
            &mut s,
            CORE,
            SVSM_CORE_CONFIGURE_VTOM,
            [0x1_0000_0000, 0, 0, 0],
        );
        assert_eq!(r.rax, code(SvsmError::InvalidRequest));
        assert_eq!(r.rcx, 0x1_0000_0000);
    }
}
