//! Algorithm interface types (Part 2, section 9.27 onwards; tables 2:60–2:67, 2:126, 2:143,
//! 2:157, 2:160, 2:162, 2:165, 2:170, 2:171, 2:182): each is the set of `TPM_ALG_ID` (or key size,
//! or curve) that this TPM implements for one role. The implemented set is AES-128/256 (CFB, CTR,
//! OFB, CBC, ECB), XOR, HMAC, RSA-1024/2048/3072, ECC NIST P-256/P-384, RSASSA, RSAPSS, RSAES,
//! OAEP, ECDSA, ECDH, ECSCHNORR, MGF1, KDF1_SP800_56A and KDF1_SP800_108.
//!
//! Each rejects what it does not implement with the code the reference `TPMI_*_Unmarshal` returns;
//! the `+` form (`allow_null`) also accepts `TPM_ALG_NULL`, as `None`.

use crate::constants::{AlgId, EccCurve};
use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::HashAlg;

macro_rules! alg_interface {
    ($(#[$m:meta])* $name:ident, err = $err:expr, { $($v:ident = $alg:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $($v,)*
        }

        impl $name {
            /// Every value this TPM implements, in `TPM_ALG_ID` order of the spec table.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The code returned for a value outside the set.
            pub const ERROR: Rc = $err;

            pub const fn alg(self) -> AlgId {
                match self {
                    $($name::$v => AlgId::$alg,)*
                }
            }

            pub fn from_alg(alg: AlgId) -> Option<Self> {
                match alg {
                    $(AlgId::$alg => Some($name::$v),)*
                    _ => None,
                }
            }

            /// Unmarshals the `+` form when `allow_null`: `TPM_ALG_NULL` is `None`.
            pub fn unmarshal_opt(r: &mut Reader<'_>, allow_null: bool) -> Result<Option<Self>, Rc> {
                let alg = AlgId(r.u16()?);
                if alg == AlgId::Null && allow_null {
                    return Ok(None);
                }
                Self::from_alg(alg).map(Some).ok_or(Self::ERROR)
            }
        }

        impl<'a> Unmarshal<'a> for $name {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                Self::unmarshal_opt(r, false)?.ok_or(Self::ERROR)
            }
        }

        impl<'a> UnmarshalNullable<'a> for Option<$name> {
            fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
                $name::unmarshal_opt(r, allow_null)
            }
        }

        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.u16(self.alg().0)
            }
        }

        impl Marshal for Option<$name> {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.u16(self.map_or(AlgId::Null, |a| a.alg()).0)
            }
        }
    };
}

