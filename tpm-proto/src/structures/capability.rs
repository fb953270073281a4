//! Capability data and the lists it is made of (Part 2, sections 10.8–10.10; tables
//! 2:93–2:110). These are mostly output: the engine builds them for `TPM2_GetCapability`;
//! unmarshalling exists for clients and tests.

use crate::constants::{AlgId, Cap, Cc, EccCurve, Handle, Pt, PtPcr, PCR_SELECT_MAX};
use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{List, Tpm2bDigest, TpmlPcrSelection};
use crate::{TpmaAlgorithm, TpmaCc};

/// `MAX_CAP_BUFFER`: the room for a `TPMS_CAPABILITY_DATA`.
pub const MAX_CAP_BUFFER: usize = 1024;
/// `MAX_CAP_DATA` = `MAX_CAP_BUFFER - sizeof(TPM_CAP) - sizeof(UINT32)`.
pub const MAX_CAP_DATA: usize = MAX_CAP_BUFFER - 4 - 4;
/// `MAX_CAP_ALGS` = `MAX_CAP_DATA / sizeof(TPMS_ALG_PROPERTY)` (8 in C).
pub const MAX_CAP_ALGS: usize = MAX_CAP_DATA / 8;
/// `MAX_CAP_HANDLES`.
pub const MAX_CAP_HANDLES: usize = MAX_CAP_DATA / 4;
/// `MAX_CAP_CC`.
pub const MAX_CAP_CC: usize = MAX_CAP_DATA / 4;
/// `MAX_TPM_PROPERTIES`.
pub const MAX_TPM_PROPERTIES: usize = MAX_CAP_DATA / 8;
/// `MAX_PCR_PROPERTIES` = `MAX_CAP_DATA / sizeof(TPMS_TAGGED_PCR_SELECT)` (8 in C).
pub const MAX_PCR_PROPERTIES: usize = MAX_CAP_DATA / 8;
/// `MAX_ECC_CURVES`.
pub const MAX_ECC_CURVES: usize = MAX_CAP_DATA / 2;
/// `MAX_ALG_LIST_SIZE`: the bound of `TPML_ALG`.
pub const MAX_ALG_LIST_SIZE: usize = 64;

/// `TPMS_ALG_PROPERTY` (table 2:93).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsAlgProperty {
    pub alg: AlgId,
    pub alg_properties: TpmaAlgorithm,
}

impl<'a> Unmarshal<'a> for TpmsAlgProperty {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsAlgProperty {
            alg: r.read()?,
            alg_properties: r.read()?,
        })
    }
}

impl Marshal for TpmsAlgProperty {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.alg)?;
        w.write(&self.alg_properties)
    }
}

/// `TPMS_TAGGED_PROPERTY` (table 2:94).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsTaggedProperty {
    pub property: Pt,
    pub value: u32,
}

impl<'a> Unmarshal<'a> for TpmsTaggedProperty {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsTaggedProperty {
            property: r.read()?,
            value: r.read()?,
        })
    }
}

impl Marshal for TpmsTaggedProperty {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.property)?;
        w.u32(self.value)
    }
}

/// `TPMS_TAGGED_PCR_SELECT` (table 2:95): a PCR property and the PCRs that have it.
/// `sizeofSelect` above `PCR_SELECT_MAX` is `TPM_RC_VALUE` (the reference has no unmarshal for
/// this output type; the bound keeps the copy in range).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsTaggedPcrSelect {
    pub tag: PtPcr,
    pub size_of_select: u8,
    pub pcr_select: [u8; PCR_SELECT_MAX],
}

impl<'a> Unmarshal<'a> for TpmsTaggedPcrSelect {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let tag = r.read()?;
        let size_of_select = r.u8()?;
        let mut pcr_select = [0u8; PCR_SELECT_MAX];
        let dst = pcr_select
            .get_mut(..usize::from(size_of_select))
            .ok_or(Rc::Value)?;
        dst.copy_from_slice(r.bytes(usize::from(size_of_select))?);
        Ok(TpmsTaggedPcrSelect {
            tag,
            size_of_select,
            pcr_select,
        })
    }
}

