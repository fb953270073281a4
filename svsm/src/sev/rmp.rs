//! What PVALIDATE and RMPADJUST return, and RMPADJUST's attribute operand (AMD APM vol. 3,
//! "PVALIDATE" and "RMPADJUST"): pure decoders for the register values the instructions leave,
//! so that the firmware-only wrappers (`instr`) are a few lines of assembly each.

use crate::protocol::core::PvalidateFail;

/// PVALIDATE's outcome: EAX is the return code, CF set means the page's validated state did
/// not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvalidateResult {
    /// Validated (or rescinded) as asked.
    Success,
    /// EAX 0 with CF set: the page already was in the requested state.
    Unchanged,
    /// `FAIL_INPUT` (1): a bad operand, or a page the firmware refuses.
    FailInput,
    /// `FAIL_SIZEMISMATCH` (6): a 2 MiB operation on a page the RMP holds as 4 KiB pages.
    FailSizeMismatch,
    /// A return code the APM does not list for PVALIDATE.
    Unknown(u32),
}

/// Decodes PVALIDATE's EAX and CF.
pub const fn decode_pvalidate(eax: u32, cf: bool) -> PvalidateResult {
    match eax {
        0 if cf => PvalidateResult::Unchanged,
        0 => PvalidateResult::Success,
        1 => PvalidateResult::FailInput,
        6 => PvalidateResult::FailSizeMismatch,
        other => PvalidateResult::Unknown(other),
    }
}

impl PvalidateResult {
    /// As the core protocol reports it (`SVSM_CORE_PVALIDATE`): an unknown return code is
    /// reported as a failed input, the one failure the guest can do nothing but give up on.
    pub const fn to_result(self) -> Result<(), PvalidateFail> {
        match self {
            PvalidateResult::Success => Ok(()),
            PvalidateResult::Unchanged => Err(PvalidateFail::Unchanged),
            PvalidateResult::FailSizeMismatch => Err(PvalidateFail::SizeMismatch),
            PvalidateResult::FailInput | PvalidateResult::Unknown(_) => Err(PvalidateFail::Input),
        }
    }
}

/// RMPADJUST's outcome: EAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmpadjustResult {
    Success,
    /// `FAIL_INPUT` (1).
    FailInput,
    /// `FAIL_PERMISSION` (2): the target VMPL is not less privileged than the current one, or
    /// the permissions asked exceed the current VMPL's.
    FailPermission,
    /// `FAIL_SIZEMISMATCH` (6).
    FailSizeMismatch,
    /// A return code the APM does not list for RMPADJUST.
    Unknown(u32),
}

/// Decodes RMPADJUST's EAX.
pub const fn decode_rmpadjust(eax: u32) -> RmpadjustResult {
    match eax {
        0 => RmpadjustResult::Success,
        1 => RmpadjustResult::FailInput,
        2 => RmpadjustResult::FailPermission,
        6 => RmpadjustResult::FailSizeMismatch,
        other => RmpadjustResult::Unknown(other),
    }
}

/// A VMPL's permission mask over a page (RMPADJUST `RDX[15:8]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmplPermissions(u8);

impl VmplPermissions {
    pub const NONE: VmplPermissions = VmplPermissions(0);
    pub const READ: VmplPermissions = VmplPermissions(1 << 0);
    pub const WRITE: VmplPermissions = VmplPermissions(1 << 1);
    pub const EXECUTE_USER: VmplPermissions = VmplPermissions(1 << 2);
    pub const EXECUTE_SUPERVISOR: VmplPermissions = VmplPermissions(1 << 3);
    /// Everything: what a guest VMPL has over its own memory.
    pub const ALL: VmplPermissions = VmplPermissions(0xf);

    /// The union of two masks.
    pub const fn union(self, other: VmplPermissions) -> VmplPermissions {
        VmplPermissions(self.0 | other.0)
    }

