//! Checks on public areas at creation and load, with the reference implementation's codes
//! (`CreateChecks`, `PublicAttributesValidation`, `SchemeChecks`, `CryptValidateKeys` in
//! `Object_spt.c` and `CryptUtil.c`). Every function returns a format-one code without a
//! parameter number unless noted; the handler adds the number of the parameter it blames.

use super::{KeyMaterial, LoadedKey};
use crate::crypto::{ecc, EccCurve, EccPoint, Hasher};
use subtle::ConstantTimeEq;
use tpm_proto::{
    AlgId, HashAlg, Rc, TpmaObject as A, TpmiAlgPublic, TpmsSensitiveCreate, TpmtEccScheme,
    TpmtKdfScheme, TpmtKeyedhashScheme, TpmtPublic, TpmtRsaScheme, TpmtSymDefObject, TpmuPublicId,
    TpmuPublicParms,
};

/// What the checks need to know about a parent object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParentView {
    pub attributes: A,
    pub name_alg: Option<HashAlg>,
    pub symmetric: TpmtSymDefObject,
}

impl ParentView {
    pub fn of(k: &LoadedKey) -> ParentView {
        ParentView {
            attributes: k.attributes,
            name_alg: k.name_alg,
            symmetric: k.symmetric(),
        }
    }
}

fn has(attrs: A, a: A) -> bool {
    attrs.contains(a)
}

/// `CreateChecks`: the checks unique to creation, then [`public_attributes`]. `parent` is `None`
/// for a primary object.
pub(crate) fn create_checks(
    parent: Option<&ParentView>,
    public: &TpmtPublic<'_>,
    sensitive: &TpmsSensitiveCreate<'_>,
) -> Result<(), Rc> {
    let attrs = public.object_attributes;
    let data_len = sensitive.data.len();
    let origin = has(attrs, A::SENSITIVE_DATA_ORIGIN);
    if !origin && data_len == 0 {
        return Err(Rc::Attributes);
    }
    if parent.is_some() && origin && data_len != 0 {
        return Err(Rc::Attributes);
    }
    let symmetric_restricted_ok = |attrs: A| {
        !(has(attrs, A::RESTRICTED)
            && !has(attrs, A::SENSITIVE_DATA_ORIGIN)
            && (has(attrs, A::FIXED_PARENT) || has(attrs, A::FIXED_TPM)))
    };
    match public.type_() {
        TpmiAlgPublic::KeyedHash => {
            // A data object's contents cannot come from the TPM.
            if !has(attrs, A::SIGN_ENCRYPT) && !has(attrs, A::DECRYPT) && origin {
                return Err(Rc::Attributes);
            }
            if !symmetric_restricted_ok(attrs) {
                return Err(Rc::Attributes);
            }
        }
        TpmiAlgPublic::SymCipher => {
            if !symmetric_restricted_ok(attrs) {
                return Err(Rc::Attributes);
            }
        }
        // An asymmetric key's private part cannot be provided.
        TpmiAlgPublic::Rsa | TpmiAlgPublic::Ecc => {
            if !origin {
                return Err(Rc::Attributes);
            }
        }
    }
    public_attributes(parent, public)
}

/// `PublicAttributesValidation`: `nameAlg`, `authPolicy` size, the fixedTPM/fixedParent rules
/// against the parent, sign/decrypt/restricted combinations, encryptedDuplication; then
/// [`scheme_checks`].
pub(crate) fn public_attributes(
    parent: Option<&ParentView>,
    public: &TpmtPublic<'_>,
) -> Result<(), Rc> {
    let attrs = public.object_attributes;
    let name_alg = public.name_alg.ok_or(Rc::Hash)?;
    if !public.auth_policy.is_empty() && public.auth_policy.len() != name_alg.size() {
        return Err(Rc::Size);
    }
    let parent_fixed_tpm = parent.is_none_or(|p| has(p.attributes, A::FIXED_TPM));
    if parent_fixed_tpm {
        if has(attrs, A::FIXED_PARENT) != has(attrs, A::FIXED_TPM) {
            return Err(Rc::Attributes);
        }
    } else if has(attrs, A::FIXED_TPM) {
        return Err(Rc::Attributes);
    }
    if has(attrs, A::SIGN_ENCRYPT) == has(attrs, A::DECRYPT) {
        if has(attrs, A::RESTRICTED) {
            return Err(Rc::Attributes);
        }
        if public.type_() != TpmiAlgPublic::KeyedHash && !has(attrs, A::SIGN_ENCRYPT) {
            return Err(Rc::Attributes);
        }
    }
    if has(attrs, A::FIXED_TPM) && has(attrs, A::ENCRYPTED_DUPLICATION) {
        return Err(Rc::Attributes);
    }
    if let Some(p) = parent {
        if !has(p.attributes, A::FIXED_TPM)
            && has(attrs, A::ENCRYPTED_DUPLICATION) != has(p.attributes, A::ENCRYPTED_DUPLICATION)
        {
            return Err(Rc::Attributes);
        }
    }
    scheme_checks(parent, public)
}