alg_interface!(
    /// `TPMI_ALG_SYM` (table 2:62): `TPM_RC_SYMMETRIC` outside the set.
    TpmiAlgSym, err = Rc::Symmetric, { Aes = Aes, Xor = Xor }
);
alg_interface!(
    /// `TPMI_ALG_SYM_OBJECT` (table 2:63): block ciphers for objects, `TPM_RC_SYMMETRIC`.
    TpmiAlgSymObject, err = Rc::Symmetric, { Aes = Aes }
);
alg_interface!(
    /// `TPMI_ALG_SYM_MODE` (table 2:64): `TPM_RC_MODE`. Also serves as `TPMI_ALG_CIPHER_MODE`,
    /// which has the same set here since CMAC is not implemented.
    TpmiAlgSymMode, err = Rc::Mode, { Ctr = Ctr, Ofb = Ofb, Cbc = Cbc, Cfb = Cfb, Ecb = Ecb }
);
alg_interface!(
    /// `TPMI_ALG_KDF` (table 2:65): `TPM_RC_KDF`.
    TpmiAlgKdf, err = Rc::Kdf, {
        Mgf1 = Mgf1,
        Kdf1Sp800_56a = Kdf1Sp800_56a,
        Kdf1Sp800_108 = Kdf1Sp800_108,
    }
);
alg_interface!(
    /// `TPMI_ALG_SIG_SCHEME` (table 2:66): `TPM_RC_SCHEME`.
    TpmiAlgSigScheme, err = Rc::Scheme, {
        Hmac = Hmac,
        RsaSsa = RsaSsa,
        RsaPss = RsaPss,
        EcDsa = EcDsa,
        EcDaa = EcDaa,
        EcSchnorr = EcSchnorr,
    }
);
alg_interface!(
    /// `TPMI_ECC_KEY_EXCHANGE` (table 2:67): `TPM_RC_SCHEME`.
    TpmiEccKeyExchange, err = Rc::Scheme, { EcDh = EcDh }
);
alg_interface!(
    /// `TPMI_ALG_KEYEDHASH_SCHEME` (table 2:143): `TPM_RC_VALUE`.
    TpmiAlgKeyedhashScheme, err = Rc::Value, { Hmac = Hmac, Xor = Xor }
);
alg_interface!(
    /// `TPMI_ALG_ASYM_SCHEME` (table 2:157): `TPM_RC_VALUE`.
    TpmiAlgAsymScheme, err = Rc::Value, {
        RsaSsa = RsaSsa,
        RsaEs = RsaEs,
        RsaPss = RsaPss,
        Oaep = Oaep,
        EcDsa = EcDsa,
        EcDaa = EcDaa,
        EcDh = EcDh,
        EcSchnorr = EcSchnorr,
    }
);
alg_interface!(
    /// `TPMI_ALG_RSA_SCHEME` (table 2:160): `TPM_RC_VALUE`.
    TpmiAlgRsaScheme, err = Rc::Value, {
        RsaSsa = RsaSsa,
        RsaEs = RsaEs,
        RsaPss = RsaPss,
        Oaep = Oaep,
    }
);
alg_interface!(
    /// `TPMI_ALG_RSA_DECRYPT` (table 2:162): `TPM_RC_VALUE`.
    TpmiAlgRsaDecrypt, err = Rc::Value, { RsaEs = RsaEs, Oaep = Oaep }
);
alg_interface!(
    /// `TPMI_ALG_ECC_SCHEME` (table 2:170): `TPM_RC_SCHEME`.
    TpmiAlgEccScheme, err = Rc::Scheme, {
        EcDsa = EcDsa,
        EcDaa = EcDaa,
        EcDh = EcDh,
        EcSchnorr = EcSchnorr,
    }
);
alg_interface!(
    /// `TPMI_ALG_PUBLIC` (table 2:182): the object types, `TPM_RC_TYPE`.
    TpmiAlgPublic, err = Rc::Type, {
        Rsa = Rsa,
        KeyedHash = KeyedHash,
        Ecc = Ecc,
        SymCipher = SymCipher,
    }
);

impl<'a> UnmarshalNullable<'a> for Option<HashAlg> {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        HashAlg::unmarshal_opt(r, allow_null)
    }
}

impl Marshal for Option<HashAlg> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.map_or(AlgId::Null, |h| h.alg()).0)
    }
}

/// `TPMS_EMPTY` (table 2:69): the empty payload of a union member such as RSAES.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsEmpty;

impl<'a> Unmarshal<'a> for TpmsEmpty {
    fn unmarshal(_: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsEmpty)
    }
}

impl Marshal for TpmsEmpty {
    fn marshal(&self, _: &mut Writer<'_>) -> Result<(), WriteError> {
        Ok(())
    }
}

macro_rules! key_bits {
    ($(#[$m:meta])* $name:ident { $($v:ident = $bits:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $($v,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            pub const fn bits(self) -> u16 {
                match self {
                    $($name::$v => $bits,)*
                }
            }

            /// Key size in bytes.
            pub const fn bytes(self) -> usize {
                self.bits() as usize / 8
            }

            pub fn from_bits(bits: u16) -> Option<Self> {
                match bits {
                    $($bits => Some($name::$v),)*
                    _ => None,
                }
            }
        }

        impl<'a> Unmarshal<'a> for $name {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                Self::from_bits(r.u16()?).ok_or(Rc::Value)
            }
        }

        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.u16(self.bits())
            }
        }
    };
}

key_bits!(
    /// `TPMI_AES_KEY_BITS` (table 2:126): `TPM_RC_VALUE` for other sizes, as in the reference
    /// (not `TPM_RC_KEY_SIZE`, which the reference returns from later object checks).
    TpmiAesKeyBits { Aes128 = 128, Aes256 = 256 }
);
key_bits!(
    /// `TPMI_RSA_KEY_BITS` (table 2:165): `TPM_RC_VALUE` for other sizes.
    TpmiRsaKeyBits { Rsa1024 = 1024, Rsa2048 = 2048, Rsa3072 = 3072 }
);

