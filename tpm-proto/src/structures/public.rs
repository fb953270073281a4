//! Public areas of objects (Part 2, sections 11.2.5 and 12.2; tables 2:164–2:169, 2:182–2:192):
//! RSA and ECC key material, the per-type parameters, `TPMT_PUBLIC` and its size-prefixed forms.

use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{
    read_sized, HashAlg, Tpm2bDigest, TpmiAlgPublic, TpmiEccCurve, TpmiRsaKeyBits,
    TpmsSymcipherParms, TpmtEccScheme, TpmtKdfScheme, TpmtKeyedhashScheme, TpmtRsaScheme,
    TpmtSymDefObject,
};
use crate::TpmaObject;

/// `MAX_RSA_KEY_BYTES`: RSA-3072.
pub const MAX_RSA_KEY_BYTES: usize = 384;
/// `MAX_ECC_KEY_BYTES`: NIST P-384.
pub const MAX_ECC_KEY_BYTES: usize = 48;
/// `RSA_PRIVATE_SIZE` = `MAX_RSA_KEY_BYTES / 2 * 5`: room for the prime and the CRT values, as
/// in the reference.
pub const RSA_PRIVATE_SIZE: usize = MAX_RSA_KEY_BYTES / 2 * 5;
/// The largest marshalled `TPMT_PUBLIC` this TPM accepts (an RSA-3072 key with a SHA-512
/// policy): the bound of `TPM2B_TEMPLATE`.
pub const MAX_TPMT_PUBLIC_SIZE: usize = 2 + 2 + 4 + (2 + 64) + 16 + (2 + MAX_RSA_KEY_BYTES);

tpm2b!(/// `TPM2B_PUBLIC_KEY_RSA` (table 2:164): an RSA modulus or an RSA signature.
    Tpm2bPublicKeyRsa, max = MAX_RSA_KEY_BYTES);
tpm2b!(/// `TPM2B_PRIVATE_KEY_RSA` (table 2:166).
    Tpm2bPrivateKeyRsa, max = RSA_PRIVATE_SIZE);
tpm2b!(/// `TPM2B_ECC_PARAMETER` (table 2:167): a coordinate or scalar.
    Tpm2bEccParameter, max = MAX_ECC_KEY_BYTES);
tpm2b!(/// `TPM2B_TEMPLATE` (table 2:192): a marshalled `TPMT_PUBLIC` given to
    /// `TPM2_CreateLoaded`, parsed by the command because its `unique` may be a `TPMS_DERIVE`.
    Tpm2bTemplate, max = MAX_TPMT_PUBLIC_SIZE);

/// `TPMS_ECC_POINT` (table 2:168).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmsEccPoint<'a> {
    pub x: Tpm2bEccParameter<'a>,
    pub y: Tpm2bEccParameter<'a>,
}

impl<'a> Unmarshal<'a> for TpmsEccPoint<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsEccPoint {
            x: r.read()?,
            y: r.read()?,
        })
    }
}

impl Marshal for TpmsEccPoint<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.x)?;
        w.write(&self.y)
    }
}

/// `TPM2B_ECC_POINT` (table 2:169): a size-prefixed point; size 0 or a size that disagrees with
/// the point is `TPM_RC_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tpm2bEccPoint<'a> {
    pub point: TpmsEccPoint<'a>,
}

impl<'a> Unmarshal<'a> for Tpm2bEccPoint<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let point = read_sized(r, false, |r| r.read())?.ok_or(Rc::Size)?;
        Ok(Tpm2bEccPoint { point })
    }
}

impl Marshal for Tpm2bEccPoint<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.sized_with(|w| w.write(&self.point))
    }
}

/// `TPMS_KEYEDHASH_PARMS` (table 2:184): the scheme may be NULL.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsKeyedhashParms {
    pub scheme: TpmtKeyedhashScheme,
}

impl<'a> Unmarshal<'a> for TpmsKeyedhashParms {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsKeyedhashParms {
            scheme: TpmtKeyedhashScheme::unmarshal_nullable(r, true)?,
        })
    }
}

