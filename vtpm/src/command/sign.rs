//! Signing and MACs (Part 3, sections 15.4–15.5 and 20): `TPM2_Sign`, `TPM2_VerifySignature`,
//! `TPM2_HMAC`, `TPM2_HMAC_Start`, and the signing helpers the attestation commands share
//! (reference `CryptSelectSignScheme`, `CryptSign`, `CryptValidateSignature`).

use super::hash::hashcheck_digest;
use super::load::key_at;
use super::object::proof;
use super::{Command, Response};
use crate::crypto::hmac::Hmac;
use crate::crypto::{ecc, Digest, EccSignature, RsaSigScheme};
use crate::engine::{Platform, Tpm};
use crate::object::{KeyMaterial, LoadedKey, Object, PublicKey, Sequence};
use crate::secret::AuthValue;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;
use tpm_proto::{
    AlgId, AllowNull, Handle, HashAlg, Rc, St, Tpm2bAuth, Tpm2bDigest, Tpm2bMaxBuffer,
    TpmaObject as A, TpmiAlgPublic, TpmsSchemeHash, TpmtEccScheme, TpmtKeyedhashScheme,
    TpmtRsaScheme, TpmtSigScheme, TpmtSignature, TpmtTkHashcheck, TpmuPublicParms,
};

/// A signature produced by the TPM.
#[derive(Debug)]
pub(crate) enum SignatureOut {
    /// `TPM_ALG_NULL` (no signing key).
    Null,
    Rsa {
        alg: AlgId,
        hash: HashAlg,
        sig: Vec<u8>,
    },
    Ecdsa {
        hash: HashAlg,
        sig: EccSignature,
    },
    /// ECDAA: the nonce and the Schnorr value.
    Ecdaa {
        hash: HashAlg,
        nonce: Vec<u8>,
        s: Vec<u8>,
    },
    Hmac {
        hash: HashAlg,
        mac: Digest,
    },
}

impl SignatureOut {
    /// Writes the `TPMT_SIGNATURE`.
    pub fn write(&self, rsp: &mut Response<'_>) -> Result<(), Rc> {
        match self {
            SignatureOut::Null => rsp.u16(AlgId::Null.0),
            SignatureOut::Rsa { alg, hash, sig } => {
                rsp.u16(alg.0)?;
                rsp.u16(hash.alg().0)?;
                rsp.sized(sig)
            }
            SignatureOut::Ecdsa { hash, sig } => {
                rsp.u16(AlgId::EcDsa.0)?;
                rsp.u16(hash.alg().0)?;
                rsp.sized(&sig.r)?;
                rsp.sized(&sig.s)
            }
            SignatureOut::Ecdaa { hash, nonce, s } => {
                rsp.u16(AlgId::EcDaa.0)?;
                rsp.u16(hash.alg().0)?;
                rsp.sized(nonce)?;
                rsp.sized(s)
            }
            SignatureOut::Hmac { hash, mac } => {
                rsp.u16(AlgId::Hmac.0)?;
                rsp.u16(hash.alg().0)?;
                rsp.out.bytes(mac.as_bytes()).map_err(|_| Rc::Size)
            }
        }
    }
}

/// The object's own signing scheme, as a `TPMT_SIG_SCHEME`. `Err(())` for a scheme that is not a
/// signing scheme (which attribute validation keeps away from signing keys).
fn object_sig_scheme(k: &LoadedKey) -> Result<TpmtSigScheme, ()> {
    Ok(match &k.parameters {
        TpmuPublicParms::Rsa(p) => match p.scheme {
            TpmtRsaScheme::RsaSsa(h) => TpmtSigScheme::RsaSsa(h),
            TpmtRsaScheme::RsaPss(h) => TpmtSigScheme::RsaPss(h),
            TpmtRsaScheme::Null => TpmtSigScheme::Null,
            _ => return Err(()),
        },
        TpmuPublicParms::Ecc(p) => match p.scheme {
            TpmtEccScheme::EcDsa(h) => TpmtSigScheme::EcDsa(h),
            TpmtEccScheme::EcDaa(e) => TpmtSigScheme::EcDaa(e),
            TpmtEccScheme::EcSchnorr(h) => TpmtSigScheme::EcSchnorr(h),
            TpmtEccScheme::Null => TpmtSigScheme::Null,
            _ => return Err(()),
        },
        TpmuPublicParms::KeyedHash(p) => match p.scheme {
            TpmtKeyedhashScheme::Hmac(h) => TpmtSigScheme::Hmac(h),
            TpmtKeyedhashScheme::Null => TpmtSigScheme::Null,
            TpmtKeyedhashScheme::Xor(_) => return Err(()),
        },
        TpmuPublicParms::SymCipher(_) => return Err(()),
    })
}