    /// The mask bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

/// RMPADJUST's RDX: bits 7:0 the target VMPL, 15:8 its permission mask, 16 the VMSA bit,
/// 63:17 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmpAttributes(u64);

/// A target VMPL that RMPADJUST run at VMPL0 cannot adjust (0: its own; above 3: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTargetVmpl(pub u8);

impl RmpAttributes {
    /// `perms` (and the VMSA bit) for `target_vmpl`, which must be 1, 2 or 3: the SVSM runs
    /// at VMPL0 and adjusts only less privileged levels.
    pub const fn new(
        target_vmpl: u8,
        perms: VmplPermissions,
        vmsa: bool,
    ) -> Result<RmpAttributes, BadTargetVmpl> {
        if target_vmpl == 0 || target_vmpl > 3 {
            return Err(BadTargetVmpl(target_vmpl));
        }
        Ok(RmpAttributes(
            target_vmpl as u64 | ((perms.0 as u64) << 8) | ((vmsa as u64) << 16),
        ))
    }

    /// The RDX value.
    pub const fn rdx(self) -> u64 {
        self.0
    }
}

/// The page-size operand of both instructions (ECX / RCX): 0 for 4 KiB, 1 for 2 MiB.
pub const fn page_size_operand(size: crate::mm::guest::PageSize) -> u32 {
    match size {
        crate::mm::guest::PageSize::Small => 0,
        crate::mm::guest::PageSize::Huge => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::guest::PageSize;

    #[test]
    fn pvalidate_codes_and_the_carry_flag_decode() {
        assert_eq!(decode_pvalidate(0, false), PvalidateResult::Success);
        assert_eq!(decode_pvalidate(0, true), PvalidateResult::Unchanged);
        assert_eq!(decode_pvalidate(1, false), PvalidateResult::FailInput);
        assert_eq!(
            decode_pvalidate(6, false),
            PvalidateResult::FailSizeMismatch
        );
        assert_eq!(decode_pvalidate(2, true), PvalidateResult::Unknown(2));
    }

    #[test]
    fn pvalidate_results_map_to_the_core_protocol_failures() {
        assert_eq!(PvalidateResult::Success.to_result(), Ok(()));
        assert_eq!(
            PvalidateResult::Unchanged.to_result(),
            Err(PvalidateFail::Unchanged)
        );
        assert_eq!(
            PvalidateResult::FailSizeMismatch.to_result(),
            Err(PvalidateFail::SizeMismatch)
        );
        assert_eq!(
            PvalidateResult::Unknown(9).to_result(),
            Err(PvalidateFail::Input)
        );
    }

    #[test]
    fn rmpadjust_codes_decode() {
        assert_eq!(decode_rmpadjust(0), RmpadjustResult::Success);
        assert_eq!(decode_rmpadjust(1), RmpadjustResult::FailInput);
        assert_eq!(decode_rmpadjust(2), RmpadjustResult::FailPermission);
        assert_eq!(decode_rmpadjust(6), RmpadjustResult::FailSizeMismatch);
        assert_eq!(decode_rmpadjust(3), RmpadjustResult::Unknown(3));
    }

    #[test]
    fn rmpadjust_attributes_pack_vmpl_permissions_and_vmsa() {
        let a = RmpAttributes::new(1, VmplPermissions::ALL, false).unwrap();
        assert_eq!(a.rdx(), 0x0f01);
        let rw = VmplPermissions::READ.union(VmplPermissions::WRITE);
        assert_eq!(RmpAttributes::new(3, rw, true).unwrap().rdx(), 0x1_0303);
        assert_eq!(
            RmpAttributes::new(1, VmplPermissions::NONE, true)
                .unwrap()
                .rdx(),
            0x1_0001,
            "a VMSA page: the guest may not touch it"
        );
        assert_eq!(
            RmpAttributes::new(0, VmplPermissions::ALL, false),
            Err(BadTargetVmpl(0))
        );
        assert_eq!(
            RmpAttributes::new(4, VmplPermissions::ALL, false),
            Err(BadTargetVmpl(4))
        );
    }

    #[test]
    fn page_size_operands() {
        assert_eq!(page_size_operand(PageSize::Small), 0);
        assert_eq!(page_size_operand(PageSize::Huge), 1);
    }
}