impl Marshal for TpmsKeyedhashParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.scheme)
    }
}

/// `TPMS_RSA_PARMS` (table 2:186). The symmetric definition and the scheme may be NULL; an
/// exponent of 0 means 2^16 + 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsRsaParms {
    pub symmetric: TpmtSymDefObject,
    pub scheme: TpmtRsaScheme,
    pub key_bits: TpmiRsaKeyBits,
    pub exponent: u32,
}

impl<'a> Unmarshal<'a> for TpmsRsaParms {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsRsaParms {
            symmetric: TpmtSymDefObject::unmarshal_nullable(r, true)?,
            scheme: TpmtRsaScheme::unmarshal_nullable(r, true)?,
            key_bits: r.read()?,
            exponent: r.read()?,
        })
    }
}

impl Marshal for TpmsRsaParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.symmetric)?;
        w.write(&self.scheme)?;
        w.write(&self.key_bits)?;
        w.u32(self.exponent)
    }
}

/// `TPMS_ECC_PARMS` (table 2:187). Symmetric, scheme and KDF may be NULL; the curve may not.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsEccParms {
    pub symmetric: TpmtSymDefObject,
    pub scheme: TpmtEccScheme,
    pub curve_id: TpmiEccCurve,
    pub kdf: TpmtKdfScheme,
}

impl<'a> Unmarshal<'a> for TpmsEccParms {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsEccParms {
            symmetric: TpmtSymDefObject::unmarshal_nullable(r, true)?,
            scheme: TpmtEccScheme::unmarshal_nullable(r, true)?,
            curve_id: r.read()?,
            kdf: TpmtKdfScheme::unmarshal_nullable(r, true)?,
        })
    }
}

impl Marshal for TpmsEccParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.symmetric)?;
        w.write(&self.scheme)?;
        w.write(&self.curve_id)?;
        w.write(&self.kdf)
    }
}

/// `TPMU_PUBLIC_PARMS` (table 2:188), keyed by `TPMI_ALG_PUBLIC`. Marshals the union member only.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmuPublicParms {
    KeyedHash(TpmsKeyedhashParms),
    SymCipher(TpmsSymcipherParms),
    Rsa(TpmsRsaParms),
    Ecc(TpmsEccParms),
}

impl TpmuPublicParms {
    /// The selector (the object type).
    pub const fn type_(&self) -> TpmiAlgPublic {
        match self {
            TpmuPublicParms::KeyedHash(_) => TpmiAlgPublic::KeyedHash,
            TpmuPublicParms::SymCipher(_) => TpmiAlgPublic::SymCipher,
            TpmuPublicParms::Rsa(_) => TpmiAlgPublic::Rsa,
            TpmuPublicParms::Ecc(_) => TpmiAlgPublic::Ecc,
        }
    }

    /// Unmarshals the member that `type_` selects.
    pub fn unmarshal_for(r: &mut Reader<'_>, type_: TpmiAlgPublic) -> Result<Self, Rc> {
        Ok(match type_ {
            TpmiAlgPublic::KeyedHash => TpmuPublicParms::KeyedHash(r.read()?),
            TpmiAlgPublic::SymCipher => TpmuPublicParms::SymCipher(r.read()?),
            TpmiAlgPublic::Rsa => TpmuPublicParms::Rsa(r.read()?),
            TpmiAlgPublic::Ecc => TpmuPublicParms::Ecc(r.read()?),
        })
    }
}

impl Marshal for TpmuPublicParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            TpmuPublicParms::KeyedHash(p) => w.write(p),
            TpmuPublicParms::SymCipher(p) => w.write(p),
            TpmuPublicParms::Rsa(p) => w.write(p),
            TpmuPublicParms::Ecc(p) => w.write(p),
        }
    }
}

/// `TPMT_PUBLIC_PARMS` (table 2:189): the type and its parameters, the input of
/// `TPM2_TestParms`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmtPublicParms {
    pub parameters: TpmuPublicParms,
}