/// `IsSigningObject`: no key (`TPM_RH_NULL`), or a key with `sign` that is not a symmetric
/// cipher.
pub(crate) fn is_signing_key(k: Option<&LoadedKey>) -> bool {
    k.is_none_or(|k| k.has(A::SIGN_ENCRYPT) && k.type_ != TpmiAlgPublic::SymCipher)
}

/// `CryptSelectSignScheme`: the scheme to sign with, from the key's scheme and the requested
/// one; `None` if they are incompatible (the caller returns `TPM_RC_SCHEME` for the scheme
/// parameter). Without a key the scheme is NULL.
pub(crate) fn select_sign_scheme(
    k: Option<&LoadedKey>,
    input: TpmtSigScheme,
) -> Option<TpmtSigScheme> {
    let Some(k) = k else {
        return Some(TpmtSigScheme::Null);
    };
    if !is_signing_key(Some(k)) {
        return None;
    }
    // A requested scheme must be the key's scheme with its hash; an ECDAA count is the
    // request's (the commit it signs with).
    match object_sig_scheme(k).ok()? {
        TpmtSigScheme::Null => (input != TpmtSigScheme::Null).then_some(input),
        own if input == TpmtSigScheme::Null => Some(own),
        own => (own.scheme() == input.scheme() && scheme_hash(&own) == scheme_hash(&input))
            .then_some(input),
    }
}

/// The hash of a selected signing scheme (`None` for NULL).
pub(crate) fn scheme_hash(s: &TpmtSigScheme) -> Option<HashAlg> {
    match s {
        TpmtSigScheme::Hmac(h)
        | TpmtSigScheme::RsaSsa(h)
        | TpmtSigScheme::RsaPss(h)
        | TpmtSigScheme::EcDsa(h)
        | TpmtSigScheme::EcSchnorr(h) => Some(h.hash_alg),
        TpmtSigScheme::EcDaa(e) => Some(e.hash_alg),
        TpmtSigScheme::Null => None,
    }
}

/// `CryptSign`: signs `digest` with the key at `h` in `scheme` (already selected). A scheme the
/// key cannot use is `TPM_RC_SCHEME`, unnumbered as in the reference.
pub(crate) fn sign_digest<P: Platform>(
    tpm: &mut Tpm<P>,
    h: Handle,
    scheme: &TpmtSigScheme,
    digest: &[u8],
) -> Result<SignatureOut, Rc> {
    tpm.reseed_if_needed()?;
    let Some(k) = tpm.objects.key(h) else {
        return Ok(SignatureOut::Null);
    };
    let key = &k.sensitive.as_ref().ok_or(Rc::Key)?.key;
    Ok(match (key, scheme) {
        (KeyMaterial::Rsa(rsa), TpmtSigScheme::RsaSsa(TpmsSchemeHash { hash_alg })) => {
            SignatureOut::Rsa {
                alg: AlgId::RsaSsa,
                hash: *hash_alg,
                sig: rsa.sign(RsaSigScheme::Pkcs1v15, *hash_alg, digest, &mut tpm.drbg)?,
            }
        }
        (KeyMaterial::Rsa(rsa), TpmtSigScheme::RsaPss(TpmsSchemeHash { hash_alg })) => {
            SignatureOut::Rsa {
                alg: AlgId::RsaPss,
                hash: *hash_alg,
                sig: rsa.sign(RsaSigScheme::Pss, *hash_alg, digest, &mut tpm.drbg)?,
            }
        }
        (KeyMaterial::Ecc(d), TpmtSigScheme::EcDsa(TpmsSchemeHash { hash_alg })) => {
            SignatureOut::Ecdsa {
                hash: *hash_alg,
                sig: d.sign(digest)?,
            }
        }
        (KeyMaterial::Ecc(d), TpmtSigScheme::EcDaa(e)) => {
            // Reference `BnSignEcdaa`: r from the commit, a random nonce, T = H(nonce ||
            // digest), s = r + T·d mod n; the commit is used up only on success.
            let curve = d.curve();
            let name = k.name;
            let r = tpm
                .commit
                .r(curve, Some(e.count), name.as_bytes())
                .ok_or(Rc::Value)?;
            let nonce = crate::crypto::EccPrivate::generate(curve, &mut tpm.drbg)?.scalar();
            let t = crate::crypto::Hasher::digest(e.hash_alg, &[&nonce[..], digest]);
            let s = d.schnorr(&r, t.as_bytes())?;
            tpm.commit.end(e.count);
            SignatureOut::Ecdaa {
                hash: e.hash_alg,
                nonce: nonce.to_vec(),
                s,
            }
        }
        (KeyMaterial::Bits(key), TpmtSigScheme::Hmac(TpmsSchemeHash { hash_alg })) => {
            SignatureOut::Hmac {
                hash: *hash_alg,
                mac: Hmac::mac(*hash_alg, key, &[digest]),
            }
        }
        _ => return Err(Rc::Scheme),
    })
}

