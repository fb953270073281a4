//! The GHCB MSR protocol (GHCB spec 56421, section 2.3.1 "GHCB MSR Protocol", table "GHCB MSR
//! Protocol"): before a GHCB page is registered, and for the few requests that must not depend
//! on one, the guest writes a request into the GHCB MSR (`MSR_SEV_GHCB`, 0xC001_0130), executes
//! VMGEXIT, and reads the hypervisor's response back from the same MSR.
//!
//! Bits 11:0 of the value (GHCBInfo) name the request or response; bits 63:12 (GHCBData) carry
//! its data. Everything here is an encode or decode function: the instruction sequence is
//! `instr` (firmware only).
//!
//! Every decoder checks the response's GHCBInfo first: a hypervisor that answers a different
//! request (or garbage) is an error, never a value.

/// `MSR_SEV_GHCB`: the GHCB MSR (AMD APM vol. 2, "SEV-ES: GHCB MSR").
pub const MSR_SEV_GHCB: u32 = 0xC001_0130;

/// GHCBInfo codes (GHCB spec, table "GHCB MSR Protocol").
pub mod info {
    /// SEV Information response (hypervisor to guest).
    pub const SEV_INFO_RESPONSE: u64 = 0x001;
    /// SEV Information request.
    pub const SEV_INFO_REQUEST: u64 = 0x002;
    /// CPUID request.
    pub const CPUID_REQUEST: u64 = 0x004;
    /// CPUID response.
    pub const CPUID_RESPONSE: u64 = 0x005;
    /// SNP GHCB GPA registration request.
    pub const REGISTER_GHCB_GPA_REQUEST: u64 = 0x012;
    /// SNP GHCB GPA registration response.
    pub const REGISTER_GHCB_GPA_RESPONSE: u64 = 0x013;
    /// SNP Page State Change request.
    pub const PAGE_STATE_CHANGE_REQUEST: u64 = 0x014;
    /// SNP Page State Change response.
    pub const PAGE_STATE_CHANGE_RESPONSE: u64 = 0x015;
    /// SNP Run VMPL request (GHCB spec version 2.03 and later).
    pub const RUN_VMPL_REQUEST: u64 = 0x016;
    /// SNP Run VMPL response.
    pub const RUN_VMPL_RESPONSE: u64 = 0x017;
    /// Hypervisor Feature Support request.
    pub const HV_FEATURES_REQUEST: u64 = 0x080;
    /// Hypervisor Feature Support response.
    pub const HV_FEATURES_RESPONSE: u64 = 0x081;
    /// Termination request.
    pub const TERMINATION_REQUEST: u64 = 0x100;
}

/// GHCBInfo: bits 11:0.
const INFO_MASK: u64 = 0xfff;
/// A guest frame number fits the 40 bits of `GHCBData[51:12]` in the page-state-change request.
const PSC_GFN_BITS: u32 = 40;
/// Guest physical addresses are at most 52 bits wide (AMD APM vol. 2, "Physical address size").
const MAX_GPA_BITS: u32 = 52;

/// Why a value could not be encoded, or a response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrProtocolError {
    /// The response's GHCBInfo is not the one that answers the request.
    UnexpectedResponse { expected: u64, got: u64 },
    /// An address that is not page aligned or does not fit the field.
    BadAddress(u64),
    /// The hypervisor registered a different GHCB GPA than the one asked for.
    GpaMismatch { requested: u64, registered: u64 },
    /// The hypervisor's page state change failed with this error code (`GHCBData[63:32]`).
    PageStateChange(u32),
    /// A termination reason set above 15 (it has four bits).
    BadReasonSet(u8),
    /// A VMPL above 3.
    BadVmpl(u8),
    /// The hypervisor refused to run the VMPL, with this error code (`GHCBData[63:32]`).
    RunVmpl(u32),
    /// Reserved bits that must be zero were set in a response.
    ReservedBits(u64),
}

/// GHCBInfo of an MSR value.
pub const fn info(value: u64) -> u64 {
    value & INFO_MASK
}

fn expect_info(value: u64, expected: u64) -> Result<(), MsrProtocolError> {
    if info(value) == expected {
        Ok(())
    } else {
        Err(MsrProtocolError::UnexpectedResponse {
            expected,
            got: info(value),
        })
    }
}