impl Marshal for TpmsTaggedPcrSelect {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        let sel = self
            .pcr_select
            .get(..usize::from(self.size_of_select))
            .ok_or(WriteError)?;
        w.write(&self.tag)?;
        w.u8(self.size_of_select)?;
        w.bytes(sel)
    }
}

/// `TPML_CC` (table 2:97).
pub type TpmlCc = List<Cc, MAX_CAP_CC>;
/// `TPML_CCA` (table 2:98). Elements with reserved `TPMA_CC` bits are `TPM_RC_RESERVED_BITS`.
pub type TpmlCca = List<TpmaCc, MAX_CAP_CC>;
/// `TPML_ALG` (table 2:99).
pub type TpmlAlg = List<AlgId, MAX_ALG_LIST_SIZE>;
/// `TPML_HANDLE` (table 2:100).
pub type TpmlHandle = List<Handle, MAX_CAP_HANDLES>;
/// `TPML_DIGEST` (table 2:101): 2 to 8 digests on input, as the reference's
/// `TPML_DIGEST_Unmarshal` requires for `TPM2_PolicyOR`; a client reading `TPM2_PCR_Read` output
/// uses [`List::unmarshal_any_count`].
pub type TpmlDigest<'a> = List<Tpm2bDigest<'a>, 8, 2>;
/// `TPML_ALG_PROPERTY` (table 2:104).
pub type TpmlAlgProperty = List<TpmsAlgProperty, MAX_CAP_ALGS>;
/// `TPML_TAGGED_TPM_PROPERTY` (table 2:105).
pub type TpmlTaggedTpmProperty = List<TpmsTaggedProperty, MAX_TPM_PROPERTIES>;
/// `TPML_TAGGED_PCR_PROPERTY` (table 2:106).
pub type TpmlTaggedPcrProperty = List<TpmsTaggedPcrSelect, MAX_PCR_PROPERTIES>;
/// `TPML_ECC_CURVE` (table 2:107).
pub type TpmlEccCurve = List<EccCurve, MAX_ECC_CURVES>;

/// `TPMU_CAPABILITIES` (table 2:109), keyed by `TPM_CAP`. The lists are held inline (no
/// allocation), so the variants differ in size by design.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TpmuCapabilities {
    Algorithms(TpmlAlgProperty),
    Handles(TpmlHandle),
    Command(TpmlCca),
    PpCommands(TpmlCc),
    AuditCommands(TpmlCc),
    AssignedPcr(TpmlPcrSelection),
    TpmProperties(TpmlTaggedTpmProperty),
    PcrProperties(TpmlTaggedPcrProperty),
    EccCurves(TpmlEccCurve),
}

impl TpmuCapabilities {
    /// The selector.
    pub const fn capability(&self) -> Cap {
        match self {
            TpmuCapabilities::Algorithms(_) => Cap::Algs,
            TpmuCapabilities::Handles(_) => Cap::Handles,
            TpmuCapabilities::Command(_) => Cap::Commands,
            TpmuCapabilities::PpCommands(_) => Cap::PpCommands,
            TpmuCapabilities::AuditCommands(_) => Cap::AuditCommands,
            TpmuCapabilities::AssignedPcr(_) => Cap::Pcrs,
            TpmuCapabilities::TpmProperties(_) => Cap::TpmProperties,
            TpmuCapabilities::PcrProperties(_) => Cap::PcrProperties,
            TpmuCapabilities::EccCurves(_) => Cap::EccCurves,
        }
    }
}

impl Marshal for TpmuCapabilities {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            TpmuCapabilities::Algorithms(l) => w.write(l),
            TpmuCapabilities::Handles(l) => w.write(l),
            TpmuCapabilities::Command(l) => w.write(l),
            TpmuCapabilities::PpCommands(l) | TpmuCapabilities::AuditCommands(l) => w.write(l),
            TpmuCapabilities::AssignedPcr(l) => w.write(l),
            TpmuCapabilities::TpmProperties(l) => w.write(l),
            TpmuCapabilities::PcrProperties(l) => w.write(l),
            TpmuCapabilities::EccCurves(l) => w.write(l),
        }
    }
}

