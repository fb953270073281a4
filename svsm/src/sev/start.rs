//! The start of an SEV-SNP launch, after `snp_start` (boot code) has found the C-bit in the
//! CPUID page, mapped the first 4 GiB private (C-bit set) and entered long mode: what the
//! firmware asks the hypervisor before it relies on it, over the GHCB MSR protocol (no GHCB page
//! is needed, and no #VC can be taken: nothing here touches I/O ports, CPUID or intercepted
//! MSRs).
//!
//! [`check_platform`] is the decision, pure and tested on the host: GHCB protocol version 2,
//! the hypervisor's C-bit equal to the CPUID page's (which the PSP checked), and the SNP
//! features the SVSM depends on (SNP, AP creation, multiple VMPLs). `early` (firmware only)
//! exchanges the messages and, on any refusal, ends the guest with a termination request whose
//! reason ([`super::layout::termination`], set 0xE) the host sees; then it answers CPUID from
//! the CPUID page, shares the GHCB and guest-request pages ([`super::snp`]) and sends port I/O
//! through the GHCB, so that the console, the heap, the engine and the vTPM service (with SNP
//! reports under VMPCK0) come up as on the `qemu-test` platform (`entry.rs`).
//!
//! A #VC that still happens (an instruction some path executes directly) is emulated by
//! [`super::vc`]: CPUID, IN/OUT, RDMSR/WRMSR. The guest's launch at VMPL1 follows
//! (`super::run`).

use super::ghcb::msr::{self, HvFeatures};
use super::layout::termination;

/// The GHCB protocol version the firmware speaks (GHCB spec 56421 version 2: SNP).
pub const GHCB_VERSION: u16 = 2;

/// The hypervisor features the SVSM needs (GHCB spec 56421, "Hypervisor Feature Support").
pub const REQUIRED_FEATURES: u64 =
    HvFeatures::SNP | HvFeatures::SNP_AP_CREATION | HvFeatures::SNP_MULTI_VMPL;

/// Whether the platform the hypervisor describes is one to run on: `Err` carries the
/// termination code (in [`super::layout::TERMINATION_SET`]).
pub fn check_platform(cbit: u32, sev_info: u64, hv_features: u64) -> Result<(), u8> {
    let info = msr::decode_sev_info(sev_info).map_err(|_| termination::GHCB_VERSION)?;
    if !info.supports(GHCB_VERSION) {
        return Err(termination::GHCB_VERSION);
    }
    if u32::from(info.c_bit) != cbit {
        return Err(termination::CBIT_MISMATCH);
    }
    let features = msr::decode_hv_features(hv_features).map_err(|_| termination::HV_FEATURES)?;
    if !features.has(REQUIRED_FEATURES) {
        return Err(termination::HV_FEATURES);
    }
    Ok(())
}

#[cfg(target_os = "none")]
pub use firmware::{cbit, early, terminate};

#[cfg(target_os = "none")]
mod firmware {
    use super::super::ghcb::msr::{self, TerminationReason};
    use super::super::guest_request::ghcb_transport::SharedPages;
    use super::super::instr;
    use super::super::layout::{termination, CPUID_GPA, TERMINATION_SET};

    extern "C" {
        /// The C-bit position `snp_start` read from the CPUID page (boot code, `.data`).
        static snp_cbit: u32;
    }

    /// The C-bit position `snp_start` found.
    pub fn cbit() -> u32 {
        // SAFETY: `snp_cbit` is a u32 in the image's .data, written once by `snp_start` before
        // long mode and never again.
        unsafe { core::ptr::read_volatile(&raw const snp_cbit) }
    }

    /// Ends the guest with a termination request (reason set 0xE, `code`); halts if the
    /// hypervisor returns.
    pub fn terminate(code: u8) -> ! {
        if let Ok(reason) = TerminationReason::new(TERMINATION_SET, code) {
            instr::write_ghcb_msr(msr::termination_request(reason));
            instr::vmgexit();
        }
        crate::cpu::halt()
    }

    /// The SNP start, before anything that would raise #VC: checks the platform (see the
    /// module documentation), takes CPUID from the CPUID page, shares the GHCB and guest-request
    /// pages and routes port I/O through the GHCB. Returns where the guest-request pages are;
    /// terminates the guest on any failure.
    pub fn early() -> SharedPages {
        let cbit = cbit();
        let sev_info = instr::msr_protocol(msr::sev_info_request());
        let hv_features = instr::msr_protocol(msr::hv_features_request());
        if let Err(code) = super::check_platform(cbit, sev_info, hv_features) {
            terminate(code);
        }
        // SAFETY: CPUID_GPA is the PSP-filled CPUID page of the launch (layout), private,
        // validated, identity-mapped, and nothing writes it.
        unsafe { crate::cpu::use_snp_cpuid_page(CPUID_GPA) };
        // SAFETY: once, on the boot CPU (the others wait in snp_start), with the C-bit the
        // entry code mapped memory with.
        let pages = match unsafe { crate::sev::snp::setup(cbit) } {
            Ok(p) => p,
            Err(_) => terminate(termination::SHARED_PAGES),
        };
        crate::cpu::io::route_via_ghcb();
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SEV information response: versions `min..=max`, C-bit `cbit`.
    fn sev_info(min: u64, max: u64, cbit: u64) -> u64 {
        (max << 48) | (min << 32) | (cbit << 24) | 0x001
    }

    fn features(bits: u64) -> u64 {
        (bits << 12) | 0x081
    }

    #[test]
    fn a_capable_hypervisor_passes() {
        assert_eq!(
            check_platform(51, sev_info(1, 2, 51), features(REQUIRED_FEATURES)),
            Ok(())
        );
        assert_eq!(
            check_platform(47, sev_info(2, 5, 47), features(0x3F)),
            Ok(())
        );
    }

    #[test]
    fn each_refusal_has_its_termination_code() {
        let all = features(REQUIRED_FEATURES);
        assert_eq!(
            check_platform(51, sev_info(1, 1, 51), all),
            Err(termination::GHCB_VERSION)
        );
        assert_eq!(
            check_platform(51, 0x002, all),
            Err(termination::GHCB_VERSION),
            "a request echoed back is no response"
        );
        assert_eq!(
            check_platform(51, sev_info(1, 2, 47), all),
            Err(termination::CBIT_MISMATCH)
        );
        for missing in [
            HvFeatures::SNP,
            HvFeatures::SNP_AP_CREATION,
            HvFeatures::SNP_MULTI_VMPL,
        ] {
            assert_eq!(
                check_platform(
                    51,
                    sev_info(1, 2, 51),
                    features(REQUIRED_FEATURES & !missing)
                ),
                Err(termination::HV_FEATURES)
            );
        }
        assert_eq!(
            check_platform(51, sev_info(1, 2, 51), 0x080),
            Err(termination::HV_FEATURES)
        );
    }
}