/// What the SEV Information response tells: the GHCB protocol versions the hypervisor speaks
/// and the position of the encryption bit in page table entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevInfo {
    /// `GHCBData[63:48]`: the highest protocol version supported.
    pub max_version: u16,
    /// `GHCBData[47:32]`: the lowest protocol version supported.
    pub min_version: u16,
    /// `GHCBData[31:24]`: the C-bit position.
    pub c_bit: u8,
}

impl SevInfo {
    /// Whether the hypervisor speaks protocol `version`.
    pub const fn supports(&self, version: u16) -> bool {
        self.min_version <= version && version <= self.max_version
    }
}

/// The SEV Information request (GHCBData zero).
pub const fn sev_info_request() -> u64 {
    info::SEV_INFO_REQUEST
}

/// Decodes the SEV Information response; `GHCBData[23:12]` are reserved and must be zero, and
/// a range whose minimum exceeds its maximum is refused.
pub fn decode_sev_info(response: u64) -> Result<SevInfo, MsrProtocolError> {
    expect_info(response, info::SEV_INFO_RESPONSE)?;
    let reserved = response & 0x00ff_f000;
    if reserved != 0 {
        return Err(MsrProtocolError::ReservedBits(reserved));
    }
    let sev = SevInfo {
        max_version: (response >> 48) as u16,
        min_version: (response >> 32) as u16,
        c_bit: (response >> 24) as u8,
    };
    if sev.min_version > sev.max_version {
        return Err(MsrProtocolError::UnexpectedResponse {
            expected: info::SEV_INFO_RESPONSE,
            got: response,
        });
    }
    Ok(sev)
}

fn page_frame(gpa: u64, bits: u32) -> Result<u64, MsrProtocolError> {
    if gpa & INFO_MASK != 0 || gpa >> MAX_GPA_BITS != 0 {
        return Err(MsrProtocolError::BadAddress(gpa));
    }
    let gfn = gpa >> 12;
    if gfn >> bits != 0 {
        return Err(MsrProtocolError::BadAddress(gpa));
    }
    Ok(gfn)
}

/// The SNP GHCB GPA registration request for the GHCB page at `gpa` (`GHCBData[63:12]` = its
/// GFN). The page must be 4 KiB aligned.
pub fn register_ghcb_gpa_request(gpa: u64) -> Result<u64, MsrProtocolError> {
    let gfn = page_frame(gpa, MAX_GPA_BITS - 12)?;
    Ok((gfn << 12) | info::REGISTER_GHCB_GPA_REQUEST)
}

/// Checks the registration response: it must name the GFN that was requested (a hypervisor
/// that refuses answers with all ones in GHCBData).
pub fn decode_register_ghcb_gpa(response: u64, requested: u64) -> Result<(), MsrProtocolError> {
    expect_info(response, info::REGISTER_GHCB_GPA_RESPONSE)?;
    let registered = response & !INFO_MASK;
    if registered != requested {
        return Err(MsrProtocolError::GpaMismatch {
            requested,
            registered,
        });
    }
    Ok(())
}

/// The page state a Page State Change asks for (GHCB spec, "SNP Page State Change" in the MSR
/// protocol: `GHCBData[55:52]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageState {
    /// Page assignment, private: the page becomes guest-owned (it must then be PVALIDATEd).
    Private = 1,
    /// Page assignment, shared: the page becomes hypervisor-visible (rescind it first).
    Shared = 2,
}

/// The Page State Change request for the 4 KiB page at `gpa`: `GHCBData[51:12]` its GFN,
/// `GHCBData[55:52]` the operation.
pub fn page_state_change_request(gpa: u64, state: PageState) -> Result<u64, MsrProtocolError> {
    let gfn = page_frame(gpa, PSC_GFN_BITS)?;
    Ok(((state as u64) << 52) | (gfn << 12) | info::PAGE_STATE_CHANGE_REQUEST)
}

/// Checks the Page State Change response: `GHCBData[63:32]` is the error code (0 on success),
/// `GHCBData[31:12]` reserved.
pub fn decode_page_state_change(response: u64) -> Result<(), MsrProtocolError> {
    decode_status(
        response,
        info::PAGE_STATE_CHANGE_RESPONSE,
        MsrProtocolError::PageStateChange,
    )
}