/// `TPMI_ECC_CURVE` (table 2:171): the implemented curves. Every other value, `TPM_ECC_NONE`
/// included, is `TPM_RC_CURVE` (the reference `TPM_ECC_CURVE_Unmarshal` and the `allowNull = NO`
/// of `TPMS_ECC_PARMS`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmiEccCurve {
    NistP256,
    NistP384,
}

impl TpmiEccCurve {
    pub const ALL: &'static [TpmiEccCurve] = &[TpmiEccCurve::NistP256, TpmiEccCurve::NistP384];

    pub const fn curve(self) -> EccCurve {
        match self {
            TpmiEccCurve::NistP256 => EccCurve::NistP256,
            TpmiEccCurve::NistP384 => EccCurve::NistP384,
        }
    }

    pub fn from_curve(c: EccCurve) -> Option<Self> {
        match c {
            EccCurve::NistP256 => Some(TpmiEccCurve::NistP256),
            EccCurve::NistP384 => Some(TpmiEccCurve::NistP384),
            _ => None,
        }
    }

    /// Size of a coordinate or scalar in bytes.
    pub const fn key_bytes(self) -> usize {
        match self {
            TpmiEccCurve::NistP256 => 32,
            TpmiEccCurve::NistP384 => 48,
        }
    }
}

impl<'a> Unmarshal<'a> for TpmiEccCurve {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::from_curve(EccCurve(r.u16()?)).ok_or(Rc::Curve)
    }
}

impl Marshal for TpmiEccCurve {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.curve())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alg(a: AlgId) -> [u8; 2] {
        a.0.to_be_bytes()
    }

    #[test]
    fn unimplemented_values_get_the_reference_codes() {
        assert_eq!(
            TpmiAlgSym::from_bytes(&alg(AlgId::Camellia)),
            Err(Rc::Symmetric)
        );
        assert_eq!(
            TpmiAlgSymObject::from_bytes(&alg(AlgId::Xor)),
            Err(Rc::Symmetric)
        );
        assert_eq!(TpmiAlgSymMode::from_bytes(&alg(AlgId::Cmac)), Err(Rc::Mode));
        assert_eq!(TpmiAlgKdf::from_bytes(&alg(AlgId::Kdf2)), Err(Rc::Kdf));
        assert_eq!(
            TpmiAlgSigScheme::from_bytes(&alg(AlgId::Sm2)),
            Err(Rc::Scheme)
        );
        assert_eq!(
            TpmiAlgEccScheme::from_bytes(&alg(AlgId::Sm2)),
            Err(Rc::Scheme)
        );
        assert_eq!(
            TpmiAlgRsaScheme::from_bytes(&alg(AlgId::EcDsa)),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmiAlgRsaDecrypt::from_bytes(&alg(AlgId::RsaSsa)),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmiAlgKeyedhashScheme::from_bytes(&alg(AlgId::Aes)),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmiAlgPublic::from_bytes(&alg(AlgId::Sha256)),
            Err(Rc::Type)
        );
        assert_eq!(TpmiEccCurve::from_bytes(&[0, 5]), Err(Rc::Curve));
        assert_eq!(TpmiEccCurve::from_bytes(&[0, 0]), Err(Rc::Curve));
        assert_eq!(
            TpmiRsaKeyBits::from_bytes(&4096u16.to_be_bytes()),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmiAesKeyBits::from_bytes(&192u16.to_be_bytes()),
            Err(Rc::Value)
        );
    }

    #[test]
    fn null_is_accepted_only_in_plus_form() {
        let null = alg(AlgId::Null);
        assert_eq!(TpmiAlgSym::from_bytes(&null), Err(Rc::Symmetric));
        assert_eq!(
            TpmiAlgSym::unmarshal_opt(&mut Reader::new(&null), true),
            Ok(None)
        );
        assert_eq!(
            TpmiAlgSymMode::unmarshal_opt(&mut Reader::new(&null), false),
            Err(Rc::Mode)
        );
        assert_eq!(TpmiAlgPublic::from_bytes(&null), Err(Rc::Type));
    }

    #[test]
    fn implemented_values_round_trip() {
        for a in TpmiAlgAsymScheme::ALL {
            let mut buf = [0u8; 2];
            a.to_bytes(&mut buf).unwrap();
            assert_eq!(TpmiAlgAsymScheme::from_bytes(&buf), Ok(*a));
        }
        assert_eq!(
            TpmiRsaKeyBits::from_bytes(&[0x08, 0x00]),
            Ok(TpmiRsaKeyBits::Rsa2048)
        );
    }
}
