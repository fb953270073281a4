//! The SEV-SNP instructions, as inline assembly (AMD APM vol. 3: PVALIDATE, RMPADJUST, VMGEXIT;
//! vol. 2: the GHCB MSR). Firmware target only, and only meaningful in an SEV-SNP guest at
//! VMPL0: elsewhere they fault (#UD, #GP), which stops the CPU but breaks no memory safety.
//! The `qemu-test` platform never calls them.
//!
//! Each wrapper is safe because of what its arguments prove:
//!
//! * PVALIDATE and RMPADJUST take a [`GuestRegion`]: guest RAM checked by
//!   [`crate::mm::guest::GuestMap::region`], clear of every SVSM-owned range and VMSA page. No
//!   Rust object lives there, so changing its validated state or the lower VMPLs' permissions
//!   over it cannot change memory the firmware relies on. RMPADJUST cannot touch VMPL0's own
//!   permissions at all.
//! * VMGEXIT hands control to the hypervisor, which under SEV-ES/SNP can neither read nor
//!   write the guest's private memory or registers; it sees the shared pages (the GHCB), which
//!   the firmware reaches only by copying.
//! * The GHCB MSR holds a GPA or an MSR-protocol value; writing it moves no memory.
//!
//! The pages are named by their identity-mapped virtual address (the boot page tables map the
//! first 4 GiB identity, `mm::paging::map_high` the RAM above it: see
//! [`IdentityMapped::mapped_end`]); a region above that is refused before the instruction runs.

use super::ghcb::msr::MSR_SEV_GHCB;
use super::rmp::{
    decode_pvalidate, decode_rmpadjust, page_size_operand, PvalidateResult, RmpAttributes,
    RmpadjustResult,
};
use crate::mm::guest::{GuestRegion, IdentityMapped, PageSize};
use core::arch::asm;

/// The virtual address of a whole page of `size` that `region` is, if it is one and is mapped.
fn page_va(region: &GuestRegion<'_>, size: PageSize) -> Option<u64> {
    let whole = region.len() as u64 == size.bytes() && region.gpa() & (size.bytes() - 1) == 0;
    let mapped = region
        .gpa()
        .checked_add(size.bytes())
        .is_some_and(|end| end <= IdentityMapped::mapped_end());
    (whole && mapped).then_some(region.gpa())
}

/// `PVALIDATE`: validates (`validate`) or rescinds the guest page `region` of `size`.
/// A region that is not a whole mapped page gives [`PvalidateResult::FailInput`] without the
/// instruction being run.
pub fn pvalidate(region: &GuestRegion<'_>, size: PageSize, validate: bool) -> PvalidateResult {
    let Some(va) = page_va(region, size) else {
        return PvalidateResult::FailInput;
    };
    // SAFETY: `va` is the identity-mapped address of a whole page of guest RAM that no Rust
    // object occupies (a `GuestRegion` is clear of SVSM memory and VMSAs; module doc), so
    // changing whether it is validated cannot invalidate any memory the firmware uses.
    unsafe { pvalidate_raw(va, size, validate) }
}

/// The PVALIDATE instruction.
///
/// # Safety
///
/// `va` is a whole mapped page of `size` that no Rust object occupies and that is not
/// accessed while it is not validated.
unsafe fn pvalidate_raw(va: u64, size: PageSize, validate: bool) -> PvalidateResult {
    let eax: u64;
    let cf: u8;
    // SAFETY: the caller's contract; PVALIDATE (F2 0F 01 FF) reads RAX, ECX, EDX and writes
    // EAX and RFLAGS only; `setc` captures CF. No stack use.
    unsafe {
        asm!(
            ".byte 0xf2, 0x0f, 0x01, 0xff",
            "setc {cf}",
            inout("rax") va => eax,
            in("ecx") page_size_operand(size),
            in("edx") u32::from(validate),
            cf = out(reg_byte) cf,
            options(nostack),
        );
    }
    decode_pvalidate(eax as u32, cf != 0)
}

/// `PVALIDATE` of one 4 KiB page of the SVSM's own memory (not guest memory, which goes through
/// [`pvalidate`]): used to rescind the validation of the pages the SVSM shares with the
/// hypervisor.
///
/// # Safety
///
/// `va` must be a 4 KiB-aligned, identity-mapped page of the firmware image in which no Rust
/// object lives, and which nothing reads or writes through a private mapping while it is not
/// validated (an access to it would fault).
pub unsafe fn pvalidate_own_page(va: u64, validate: bool) -> PvalidateResult {
    if va & 0xFFF != 0 || va >= IdentityMapped::MAPPED_END {
        return PvalidateResult::FailInput;
    }
    // SAFETY: the caller guarantees the page holds no Rust object and is not accessed while
    // not validated.
    unsafe { pvalidate_raw(va, PageSize::Small, validate) }
}