impl<'a> Unmarshal<'a> for TpmtPublicParms {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let type_: TpmiAlgPublic = r.read()?;
        Ok(TpmtPublicParms {
            parameters: TpmuPublicParms::unmarshal_for(r, type_)?,
        })
    }
}

impl Marshal for TpmtPublicParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.parameters.type_())?;
        w.write(&self.parameters)
    }
}

/// `TPMU_PUBLIC_ID` (table 2:183), keyed by `TPMI_ALG_PUBLIC`: the unique identifier of an
/// object. Marshals the union member only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TpmuPublicId<'a> {
    KeyedHash(Tpm2bDigest<'a>),
    SymCipher(Tpm2bDigest<'a>),
    Rsa(Tpm2bPublicKeyRsa<'a>),
    Ecc(TpmsEccPoint<'a>),
}

impl<'a> TpmuPublicId<'a> {
    pub const fn type_(&self) -> TpmiAlgPublic {
        match self {
            TpmuPublicId::KeyedHash(_) => TpmiAlgPublic::KeyedHash,
            TpmuPublicId::SymCipher(_) => TpmiAlgPublic::SymCipher,
            TpmuPublicId::Rsa(_) => TpmiAlgPublic::Rsa,
            TpmuPublicId::Ecc(_) => TpmiAlgPublic::Ecc,
        }
    }

    /// Unmarshals the member that `type_` selects.
    pub fn unmarshal_for(r: &mut Reader<'a>, type_: TpmiAlgPublic) -> Result<Self, Rc> {
        Ok(match type_ {
            TpmiAlgPublic::KeyedHash => TpmuPublicId::KeyedHash(r.read()?),
            TpmiAlgPublic::SymCipher => TpmuPublicId::SymCipher(r.read()?),
            TpmiAlgPublic::Rsa => TpmuPublicId::Rsa(r.read()?),
            TpmiAlgPublic::Ecc => TpmuPublicId::Ecc(r.read()?),
        })
    }
}

impl Marshal for TpmuPublicId<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            TpmuPublicId::KeyedHash(d) | TpmuPublicId::SymCipher(d) => w.write(d),
            TpmuPublicId::Rsa(n) => w.write(n),
            TpmuPublicId::Ecc(p) => w.write(p),
        }
    }
}

/// `TPMT_PUBLIC` (table 2:190): an object's public area. The type is that of `parameters`; a
/// value whose `unique` is of another type does not marshal ([`WriteError`]).
///
/// The Name of an object is `nameAlg || H(marshalled TPMT_PUBLIC)`; [`TpmtPublic::unmarshal_with_raw`]
/// returns the exact bytes parsed so the engine can hash them without re-marshalling. The `+`
/// form (`TPM2_LoadExternal`) admits a NULL `nameAlg`, as `None`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmtPublic<'a> {
    pub name_alg: Option<HashAlg>,
    pub object_attributes: TpmaObject,
    pub auth_policy: Tpm2bDigest<'a>,
    pub parameters: TpmuPublicParms,
    pub unique: TpmuPublicId<'a>,
}

impl<'a> TpmtPublic<'a> {
    pub const fn type_(&self) -> TpmiAlgPublic {
        self.parameters.type_()
    }

    /// Unmarshals and also returns the bytes the area was parsed from (what the Name hashes).
    pub fn unmarshal_with_raw(
        r: &mut Reader<'a>,
        allow_null: bool,
    ) -> Result<(Self, &'a [u8]), Rc> {
        r.with_raw(|r| Self::unmarshal_nullable(r, allow_null))
    }
}

impl<'a> UnmarshalNullable<'a> for TpmtPublic<'a> {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        let type_: TpmiAlgPublic = r.read()?;
        Ok(TpmtPublic {
            name_alg: HashAlg::unmarshal_opt(r, allow_null)?,
            object_attributes: r.read()?,
            auth_policy: r.read()?,
            parameters: TpmuPublicParms::unmarshal_for(r, type_)?,
            unique: TpmuPublicId::unmarshal_for(r, type_)?,
        })
    }
}

