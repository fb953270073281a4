//! Symmetric definitions and the signing, encryption, key-exchange and KDF schemes (Part 2,
//! sections 11.1–11.2; tables 2:127–2:163, 2:172 in the reference's numbering).
//!
//! A `TPMT_*` with a `TPMI_*` selector and a `TPMU_*` body is one Rust enum whose variants are the
//! implemented selectors, each carrying the union member, plus `Null` for `TPM_ALG_NULL`.
//! Unmarshal checks the selector first (with the reference's code and `allowNull`), then the body.

use crate::constants::AlgId;
use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{
    HashAlg, TpmiAesKeyBits, TpmiAlgAsymScheme, TpmiAlgEccScheme, TpmiAlgKdf,
    TpmiAlgKeyedhashScheme, TpmiAlgRsaDecrypt, TpmiAlgRsaScheme, TpmiAlgSigScheme, TpmiAlgSym,
    TpmiAlgSymMode, TpmiAlgSymObject, TpmsEmpty,
};

/// `TPMT_SYM_DEF` (table 2:130): a symmetric algorithm for sessions and `TPM2_StartAuthSession`.
/// `TPMU_SYM_KEY_BITS` and `TPMU_SYM_MODE` (tables 2:127, 2:128) are the variant fields: AES has
/// key bits and a mode (which may be `TPM_ALG_NULL` on the wire: `TPMI_ALG_SYM_MODE+`), XOR a
/// hash and no mode.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmtSymDef {
    Aes {
        key_bits: TpmiAesKeyBits,
        mode: Option<TpmiAlgSymMode>,
    },
    Xor {
        hash: HashAlg,
    },
    Null,
}

impl TpmtSymDef {
    pub const fn algorithm(&self) -> AlgId {
        match self {
            TpmtSymDef::Aes { .. } => AlgId::Aes,
            TpmtSymDef::Xor { .. } => AlgId::Xor,
            TpmtSymDef::Null => AlgId::Null,
        }
    }
}

impl<'a> UnmarshalNullable<'a> for TpmtSymDef {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        Ok(match TpmiAlgSym::unmarshal_opt(r, allow_null)? {
            None => TpmtSymDef::Null,
            Some(TpmiAlgSym::Aes) => TpmtSymDef::Aes {
                key_bits: r.read()?,
                mode: TpmiAlgSymMode::unmarshal_opt(r, true)?,
            },
            Some(TpmiAlgSym::Xor) => TpmtSymDef::Xor { hash: r.read()? },
        })
    }
}

impl<'a> Unmarshal<'a> for TpmtSymDef {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_nullable(r, false)
    }
}

impl Marshal for TpmtSymDef {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.algorithm().0)?;
        match self {
            TpmtSymDef::Aes { key_bits, mode } => {
                w.write(key_bits)?;
                w.write(mode)
            }
            TpmtSymDef::Xor { hash } => w.write(hash),
            TpmtSymDef::Null => Ok(()),
        }
    }
}

/// `TPMT_SYM_DEF_OBJECT` (table 2:131): the symmetric algorithm of a storage key or a
/// symmetric-cipher object; XOR is not allowed (`TPMI_ALG_SYM_OBJECT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmtSymDefObject {
    Aes {
        key_bits: TpmiAesKeyBits,
        mode: Option<TpmiAlgSymMode>,
    },
    Null,
}

impl TpmtSymDefObject {
    pub const fn algorithm(&self) -> AlgId {
        match self {
            TpmtSymDefObject::Aes { .. } => AlgId::Aes,
            TpmtSymDefObject::Null => AlgId::Null,
        }
    }
}

impl<'a> UnmarshalNullable<'a> for TpmtSymDefObject {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        Ok(match TpmiAlgSymObject::unmarshal_opt(r, allow_null)? {
            None => TpmtSymDefObject::Null,
            Some(TpmiAlgSymObject::Aes) => TpmtSymDefObject::Aes {
                key_bits: r.read()?,
                mode: TpmiAlgSymMode::unmarshal_opt(r, true)?,
            },
        })
    }
}

