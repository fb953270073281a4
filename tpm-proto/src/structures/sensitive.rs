//! Sensitive areas and the protected blobs that carry them (Part 2, sections 11.1.14–11.1.17,
//! 11.4 and 12.3–12.5; tables 2:132, 2:134–2:140, 2:181, 2:193–2:200).

use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{
    read_sized, Tpm2bAuth, Tpm2bDigest, Tpm2bEccParameter, Tpm2bPrivateKeyRsa, TpmiAlgPublic,
    MAX_DIGEST_SIZE, MAX_RSA_KEY_BYTES, RSA_PRIVATE_SIZE,
};

/// `MAX_SYM_KEY_BYTES`: AES-256.
pub const MAX_SYM_KEY_BYTES: usize = 32;
/// `MAX_SYM_DATA`: the largest sealed data object.
pub const MAX_SYM_DATA: usize = 128;
/// `LABEL_MAX_BUFFER` = `MIN(32, MAX(MAX_ECC_KEY_BYTES, MAX_DIGEST_SIZE))`.
pub const LABEL_MAX_BUFFER: usize = 32;

/// `sizeof(TPM2B_DIGEST)`.
const TPM2B_DIGEST_SIZE: usize = 2 + MAX_DIGEST_SIZE;
/// `sizeof(TPMT_SENSITIVE)` in the reference layout: type, authValue, seedValue and the largest
/// `TPMU_SENSITIVE_COMPOSITE` member (the RSA private key, `RSA_PRIVATE_SIZE`).
const TPMT_SENSITIVE_SIZE: usize = 2 + 2 * TPM2B_DIGEST_SIZE + 2 + RSA_PRIVATE_SIZE;

tpm2b!(/// `TPM2B_SYM_KEY` (table 2:132).
    Tpm2bSymKey, max = MAX_SYM_KEY_BYTES);
tpm2b!(/// `TPM2B_LABEL` (table 2:134).
    Tpm2bLabel, max = LABEL_MAX_BUFFER);
tpm2b!(/// `TPM2B_DERIVE` (table 2:136): a marshalled `TPMS_DERIVE`, `sizeof(TPMS_DERIVE)` at most.
    Tpm2bDerive, max = 2 * (2 + LABEL_MAX_BUFFER));
tpm2b!(/// `TPM2B_SENSITIVE_DATA` (table 2:138): data to seal, or a derivation's label/context.
    Tpm2bSensitiveData, max = MAX_SYM_DATA);
tpm2b!(/// `TPM2B_ENCRYPTED_SECRET` (table 2:181): a salt or seed encrypted to a key;
    /// `sizeof(TPMU_ENCRYPTED_SECRET)`, the RSA member being the largest.
    Tpm2bEncryptedSecret, max = MAX_RSA_KEY_BYTES);
tpm2b!(/// `TPM2B_PRIVATE` (table 2:198): an encrypted, integrity-protected sensitive area;
    /// `sizeof(_PRIVATE)` (two digests and a `TPM2B_SENSITIVE`).
    Tpm2bPrivate, max = 2 * TPM2B_DIGEST_SIZE + 2 + TPMT_SENSITIVE_SIZE);
tpm2b!(/// `TPM2B_ID_OBJECT` (table 2:200): a credential blob, `sizeof(TPMS_ID_OBJECT)`.
    Tpm2bIdObject, max = 2 * TPM2B_DIGEST_SIZE);

/// `TPMS_DERIVE` (table 2:135): the label and context of a derived object.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmsDerive<'a> {
    pub label: Tpm2bLabel<'a>,
    pub context: Tpm2bLabel<'a>,
}

impl<'a> Unmarshal<'a> for TpmsDerive<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsDerive {
            label: r.read()?,
            context: r.read()?,
        })
    }
}

impl Marshal for TpmsDerive<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.label)?;
        w.write(&self.context)
    }
}