/// `TPM2_Sign(keyHandle; digest, inScheme, validation)` → `signature`. A restricted key signs
/// only a digest the TPM computed itself, proven by a hash-check ticket from `TPM2_Hash` or
/// `TPM2_SequenceComplete` (so it can never sign something that looks like a `TPMS_ATTEST`).
pub(crate) fn sign<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let digest: Tpm2bDigest<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtSigScheme> = cmd.param()?;
    let validation: TpmtTkHashcheck<'_> = cmd.param()?;
    cmd.end()?;
    let h = cmd.handle(0);
    let k = tpm.objects.key(h);
    if !is_signing_key(k) || k.is_none() {
        return Err(Rc::Key.handle(1));
    }
    let k = key_at(tpm, h, 1)?;
    if k.has(A::X509_SIGN) {
        return Err(Rc::Attributes.handle(1));
    }
    let scheme = select_sign_scheme(Some(k), in_scheme).ok_or(Rc::Scheme.param(2))?;
    let hash = scheme_hash(&scheme).ok_or(Rc::Scheme.param(2))?;
    if !validation.digest.is_empty() || k.has(A::RESTRICTED) {
        let expect = hashcheck_digest(tpm, validation.hierarchy.0, hash, digest.0);
        let ok = expect.is_some_and(|e| bool::from(e.as_bytes().ct_eq(validation.digest.0)));
        if !ok {
            return Err(Rc::Ticket.param(3));
        }
    } else if digest.len() != hash.size() {
        return Err(Rc::Size.param(1));
    }
    sign_digest(tpm, h, &scheme, digest.0)?.write(rsp)
}

/// The verified-signature ticket (Part 2, 10.7.4): `HMAC_SHA256(proof, TPM_ST_VERIFIED ||
/// digest || keyName)`.
pub(crate) fn verified_ticket<P: Platform>(
    tpm: &Tpm<P>,
    hierarchy: Handle,
    digest: &[u8],
    name: &[u8],
) -> Digest {
    Hmac::mac(
        HashAlg::Sha256,
        proof(tpm, hierarchy),
        &[&St::Verified.0.to_be_bytes(), digest, name],
    )
}

/// `CryptValidateSignature` (unnumbered codes: `TPM_RC_SCHEME`, `TPM_RC_SIGNATURE`).
pub(crate) fn validate_signature(
    k: &LoadedKey,
    digest: &[u8],
    sig: &TpmtSignature<'_>,
) -> Result<(), Rc> {
    match (&k.public_key, sig) {
        (_, TpmtSignature::Null) => Err(Rc::Signature),
        (PublicKey::Rsa(pk), TpmtSignature::RsaSsa(s) | TpmtSignature::RsaPss(s)) => {
            let scheme = if matches!(sig, TpmtSignature::RsaSsa(_)) {
                RsaSigScheme::Pkcs1v15
            } else {
                RsaSigScheme::Pss
            };
            pk.verify(scheme, s.hash, digest, s.sig.0)
                .map_err(|_| Rc::Signature)
        }
        (PublicKey::Rsa(_), _) => Err(Rc::Scheme),
        (PublicKey::Ecc(curve, q), TpmtSignature::EcDsa(s)) => {
            let sig = EccSignature {
                r: s.signature_r.0.to_vec(),
                s: s.signature_s.0.to_vec(),
            };
            ecc::verify(*curve, q, digest, &sig).map_err(|_| Rc::Signature)
        }
        (PublicKey::Ecc(..), _) => Err(Rc::Scheme),
        (PublicKey::Symmetric, TpmtSignature::Hmac(ha)) if k.type_ == TpmiAlgPublic::KeyedHash => {
            let Some(KeyMaterial::Bits(key)) = k.sensitive.as_ref().map(|s| &s.key) else {
                return Err(Rc::Handle);
            };
            if let TpmuPublicParms::KeyedHash(p) = &k.parameters {
                if let TpmtKeyedhashScheme::Hmac(own) = p.scheme {
                    if own.hash_alg != ha.hash {
                        return Err(Rc::Signature);
                    }
                }
            }
            let mac = Hmac::mac(ha.hash, key, &[digest]);
            if bool::from(mac.as_bytes().ct_eq(ha.digest)) {
                Ok(())
            } else {
                Err(Rc::Signature)
            }
        }
        _ => Err(Rc::Scheme),
    }
}