/// A response whose `GHCBData[63:32]` is an error code (0 on success, else `error(code)`) and
/// whose `GHCBData[31:12]` is reserved.
fn decode_status(
    response: u64,
    expected: u64,
    error: fn(u32) -> MsrProtocolError,
) -> Result<(), MsrProtocolError> {
    expect_info(response, expected)?;
    let code = (response >> 32) as u32;
    if code != 0 {
        return Err(error(code));
    }
    let reserved = response & 0xffff_f000;
    if reserved != 0 {
        return Err(MsrProtocolError::ReservedBits(reserved));
    }
    Ok(())
}

/// The SNP Run VMPL request: `GHCBData[39:32]` the VMPL to run on this vCPU, the rest zero.
/// The hypervisor runs that VMPL's VMSA; when it exits back to VMPL0 (the guest's request to
/// do so, after setting `call_pending`), the response is in the GHCB MSR.
pub fn run_vmpl_request(vmpl: u8) -> Result<u64, MsrProtocolError> {
    if vmpl > 3 {
        return Err(MsrProtocolError::BadVmpl(vmpl));
    }
    Ok((u64::from(vmpl) << 32) | info::RUN_VMPL_REQUEST)
}

/// Checks the SNP Run VMPL response: `GHCBData[63:32]` the error code (0 on success),
/// `GHCBData[31:12]` reserved.
pub fn decode_run_vmpl(response: u64) -> Result<(), MsrProtocolError> {
    decode_status(response, info::RUN_VMPL_RESPONSE, MsrProtocolError::RunVmpl)
}

/// A CPUID register, as the CPUID request names it (`GHCBData[31:30]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuidRegister {
    Eax = 0,
    Ebx = 1,
    Ecx = 2,
    Edx = 3,
}

/// The CPUID request: `GHCBData[63:32]` the function (subfunction 0), `GHCBData[31:30]` the
/// register wanted, the rest zero. One register per request.
pub const fn cpuid_request(function: u32, register: CpuidRegister) -> u64 {
    ((function as u64) << 32) | ((register as u64) << 30) | info::CPUID_REQUEST
}

/// The CPUID response: `GHCBData[63:32]` the register's value; `GHCBData[31:30]` must name
/// the register asked for, `GHCBData[29:12]` are reserved.
pub fn decode_cpuid(response: u64, register: CpuidRegister) -> Result<u32, MsrProtocolError> {
    expect_info(response, info::CPUID_RESPONSE)?;
    let low = response & 0xffff_f000;
    if low != (register as u64) << 30 {
        return Err(MsrProtocolError::ReservedBits(low));
    }
    Ok((response >> 32) as u32)
}

/// The hypervisor features of the Hypervisor Feature Support response (GHCB spec, table
/// "Hypervisor Feature Support"; `GHCBData[63:12]`, bit 0 here being GHCBData bit 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HvFeatures(pub u64);

impl HvFeatures {
    /// SEV-SNP.
    pub const SNP: u64 = 1 << 0;
    /// SEV-SNP AP Creation (`SVM_VMGEXIT_AP_CREATION`).
    pub const SNP_AP_CREATION: u64 = 1 << 1;
    /// SEV-SNP Restricted Injection.
    pub const SNP_RESTRICTED_INJECTION: u64 = 1 << 2;
    /// SEV-SNP Restricted Injection Timer.
    pub const SNP_RESTRICTED_INJECTION_TIMER: u64 = 1 << 3;
    /// APIC ID list.
    pub const APIC_ID_LIST: u64 = 1 << 4;
    /// SEV-SNP multiple VMPL levels: what an SVSM below a VMPL1+ guest needs.
    pub const SNP_MULTI_VMPL: u64 = 1 << 5;

    /// Whether every feature bit in `mask` is set.
    pub const fn has(self, mask: u64) -> bool {
        self.0 & mask == mask
    }
}

/// The Hypervisor Feature Support request (GHCBData zero).
pub const fn hv_features_request() -> u64 {
    info::HV_FEATURES_REQUEST
}

/// Decodes the Hypervisor Feature Support response.
pub fn decode_hv_features(response: u64) -> Result<HvFeatures, MsrProtocolError> {
    expect_info(response, info::HV_FEATURES_RESPONSE)?;
    Ok(HvFeatures(response >> 12))
}