/// `RMPADJUST`: sets the permissions (and VMSA bit) in `attrs` for its target VMPL over the
/// guest page `region` of `size`. A region that is not a whole mapped page gives
/// [`RmpadjustResult::FailInput`] without the instruction being run.
pub fn rmpadjust(
    region: &GuestRegion<'_>,
    size: PageSize,
    attrs: RmpAttributes,
) -> RmpadjustResult {
    let Some(va) = page_va(region, size) else {
        return RmpadjustResult::FailInput;
    };
    // SAFETY: `va` names a whole page of guest RAM that no Rust object occupies (module doc).
    unsafe { rmpadjust_raw(va, size, attrs) }
}

/// The RMPADJUST instruction.
///
/// # Safety
///
/// `va` is a whole mapped page of `size` that no Rust object occupies.
unsafe fn rmpadjust_raw(va: u64, size: PageSize, attrs: RmpAttributes) -> RmpadjustResult {
    let eax: u64;
    // SAFETY: the caller's contract; `attrs` targets VMPL1..3 only (`RmpAttributes::new`), so
    // VMPL0's access to any memory is unchanged. RMPADJUST (F3 0F 01 FE) reads RAX, RCX, RDX
    // and writes EAX and RFLAGS.
    unsafe {
        asm!(
            ".byte 0xf3, 0x0f, 0x01, 0xfe",
            inout("rax") va => eax,
            in("rcx") u64::from(page_size_operand(size)),
            in("rdx") attrs.rdx(),
            options(nostack),
        );
    }
    decode_rmpadjust(eax as u32)
}

/// `RMPADJUST` of one 4 KiB page of the SVSM's own memory (not guest memory, which goes through
/// [`rmpadjust`]): used to turn a page the SVSM allocated into the guest's VMSA.
///
/// # Safety
///
/// `va` must be a 4 KiB-aligned, identity-mapped page of the firmware image in which no Rust
/// object lives and which the firmware reaches from now on only by volatile copies (a VMSA page
/// is written by the hardware whenever its vCPU stops).
pub unsafe fn rmpadjust_own_page(va: u64, attrs: RmpAttributes) -> RmpadjustResult {
    if va & 0xFFF != 0 || va >= IdentityMapped::MAPPED_END {
        return RmpadjustResult::FailInput;
    }
    // SAFETY: the caller's contract.
    unsafe { rmpadjust_raw(va, PageSize::Small, attrs) }
}

/// `VMGEXIT`: exits to the hypervisor, which acts on the GHCB MSR's value (an MSR-protocol
/// request, or the GPA of the registered GHCB page).
pub fn vmgexit() {
    // SAFETY: VMGEXIT (F3 0F 01 D9, `rep vmmcall`) transfers control to the hypervisor, which
    // under SEV-ES/SNP cannot change the guest's registers or private memory; memory is not
    // declared untouched, so writes to the shared GHCB are complete before it and reads after
    // it are not hoisted. RAX is declared clobbered for the case of a plain (non-SEV) guest,
    // where the instruction is VMMCALL and a hypervisor may return a value in it.
    unsafe {
        asm!(".byte 0xf3, 0x0f, 0x01, 0xd9", lateout("rax") _, options(nostack));
    }
}

/// `RDMSR` of the GHCB MSR.
pub fn read_ghcb_msr() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDMSR of MSR_SEV_GHCB reads a value into EDX:EAX and touches no memory.
    unsafe {
        asm!("rdmsr", in("ecx") MSR_SEV_GHCB, out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// `WRMSR` of the GHCB MSR.
pub fn write_ghcb_msr(value: u64) {
    // SAFETY: the GHCB MSR holds a GPA or an MSR-protocol request for the next VMGEXIT;
    // writing it moves no memory and changes no translation.
    unsafe {
        asm!("wrmsr", in("ecx") MSR_SEV_GHCB, in("eax") value as u32, in("edx") (value >> 32) as u32,
            options(nomem, nostack, preserves_flags));
    }
}

/// One GHCB MSR protocol exchange: writes `request`, exits, returns the hypervisor's response.
/// The GHCB MSR holds the response afterwards: a registered GHCB's GPA must be written back
/// before the GHCB is used again.
pub fn msr_protocol(request: u64) -> u64 {
    write_ghcb_msr(request);
    vmgexit();
    read_ghcb_msr()
}