/// `TPM2_VerifySignature(keyHandle; digest, signature)` → `validation` (`TPMT_TK_VERIFIED`; the
/// NULL ticket for a key in the NULL hierarchy or without a `nameAlg`).
pub(crate) fn verify_signature<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let digest: Tpm2bDigest<'_> = cmd.param()?;
    let signature: TpmtSignature<'_> = cmd.param()?;
    cmd.end()?;
    let k = key_at(tpm, cmd.handle(0), 1)?;
    if !k.has(A::SIGN_ENCRYPT) {
        return Err(Rc::Attributes.handle(1));
    }
    validate_signature(k, digest.0, &signature).map_err(|rc| rc.param(2))?;
    rsp.u16(St::Verified.0)?;
    if k.hierarchy == Handle::Null || k.name_alg.is_none() {
        rsp.u32(Handle::Null.0)?;
        return rsp.sized(&[]);
    }
    let ticket = verified_ticket(tpm, k.hierarchy, digest.0, k.name.as_bytes());
    rsp.u32(k.hierarchy.0)?;
    rsp.sized(ticket.as_bytes())
}

/// The HMAC key and hash of `TPM2_HMAC` / `TPM2_HMAC_Start`: an unrestricted keyed-hash signing
/// key; its scheme's hash, or `hash_alg` if it has none (`TPM_RC_VALUE` for the hash parameter
/// when they disagree or neither is given).
fn hmac_key(k: &LoadedKey, hash_alg: Option<HashAlg>) -> Result<(&[u8], HashAlg), Rc> {
    if k.type_ != TpmiAlgPublic::KeyedHash {
        return Err(Rc::Type.handle(1));
    }
    if k.has(A::RESTRICTED) {
        return Err(Rc::Attributes.handle(1));
    }
    if !k.has(A::SIGN_ENCRYPT) {
        return Err(Rc::Key.handle(1));
    }
    let own = match &k.parameters {
        TpmuPublicParms::KeyedHash(p) => match p.scheme {
            TpmtKeyedhashScheme::Hmac(h) => Some(h.hash_alg),
            _ => None,
        },
        _ => None,
    };
    let hash = match (own, hash_alg) {
        (None, h) => h,
        (Some(o), None) => Some(o),
        (Some(o), Some(h)) => (o == h).then_some(o),
    };
    let hash = hash.ok_or(Rc::Value.param(2))?;
    match k.sensitive.as_ref().map(|s| &s.key) {
        Some(KeyMaterial::Bits(b)) => Ok((b, hash)),
        _ => Err(Rc::Key.handle(1)),
    }
}

/// `TPM2_HMAC(handle; buffer, hashAlg)` → `outHMAC`.
pub(crate) fn hmac<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let buffer: Tpm2bMaxBuffer<'_> = cmd.param()?;
    let hash_alg = cmd.hash_param(true)?;
    cmd.end()?;
    let k = key_at(tpm, cmd.handle(0), 1)?;
    let (key, hash) = hmac_key(k, hash_alg)?;
    rsp.sized(Hmac::mac(hash, key, &[buffer.0]).as_bytes())
}

/// `TPM2_HMAC_Start(handle; auth, hashAlg)` → `sequenceHandle`: an HMAC sequence, completed by
/// `TPM2_SequenceComplete` (which gives the NULL ticket).
pub(crate) fn hmac_start<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let auth: Tpm2bAuth<'_> = cmd.param()?;
    let hash_alg = cmd.hash_param(true)?;
    cmd.end()?;
    let k = key_at(tpm, cmd.handle(0), 1)?;
    let (key, hash) = hmac_key(k, hash_alg)?;
    let kind = crate::object::hmac_start(hash, key);
    let auth = AuthValue::new(auth.0).ok_or(Rc::Size.param(1))?;
    let seq = Sequence {
        kind,
        auth,
        first_block: true,
        ticket_safe: false,
    };
    rsp.handle = Some(tpm.objects.insert(Object::Sequence(seq))?);
    Ok(())
}
