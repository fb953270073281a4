//! NV index public area (Part 2, section 13; tables 2:205–2:206).

use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{read_sized, HashAlg, Tpm2bDigest, TpmiRhNvIndex};
use crate::TpmaNv;

/// `MAX_NV_INDEX_SIZE`: the largest `dataSize` of an index (2048 in the reference and libtpms).
pub const MAX_NV_INDEX_SIZE: u16 = 2048;

/// `TPMS_NV_PUBLIC` (table 2:205). The Name of an index is `nameAlg || H(marshalled
/// TPMS_NV_PUBLIC)`; [`TpmsNvPublic::unmarshal_with_raw`] returns the bytes to hash. A
/// `dataSize` above [`MAX_NV_INDEX_SIZE`] is `TPM_RC_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsNvPublic<'a> {
    pub nv_index: TpmiRhNvIndex,
    pub name_alg: HashAlg,
    pub attributes: TpmaNv,
    pub auth_policy: Tpm2bDigest<'a>,
    pub data_size: u16,
}

impl<'a> TpmsNvPublic<'a> {
    /// Unmarshals and also returns the bytes the area was parsed from.
    pub fn unmarshal_with_raw(r: &mut Reader<'a>) -> Result<(Self, &'a [u8]), Rc> {
        r.with_raw(|r| r.read())
    }
}

impl<'a> Unmarshal<'a> for TpmsNvPublic<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let p = TpmsNvPublic {
            nv_index: r.read()?,
            name_alg: r.read()?,
            attributes: r.read()?,
            auth_policy: r.read()?,
            data_size: r.read()?,
        };
        if p.data_size > MAX_NV_INDEX_SIZE {
            return Err(Rc::Size);
        }
        Ok(p)
    }
}

impl Marshal for TpmsNvPublic<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.nv_index)?;
        w.write(&self.name_alg)?;
        w.write(&self.attributes)?;
        w.write(&self.auth_policy)?;
        w.u16(self.data_size)
    }
}

/// `TPM2B_NV_PUBLIC` (table 2:206): size-prefixed; size 0 or a size that disagrees with the
/// contents is `TPM_RC_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tpm2bNvPublic<'a> {
    pub nv_public: TpmsNvPublic<'a>,
}

impl<'a> Tpm2bNvPublic<'a> {
    /// Unmarshals and also returns the bytes of the `TPMS_NV_PUBLIC` inside.
    pub fn unmarshal_with_raw(r: &mut Reader<'a>) -> Result<(Self, &'a [u8]), Rc> {
        let (nv_public, raw) =
            read_sized(r, false, TpmsNvPublic::unmarshal_with_raw)?.ok_or(Rc::Size)?;
        Ok((Tpm2bNvPublic { nv_public }, raw))
    }
}

impl<'a> Unmarshal<'a> for Tpm2bNvPublic<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_with_raw(r).map(|(p, _)| p)
    }
}

impl Marshal for Tpm2bNvPublic<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.sized_with(|w| w.write(&self.nv_public))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ordinary index 0x01C00002 (the EK certificate index), SHA-256, no policy.
    const NV: [u8; 16] = [
        0, 14, 0x01, 0xC0, 0x00, 0x02, 0x00, 0x0B, 0x00, 0x02, 0x00, 0x02, 0, 0, 0x05, 0x00,
    ];

    #[test]
    fn nv_public_parses_with_raw_bytes() {
        let (p, raw) = Tpm2bNvPublic::unmarshal_with_raw(&mut Reader::new(&NV)).unwrap();
        assert_eq!(raw, &NV[2..]);
        assert_eq!(p.nv_public.data_size, 0x500);
        assert!(p
            .nv_public
            .attributes
            .contains(TpmaNv::OWNERREAD | TpmaNv::OWNERWRITE));
    }

    #[test]
    fn hostile_nv_public_codes() {
        let mut bad = NV;
        bad[2] = 0x81; // persistent handle, not an NV index
        assert_eq!(Tpm2bNvPublic::from_bytes(&bad), Err(Rc::Value));
        let mut bad = NV;
        bad[14] = 0x08;
        bad[15] = 0x01; // dataSize 2049
        assert_eq!(Tpm2bNvPublic::from_bytes(&bad), Err(Rc::Size));
        let mut bad = NV;
        bad[7] = 0x03; // nameAlg 0x0003
        assert_eq!(Tpm2bNvPublic::from_bytes(&bad), Err(Rc::Hash));
        let mut bad = NV;
        bad[10] = 0x01; // bit 8 is reserved in TPMA_NV
        assert_eq!(Tpm2bNvPublic::from_bytes(&bad), Err(Rc::ReservedBits));
        let mut bad = NV;
        bad[1] = 13;
        assert_eq!(
            Tpm2bNvPublic::unmarshal(&mut Reader::new(&bad)),
            Err(Rc::Size)
        );
        assert_eq!(Tpm2bNvPublic::from_bytes(&[0, 0]), Err(Rc::Size));
    }
}
