//! Object creation from a template (Part 1, 27.6–27.7; reference `CryptCreateObject`): the key
//! (or data) is generated or taken from `sensitive.data`, then the `seedValue`, then `unique` is
//! filled in. The byte source decides whether the object is ordinary (the TPM's DRBG) or primary
//! (a DRBG seeded from the hierarchy seed and the template, [`super::primary`]).

use super::validate::{keyed_hash_alg, symmetric_unique};
use super::{marshal_public, KeyMaterial, Sensitive};
use crate::crypto::{CryptoError, EccCurve, EccPrivate, RsaPrivate};
use crate::secret::AuthValue;
use alloc::vec;
use alloc::vec::Vec;
use tpm_proto::{
    Rc, Tpm2bDigest, Tpm2bEccParameter, Tpm2bPublicKeyRsa, TpmaObject, TpmsEccPoint, TpmtPublic,
    TpmtSymDefObject, TpmuPublicId, TpmuPublicParms,
};
use zeroize::{Zeroize, Zeroizing};

/// The source of the bytes an object is made from.
pub(crate) type ByteSource<'r> = dyn FnMut(&mut [u8]) -> Result<(), CryptoError> + 'r;

/// A newly created object: the public area (the template with `unique` filled in) and the
/// sensitive area.
#[derive(Debug, Clone)]
pub(crate) struct Created {
    pub public: Vec<u8>,
    pub sensitive: Sensitive,
}

/// An RSA modulus (and nothing), or an ECC point's coordinates.
type Coordinates = (Vec<u8>, Vec<u8>);

