//! The guest's VMSA (the SEV-ES save area of AMD APM vol. 2, table B-4, as SEV-SNP extends it:
//! Linux `struct sev_es_save_area`): the one the SVSM creates for the guest firmware at VMPL1,
//! and the registers of an SVSM call read from it and written back. Pure and host-tested; the
//! firmware turns the page into a VMSA (RMPADJUST with the VMSA bit) and starts it.
//!
//! Under SNP the guest's registers are not in a trap frame the SVSM owns: when the guest makes an
//! SVSM call (sets `call_pending`, VMGEXIT), the hypervisor runs the SVSM's VMPL0 VMSA again, and
//! the guest's registers sit in the guest's VMSA page, which the SVSM can read and write because
//! the VMSA is not running. [`serve_call`] is that step of the per-vCPU request loop.

use crate::mm::guest::GuestMemory;
use crate::protocol::core::PageState;
use crate::protocol::vtpm::Engine;
use crate::protocol::{Cpu, Registers, Svsm};

/// Byte offsets in the VMSA page.
pub mod off {
    pub const ES: usize = 0x000;
    pub const CS: usize = 0x010;
    pub const SS: usize = 0x020;
    pub const DS: usize = 0x030;
    pub const FS: usize = 0x040;
    pub const GS: usize = 0x050;
    pub const GDTR: usize = 0x060;
    pub const LDTR: usize = 0x070;
    pub const IDTR: usize = 0x080;
    pub const TR: usize = 0x090;
    pub const VMPL: usize = 0x0CA;
    pub const EFER: usize = 0x0D0;
    pub const CR4: usize = 0x148;
    pub const CR0: usize = 0x158;
    pub const DR7: usize = 0x160;
    pub const DR6: usize = 0x168;
    pub const RFLAGS: usize = 0x170;
    pub const RIP: usize = 0x178;
    pub const RAX: usize = 0x1F8;
    pub const G_PAT: usize = 0x268;
    pub const RCX: usize = 0x308;
    pub const RDX: usize = 0x310;
    pub const R8: usize = 0x340;
    pub const R9: usize = 0x348;
    pub const GUEST_EXIT_INFO1: usize = 0x390;
    pub const SEV_FEATURES: usize = 0x3B0;
    pub const GUEST_EXIT_CODE: usize = 0x3C0;
    pub const XCR0: usize = 0x3E8;
    pub const MXCSR: usize = 0x408;
    pub const X87_FCW: usize = 0x410;
}

// The GHCB's save area is the VMSA's layout (GHCB spec, "GHCB Layout").
const _: () = assert!(off::RAX == core::mem::offset_of!(super::ghcb::GhcbLayout, rax));
const _: () = assert!(off::RCX == core::mem::offset_of!(super::ghcb::GhcbLayout, rcx));
const _: () = assert!(off::RDX == core::mem::offset_of!(super::ghcb::GhcbLayout, rdx));

/// Size of a VMSA page.
pub const VMSA_SIZE: usize = 4096;

/// `GUEST_EXIT_CODE` of a VMSA stopped by VMGEXIT (the SVM exit code `VMEXIT_VMGEXIT`, AMD
/// APM vol. 2, appendix C): how the guest asks for its SVSM.
pub const VMEXIT_VMGEXIT: u64 = 0x403;

/// EFER.SVME (bit 12). A VMSA without it cannot be run (VMRUN fails its consistency checks):
/// the SVSM clears it while it reads and writes the guest's registers, so that a hypervisor
/// cannot run the VMSA meanwhile on another CPU, and sets it again before it runs the guest.
pub const EFER_SVME: u64 = 1 << 12;

fn put(v: &mut [u8; VMSA_SIZE], at: usize, bytes: &[u8]) {
    v[at..at + bytes.len()].copy_from_slice(bytes);
}

fn get64(v: &[u8; VMSA_SIZE], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[at..at + 8]);
    u64::from_le_bytes(b)
}