/// `TPMS_CAPABILITY_DATA` (table 2:110). Unmarshal: a `TPM_CAP` outside table 2:22 is
/// `TPM_RC_VALUE` (reference `TPM_CAP_Unmarshal`); a listed one this TPM does not report
/// (`TPM_CAP_AUTH_POLICIES`, `TPM_CAP_ACT`, vendor) is `TPM_RC_SELECTOR`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsCapabilityData {
    pub data: TpmuCapabilities,
}

impl<'a> Unmarshal<'a> for TpmsCapabilityData {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let cap = Cap(r.u32()?);
        let data = match cap {
            Cap::Algs => TpmuCapabilities::Algorithms(r.read()?),
            Cap::Handles => TpmuCapabilities::Handles(r.read()?),
            Cap::Commands => TpmuCapabilities::Command(r.read()?),
            Cap::PpCommands => TpmuCapabilities::PpCommands(r.read()?),
            Cap::AuditCommands => TpmuCapabilities::AuditCommands(r.read()?),
            Cap::Pcrs => TpmuCapabilities::AssignedPcr(r.read()?),
            Cap::TpmProperties => TpmuCapabilities::TpmProperties(r.read()?),
            Cap::PcrProperties => TpmuCapabilities::PcrProperties(r.read()?),
            Cap::EccCurves => TpmuCapabilities::EccCurves(r.read()?),
            _ if cap.name().is_some() => return Err(Rc::Selector),
            _ => return Err(Rc::Value),
        };
        Ok(TpmsCapabilityData { data })
    }
}

impl Marshal for TpmsCapabilityData {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.data.capability())?;
        w.write(&self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_selector_codes() {
        assert_eq!(
            TpmsCapabilityData::from_bytes(&[0, 0, 0, 9, 0, 0, 0, 0]),
            Err(Rc::Selector)
        );
        assert_eq!(
            TpmsCapabilityData::from_bytes(&[0, 0, 0, 0x0B, 0, 0, 0, 0]),
            Err(Rc::Value)
        );
        let curves = [0, 0, 0, 8, 0, 0, 0, 2, 0, 3, 0, 4];
        let c = TpmsCapabilityData::from_bytes(&curves).unwrap();
        let TpmuCapabilities::EccCurves(l) = c.data else {
            panic!("not curves")
        };
        assert_eq!(l.as_slice(), &[EccCurve::NistP256, EccCurve::NistP384]);
    }

    #[test]
    fn list_bounds_are_the_reference_maxima() {
        assert_eq!(
            (MAX_CAP_CC, MAX_TPM_PROPERTIES, MAX_ECC_CURVES),
            (254, 127, 508)
        );
        let mut over = [0u8; 4];
        over.copy_from_slice(&255u32.to_be_bytes());
        assert_eq!(TpmlCc::unmarshal(&mut Reader::new(&over)), Err(Rc::Size));
        // PolicyOR needs at least two digests.
        assert_eq!(TpmlDigest::from_bytes(&[0, 0, 0, 1, 0, 0]), Err(Rc::Size));
        assert_eq!(TpmlDigest::from_bytes(&[0, 0, 0, 9]), Err(Rc::Size));
        assert!(TpmlDigest::from_bytes(&[0, 0, 0, 2, 0, 0, 0, 0]).is_ok());
    }

    #[test]
    fn tagged_pcr_select_and_cca_reject_hostile_values() {
        assert_eq!(
            TpmsTaggedPcrSelect::from_bytes(&[0, 0, 0, 0, 4, 0, 0, 0, 0]),
            Err(Rc::Value)
        );
        assert!(TpmsTaggedPcrSelect::from_bytes(&[0, 0, 0, 0, 3, 1, 2, 3]).is_ok());
        assert_eq!(
            TpmlCca::from_bytes(&[0, 0, 0, 1, 0x40, 0, 0, 0]),
            Err(Rc::ReservedBits)
        );
    }
}
