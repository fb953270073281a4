//! NIST P-256 and P-384 (FIPS 186-4, SP 800-56A): key pairs, ECDSA over a digest, ECDH, point
//! validation. Arithmetic is RustCrypto's `p256`/`p384` (constant time); this module adapts it to
//! the TPM's big-endian fixed-width coordinates and its digest rules.

use super::drbg::Drbg;
use super::CryptoError;
use alloc::vec;
use alloc::vec::Vec;
use zeroize::Zeroizing;

mod p256_field;
mod p256_inv;
mod varmul;

/// `TPM_ECC_CURVE` values the engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EccCurve {
    NistP256,
    NistP384,
}

impl EccCurve {
    /// `TPM_ECC_NIST_P256` (0x0003) and `TPM_ECC_NIST_P384` (0x0004).
    pub fn from_tpm(id: u16) -> Option<EccCurve> {
        match id {
            0x0003 => Some(EccCurve::NistP256),
            0x0004 => Some(EccCurve::NistP384),
            _ => None,
        }
    }

    pub fn tpm_id(self) -> u16 {
        match self {
            EccCurve::NistP256 => 0x0003,
            EccCurve::NistP384 => 0x0004,
        }
    }

    /// Size of a coordinate or scalar in bytes.
    pub fn field_bytes(self) -> usize {
        match self {
            EccCurve::NistP256 => 32,
            EccCurve::NistP384 => 48,
        }
    }
}

/// An affine point, coordinates big-endian. Outputs are always [`EccCurve::field_bytes`] wide;
/// inputs may be shorter (leading zeros dropped) but not longer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EccPoint {
    pub x: Vec<u8>,
    pub y: Vec<u8>,
}

/// An ECDSA signature, `r` and `s` big-endian, field width on output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EccSignature {
    pub r: Vec<u8>,
    pub s: Vec<u8>,
}

/// Left-pads `src` into `dst`; error if it does not fit.
fn pad_into(dst: &mut [u8], src: &[u8], err: CryptoError) -> Result<(), CryptoError> {
    let off = dst.len().checked_sub(src.len()).ok_or(err)?;
    for (d, s) in dst.iter_mut().skip(off).zip(src) {
        *d = *s;
    }
    Ok(())
}

/// The digest as ECDSA consumes it: FIPS 186-4 6.4 uses the leftmost `min(N, outlen)` bits, so a
/// longer digest is truncated (done by RustCrypto's `bits2field`); a digest shorter than half the
/// field, which RustCrypto refuses, is left-padded to the field size, which keeps its value.
fn prehash(digest: &[u8], field: usize) -> Vec<u8> {
    if digest.len() >= field / 2 {
        return digest.to_vec();
    }
    let mut v = vec![0u8; field];
    // Cannot fail: digest is shorter than the field.
    let _ = pad_into(&mut v, digest, CryptoError::Size);
    v
}