/// Why the guest asks to be terminated: a reason set (`GHCBData[15:12]`) and a reason code within
/// it (`GHCBData[23:16]`). Set 0 is the GHCB spec's own (table "Termination Request Reason
/// Codes"); the others are for the guest to define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminationReason {
    set: u8,
    code: u8,
}

impl TerminationReason {
    /// Set 0, code 0: general termination request.
    pub const GENERAL: TerminationReason = TerminationReason { set: 0, code: 0 };
    /// Set 0, code 1: the SEV-ES / GHCB protocol range is not supported.
    pub const PROTOCOL_UNSUPPORTED: TerminationReason = TerminationReason { set: 0, code: 1 };
    /// Set 0, code 2: SEV-SNP features are not supported.
    pub const SNP_UNSUPPORTED: TerminationReason = TerminationReason { set: 0, code: 2 };

    /// A reason in `set` (0..=15).
    pub const fn new(set: u8, code: u8) -> Result<TerminationReason, MsrProtocolError> {
        if set > 0xf {
            return Err(MsrProtocolError::BadReasonSet(set));
        }
        Ok(TerminationReason { set, code })
    }

    /// The reason set.
    pub const fn set(self) -> u8 {
        self.set
    }

    /// The reason code.
    pub const fn code(self) -> u8 {
        self.code
    }
}

