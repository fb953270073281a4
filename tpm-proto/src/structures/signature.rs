//! Signatures and tickets (Part 2, sections 10.7 and 11.3; tables 2:89–2:92, 2:174–2:179).

use crate::constants::{AlgId, St};
use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::interface::read_st;
use crate::structures::{
    HashAlg, Tpm2bDigest, Tpm2bEccParameter, Tpm2bPublicKeyRsa, TpmiAlgSigScheme, TpmiRhHierarchy,
    TpmtHa,
};

/// `TPMS_SIGNATURE_RSA` (table 2:174), also `TPMS_SIGNATURE_RSASSA` / `_RSAPSS` (table 2:175).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsSignatureRsa<'a> {
    pub hash: HashAlg,
    pub sig: Tpm2bPublicKeyRsa<'a>,
}

impl<'a> Unmarshal<'a> for TpmsSignatureRsa<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSignatureRsa {
            hash: r.read()?,
            sig: r.read()?,
        })
    }
}

impl Marshal for TpmsSignatureRsa<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash)?;
        w.write(&self.sig)
    }
}

/// `TPMS_SIGNATURE_ECC` (table 2:176), also `TPMS_SIGNATURE_ECDSA` / `_ECSCHNORR` (2:177).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsSignatureEcc<'a> {
    pub hash: HashAlg,
    pub signature_r: Tpm2bEccParameter<'a>,
    pub signature_s: Tpm2bEccParameter<'a>,
}

impl<'a> Unmarshal<'a> for TpmsSignatureEcc<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsSignatureEcc {
            hash: r.read()?,
            signature_r: r.read()?,
            signature_s: r.read()?,
        })
    }
}

impl Marshal for TpmsSignatureEcc<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash)?;
        w.write(&self.signature_r)?;
        w.write(&self.signature_s)
    }
}

/// `TPMT_SIGNATURE` (table 2:179) with `TPMU_SIGNATURE` (table 2:178), keyed by
/// `TPMI_ALG_SIG_SCHEME` (`TPM_RC_SCHEME` for others; `Null` only in the `+` form).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TpmtSignature<'a> {
    Hmac(TpmtHa<'a>),
    RsaSsa(TpmsSignatureRsa<'a>),
    RsaPss(TpmsSignatureRsa<'a>),
    EcDsa(TpmsSignatureEcc<'a>),
    /// `TPMS_SIGNATURE_ECDAA`: `signatureR` is the nonce, `signatureS` the Schnorr value.
    EcDaa(TpmsSignatureEcc<'a>),
    EcSchnorr(TpmsSignatureEcc<'a>),
    Null,
}

impl TpmtSignature<'_> {
    /// The selector `sigAlg`, `TPM_ALG_NULL` for `Null`.
    pub fn sig_alg(&self) -> AlgId {
        let s = match self {
            TpmtSignature::Hmac(_) => TpmiAlgSigScheme::Hmac,
            TpmtSignature::RsaSsa(_) => TpmiAlgSigScheme::RsaSsa,
            TpmtSignature::RsaPss(_) => TpmiAlgSigScheme::RsaPss,
            TpmtSignature::EcDsa(_) => TpmiAlgSigScheme::EcDsa,
            TpmtSignature::EcDaa(_) => TpmiAlgSigScheme::EcDaa,
            TpmtSignature::EcSchnorr(_) => TpmiAlgSigScheme::EcSchnorr,
            TpmtSignature::Null => return AlgId::Null,
        };
        s.alg()
    }
}

impl<'a> UnmarshalNullable<'a> for TpmtSignature<'a> {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
        Ok(match TpmiAlgSigScheme::unmarshal_opt(r, allow_null)? {
            None => TpmtSignature::Null,
            Some(TpmiAlgSigScheme::Hmac) => TpmtSignature::Hmac(r.read()?),
            Some(TpmiAlgSigScheme::RsaSsa) => TpmtSignature::RsaSsa(r.read()?),
            Some(TpmiAlgSigScheme::RsaPss) => TpmtSignature::RsaPss(r.read()?),
            Some(TpmiAlgSigScheme::EcDsa) => TpmtSignature::EcDsa(r.read()?),
            Some(TpmiAlgSigScheme::EcDaa) => TpmtSignature::EcDaa(r.read()?),
            Some(TpmiAlgSigScheme::EcSchnorr) => TpmtSignature::EcSchnorr(r.read()?),
        })
    }
}

impl<'a> Unmarshal<'a> for TpmtSignature<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_nullable(r, false)
    }
}

impl Marshal for TpmtSignature<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.sig_alg().0)?;
        match self {
            TpmtSignature::Hmac(h) => w.write(h),
            TpmtSignature::RsaSsa(s) | TpmtSignature::RsaPss(s) => w.write(s),
            TpmtSignature::EcDsa(s) | TpmtSignature::EcDaa(s) | TpmtSignature::EcSchnorr(s) => {
                w.write(s)
            }
            TpmtSignature::Null => Ok(()),
        }
    }
}

/// Reads a ticket's header: a known `TPM_ST` (`TPM_RC_VALUE` otherwise) that `ok` accepts
/// (`TPM_RC_TAG` otherwise), then the hierarchy, which may be NULL (a ticket from no hierarchy).
fn read_ticket_head(
    r: &mut Reader<'_>,
    ok: impl Fn(St) -> bool,
) -> Result<(St, TpmiRhHierarchy), Rc> {
    let tag = read_st(r)?;
    if !ok(tag) {
        return Err(Rc::Tag);
    }
    Ok((tag, TpmiRhHierarchy::unmarshal_nullable(r, true)?))
}