macro_rules! curve_ops {
    ($m:ident, $c:ident, $curve:ident, $uint:ty) => {
        mod $m {
            use super::{pad_into, prehash, CryptoError, EccPoint, EccSignature};
            use alloc::vec::Vec;
            #[cfg(test)]
            use $c::ecdsa::signature::hazmat::PrehashSigner;
            use $c::ecdsa::signature::hazmat::PrehashVerifier;
            #[cfg(test)]
            use $c::ecdsa::SigningKey;
            use $c::ecdsa::{Signature, VerifyingKey};
            use $c::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
            use $c::{
                AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, PublicKey, Scalar, SecretKey,
            };

            pub(super) type Secret = SecretKey;

            fn field(b: &[u8], err: CryptoError) -> Result<FieldBytes, CryptoError> {
                let mut f = FieldBytes::default();
                pad_into(f.as_mut_slice(), b, err)?;
                Ok(f)
            }

            pub(super) fn from_scalar(d: &[u8]) -> Result<SecretKey, CryptoError> {
                let mut f = field(d, CryptoError::Value)?;
                let k = SecretKey::from_bytes(&f).map_err(|_| CryptoError::Value);
                zeroize::Zeroize::zeroize(f.as_mut_slice());
                k
            }

            fn encode(p: &AffinePoint) -> Result<EccPoint, CryptoError> {
                let e = p.to_encoded_point(false);
                match (e.x(), e.y()) {
                    (Some(x), Some(y)) => Ok(EccPoint { x: x.to_vec(), y: y.to_vec() }),
                    _ => Err(CryptoError::NoResult),
                }
            }

            pub(super) fn public(k: &SecretKey) -> Result<EccPoint, CryptoError> {
                encode(&mul_generator(&k.to_nonzero_scalar()).to_affine())
            }

            pub(super) fn decode(p: &EccPoint) -> Result<PublicKey, CryptoError> {
                let x = field(&p.x, CryptoError::EccPoint)?;
                let y = field(&p.y, CryptoError::EccPoint)?;
                let e = EncodedPoint::from_affine_coordinates(&x, &y, false);
                Option::<PublicKey>::from(PublicKey::from_encoded_point(&e))
                    .ok_or(CryptoError::EccPoint)
            }

            /// `j·16^i·G` for every 4-bit window `i` of a scalar and every `j` in 0..16, built
            /// once (on first use) from the generator.
            static TABLE: spin::Once<Vec<[AffinePoint; 16]>> = spin::Once::new();

            fn table() -> &'static [[AffinePoint; 16]] {
                TABLE.call_once(|| {
                    use $c::elliptic_curve::group::Group;
                    let windows = 2 * sk_field_len();
                    let mut rows = Vec::with_capacity(windows);
                    let mut base = ProjectivePoint::GENERATOR;
                    for _ in 0..windows {
                        let mut row = [AffinePoint::IDENTITY; 16];
                        let mut acc = ProjectivePoint::IDENTITY;
                        for entry in row.iter_mut().skip(1) {
                            acc += base;
                            *entry = acc.to_affine();
                        }
                        rows.push(row);
                        for _ in 0..4 {
                            base = base.double();
                        }
                    }
                    rows
                })
            }

            /// `k·G` by the fixed-base table: per 4-bit window, a constant-time selection of
            /// one of 16 points and one complete addition (no doublings, the cost the generic
            /// multiplication spends most of its time on). The scalar's bytes are wiped.
            pub(super) fn mul_generator(k: &Scalar) -> ProjectivePoint {
                use $c::elliptic_curve::subtle::{ConditionallySelectable, ConstantTimeEq};
                use $c::elliptic_curve::PrimeField;
                let mut bytes = k.to_repr(); // big-endian
                let mut acc = ProjectivePoint::IDENTITY;
                for (i, row) in table().iter().enumerate() {
                    let byte = bytes.get(bytes.len() - 1 - i / 2).copied().unwrap_or(0);
                    let nibble = if i % 2 == 0 { byte & 0x0F } else { byte >> 4 };
                    let mut point = AffinePoint::IDENTITY;
                    for (j, p) in row.iter().enumerate() {
                        point.conditional_assign(p, (j as u8).ct_eq(&nibble));
                    }
                    acc += ProjectivePoint::from(point);
                }
                zeroize::Zeroize::zeroize(bytes.as_mut_slice());
                acc
            }

            /// ECDSA with the RFC 6979 nonce (SP 800-186 / FIPS 186-5 6.4.1): `R = k·G` by the
            /// fixed-base table, `r = R.x mod n`, `s = k⁻¹(z + r·d) mod n`. The same signature
            /// as `ecdsa`'s `SigningKey::sign_prehash` (pinned by a test), in about a third of
            /// the time.
            pub(super) fn sign(k: &SecretKey, digest: &[u8]) -> Result<EccSignature, CryptoError> {
                use ecdsa::hazmat::{bits2field, DigestPrimitive};
                use $c::elliptic_curve::ops::Reduce;
                use $c::elliptic_curve::point::AffineCoordinates;
                use $c::elliptic_curve::{Curve as _, Field, FieldBytesEncoding, PrimeField};
                let z = prehash(digest, sk_field_len());
                let z = bits2field::<$c::$curve>(&z).map_err(|_| CryptoError::NoResult)?;
                let d = k.to_nonzero_scalar();
                let mut d_bytes = d.to_repr();
                let mut k_bytes = rfc6979::generate_k::<<$c::$curve as DigestPrimitive>::Digest, _>(
                    &d_bytes,
                    &<$c::$curve>::ORDER.encode_field_bytes(),
                    &z,
                    &[],
                );
                zeroize::Zeroize::zeroize(d_bytes.as_mut_slice());
                let nonce = Option::<Scalar>::from(Scalar::from_repr(k_bytes));
                zeroize::Zeroize::zeroize(k_bytes.as_mut_slice());
                let nonce = nonce.ok_or(CryptoError::NoResult)?;
                if bool::from(Field::is_zero(&nonce)) {
                    return Err(CryptoError::NoResult);
                }
                let k_inv = Option::<Scalar>::from(nonce.invert()).ok_or(CryptoError::NoResult)?;
                let big_r = mul_generator(&nonce).to_affine();
                let r = <Scalar as Reduce<$uint>>::reduce_bytes(&big_r.x());
                let zs = <Scalar as Reduce<$uint>>::reduce_bytes(&z);
                let s = k_inv * (zs + r * *d);
                let sig = Signature::from_scalars(r, s).map_err(|_| CryptoError::NoResult)?;
                let (r, s) = sig.split_bytes();
                Ok(EccSignature { r: r.to_vec(), s: s.to_vec() })
            }

            /// The `SigningKey` path [`sign`] replaces, kept for the test that pins them equal.
            #[cfg(test)]
            pub(super) fn sign_with_signing_key(
                k: &SecretKey,
                digest: &[u8],
            ) -> Result<EccSignature, CryptoError> {
                let sk = SigningKey::from(k);
                let z = prehash(digest, sk_field_len());
                let sig: Signature = sk.sign_prehash(&z).map_err(|_| CryptoError::NoResult)?;
                let (r, s) = sig.split_bytes();
                Ok(EccSignature { r: r.to_vec(), s: s.to_vec() })
            }

            fn sk_field_len() -> usize {
                FieldBytes::default().len()
            }

            pub(super) fn verify(
                p: &EccPoint,
                digest: &[u8],
                sig: &EccSignature,
            ) -> Result<(), CryptoError> {
                let vk = VerifyingKey::from(decode(p)?);
                let r = field(&sig.r, CryptoError::Signature)?;
                let s = field(&sig.s, CryptoError::Signature)?;
                let sig = Signature::from_scalars(r, s).map_err(|_| CryptoError::Signature)?;
                let z = prehash(digest, sk_field_len());
                vk.verify_prehash(&z, &sig).map_err(|_| CryptoError::Signature)
            }

            pub(super) fn ecdh(k: &SecretKey, p: &EccPoint) -> Result<EccPoint, CryptoError> {
                let q = decode(p)?;
                let z = super::varmul::mul(q.as_affine(), &k.to_nonzero_scalar())?;
                encode(&z)
            }

            pub(super) fn scalar(k: &SecretKey) -> Vec<u8> {
                k.to_bytes().to_vec()
            }

            /// The Schnorr value `(k + t·d) mod n`, with `t` (big-endian, any length) reduced
            /// modulo `n`; `NoResult` if it is zero.
            pub(super) fn schnorr(
                d: &SecretKey,
                k: &SecretKey,
                t: &[u8],
            ) -> Result<Vec<u8>, CryptoError> {
                use num_bigint_dig::BigUint;
                use $c::elliptic_curve::{Curve as _, Field, FieldBytesEncoding, PrimeField};
                let n = BigUint::from_bytes_be(&<$c::$curve>::ORDER.encode_field_bytes());
                let t = BigUint::from_bytes_be(t) % n;
                let t = field(&t.to_bytes_be(), CryptoError::Value)?;
                let t = Option::<Scalar>::from(Scalar::from_repr(t)).ok_or(CryptoError::Value)?;
                let s = *k.to_nonzero_scalar() + t * *d.to_nonzero_scalar();
                if bool::from(Field::is_zero(&s)) {
                    return Err(CryptoError::NoResult);
                }
                Ok(s.to_repr().to_vec())
            }
        }
    };
}