/// Whether `e` is an acceptable RSA public exponent: 0 (meaning 65537), or a prime of at least
/// 65537 (reference `CryptRsaGenerateKey`, `TPM_RC_RANGE` otherwise).
fn exponent_ok(e: u32) -> bool {
    if e == 0 {
        return true;
    }
    if e < 65537 || e.is_multiple_of(2) {
        return false;
    }
    let mut d: u32 = 3;
    while d.saturating_mul(d) <= e {
        if e.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// Creates the object `template` describes (already validated by
/// [`super::validate::create_checks`]). `data` is `sensitive.data` of the creation request;
/// `auth` becomes the object's `authValue`. Errors are those of the reference
/// `CryptCreateObject`, without parameter numbers: `TPM_RC_RANGE` for an unsupported exponent,
/// `TPM_RC_SIZE` for keyed-hash data over the hash's block size, `TPM_RC_KEY_SIZE` for a
/// provided symmetric key of the wrong size, `TPM_RC_NO_RESULT` if key generation gives up.
pub(crate) fn create_object(
    template: &TpmtPublic<'_>,
    data: &[u8],
    auth: AuthValue,
    next: &mut ByteSource<'_>,
) -> Result<Created, Rc> {
    let name_alg = template.name_alg.ok_or(Rc::Hash)?;
    let attrs = template.object_attributes;
    let (key, unique_asym): (KeyMaterial, Option<Coordinates>) = match &template.parameters {
        TpmuPublicParms::Rsa(p) => {
            if !exponent_ok(p.exponent) {
                return Err(Rc::Range);
            }
            let k = RsaPrivate::generate_with(p.key_bits.bits() as usize, p.exponent, &mut *next)?;
            let n = k.public().modulus();
            (
                KeyMaterial::Rsa(alloc::boxed::Box::new(k)),
                Some((n, Vec::new())),
            )
        }
        TpmuPublicParms::Ecc(p) => {
            let curve = EccCurve::from_tpm(p.curve_id.curve().0).ok_or(Rc::Curve)?;
            let k = EccPrivate::generate_with(curve, &mut *next)?;
            let q = k.public()?;
            (KeyMaterial::Ecc(k), Some((q.x, q.y)))
        }
        TpmuPublicParms::KeyedHash(_) => {
            let h = keyed_hash_alg(template, name_alg);
            let bits = if data.is_empty() {
                let mut b = Zeroizing::new(vec![0u8; h.size()]);
                next(&mut b)?;
                b
            } else {
                let keyed =
                    attrs.contains(TpmaObject::SIGN_ENCRYPT) || attrs.contains(TpmaObject::DECRYPT);
                if keyed && data.len() > h.block_size() {
                    return Err(Rc::Size);
                }
                Zeroizing::new(data.to_vec())
            };
            (KeyMaterial::Bits(bits.into()), None)
        }
        TpmuPublicParms::SymCipher(p) => {
            let TpmtSymDefObject::Aes { key_bits, .. } = p.sym else {
                return Err(Rc::Symmetric);
            };
            let key = if data.is_empty() {
                let mut b = Zeroizing::new(vec![0u8; key_bits.bytes()]);
                next(&mut b)?;
                b
            } else if data.len() != key_bits.bytes() {
                return Err(Rc::KeySize);
            } else {
                Zeroizing::new(data.to_vec())
            };
            (KeyMaterial::Sym(key.into()), None)
        }
    };
    let mut seed_value = Zeroizing::new(vec![0u8; name_alg.size()]);
    next(&mut seed_value)?;
    let sym_unique;
    let mut public = *template;
    public.unique = match (&key, &unique_asym) {
        (KeyMaterial::Rsa(_), Some((n, _))) => TpmuPublicId::Rsa(Tpm2bPublicKeyRsa(n)),
        (KeyMaterial::Ecc(_), Some((x, y))) => TpmuPublicId::Ecc(TpmsEccPoint {
            x: Tpm2bEccParameter(x),
            y: Tpm2bEccParameter(y),
        }),
        (KeyMaterial::Bits(b), _) => {
            sym_unique = symmetric_unique(name_alg, &seed_value, b);
            TpmuPublicId::KeyedHash(Tpm2bDigest(sym_unique.as_bytes()))
        }
        (KeyMaterial::Sym(b), _) => {
            sym_unique = symmetric_unique(name_alg, &seed_value, b);
            TpmuPublicId::SymCipher(Tpm2bDigest(sym_unique.as_bytes()))
        }
        _ => return Err(Rc::Failure),
    };
    // An asymmetric key that cannot be a parent (a signing key, or one that is not restricted)
    // keeps no seed: drawn, so that every object consumes the same bytes, then dropped, as the
    // reference `CryptCreateObject` does. Its private area is smaller by a digest.
    if matches!(key, KeyMaterial::Rsa(_) | KeyMaterial::Ecc(_))
        && (attrs.contains(TpmaObject::SIGN_ENCRYPT) || !attrs.contains(TpmaObject::RESTRICTED))
    {
        seed_value.zeroize();
    }
    Ok(Created {
        public: marshal_public(&public)?,
        sensitive: Sensitive {
            auth,
            seed_value: seed_value.into(),
            key,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_util::h;
    use crate::crypto::Drbg;
    use tpm_proto::{Reader, UnmarshalNullable};

    /// The `seedValue` length of an object created from `template` (hex `TPMT_PUBLIC`).
    fn seed_len(template: &str) -> usize {
        let bytes = h(template);
        let t = TpmtPublic::unmarshal_nullable(&mut Reader::new(&bytes), false).unwrap();
        let mut drbg = Drbg::new(&[7u8; 48], b"create test");
        let mut next = |b: &mut [u8]| drbg.generate(b, &[]);
        create_object(&t, &[], AuthValue::empty(), &mut next)
            .unwrap()
            .sensitive
            .seed_value
            .len()
    }

    #[test]
    fn only_parents_and_symmetric_objects_keep_a_seed() {
        // ECC P-256, SHA-256: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth plus
        // restricted|decrypt (a storage parent: AES-128-CFB), sign (ECDSA-SHA256), or
        // decrypt alone (no symmetric definition).
        let storage = "0023 000b 00030072 0000 0006 0080 0043 0010 0003 0010 0000 0000";
        let signing = "0023 000b 00040072 0000 0010 0018 000b 0003 0010 0000 0000";
        let decrypt = "0023 000b 00020072 0000 0010 0010 0003 0010 0000 0000";
        // A keyed-hash HMAC key and an AES-128-CFB key: the seed makes `unique`.
        let hmac = "0008 000b 00040072 0000 0005 000b 0000";
        let aes = "0025 000b 00060072 0000 0006 0080 0043 0000";
        assert_eq!(seed_len(storage), 32);
        assert_eq!(seed_len(signing), 0);
        assert_eq!(seed_len(decrypt), 0);
        assert_eq!(seed_len(hmac), 32);
        assert_eq!(seed_len(aes), 32);
    }

    #[test]
    fn exponents_follow_the_reference_rule() {
        assert!(exponent_ok(0));
        assert!(exponent_ok(65537));
        assert!(!exponent_ok(3));
        assert!(!exponent_ok(65539 * 3));
        assert!(!exponent_ok(65538));
        assert!(exponent_ok(65539));
    }
}