impl<'a> Unmarshal<'a> for TpmtPublic<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_nullable(r, false)
    }
}

impl Marshal for TpmtPublic<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        if self.unique.type_() != self.type_() {
            return Err(WriteError);
        }
        w.write(&self.type_())?;
        w.write(&self.name_alg)?;
        w.write(&self.object_attributes)?;
        w.write(&self.auth_policy)?;
        w.write(&self.parameters)?;
        w.write(&self.unique)
    }
}

/// `TPM2B_PUBLIC` (table 2:191): a size-prefixed `TPMT_PUBLIC`. Size 0 is `TPM_RC_SIZE`, and so
/// is a size that differs from the bytes the area takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tpm2bPublic<'a> {
    pub public_area: TpmtPublic<'a>,
}

impl<'a> Tpm2bPublic<'a> {
    /// Unmarshals and also returns the bytes of the `TPMT_PUBLIC` inside (without the size).
    pub fn unmarshal_with_raw(
        r: &mut Reader<'a>,
        allow_null: bool,
    ) -> Result<(Self, &'a [u8]), Rc> {
        let (public_area, raw) =
            read_sized(r, false, |r| TpmtPublic::unmarshal_with_raw(r, allow_null))?
                .ok_or(Rc::Size)?;
        Ok((Tpm2bPublic { public_area }, raw))
    }
}

impl<'a> UnmarshalNullable<'a> for Tpm2bPublic<'a> {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        Self::unmarshal_with_raw(r, allow_null).map(|(p, _)| p)
    }
}

impl<'a> Unmarshal<'a> for Tpm2bPublic<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_nullable(r, false)
    }
}