/// `TPMS_SENSITIVE_CREATE` (table 2:139): the authorization value and data of a new object.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmsSensitiveCreate<'a> {
    pub user_auth: Tpm2bAuth<'a>,
    pub data: Tpm2bSensitiveData<'a>,
}

impl<'a> Unmarshal<'a> for TpmsSensitiveCreate<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSensitiveCreate {
            user_auth: r.read()?,
            data: r.read()?,
        })
    }
}

impl Marshal for TpmsSensitiveCreate<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.user_auth)?;
        w.write(&self.data)
    }
}

/// `TPM2B_SENSITIVE_CREATE` (table 2:140): size-prefixed; size 0 or a size that disagrees with
/// the contents is `TPM_RC_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Tpm2bSensitiveCreate<'a> {
    pub sensitive: TpmsSensitiveCreate<'a>,
}

impl<'a> Unmarshal<'a> for Tpm2bSensitiveCreate<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let sensitive = read_sized(r, false, |r| r.read())?.ok_or(Rc::Size)?;
        Ok(Tpm2bSensitiveCreate { sensitive })
    }
}

impl Marshal for Tpm2bSensitiveCreate<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.sized_with(|w| w.write(&self.sensitive))
    }
}

/// `TPMU_SENSITIVE_COMPOSITE` (table 2:194), keyed by `TPMI_ALG_PUBLIC`: the private part of a
/// key, or a keyed-hash or symmetric key. Marshals the union member only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TpmuSensitiveComposite<'a> {
    /// One RSA prime (or prime and CRT values, up to `RSA_PRIVATE_SIZE`).
    Rsa(Tpm2bPrivateKeyRsa<'a>),
    Ecc(Tpm2bEccParameter<'a>),
    Bits(Tpm2bSensitiveData<'a>),
    Sym(Tpm2bSymKey<'a>),
}

impl<'a> TpmuSensitiveComposite<'a> {
    pub const fn type_(&self) -> TpmiAlgPublic {
        match self {
            TpmuSensitiveComposite::Rsa(_) => TpmiAlgPublic::Rsa,
            TpmuSensitiveComposite::Ecc(_) => TpmiAlgPublic::Ecc,
            TpmuSensitiveComposite::Bits(_) => TpmiAlgPublic::KeyedHash,
            TpmuSensitiveComposite::Sym(_) => TpmiAlgPublic::SymCipher,
        }
    }

    pub fn unmarshal_for(r: &mut Reader<'a>, type_: TpmiAlgPublic) -> Result<Self, Rc> {
        Ok(match type_ {
            TpmiAlgPublic::Rsa => TpmuSensitiveComposite::Rsa(r.read()?),
            TpmiAlgPublic::Ecc => TpmuSensitiveComposite::Ecc(r.read()?),
            TpmiAlgPublic::KeyedHash => TpmuSensitiveComposite::Bits(r.read()?),
            TpmiAlgPublic::SymCipher => TpmuSensitiveComposite::Sym(r.read()?),
        })
    }
}

impl Marshal for TpmuSensitiveComposite<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            TpmuSensitiveComposite::Rsa(k) => w.write(k),
            TpmuSensitiveComposite::Ecc(k) => w.write(k),
            TpmuSensitiveComposite::Bits(k) => w.write(k),
            TpmuSensitiveComposite::Sym(k) => w.write(k),
        }
    }
}

/// `TPMT_SENSITIVE` (table 2:195): the sensitive area of an object. Its type is that of
/// `sensitive`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmtSensitive<'a> {
    pub auth_value: Tpm2bAuth<'a>,
    /// The obfuscation value, or for a storage key the seed of its children's protection keys.
    pub seed_value: Tpm2bDigest<'a>,
    pub sensitive: TpmuSensitiveComposite<'a>,
}

impl<'a> TpmtSensitive<'a> {
    pub const fn sensitive_type(&self) -> TpmiAlgPublic {
        self.sensitive.type_()
    }
}