curve_ops!(p256_ops, p256, NistP256, p256::U256);
curve_ops!(p384_ops, p384, NistP384, p384::U384);

/// An ECC private key. The scalar is wiped on drop (RustCrypto's `SecretKey`).
#[derive(Clone)]
pub enum EccPrivate {
    P256(p256_ops::Secret),
    P384(p384_ops::Secret),
}

impl core::fmt::Debug for EccPrivate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EccPrivate({:?})", self.curve())
    }
}

/// Candidates tried by [`EccPrivate::generate_with`] before giving up; a candidate fails with
/// probability about 2^-32 (P-256) or 2^-190 (P-384).
const KEYGEN_TRIES: usize = 64;

impl EccPrivate {
    /// The key with private scalar `d` (big-endian, at most the field size). `Value` unless
    /// `0 < d < n`.
    pub fn from_scalar(curve: EccCurve, d: &[u8]) -> Result<EccPrivate, CryptoError> {
        Ok(match curve {
            EccCurve::NistP256 => EccPrivate::P256(p256_ops::from_scalar(d)?),
            EccCurve::NistP384 => EccPrivate::P384(p384_ops::from_scalar(d)?),
        })
    }

    /// Generates a key by FIPS 186-4 B.4.2 (testing candidates): field-size candidates from
    /// `next_bytes` until one is in `[1, n-1]`. Deterministic in the byte source, so usable for
    /// primary keys derived from a seed.
    pub fn generate_with<F>(curve: EccCurve, mut next_bytes: F) -> Result<EccPrivate, CryptoError>
    where
        F: FnMut(&mut [u8]) -> Result<(), CryptoError>,
    {
        let mut buf = Zeroizing::new(vec![0u8; curve.field_bytes()]);
        for _ in 0..KEYGEN_TRIES {
            next_bytes(&mut buf)?;
            match EccPrivate::from_scalar(curve, &buf) {
                Ok(k) => return Ok(k),
                Err(CryptoError::Value) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CryptoError::NoResult)
    }

    /// Generates a key from the DRBG.
    pub fn generate(curve: EccCurve, drbg: &mut Drbg) -> Result<EccPrivate, CryptoError> {
        EccPrivate::generate_with(curve, |b| drbg.generate(b, &[]))
    }

    pub fn curve(&self) -> EccCurve {
        match self {
            EccPrivate::P256(_) => EccCurve::NistP256,
            EccPrivate::P384(_) => EccCurve::NistP384,
        }
    }

    /// The private scalar, big-endian, field width.
    pub fn scalar(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            EccPrivate::P256(k) => p256_ops::scalar(k),
            EccPrivate::P384(k) => p384_ops::scalar(k),
        })
    }

    /// The public point `Q = d·G`.
    pub fn public(&self) -> Result<EccPoint, CryptoError> {
        match self {
            EccPrivate::P256(k) => p256_ops::public(k),
            EccPrivate::P384(k) => p384_ops::public(k),
        }
    }

    /// ECDSA signature of `digest` (the TPM signs digests, never messages). The nonce is RFC 6979
    /// deterministic, with the curve's own hash (SHA-256 / SHA-384) in the HMAC_DRBG.
    pub fn sign(&self, digest: &[u8]) -> Result<EccSignature, CryptoError> {
        match self {
            EccPrivate::P256(k) => p256_ops::sign(k, digest),
            EccPrivate::P384(k) => p384_ops::sign(k, digest),
        }
    }

    /// The Schnorr signature value `(k + t·d) mod n` of this key `d` with nonce key `k` (same
    /// curve) and challenge `t` (reduced modulo `n`), field width: the `s` of an ECDAA
    /// signature (reference `BnSchnorrSign`). `NoResult` if it is zero.
    pub fn schnorr(&self, k: &EccPrivate, t: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match (self, k) {
            (EccPrivate::P256(d), EccPrivate::P256(k)) => p256_ops::schnorr(d, k, t),
            (EccPrivate::P384(d), EccPrivate::P384(k)) => p384_ops::schnorr(d, k, t),
            _ => Err(CryptoError::Key),
        }
    }

    /// ECDH (SP 800-56A 5.7.1.2): the shared point `Z = d·Q`, both coordinates. `Z.x` is the
    /// shared secret for KDFe; `TPM2_ECDH_ZGen` returns the whole point. `EccPoint` if `peer` is
    /// not on the curve.
    pub fn ecdh(&self, peer: &EccPoint) -> Result<EccPoint, CryptoError> {
        match self {
            EccPrivate::P256(k) => p256_ops::ecdh(k, peer),
            EccPrivate::P384(k) => p384_ops::ecdh(k, peer),
        }
    }
}