/// Whether `scheme` is a signing scheme for a key of `type_` (`CryptIsAsymSignScheme`).
fn is_sign_scheme(type_: TpmiAlgPublic, scheme: AlgId) -> bool {
    match type_ {
        TpmiAlgPublic::Rsa => matches!(scheme, AlgId::RsaSsa | AlgId::RsaPss),
        TpmiAlgPublic::Ecc => matches!(scheme, AlgId::EcDsa | AlgId::EcDaa),
        _ => false,
    }
}

/// Whether `scheme` is a decryption scheme for a key of `type_` (`CryptIsAsymDecryptScheme`).
fn is_decrypt_scheme(type_: TpmiAlgPublic, scheme: AlgId) -> bool {
    match type_ {
        TpmiAlgPublic::Rsa => matches!(scheme, AlgId::RsaEs | AlgId::Oaep),
        TpmiAlgPublic::Ecc => matches!(scheme, AlgId::EcDh),
        _ => false,
    }
}

/// `SchemeChecks`: the schemes and symmetric definitions against the attributes. Also used for
/// public-only objects of `TPM2_LoadExternal`. ECSCHNORR, which the engine does not implement,
/// is refused as a scheme it cannot use (`TPM_RC_SCHEME`).
pub(crate) fn scheme_checks(
    parent: Option<&ParentView>,
    public: &TpmtPublic<'_>,
) -> Result<(), Rc> {
    let attrs = public.object_attributes;
    let sign = has(attrs, A::SIGN_ENCRYPT);
    let decrypt = has(attrs, A::DECRYPT);
    let restricted = has(attrs, A::RESTRICTED);
    let symmetric = match &public.parameters {
        // Any mode that unmarshals is a block-cipher mode (CMAC is not implemented).
        TpmuPublicParms::SymCipher(p) => p.sym,
        TpmuPublicParms::KeyedHash(p) => {
            let scheme = p.scheme;
            if sign == decrypt {
                if scheme != TpmtKeyedhashScheme::Null {
                    return Err(Rc::Scheme);
                }
            } else if sign {
                if !matches!(scheme, TpmtKeyedhashScheme::Hmac(_)) {
                    return Err(Rc::Scheme);
                }
            } else {
                let TpmtKeyedhashScheme::Xor(x) = scheme else {
                    return Err(Rc::Scheme);
                };
                if restricted && x.kdf != Some(tpm_proto::TpmiAlgKdf::Kdf1Sp800_108) {
                    return Err(Rc::Scheme);
                }
            }
            TpmtSymDefObject::Null
        }
        TpmuPublicParms::Rsa(_) | TpmuPublicParms::Ecc(_) => {
            let (scheme, symmetric) = match &public.parameters {
                TpmuPublicParms::Rsa(p) => (rsa_scheme_alg(&p.scheme), p.symmetric),
                TpmuPublicParms::Ecc(p) => (ecc_scheme_alg(&p.scheme), p.symmetric),
                _ => return Err(Rc::Failure),
            };
            if scheme == AlgId::EcSchnorr {
                return Err(Rc::Scheme);
            }
            if sign == decrypt {
                if scheme != AlgId::Null {
                    return Err(Rc::Scheme);
                }
            } else if sign {
                // A signing scheme carries a hash that is never NULL (it does not unmarshal).
                if !is_sign_scheme(public.type_(), scheme) && (restricted || scheme != AlgId::Null)
                {
                    return Err(Rc::Scheme);
                }
            } else if restricted {
                if scheme != AlgId::Null {
                    return Err(Rc::Scheme);
                }
            } else if scheme != AlgId::Null && !is_decrypt_scheme(public.type_(), scheme) {
                return Err(Rc::Scheme);
            }
            if (!restricted || !decrypt) && symmetric != TpmtSymDefObject::Null {
                return Err(Rc::Symmetric);
            }
            if let TpmuPublicParms::Ecc(p) = &public.parameters {
                if p.kdf != TpmtKdfScheme::Null {
                    return Err(Rc::Kdf);
                }
            }
            symmetric
        }
    };
    if restricted && decrypt && public.type_() != TpmiAlgPublic::KeyedHash {
        if symmetric == TpmtSymDefObject::Null {
            return Err(Rc::Symmetric);
        }
        if let Some(p) = parent {
            if has(attrs, A::FIXED_PARENT) {
                if public.name_alg != p.name_alg {
                    return Err(Rc::Hash);
                }
                if symmetric != p.symmetric {
                    return Err(Rc::Symmetric);
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn rsa_scheme_alg(s: &TpmtRsaScheme) -> AlgId {
    s.scheme()
}

pub(crate) fn ecc_scheme_alg(s: &TpmtEccScheme) -> AlgId {
    s.scheme()
}

/// The TPM-chosen `nameAlg`-sized digest binding a symmetric object's key to its public area:
/// `unique = H_nameAlg(seedValue || key)` (`CryptComputeSymmetricUnique`).
pub(crate) fn symmetric_unique(
    name_alg: HashAlg,
    seed_value: &[u8],
    key: &[u8],
) -> crate::crypto::Digest {
    Hasher::digest(name_alg, &[seed_value, key])
}

/// The largest keyed-hash key or sealed blob for `public` (the block size of the scheme's hash
/// for a signing or decryption key).
pub(crate) fn keyed_hash_alg(public: &TpmtPublic<'_>, name_alg: HashAlg) -> HashAlg {
    match &public.parameters {
        TpmuPublicParms::KeyedHash(p) => match p.scheme {
            TpmtKeyedhashScheme::Hmac(h) => h.hash_alg,
            TpmtKeyedhashScheme::Xor(x) => x.hash_alg,
            TpmtKeyedhashScheme::Null => name_alg,
        },
        _ => name_alg,
    }
}

/// Which parameter a [`validate_keys`] failure is numbered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    Public,
    Sensitive,
    /// Returned unnumbered, as the reference does (`TPM_RC_BINDING`, an ECC private key out of
    /// range).
    None,
}

/// What building the loaded key needs of a trusted sensitive area (one this TPM made): its
/// type is the public area's and its authValue fits the name algorithm. The rest of
/// [`validate_keys`] is not repeated.
pub(crate) fn sensitive_shape(
    public: &TpmtPublic<'_>,
    auth: &[u8],
    k: &KeyMaterialIn<'_>,
) -> Result<(), (Rc, Blame)> {
    if k.type_() != public.type_() {
        return Err((Rc::Type, Blame::Sensitive));
    }
    let digest_size = public.name_alg.map_or(0, HashAlg::size);
    if digest_size > 0 && auth.len() > digest_size {
        return Err((Rc::Size, Blame::Sensitive));
    }
    Ok(())
}

/// `CryptValidateKeys`: the public key is well formed and, with a sensitive area, bound to it.
pub(crate) fn validate_keys(
    public: &TpmtPublic<'_>,
    sensitive: Option<(&[u8], &KeyMaterialIn<'_>)>,
) -> Result<(), (Rc, Blame)> {
    let digest_size = public.name_alg.map_or(0, HashAlg::size);
    if let Some((auth, k)) = sensitive {
        if k.type_() != public.type_() {
            return Err((Rc::Type, Blame::Sensitive));
        }
        if digest_size > 0 && auth.len() > digest_size {
            return Err((Rc::Size, Blame::Sensitive));
        }
    }
    let pub_err = |rc| Err((rc, Blame::Public));
    let sens_err = |rc| Err((rc, Blame::Sensitive));
    match (&public.parameters, &public.unique) {
        (TpmuPublicParms::Rsa(p), TpmuPublicId::Rsa(n)) => {
            let bytes = p.key_bits.bytes();
            if n.len() != bytes || n.0.first().is_none_or(|b| *b < 0x80) {
                return pub_err(Rc::Key);
            }
            if p.exponent != 0 && p.exponent < 7 {
                return pub_err(Rc::Value);
            }
            if let Some((_, KeyMaterialIn::Rsa(prime))) = sensitive {
                if prime.len() * 2 != bytes || prime.first().is_none_or(|b| *b < 0x80) {
                    return sens_err(Rc::KeySize);
                }
            }
        }
        (TpmuPublicParms::Ecc(p), TpmuPublicId::Ecc(q)) => {
            let curve =
                EccCurve::from_tpm(p.curve_id.curve().0).ok_or((Rc::Curve, Blame::Public))?;
            let point = EccPoint {
                x: q.x.0.to_vec(),
                y: q.y.0.to_vec(),
            };
            match sensitive {
                None => {
                    let size = curve.field_bytes();
                    if q.x.len() != size || q.y.len() != size {
                        return pub_err(Rc::Key);
                    }
                    if public.name_alg.is_some() && ecc::check_point(curve, &point).is_err() {
                        return pub_err(Rc::EccPoint);
                    }
                }
                Some((_, KeyMaterialIn::Ecc(d))) => {
                    let k = crate::crypto::EccPrivate::from_scalar(curve, d)
                        .map_err(|_| (Rc::KeySize, Blame::None))?;
                    if public.name_alg.is_some() {
                        let q2 = k.public().map_err(|_| (Rc::Binding, Blame::None))?;
                        if !same_int(&q2.x, &point.x) || !same_int(&q2.y, &point.y) {
                            return Err((Rc::Binding, Blame::None));
                        }
                    }
                }
                Some(_) => return sens_err(Rc::Type),
            }
        }
        (parms, TpmuPublicId::KeyedHash(u) | TpmuPublicId::SymCipher(u)) => match sensitive {
            None => {
                if u.len() != digest_size {
                    return pub_err(Rc::Key);
                }
            }
            Some((_, k)) => {
                let (key, seed) = match k {
                    KeyMaterialIn::Sym { key, seed } | KeyMaterialIn::Bits { key, seed } => {
                        (*key, *seed)
                    }
                    _ => return sens_err(Rc::Type),
                };
                match parms {
                    TpmuPublicParms::SymCipher(s) => {
                        let TpmtSymDefObject::Aes { key_bits, .. } = s.sym else {
                            return sens_err(Rc::KeySize);
                        };
                        if key.len() != key_bits.bytes() {
                            return sens_err(Rc::KeySize);
                        }
                    }
                    _ => {
                        let h = public
                            .name_alg
                            .map_or(HashAlg::Sha512, |n| keyed_hash_alg(public, n));
                        if key.len() > h.block_size().min(tpm_proto::MAX_SYM_DATA) {
                            return sens_err(Rc::KeySize);
                        }
                    }
                }
                if let Some(n) = public.name_alg {
                    if seed.len() != n.size() {
                        return sens_err(Rc::KeySize);
                    }
                    let u2 = symmetric_unique(n, seed, key);
                    if !bool::from(u2.as_bytes().ct_eq(u.0)) {
                        return Err((Rc::Binding, Blame::None));
                    }
                }
            }
        },
        _ => return pub_err(Rc::Failure),
    }
    Ok(())
}

/// Big-endian integers equal after dropping leading zeros.
fn same_int(a: &[u8], b: &[u8]) -> bool {
    let strip = |v: &[u8]| -> usize { v.iter().take_while(|x| **x == 0).count() };
    a.get(strip(a)..) == b.get(strip(b)..)
}

/// A `TPMU_SENSITIVE_COMPOSITE` as received, before it becomes [`KeyMaterial`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyMaterialIn<'a> {
    Rsa(&'a [u8]),
    Ecc(&'a [u8]),
    Bits { key: &'a [u8], seed: &'a [u8] },
    Sym { key: &'a [u8], seed: &'a [u8] },
}

impl KeyMaterialIn<'_> {
    fn type_(&self) -> TpmiAlgPublic {
        match self {
            KeyMaterialIn::Rsa(_) => TpmiAlgPublic::Rsa,
            KeyMaterialIn::Ecc(_) => TpmiAlgPublic::Ecc,
            KeyMaterialIn::Bits { .. } => TpmiAlgPublic::KeyedHash,
            KeyMaterialIn::Sym { .. } => TpmiAlgPublic::SymCipher,
        }
    }
}

/// Builds the key material of a loaded object from a received sensitive area whose binding
/// [`validate_keys`] has checked. An RSA prime that does not divide the modulus is
/// `TPM_RC_BINDING`.
pub(crate) fn key_material(
    public: &TpmtPublic<'_>,
    k: &KeyMaterialIn<'_>,
) -> Result<KeyMaterial, Rc> {
    Ok(match (k, &public.parameters, &public.unique) {
        (KeyMaterialIn::Rsa(p), TpmuPublicParms::Rsa(parms), TpmuPublicId::Rsa(n)) => {
            KeyMaterial::Rsa(alloc::boxed::Box::new(
                crate::crypto::RsaPrivate::from_n_e_p(n.0, parms.exponent, p)
                    .map_err(|_| Rc::Binding)?,
            ))
        }
        (KeyMaterialIn::Ecc(d), TpmuPublicParms::Ecc(parms), _) => {
            let curve = EccCurve::from_tpm(parms.curve_id.curve().0).ok_or(Rc::Curve)?;
            KeyMaterial::Ecc(
                crate::crypto::EccPrivate::from_scalar(curve, d).map_err(|_| Rc::KeySize)?,
            )
        }
        (KeyMaterialIn::Bits { key, .. }, ..) => KeyMaterial::Bits(key.to_vec().into()),
        (KeyMaterialIn::Sym { key, .. }, ..) => KeyMaterial::Sym(key.to_vec().into()),
        _ => return Err(Rc::Type),
    })
}