macro_rules! ticket {
    ($(#[$m:meta])* $name:ident, $tag:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name<'a> {
            pub hierarchy: TpmiRhHierarchy,
            pub digest: Tpm2bDigest<'a>,
        }

        impl $name<'_> {
            /// The tag this ticket always carries.
            pub const TAG: St = $tag;
        }

        impl<'a> Unmarshal<'a> for $name<'a> {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                let (_, hierarchy) = read_ticket_head(r, |t| t == $tag)?;
                Ok($name { hierarchy, digest: r.read()? })
            }
        }

        impl Marshal for $name<'_> {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.write(&Self::TAG)?;
                w.write(&self.hierarchy)?;
                w.write(&self.digest)
            }
        }
    };
}

ticket!(
    /// `TPMT_TK_CREATION` (table 2:89): proves the TPM created an object (`TPM_ST_CREATION`).
    TpmtTkCreation, St::Creation
);
ticket!(
    /// `TPMT_TK_VERIFIED` (table 2:90): proves the TPM verified a signature (`TPM_ST_VERIFIED`).
    TpmtTkVerified, St::Verified
);
ticket!(
    /// `TPMT_TK_HASHCHECK` (table 2:92): proves a digest was computed by the TPM over data that
    /// did not start with `TPM_GENERATED_VALUE` (`TPM_ST_HASHCHECK`).
    TpmtTkHashcheck, St::Hashcheck
);

/// `TPMT_TK_AUTH` (table 2:91): from `TPM2_PolicySigned` (`TPM_ST_AUTH_SIGNED`) or
/// `TPM2_PolicySecret` (`TPM_ST_AUTH_SECRET`); any other tag is `TPM_RC_TAG`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmtTkAuth<'a> {
    pub tag: St,
    pub hierarchy: TpmiRhHierarchy,
    pub digest: Tpm2bDigest<'a>,
}

impl<'a> Unmarshal<'a> for TpmtTkAuth<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let (tag, hierarchy) = read_ticket_head(r, |t| t == St::AuthSigned || t == St::AuthSecret)?;
        Ok(TpmtTkAuth {
            tag,
            hierarchy,
            digest: r.read()?,
        })
    }
}

impl Marshal for TpmtTkAuth<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.tag)?;
        w.write(&self.hierarchy)?;
        w.write(&self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::Handle;

    #[test]
    fn signature_selector_and_body_codes() {
        // ECDSA-SHA256 with r = [1], s = [2].
        let ok = [0x00, 0x18, 0x00, 0x0B, 0, 1, 1, 0, 1, 2];
        let TpmtSignature::EcDsa(s) = TpmtSignature::from_bytes(&ok).unwrap() else {
            panic!("not ECDSA")
        };
        assert_eq!((s.signature_r.0, s.signature_s.0), (&[1u8][..], &[2u8][..]));
        assert_eq!(
            TpmtSignature::from_bytes(&[0x00, 0x1B, 0x00, 0x0B]),
            Err(Rc::Scheme),
            "SM2"
        );
        assert_eq!(TpmtSignature::from_bytes(&[0x00, 0x10]), Err(Rc::Scheme));
        assert_eq!(
            TpmtSignature::unmarshal_nullable(&mut Reader::new(&[0x00, 0x10]), true),
            Ok(TpmtSignature::Null)
        );
        // RSASSA with a 385-byte signature.
        assert_eq!(
            TpmtSignature::from_bytes(&[0x00, 0x14, 0x00, 0x0B, 0x01, 0x81]),
            Err(Rc::Size)
        );
        // HMAC: a TPMT_HA whose digest is exactly the hash size.
        let mut hmac = [0u8; 4 + 32];
        hmac[..4].copy_from_slice(&[0x00, 0x05, 0x00, 0x0B]);
        assert!(TpmtSignature::from_bytes(&hmac).is_ok());
        assert_eq!(
            TpmtSignature::from_bytes(&hmac[..35]),
            Err(Rc::Insufficient)
        );
    }

    #[test]
    fn ticket_tag_and_hierarchy_checks() {
        let null = Handle::Null.0.to_be_bytes();
        let mut t = [0u8; 8];
        t[..2].copy_from_slice(&St::Creation.0.to_be_bytes());
        t[2..6].copy_from_slice(&null);
        assert_eq!(
            TpmtTkCreation::from_bytes(&t),
            Ok(TpmtTkCreation {
                hierarchy: TpmiRhHierarchy(Handle::Null),
                digest: Tpm2bDigest(&[])
            })
        );
        assert_eq!(TpmtTkVerified::from_bytes(&t), Err(Rc::Tag));
        t[..2].copy_from_slice(&St::AuthSecret.0.to_be_bytes());
        assert!(TpmtTkAuth::from_bytes(&t).is_ok());
        t[..2].copy_from_slice(&0x8030u16.to_be_bytes());
        assert_eq!(TpmtTkAuth::from_bytes(&t), Err(Rc::Value));
        t[..2].copy_from_slice(&St::Hashcheck.0.to_be_bytes());
        t[2..6].copy_from_slice(&Handle::Lockout.0.to_be_bytes());
        assert_eq!(TpmtTkHashcheck::from_bytes(&t), Err(Rc::Value));
    }
}