impl<'a> Unmarshal<'a> for TpmtSensitive<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let type_: TpmiAlgPublic = r.read()?;
        Ok(TpmtSensitive {
            auth_value: r.read()?,
            seed_value: r.read()?,
            sensitive: TpmuSensitiveComposite::unmarshal_for(r, type_)?,
        })
    }
}

impl Marshal for TpmtSensitive<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.sensitive_type())?;
        w.write(&self.auth_value)?;
        w.write(&self.seed_value)?;
        w.write(&self.sensitive)
    }
}

/// `TPM2B_SENSITIVE` (table 2:196): a size-prefixed `TPMT_SENSITIVE`. Unlike the other
/// size-prefixed structures, size 0 is allowed (no sensitive area: a public-only
/// `TPM2_LoadExternal`); any other size must match the contents (`TPM_RC_SIZE`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Tpm2bSensitive<'a> {
    pub sensitive_area: Option<TpmtSensitive<'a>>,
}

impl<'a> Unmarshal<'a> for Tpm2bSensitive<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(Tpm2bSensitive {
            sensitive_area: read_sized(r, true, |r| r.read())?,
        })
    }
}

impl Marshal for Tpm2bSensitive<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match &self.sensitive_area {
            Some(s) => w.sized_with(|w| w.write(s)),
            None => w.u16(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_create_size_must_match() {
        // userAuth "ab", data empty: 2+2+2 = 6 bytes.
        let ok = [0, 6, 0, 2, b'a', b'b', 0, 0];
        let s = Tpm2bSensitiveCreate::from_bytes(&ok).unwrap();
        assert_eq!(s.sensitive.user_auth.0, b"ab");
        assert_eq!(Tpm2bSensitiveCreate::from_bytes(&[0, 0]), Err(Rc::Size));
        let mut long = [0u8; 9];
        long[..8].copy_from_slice(&ok);
        long[1] = 7; // one trailing byte inside the declared size
        assert_eq!(Tpm2bSensitiveCreate::from_bytes(&long), Err(Rc::Size));
        let mut big_data = [0u8; 8];
        big_data[..6].copy_from_slice(&[0, 6, 0, 0, 0, 129]);
        assert_eq!(Tpm2bSensitiveCreate::from_bytes(&big_data), Err(Rc::Size));
    }

    #[test]
    fn sensitive_may_be_empty_but_not_mismatched() {
        assert_eq!(
            Tpm2bSensitive::from_bytes(&[0, 0]),
            Ok(Tpm2bSensitive::default())
        );
        // A symmetric key: type, empty auth, empty seed, 2-byte key = 2+2+2+4 = 10.
        let ok = [0, 10, 0x00, 0x25, 0, 0, 0, 0, 0, 2, 7, 7];
        let s = Tpm2bSensitive::from_bytes(&ok)
            .unwrap()
            .sensitive_area
            .unwrap();
        assert_eq!(
            s.sensitive,
            TpmuSensitiveComposite::Sym(Tpm2bSymKey(&[7, 7]))
        );
        let mut bad = ok;
        bad[1] = 11;
        assert_eq!(
            Tpm2bSensitive::unmarshal(&mut Reader::new(&bad)),
            Err(Rc::Size)
        );
        let mut bad = ok;
        bad[3] = 0x26; // Camellia is not an object type
        assert_eq!(Tpm2bSensitive::from_bytes(&bad), Err(Rc::Type));
    }

    #[test]
    fn blob_bounds_follow_reference_sizes() {
        assert_eq!(Tpm2bPrivate::MAX, 1230);
        assert_eq!(Tpm2bIdObject::MAX, 132);
        assert_eq!(Tpm2bDerive::MAX, 68);
        assert_eq!(Tpm2bSymKey::from_bytes(&[0, 33]), Err(Rc::Size));
        assert_eq!(Tpm2bEncryptedSecret::from_bytes(&[1, 0x81]), Err(Rc::Size));
    }
}