/// Verifies an ECDSA signature over `digest` with public point `public`. `EccPoint` for an
/// invalid point, `Signature` for anything else that does not verify.
pub fn verify(
    curve: EccCurve,
    public: &EccPoint,
    digest: &[u8],
    sig: &EccSignature,
) -> Result<(), CryptoError> {
    match curve {
        EccCurve::NistP256 => p256_ops::verify(public, digest, sig),
        EccCurve::NistP384 => p384_ops::verify(public, digest, sig),
    }
}

/// Whether `p` is a valid public point: coordinates in range, on the curve, not the identity
/// (SP 800-56A 5.6.2.3.3 partial validation; the curves have cofactor 1).
pub fn check_point(curve: EccCurve, p: &EccPoint) -> Result<(), CryptoError> {
    match curve {
        EccCurve::NistP256 => p256_ops::decode(p).map(|_| ()),
        EccCurve::NistP384 => p384_ops::decode(p).map(|_| ()),
    }
}

/// One-pass ECDH with an ephemeral key (`TPM2_ECDH_KeyGen`, and a caller's side of a salted
/// session): returns the ephemeral public point and the shared point `Z`.
pub fn ecdh_keygen(
    curve: EccCurve,
    peer: &EccPoint,
    drbg: &mut Drbg,
) -> Result<(EccPoint, EccPoint), CryptoError> {
    check_point(curve, peer)?;
    let eph = EccPrivate::generate(curve, drbg)?;
    Ok((eph.public()?, eph.ecdh(peer)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-base table gives the same public points as the generic multiplication, for
    /// small scalars (every window's low entries), one with every nibble 0xF and random ones.
    #[test]
    fn table_multiplication_equals_the_generic_one() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let mut scalars: alloc::vec::Vec<alloc::vec::Vec<u8>> = alloc::vec::Vec::new();
        for n in [1u8, 2, 15, 16, 17, 255] {
            let mut v = alloc::vec![0u8; 48];
            v[47] = n;
            scalars.push(v);
        }
        let mut ff = alloc::vec![0xFFu8; 48];
        ff[0] = 0x0F; // below both orders
        scalars.push(ff);
        for seed in 0u8..8 {
            scalars.push(
                (0..48u8)
                    .map(|i| i.wrapping_mul(97) ^ seed.wrapping_mul(13))
                    .collect(),
            );
        }
        for d in &scalars {
            let mut d256 = d[16..].to_vec();
            d256[0] &= 0x0F; // below the P-256 order
            let k256 = p256_ops::from_scalar(&d256).unwrap();
            let want = k256.public_key().to_encoded_point(false);
            let got = p256_ops::public(&k256).unwrap();
            assert_eq!(
                (&got.x[..], &got.y[..]),
                (want.x().unwrap().as_slice(), want.y().unwrap().as_slice())
            );
            let k384 = p384_ops::from_scalar(d).unwrap();
            let want = k384.public_key().to_encoded_point(false);
            let got = p384_ops::public(&k384).unwrap();
            assert_eq!(
                (&got.x[..], &got.y[..]),
                (want.x().unwrap().as_slice(), want.y().unwrap().as_slice())
            );
        }
    }

    /// The scalar-based signing path gives byte-identical RFC 6979 signatures to the
    /// `SigningKey` path it replaced, for digests shorter than, equal to and longer than the
    /// field (SHA-1, SHA-256, SHA-384, SHA-512).
    #[test]
    fn signing_from_the_scalar_equals_the_signing_key_path() {
        for seed in 1u8..=4 {
            let d256: alloc::vec::Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(seed) | 1).collect();
            let d384: alloc::vec::Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(seed) | 1).collect();
            let k256 = p256_ops::from_scalar(&d256).unwrap();
            let k384 = p384_ops::from_scalar(&d384).unwrap();
            for len in [20usize, 32, 48, 64] {
                let digest: alloc::vec::Vec<u8> = (0..len)
                    .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                    .collect();
                assert_eq!(
                    p256_ops::sign(&k256, &digest).unwrap(),
                    p256_ops::sign_with_signing_key(&k256, &digest).unwrap(),
                    "P-256, {len}-byte digest"
                );
                assert_eq!(
                    p384_ops::sign(&k384, &digest).unwrap(),
                    p384_ops::sign_with_signing_key(&k384, &digest).unwrap(),
                    "P-384, {len}-byte digest"
                );
            }
        }
    }
    use crate::crypto::hash::Hasher;
    use crate::crypto::test_util::h;
    use tpm_proto::HashAlg;

    const D256: &str = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
    const D384: &str = "6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D8
                        96D5724E4C70A825F872C9EA60D2EDF5";

    fn key(curve: EccCurve, d: &str) -> EccPrivate {
        EccPrivate::from_scalar(curve, &h(d)).unwrap()
    }

    fn sig(r: &str, s: &str) -> EccSignature {
        EccSignature { r: h(r), s: h(s) }
    }

    // RFC 6979 A.2.5: P-256, messages "sample" and "test" hashed with SHA-256.
    #[test]
    fn rfc6979_p256_sha256() {
        let k = key(EccCurve::NistP256, D256);
        let q = k.public().unwrap();
        assert_eq!(
            q.x,
            h("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6")
        );
        assert_eq!(
            q.y,
            h("7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299")
        );
        for (msg, r, s) in [
            (
                &b"sample"[..],
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
                "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
            ),
            (
                &b"test"[..],
                "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
                "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
            ),
        ] {
            let d = Hasher::digest(HashAlg::Sha256, &[msg]);
            let got = k.sign(d.as_bytes()).unwrap();
            assert_eq!(got, sig(r, s));
            verify(EccCurve::NistP256, &q, d.as_bytes(), &got).unwrap();
        }
    }

    // RFC 6979 A.2.6: P-384, messages "sample" and "test" hashed with SHA-384.
    #[test]
    fn rfc6979_p384_sha384() {
        let k = key(EccCurve::NistP384, D384);
        let q = k.public().unwrap();
        assert_eq!(
            q.x,
            h(
                "EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64
               DEF8F0EA9055866064A254515480BC13"
            )
        );
        for (msg, r, s) in [
            (
                &b"sample"[..],
                "94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C
                 81A648152E44ACF96E36DD1E80FABE46",
                "99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94F
                 A329C145786E679E7B82C71A38628AC8",
            ),
            (
                &b"test"[..],
                "8203B63D3C853E8D77227FB377BCF7B7B772E97892A80F36AB775D509D7A5FEB
                 0542A7F0812998DA8F1DD3CA3CF023DB",
                "DDD0760448D42D8A43AF45AF836FCE4DE8BE06B485E9B61B827C2F13173923E0
                 6A739F040649A667BF3B828246BAA5A5",
            ),
        ] {
            let d = Hasher::digest(HashAlg::Sha384, &[msg]);
            let got = k.sign(d.as_bytes()).unwrap();
            assert_eq!(got, sig(r, s));
            verify(EccCurve::NistP384, &q, d.as_bytes(), &got).unwrap();
        }
    }

    // Signatures made by Python `cryptography` 48 (OpenSSL, random k) with
    // `ECDSA(Prehashed(SHA512))` on P-256 — the digest is longer than the order and truncated —
    // and `ECDSA(Prehashed(SHA1))` on P-384 — shorter than half the field.
    #[test]
    fn verifies_python_cryptography_signatures() {
        let q = key(EccCurve::NistP256, D256).public().unwrap();
        let d = Hasher::digest(HashAlg::Sha512, &[b"evtpm"]);
        assert_eq!(
            d.as_bytes(),
            &h(
                "f522cd2093c606e85e3d40b79b25ef279e2a0979119a417a9365e3fb72e153a4
                9957ad08784be425e7a60415a2440d45d609eb49380c37f09abb7499f8b5e4c3"
            )[..]
        );
        let s = sig(
            "6cf3c97359d4661569e39658d14af38c55f9522628fde64b70fbac739fca7a14",
            "a7e9df16f218b48a3bdb04a6fe495da4baac07e8266337b824263a9f28d99315",
        );
        verify(EccCurve::NistP256, &q, d.as_bytes(), &s).unwrap();
        assert_eq!(
            verify(EccCurve::NistP256, &q, &d.as_bytes()[1..], &s),
            Err(CryptoError::Signature)
        );

        let k3 = key(EccCurve::NistP384, D384);
        let q3 = k3.public().unwrap();
        let d1 = Hasher::digest(HashAlg::Sha1, &[b"evtpm"]);
        let s3 = sig(
            "ee109ed0a79392370bfe55d814fa8f97a2a2e547d0fe17d60da46c188e4e125f
             66c0f6ef7b6f63b12588db037790db84",
            "71689954035af60380bc23d8b05127a94f56c1d83e2242b42d56ee5c5b255f0a
             76d88b9b2c3c2bcaeb2547833e45daa7",
        );
        verify(EccCurve::NistP384, &q3, d1.as_bytes(), &s3).unwrap();
        // Our own SHA-1 signature on P-384 verifies too.
        let own = k3.sign(d1.as_bytes()).unwrap();
        verify(EccCurve::NistP384, &q3, d1.as_bytes(), &own).unwrap();
    }

    // Z from Python `cryptography`: x from `exchange(ECDH())`, the full point as the public key of
    // the scalar d_a·d_b mod n.
    #[test]
    fn ecdh_full_point_matches_python() {
        let a = key(EccCurve::NistP256, D256);
        let b = key(
            EccCurve::NistP256,
            "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        );
        let qb = b.public().unwrap();
        assert_eq!(
            qb.x,
            h("471c3e758c4904285bba7e53118ed0f524adeb0757d25bd2f8e7b0d76dfa714c")
        );
        let z = a.ecdh(&qb).unwrap();
        assert_eq!(
            z.x,
            h("53afb41eed40bf4a329d9852787f9610d1c4c22d1a34de25d5c977ed9640ee6f")
        );
        assert_eq!(
            z.y,
            h("b7b155417ce2d4a50471e0711b80890bac2f32ce4787cd3a5cdb6bfe8027b5eb")
        );
        assert_eq!(b.ecdh(&a.public().unwrap()).unwrap(), z);
    }

    #[test]
    fn rejects_points_off_the_curve_and_bad_scalars() {
        let mut q = key(EccCurve::NistP256, D256).public().unwrap();
        check_point(EccCurve::NistP256, &q).unwrap();
        // Leading zeros may be dropped from an input coordinate.
        let short = EccPoint {
            x: q.x.clone(),
            y: q.y.clone(),
        };
        check_point(EccCurve::NistP256, &short).unwrap();
        if let Some(last) = q.y.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            check_point(EccCurve::NistP256, &q),
            Err(CryptoError::EccPoint)
        );
        let zero = EccPoint {
            x: vec![0; 32],
            y: vec![0; 32],
        };
        assert_eq!(
            check_point(EccCurve::NistP256, &zero),
            Err(CryptoError::EccPoint)
        );
        let long = EccPoint {
            x: vec![1; 33],
            y: vec![1; 32],
        };
        assert_eq!(
            check_point(EccCurve::NistP256, &long),
            Err(CryptoError::EccPoint)
        );
        assert_eq!(
            key(EccCurve::NistP256, D256).ecdh(&q).unwrap_err(),
            CryptoError::EccPoint
        );
        assert_eq!(
            EccPrivate::from_scalar(EccCurve::NistP256, &[0; 32]).unwrap_err(),
            CryptoError::Value
        );
        assert_eq!(
            EccPrivate::from_scalar(EccCurve::NistP256, &[0xff; 32]).unwrap_err(),
            CryptoError::Value
        );
        assert_eq!(
            EccPrivate::from_scalar(EccCurve::NistP256, &[1; 33]).unwrap_err(),
            CryptoError::Value
        );
        // A short scalar is a small number.
        let one = EccPrivate::from_scalar(EccCurve::NistP384, &[1]).unwrap();
        assert_eq!(one.scalar().len(), 48);
    }

    #[test]
    fn generation_is_deterministic_in_the_drbg_and_ecdh_keygen_agrees() {
        let mut d1 = Drbg::new(&[5; 48], b"ecc");
        let mut d2 = Drbg::new(&[5; 48], b"ecc");
        for curve in [EccCurve::NistP256, EccCurve::NistP384] {
            let a = EccPrivate::generate(curve, &mut d1).unwrap();
            let b = EccPrivate::generate(curve, &mut d2).unwrap();
            assert_eq!(a.scalar(), b.scalar());
            let peer = EccPrivate::generate(curve, &mut d1).unwrap();
            let (eph, z) = ecdh_keygen(curve, &peer.public().unwrap(), &mut d2).unwrap();
            assert_eq!(peer.ecdh(&eph).unwrap(), z);
            assert_eq!(z.x.len(), curve.field_bytes());
        }
        // A source that only yields out-of-range candidates gives up.
        let r = EccPrivate::generate_with(EccCurve::NistP256, |b| {
            b.fill(0xff);
            Ok(())
        });
        assert_eq!(r.unwrap_err(), CryptoError::NoResult);
    }
}