/// The Termination request. The hypervisor does not answer it: the guest is not resumed.
pub const fn termination_request(reason: TerminationReason) -> u64 {
    ((reason.code as u64) << 16) | ((reason.set as u64) << 12) | info::TERMINATION_REQUEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuid_requests_name_function_and_register_and_responses_carry_the_value() {
        assert_eq!(
            cpuid_request(0xB, CpuidRegister::Edx),
            0x0000_000B_C000_0004
        );
        assert_eq!(
            cpuid_request(0x8000_001F, CpuidRegister::Eax),
            0x8000_001F_0000_0004
        );
        assert_eq!(
            decode_cpuid(0x0000_0003_C000_0005, CpuidRegister::Edx),
            Ok(3)
        );
        assert_eq!(
            decode_cpuid(0x0000_0003_C000_0004, CpuidRegister::Edx),
            Err(MsrProtocolError::UnexpectedResponse {
                expected: 0x005,
                got: 0x004
            }),
            "the request echoed back"
        );
        assert_eq!(
            decode_cpuid(0x0000_0003_4000_0005, CpuidRegister::Edx),
            Err(MsrProtocolError::ReservedBits(0x4000_0000)),
            "another register's answer"
        );
        assert!(decode_cpuid(0x0000_0003_C000_1005, CpuidRegister::Edx).is_err());
    }

    #[test]
    fn run_vmpl_request_and_response() {
        assert_eq!(run_vmpl_request(1), Ok(0x1_0000_0016));
        assert_eq!(run_vmpl_request(0), Ok(0x016));
        assert_eq!(run_vmpl_request(4), Err(MsrProtocolError::BadVmpl(4)));
        assert_eq!(decode_run_vmpl(0x017), Ok(()));
        assert_eq!(
            decode_run_vmpl(0x5_0000_0017),
            Err(MsrProtocolError::RunVmpl(5))
        );
        assert_eq!(
            decode_run_vmpl(0x1000_0017),
            Err(MsrProtocolError::ReservedBits(0x1000_0000))
        );
        assert_eq!(
            decode_run_vmpl(0x1_0000_0016),
            Err(MsrProtocolError::UnexpectedResponse {
                expected: 0x017,
                got: 0x016
            }),
            "the request echoed back"
        );
    }

    #[test]
    fn sev_info_round_trips_the_spec_fields() {
        assert_eq!(sev_info_request(), 0x002);
        // Versions 1..2, C-bit 51.
        let resp = (2u64 << 48) | (1u64 << 32) | (51u64 << 24) | 0x001;
        let sev = decode_sev_info(resp).unwrap();
        assert_eq!(
            sev,
            SevInfo {
                max_version: 2,
                min_version: 1,
                c_bit: 51
            }
        );
        assert!(sev.supports(2) && sev.supports(1) && !sev.supports(3) && !sev.supports(0));
    }

    #[test]
    fn sev_info_refuses_other_responses_reserved_bits_and_inverted_ranges() {
        let good = (2u64 << 48) | (1u64 << 32) | (51u64 << 24) | 0x001;
        assert_eq!(
            decode_sev_info(good & !0xfff | 0x013),
            Err(MsrProtocolError::UnexpectedResponse {
                expected: 0x001,
                got: 0x013
            })
        );
        assert_eq!(
            decode_sev_info(good | 0x1000),
            Err(MsrProtocolError::ReservedBits(0x1000))
        );
        let inverted = (1u64 << 48) | (2u64 << 32) | 0x001;
        assert!(decode_sev_info(inverted).is_err());
    }

    #[test]
    fn ghcb_gpa_registration_carries_the_gfn_and_checks_the_answer() {
        let gpa = 0x8_1234_5000;
        let req = register_ghcb_gpa_request(gpa).unwrap();
        assert_eq!(req, 0x8_1234_5012);
        assert_eq!(decode_register_ghcb_gpa(0x8_1234_5013, gpa), Ok(()));
        // A refusal is all ones in GHCBData.
        assert_eq!(
            decode_register_ghcb_gpa(0xffff_ffff_ffff_f013, gpa),
            Err(MsrProtocolError::GpaMismatch {
                requested: gpa,
                registered: 0xffff_ffff_ffff_f000
            })
        );
        assert!(decode_register_ghcb_gpa(0x8_1234_5012, gpa).is_err());
        assert_eq!(
            register_ghcb_gpa_request(gpa + 8),
            Err(MsrProtocolError::BadAddress(gpa + 8))
        );
        assert_eq!(
            register_ghcb_gpa_request(1 << 52),
            Err(MsrProtocolError::BadAddress(1 << 52))
        );
    }

    #[test]
    fn page_state_change_puts_the_operation_in_bits_55_52() {
        assert_eq!(
            page_state_change_request(0x20_0000, PageState::Shared).unwrap(),
            (2u64 << 52) | 0x20_0000 | 0x014
        );
        assert_eq!(
            page_state_change_request(0x20_0000, PageState::Private).unwrap(),
            (1u64 << 52) | 0x20_0000 | 0x014
        );
        // The GFN field is 40 bits: the largest page it names, and one beyond.
        let last = ((1u64 << 40) - 1) << 12;
        assert!(page_state_change_request(last, PageState::Shared).is_ok());
        assert!(page_state_change_request(1 << 52, PageState::Shared).is_err());
        assert!(page_state_change_request(0x20_0800, PageState::Shared).is_err());
    }

    #[test]
    fn page_state_change_response_reports_the_error_code() {
        assert_eq!(decode_page_state_change(0x015), Ok(()));
        assert_eq!(
            decode_page_state_change((7u64 << 32) | 0x015),
            Err(MsrProtocolError::PageStateChange(7))
        );
        assert_eq!(
            decode_page_state_change(0x1000 | 0x015),
            Err(MsrProtocolError::ReservedBits(0x1000))
        );
        assert!(decode_page_state_change(0x014).is_err());
    }

    #[test]
    fn hypervisor_features_are_ghcbdata_shifted_down() {
        assert_eq!(hv_features_request(), 0x080);
        let f = decode_hv_features((0b10_0011u64 << 12) | 0x081).unwrap();
        assert!(f.has(HvFeatures::SNP | HvFeatures::SNP_AP_CREATION));
        assert!(f.has(HvFeatures::SNP_MULTI_VMPL));
        assert!(!f.has(HvFeatures::SNP_RESTRICTED_INJECTION));
        assert!(decode_hv_features(0x080).is_err());
    }

    #[test]
    fn termination_reason_set_and_code_land_in_their_fields() {
        assert_eq!(termination_request(TerminationReason::GENERAL), 0x100);
        assert_eq!(
            termination_request(TerminationReason::SNP_UNSUPPORTED),
            0x0002_0100
        );
        let r = TerminationReason::new(0xf, 0xab).unwrap();
        assert_eq!((r.set(), r.code()), (0xf, 0xab));
        assert_eq!(termination_request(r), 0x00ab_f100);
        assert_eq!(
            TerminationReason::new(16, 0),
            Err(MsrProtocolError::BadReasonSet(16))
        );
    }
}