impl<'a> Unmarshal<'a> for TpmtSymDefObject {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_nullable(r, false)
    }
}

impl Marshal for TpmtSymDefObject {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.algorithm().0)?;
        match self {
            TpmtSymDefObject::Aes { key_bits, mode } => {
                w.write(key_bits)?;
                w.write(mode)
            }
            TpmtSymDefObject::Null => Ok(()),
        }
    }
}

/// `TPMS_SYMCIPHER_PARMS` (table 2:133): the parameters of a symmetric-cipher object; the
/// algorithm may not be NULL (`TPM_RC_SYMMETRIC`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsSymcipherParms {
    pub sym: TpmtSymDefObject,
}

impl<'a> Unmarshal<'a> for TpmsSymcipherParms {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSymcipherParms {
            sym: TpmtSymDefObject::unmarshal_nullable(r, false)?,
        })
    }
}

impl Marshal for TpmsSymcipherParms {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.sym)
    }
}

/// `TPMS_SCHEME_HASH` (table 2:141): a scheme's hash. Also `TPMS_SCHEME_HMAC`,
/// `TPMS_SIG_SCHEME_*`, `TPMS_ENC_SCHEME_OAEP`, `TPMS_KEY_SCHEME_ECDH` and `TPMS_SCHEME_MGF1` /
/// `_KDF1_*` (tables 2:144, 2:148, 2:149, 2:152–2:154), which are all this type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsSchemeHash {
    pub hash_alg: HashAlg,
}

/// `TPMS_SCHEME_HMAC` (table 2:144).
pub type TpmsSchemeHmac = TpmsSchemeHash;

impl<'a> Unmarshal<'a> for TpmsSchemeHash {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSchemeHash {
            hash_alg: r.read()?,
        })
    }
}

impl Marshal for TpmsSchemeHash {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash_alg)
    }
}

/// `TPMS_SCHEME_ECDAA` (table 2:142): the hash and the commit count of an ECDAA signature
/// (`TPM2_Commit` returned the count).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsSchemeEcdaa {
    pub hash_alg: HashAlg,
    pub count: u16,
}

impl<'a> Unmarshal<'a> for TpmsSchemeEcdaa {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSchemeEcdaa {
            hash_alg: r.read()?,
            count: r.u16()?,
        })
    }
}

impl Marshal for TpmsSchemeEcdaa {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash_alg)?;
        w.u16(self.count)
    }
}

/// `TPMS_SCHEME_XOR` (table 2:145): the hash may not be NULL (as of rev 1.47), the KDF may.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TpmsSchemeXor {
    pub hash_alg: HashAlg,
    pub kdf: Option<TpmiAlgKdf>,
}

impl<'a> Unmarshal<'a> for TpmsSchemeXor {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSchemeXor {
            hash_alg: r.read()?,
            kdf: TpmiAlgKdf::unmarshal_opt(r, true)?,
        })
    }
}

impl Marshal for TpmsSchemeXor {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash_alg)?;
        w.write(&self.kdf)
    }
}

/// Defines a `TPMT_*` scheme: selector `$sel` (whose unmarshal gives the reference error code),
/// one variant per implemented selector carrying its union member, and `Null`.
macro_rules! scheme {
    ($(#[$m:meta])* $name:ident, selector = $sel:ident, { $($v:ident($p:ty)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $($v($p),)*
            Null,
        }

        impl $name {
            /// The selector, `TPM_ALG_NULL` for `Null`.
            pub fn scheme(&self) -> AlgId {
                match self {
                    $($name::$v(_) => $sel::$v.alg(),)*
                    $name::Null => AlgId::Null,
                }
            }
        }

        impl<'a> UnmarshalNullable<'a> for $name {
            fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
                Ok(match $sel::unmarshal_opt(r, allow_null)? {
                    None => $name::Null,
                    $(Some($sel::$v) => $name::$v(r.read()?),)*
                })
            }
        }

        impl<'a> Unmarshal<'a> for $name {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                Self::unmarshal_nullable(r, false)
            }
        }

        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.u16(self.scheme().0)?;
                match self {
                    $($name::$v(p) => w.write(p),)*
                    $name::Null => Ok(()),
                }
            }
        }
    };
}