impl Marshal for Tpm2bPublic<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.sized_with(|w| w.write(&self.public_area))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structures::{TpmiAesKeyBits, TpmiAlgSymMode};

    const EK_POLICY: [u8; 32] = [
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7,
        0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14,
        0x69, 0xaa,
    ];

    /// The TCG EK Credential Profile RSA-2048 template (L-1), as a `TPMT_PUBLIC`.
    fn ek_rsa_template(out: &mut [u8; 512]) -> usize {
        let mut w = Writer::new(out);
        w.u16(0x0001).unwrap(); // TPM_ALG_RSA
        w.u16(0x000B).unwrap(); // SHA-256
        w.u32(0x0003_00B2).unwrap();
        w.sized(&EK_POLICY).unwrap();
        w.bytes(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x43]).unwrap(); // AES-128-CFB
        w.u16(0x0010).unwrap(); // scheme NULL
        w.u16(2048).unwrap();
        w.u32(0).unwrap();
        w.sized(&[0u8; 256]).unwrap();
        w.len()
    }

    #[test]
    fn ek_template_parses_and_keeps_its_bytes() {
        let mut buf = [0u8; 512];
        let n = ek_rsa_template(&mut buf);
        let (p, raw) = TpmtPublic::unmarshal_with_raw(&mut Reader::new(&buf[..n]), false).unwrap();
        assert_eq!(raw, &buf[..n]);
        assert_eq!(p.name_alg, Some(HashAlg::Sha256));
        assert!(p
            .object_attributes
            .contains(TpmaObject::RESTRICTED | TpmaObject::DECRYPT));
        let TpmuPublicParms::Rsa(rsa) = p.parameters else {
            panic!("not RSA")
        };
        assert_eq!(
            rsa.symmetric,
            TpmtSymDefObject::Aes {
                key_bits: TpmiAesKeyBits::Aes128,
                mode: Some(TpmiAlgSymMode::Cfb)
            }
        );
        assert_eq!(rsa.scheme, TpmtRsaScheme::Null);
        let mut again = [0u8; 512];
        assert_eq!(p.to_bytes(&mut again), Ok(n));
        assert_eq!(&again[..n], &buf[..n]);
    }

    #[test]
    fn tpm2b_public_size_must_match_exactly() {
        let mut inner = [0u8; 512];
        let n = ek_rsa_template(&mut inner);
        let mut buf = [0u8; 520];
        for (size, want) in [(n, Ok(())), (n + 1, Err(Rc::Size)), (n - 1, Err(Rc::Size))] {
            buf[..2].copy_from_slice(&(size as u16).to_be_bytes());
            buf[2..2 + n].copy_from_slice(&inner[..n]);
            let got = Tpm2bPublic::unmarshal(&mut Reader::new(&buf[..2 + n + 1]));
            assert_eq!(got.map(|_| ()), want, "size {size}");
        }
        buf[..2].copy_from_slice(&(n as u16).to_be_bytes());
        let (_, raw) = Tpm2bPublic::unmarshal_with_raw(&mut Reader::new(&buf), false).unwrap();
        assert_eq!(raw, &inner[..n]);
        assert_eq!(
            Tpm2bPublic::unmarshal(&mut Reader::new(&[0, 0, 0, 1])),
            Err(Rc::Size)
        );
        assert_eq!(
            Tpm2bPublic::unmarshal(&mut Reader::new(&[0, 4, 0, 1])),
            Err(Rc::Insufficient)
        );
    }

    #[test]
    fn hostile_public_areas_get_reference_codes() {
        let mut buf = [0u8; 512];
        let n = ek_rsa_template(&mut buf);
        let mut bad = buf;
        bad[1] = 0x02; // TPM_ALG_RSA → 0x0002: not an object type
        assert_eq!(TpmtPublic::from_bytes(&bad[..n]), Err(Rc::Type));
        let mut bad = buf;
        bad[3] = 0x10; // nameAlg NULL
        assert_eq!(TpmtPublic::from_bytes(&bad[..n]), Err(Rc::Hash));
        assert!(TpmtPublic::unmarshal_nullable(&mut Reader::new(&bad[..n]), true).is_ok());
        let mut bad = buf;
        bad[7] |= 0x01; // reserved attribute bit 0
        assert_eq!(TpmtPublic::from_bytes(&bad[..n]), Err(Rc::ReservedBits));
        let mut bad = buf;
        bad[8] = 0; // authPolicy size 32 → 65
        bad[9] = 65;
        assert_eq!(TpmtPublic::from_bytes(&bad[..n]), Err(Rc::Size));
        let mut bad = buf;
        let unique_size = n - 258;
        bad[unique_size..unique_size + 2].copy_from_slice(&385u16.to_be_bytes());
        assert_eq!(TpmtPublic::from_bytes(&bad[..n]), Err(Rc::Size));
        assert_eq!(TpmtPublic::from_bytes(&buf[..n - 1]), Err(Rc::Insufficient));
    }

    #[test]
    fn ecc_point_rejects_empty_and_mismatched_size() {
        assert_eq!(Tpm2bEccPoint::from_bytes(&[0, 0]), Err(Rc::Size));
        assert_eq!(
            Tpm2bEccPoint::from_bytes(&[0, 5, 0, 1, 7, 0, 1, 8]),
            Err(Rc::Size)
        );
        let p = Tpm2bEccPoint::from_bytes(&[0, 6, 0, 1, 7, 0, 1, 8]).unwrap();
        assert_eq!(p.point.y.0, &[8]);
        assert_eq!(Tpm2bEccParameter::from_bytes(&[0, 49]), Err(Rc::Size));
    }

    #[test]
    fn mismatched_unique_does_not_marshal() {
        let p = TpmtPublic {
            name_alg: Some(HashAlg::Sha256),
            object_attributes: TpmaObject::empty(),
            auth_policy: Tpm2bDigest(&[]),
            parameters: TpmuPublicParms::SymCipher(TpmsSymcipherParms {
                sym: TpmtSymDefObject::Aes {
                    key_bits: TpmiAesKeyBits::Aes128,
                    mode: None,
                },
            }),
            unique: TpmuPublicId::Rsa(Tpm2bPublicKeyRsa(&[])),
        };
        assert_eq!(p.to_bytes(&mut [0u8; 64]), Err(WriteError));
    }
}