/// A segment register: selector (u16), attributes (u16, VMCB format), limit (u32), base (u64).
fn segment(v: &mut [u8; VMSA_SIZE], at: usize, selector: u16, attrib: u16, limit: u32, base: u64) {
    put(v, at, &selector.to_le_bytes());
    put(v, at + 2, &attrib.to_le_bytes());
    put(v, at + 4, &limit.to_le_bytes());
    put(v, at + 8, &base.to_le_bytes());
}

/// The guest firmware's first vCPU at `vmpl`: the x86 reset state (real mode, CS:IP =
/// F000:FFF0 with CS base FFFF0000, so the first fetch is at 4 GiB − 16, OVMF's reset vector),
/// `sev_features` (SNPActive at least; the guest's VMSA must have the features the guest
/// expects, e.g. restricted injection), EFER.SVME as SEV-ES requires.
pub fn guest_reset_vmsa(vmpl: u8, sev_features: u64) -> [u8; VMSA_SIZE] {
    let mut v = [0u8; VMSA_SIZE];
    for at in [off::ES, off::SS, off::DS, off::FS, off::GS] {
        segment(&mut v, at, 0, 0x93, 0xFFFF, 0);
    }
    segment(&mut v, off::CS, 0xF000, 0x9B, 0xFFFF, 0xFFFF_0000);
    segment(&mut v, off::GDTR, 0, 0, 0xFFFF, 0);
    segment(&mut v, off::IDTR, 0, 0, 0xFFFF, 0);
    segment(&mut v, off::LDTR, 0, 0x82, 0xFFFF, 0);
    segment(&mut v, off::TR, 0, 0x8B, 0xFFFF, 0);
    v[off::VMPL] = vmpl;
    put(&mut v, off::EFER, &0x1000u64.to_le_bytes());
    put(&mut v, off::CR0, &0x6000_0010u64.to_le_bytes());
    put(&mut v, off::DR7, &0x400u64.to_le_bytes());
    put(&mut v, off::DR6, &0xFFFF_0FF0u64.to_le_bytes());
    put(&mut v, off::RFLAGS, &0x2u64.to_le_bytes());
    put(&mut v, off::RIP, &0xFFF0u64.to_le_bytes());
    put(&mut v, off::G_PAT, &0x0007_0406_0007_0406u64.to_le_bytes());
    put(&mut v, off::SEV_FEATURES, &sev_features.to_le_bytes());
    put(&mut v, off::XCR0, &1u64.to_le_bytes());
    put(&mut v, off::MXCSR, &0x1F80u32.to_le_bytes());
    put(&mut v, off::X87_FCW, &0x37Fu16.to_le_bytes());
    v
}

/// The exit code the hardware left in a stopped VMSA.
pub fn guest_exit_code(v: &[u8; VMSA_SIZE]) -> u64 {
    get64(v, off::GUEST_EXIT_CODE)
}

/// Sets or clears EFER.SVME ([`EFER_SVME`]), leaving the rest of EFER.
pub fn set_runnable(v: &mut [u8; VMSA_SIZE], runnable: bool) {
    let efer = get64(v, off::EFER);
    let efer = if runnable {
        efer | EFER_SVME
    } else {
        efer & !EFER_SVME
    };
    put(v, off::EFER, &efer.to_le_bytes());
}

/// The SVSM-call registers in a (stopped) VMSA.
pub fn call_registers(v: &[u8; VMSA_SIZE]) -> Registers {
    Registers {
        rax: get64(v, off::RAX),
        rcx: get64(v, off::RCX),
        rdx: get64(v, off::RDX),
        r8: get64(v, off::R8),
        r9: get64(v, off::R9),
    }
}