scheme!(
    /// `TPMT_KEYEDHASH_SCHEME` (table 2:147, union 2:146): the scheme of a keyed-hash object.
    TpmtKeyedhashScheme, selector = TpmiAlgKeyedhashScheme, {
        Hmac(TpmsSchemeHmac),
        Xor(TpmsSchemeXor),
    }
);
scheme!(
    /// `TPMT_SIG_SCHEME` (table 2:151, union 2:150).
    TpmtSigScheme, selector = TpmiAlgSigScheme, {
        Hmac(TpmsSchemeHmac),
        RsaSsa(TpmsSchemeHash),
        RsaPss(TpmsSchemeHash),
        EcDsa(TpmsSchemeHash),
        EcDaa(TpmsSchemeEcdaa),
        EcSchnorr(TpmsSchemeHash),
    }
);
scheme!(
    /// `TPMT_KDF_SCHEME` (table 2:156, union 2:155).
    TpmtKdfScheme, selector = TpmiAlgKdf, {
        Mgf1(TpmsSchemeHash),
        Kdf1Sp800_56a(TpmsSchemeHash),
        Kdf1Sp800_108(TpmsSchemeHash),
    }
);
scheme!(
    /// `TPMT_ASYM_SCHEME` (table 2:159, union `TPMU_ASYM_SCHEME` 2:158).
    TpmtAsymScheme, selector = TpmiAlgAsymScheme, {
        RsaSsa(TpmsSchemeHash),
        RsaEs(TpmsEmpty),
        RsaPss(TpmsSchemeHash),
        Oaep(TpmsSchemeHash),
        EcDsa(TpmsSchemeHash),
        EcDaa(TpmsSchemeEcdaa),
        EcDh(TpmsSchemeHash),
        EcSchnorr(TpmsSchemeHash),
    }
);
scheme!(
    /// `TPMT_RSA_SCHEME` (table 2:161): the scheme of an RSA key.
    TpmtRsaScheme, selector = TpmiAlgRsaScheme, {
        RsaSsa(TpmsSchemeHash),
        RsaEs(TpmsEmpty),
        RsaPss(TpmsSchemeHash),
        Oaep(TpmsSchemeHash),
    }
);
scheme!(
    /// `TPMT_RSA_DECRYPT` (table 2:163): the padding of `TPM2_RSA_Encrypt`/`_Decrypt`.
    TpmtRsaDecrypt, selector = TpmiAlgRsaDecrypt, {
        RsaEs(TpmsEmpty),
        Oaep(TpmsSchemeHash),
    }
);
scheme!(
    /// `TPMT_ECC_SCHEME` (table 2:172): the scheme of an ECC key.
    TpmtEccScheme, selector = TpmiAlgEccScheme, {
        EcDsa(TpmsSchemeHash),
        EcDaa(TpmsSchemeEcdaa),
        EcDh(TpmsSchemeHash),
        EcSchnorr(TpmsSchemeHash),
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sym_def_checks_algorithm_then_bits_then_mode() {
        // AES-128-CFB.
        let ok = [0x00, 0x06, 0x00, 0x80, 0x00, 0x43];
        let want = TpmtSymDef::Aes {
            key_bits: TpmiAesKeyBits::Aes128,
            mode: Some(TpmiAlgSymMode::Cfb),
        };
        assert_eq!(TpmtSymDef::from_bytes(&ok), Ok(want));
        assert_eq!(
            TpmtSymDef::from_bytes(&[0x00, 0x26, 0x00, 0x80, 0x00, 0x43]),
            Err(Rc::Symmetric)
        );
        assert_eq!(
            TpmtSymDef::from_bytes(&[0x00, 0x06, 0x00, 0xC0, 0x00, 0x43]),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmtSymDef::from_bytes(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x3F]),
            Err(Rc::Mode)
        );
        // The mode of an AES definition may be NULL on the wire.
        let null_mode = [0x00, 0x06, 0x01, 0x00, 0x00, 0x10];
        assert!(TpmtSymDef::from_bytes(&null_mode).is_ok());
        // XOR takes a hash and no mode.
        assert_eq!(
            TpmtSymDef::from_bytes(&[0x00, 0x0A, 0x00, 0x0B]),
            Ok(TpmtSymDef::Xor {
                hash: HashAlg::Sha256
            })
        );
        assert_eq!(
            TpmtSymDef::from_bytes(&[0x00, 0x0A, 0x00, 0x10]),
            Err(Rc::Hash)
        );
        assert_eq!(TpmtSymDef::from_bytes(&[0x00, 0x10]), Err(Rc::Symmetric));
        assert_eq!(
            TpmtSymDef::unmarshal_nullable(&mut Reader::new(&[0x00, 0x10]), true),
            Ok(TpmtSymDef::Null)
        );
    }

    #[test]
    fn sym_object_rejects_xor_and_null_in_symcipher() {
        assert_eq!(
            TpmtSymDefObject::from_bytes(&[0x00, 0x0A, 0x00, 0x0B]),
            Err(Rc::Symmetric)
        );
        assert_eq!(
            TpmsSymcipherParms::from_bytes(&[0x00, 0x10]),
            Err(Rc::Symmetric)
        );
    }

    #[test]
    fn scheme_selector_codes_follow_the_reference() {
        // SM2 is not implemented; ECDAA carries a count after the hash.
        assert_eq!(
            TpmtSigScheme::from_bytes(&[0x00, 0x1B, 0x00, 0x0B]),
            Err(Rc::Scheme)
        );
        assert_eq!(
            TpmtSigScheme::from_bytes(&[0x00, 0x1A, 0x00, 0x0B, 0x00, 0x07]),
            Ok(TpmtSigScheme::EcDaa(TpmsSchemeEcdaa {
                hash_alg: HashAlg::Sha256,
                count: 7
            }))
        );
        assert_eq!(
            TpmtRsaScheme::from_bytes(&[0x00, 0x18, 0x00, 0x0B]),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmtEccScheme::from_bytes(&[0x00, 0x14, 0x00, 0x0B]),
            Err(Rc::Scheme)
        );
        assert_eq!(
            TpmtKdfScheme::from_bytes(&[0x00, 0x21, 0x00, 0x0B]),
            Err(Rc::Kdf)
        );
        assert_eq!(
            TpmtKeyedhashScheme::from_bytes(&[0x00, 0x06]),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmtSigScheme::from_bytes(&[0x00, 0x14, 0x00, 0x99]),
            Err(Rc::Hash)
        );
        assert_eq!(
            TpmtSigScheme::from_bytes(&[0x00, 0x14, 0x00]),
            Err(Rc::Insufficient)
        );
        assert_eq!(
            TpmtRsaScheme::from_bytes(&[0x00, 0x15]),
            Ok(TpmtRsaScheme::RsaEs(TpmsEmpty))
        );
    }

    #[test]
    fn xor_scheme_allows_null_kdf_but_not_null_hash() {
        let ok = [0x00, 0x0A, 0x00, 0x0B, 0x00, 0x10];
        assert_eq!(
            TpmtKeyedhashScheme::from_bytes(&ok),
            Ok(TpmtKeyedhashScheme::Xor(TpmsSchemeXor {
                hash_alg: HashAlg::Sha256,
                kdf: None
            }))
        );
        assert_eq!(
            TpmtKeyedhashScheme::from_bytes(&[0x00, 0x0A, 0x00, 0x10, 0x00, 0x10]),
            Err(Rc::Hash)
        );
    }
}