/// Writes the SVSM-call registers back into a (stopped) VMSA.
pub fn set_call_registers(v: &mut [u8; VMSA_SIZE], r: &Registers) {
    for (at, val) in [
        (off::RAX, r.rax),
        (off::RCX, r.rcx),
        (off::RDX, r.rdx),
        (off::R8, r.r8),
        (off::R9, r.r9),
    ] {
        put(v, at, &val.to_le_bytes());
    }
}

/// One turn of the per-vCPU request loop after the guest's VMGEXIT: the call in its VMSA is
/// dispatched if its calling area has `call_pending` set, and the results go back into the
/// VMSA. Returns whether there was a call. The VMSA is the guest's own state only while it
/// is not running; the caller owns that.
pub fn serve_call<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    vmsa: &mut [u8; VMSA_SIZE],
) -> bool {
    let mut regs = call_registers(vmsa);
    let handled = svsm.handle_vmgexit(cpu, &mut regs);
    if handled {
        set_call_registers(vmsa, &regs);
    }
    handled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testutil::{query_vtpm_protocol, svsm, write, CAA};

    #[test]
    fn the_reset_vmsa_starts_at_the_reset_vector_at_its_vmpl() {
        let v = guest_reset_vmsa(1, 0x1);
        assert_eq!(v[off::VMPL], 1);
        assert_eq!(get64(&v, off::RIP), 0xFFF0);
        assert_eq!(&v[off::CS..off::CS + 2], &0xF000u16.to_le_bytes());
        assert_eq!(
            get64(&v, off::CS + 8),
            0xFFFF_0000,
            "first fetch at 4 GiB - 16"
        );
        assert_eq!(get64(&v, off::SEV_FEATURES), 1);
        assert_eq!(get64(&v, off::EFER), 0x1000, "SVME");
        assert_eq!(get64(&v, off::CR0), 0x6000_0010);
    }

    #[test]
    fn runnable_toggles_only_svme_and_the_exit_code_is_read_at_0x3c0() {
        let mut v = guest_reset_vmsa(1, 1);
        put(&mut v, off::EFER, &0x1D01u64.to_le_bytes());
        set_runnable(&mut v, false);
        assert_eq!(get64(&v, off::EFER), 0x0D01);
        set_runnable(&mut v, true);
        assert_eq!(get64(&v, off::EFER), 0x1D01);
        v[0x3C0..0x3C8].copy_from_slice(&VMEXIT_VMGEXIT.to_le_bytes());
        assert_eq!(guest_exit_code(&v), 0x403);
    }

    #[test]
    fn call_registers_round_trip_through_their_offsets() {
        let mut v = [0u8; VMSA_SIZE];
        let r = Registers {
            rax: 0x1_0000_0000,
            rcx: 2,
            rdx: 3,
            r8: 4,
            r9: 5,
        };
        set_call_registers(&mut v, &r);
        assert_eq!(call_registers(&v), r);
        assert_eq!(v[0x1F8], 0);
        assert_eq!(v[0x1FC], 1, "RAX at 0x1F8");
        assert_eq!((v[0x308], v[0x310], v[0x340], v[0x348]), (2, 3, 4, 5));
    }

    #[test]
    fn a_pending_call_in_the_vmsa_is_served_and_answered_in_place() {
        let mut s = svsm();
        let mut v = guest_reset_vmsa(1, 1);
        set_call_registers(&mut v, &query_vtpm_protocol());
        assert!(
            !serve_call(&s.svsm, &mut s.cpu, &mut v),
            "no call_pending: nothing served"
        );
        write(&mut s, CAA, &[1]);
        assert!(serve_call(&s.svsm, &mut s.cpu, &mut v));
        let r = call_registers(&v);
        assert_eq!(r.rax, 0, "SVSM_SUCCESS");
        assert_eq!(r.rcx, 0x0000_0001_0000_0001, "vTPM protocol versions 1..1");
        assert_eq!(
            get64(&v, off::RIP),
            0xFFF0,
            "the rest of the VMSA is untouched"
        );
    }
}
