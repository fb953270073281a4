//! RSA (RFC 8017, FIPS 186-4): keys from primes or generated, RSASSA-PKCS1-v1_5 and RSASSA-PSS
//! over a digest, RSAES-PKCS1-v1_5, RSAES-OAEP with a byte-string label, raw RSA
//! (`TPM_ALG_NULL`), and the deterministic prime search primary-key derivation needs
//! ([`prime`], on the fixed-width Montgomery arithmetic of [`mont`]).
//!
//! The key arithmetic, blinding and PKCS #1 v1.5 paddings are RustCrypto's `rsa`; OAEP (the
//! crate takes only UTF-8 labels, TPM labels are bytes) and PSS verification (the crate insists
//! on one salt length, a TPM accepts any) are here, on top of the crate's raw primitives.
//! Note: `rsa` 0.9's private operation is not constant time (RUSTSEC-2023-0071, "Marvin").
//! Decryption (raw, OAEP — what TPM2_ActivateCredential, RSA_Decrypt and salted sessions use —
//! and PKCS #1 v1.5 decryption run on this module's constant-time CRT operation ([`crt`]);
//! signing still uses `rsa`'s, with blinding always on.

use super::drbg::Drbg;
use super::hash::Hasher;
use super::kdf::mgf1_xor;
use super::CryptoError;
use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use ::rsa::{BigUint, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use alloc::vec;
use alloc::vec::Vec;
use num_integer::Integer;
use num_traits::{One, Zero};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use tpm_proto::HashAlg;
use zeroize::Zeroizing;

/// The TPM's default public exponent, used when a template says 0.
pub const DEFAULT_EXPONENT: u32 = 65537;

/// Signature schemes (`TPM_ALG_RSASSA`, `TPM_ALG_RSAPSS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaSigScheme {
    Pkcs1v15,
    Pss,
}

/// Encryption schemes (`TPM_ALG_NULL`, `TPM_ALG_RSAES`, `TPM_ALG_OAEP` with its hash), for both
/// directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaDecryptScheme {
    Null,
    Pkcs1v15,
    Oaep(HashAlg),
}

fn exponent(e: u32) -> BigUint {
    BigUint::from(if e == 0 { DEFAULT_EXPONENT } else { e })
}

/// I2OSP: `x` big-endian in exactly `len` bytes.
fn i2osp(x: &BigUint, len: usize) -> Result<Vec<u8>, CryptoError> {
    let b = x.to_bytes_be();
    let mut out = vec![0u8; len];
    let off = len.checked_sub(b.len()).ok_or(CryptoError::Value)?;
    for (d, s) in out.iter_mut().skip(off).zip(b.iter()) {
        *d = *s;
    }
    Ok(out)
}

fn pkcs1_sign_scheme(hash: HashAlg) -> Pkcs1v15Sign {
    match hash {
        HashAlg::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        HashAlg::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashAlg::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        HashAlg::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

fn pss_scheme(hash: HashAlg, salt: usize) -> Pss {
    match hash {
        HashAlg::Sha1 => Pss::new_with_salt::<sha1::Sha1>(salt),
        HashAlg::Sha256 => Pss::new_with_salt::<sha2::Sha256>(salt),
        HashAlg::Sha384 => Pss::new_with_salt::<sha2::Sha384>(salt),
        HashAlg::Sha512 => Pss::new_with_salt::<sha2::Sha512>(salt),
    }
}

/// An RSA public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublic {
    key: RsaPublicKey,
}

impl RsaPublic {
    /// The key `(n, e)`; `e` = 0 means 65537 as in `TPMS_RSA_PARMS`.
    pub fn new(n: &[u8], e: u32) -> Result<RsaPublic, CryptoError> {
        let key = RsaPublicKey::new(BigUint::from_bytes_be(n), exponent(e))
            .map_err(|_| CryptoError::Key)?;
        Ok(RsaPublic { key })
    }

    /// Modulus size in bytes (`k`).
    pub fn size(&self) -> usize {
        self.key.size()
    }

    /// The modulus, big-endian, [`RsaPublic::size`] bytes.
    pub fn modulus(&self) -> Vec<u8> {
        self.key.n().to_bytes_be()
    }

    pub fn exponent(&self) -> u32 {
        num_traits::ToPrimitive::to_u32(self.key.e()).unwrap_or(0)
    }

    /// Verifies a signature over `digest` (which must be `hash`'s size). PSS accepts any salt
    /// length and uses `hash` for MGF1. `Signature` on any mismatch.
    pub fn verify(
        &self,
        scheme: RsaSigScheme,
        hash: HashAlg,
        digest: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        if digest.len() != hash.size() {
            return Err(CryptoError::Signature);
        }
        match scheme {
            RsaSigScheme::Pkcs1v15 => self
                .key
                .verify(pkcs1_sign_scheme(hash), digest, sig)
                .map_err(|_| CryptoError::Signature),
            RsaSigScheme::Pss => self.pss_verify(hash, digest, sig),
        }
    }

    /// RFC 8017 8.1.2 with EMSA-PSS-VERIFY (9.1.2), salt length recovered from the encoding.
    fn pss_verify(&self, hash: HashAlg, digest: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let bad = CryptoError::Signature;
        if sig.len() != self.size() {
            return Err(bad);
        }
        let s = BigUint::from_bytes_be(sig);
        if &s >= self.key.n() {
            return Err(bad);
        }
        let m = ::rsa::hazmat::rsa_encrypt(&self.key, &s).map_err(|_| bad)?;
        let mod_bits = self.key.n().bits();
        let em_bits = mod_bits.checked_sub(1).ok_or(bad)?;
        let em_len = em_bits.div_ceil(8);
        let mut em = i2osp(&m, em_len).map_err(|_| bad)?;
        let h_len = hash.size();
        if em_len < h_len + 2 || em.last() != Some(&0xbc) {
            return Err(bad);
        }
        let db_len = em_len - h_len - 1;
        let (masked_db, rest) = em.split_at_mut(db_len);
        let h = rest.get(..h_len).ok_or(bad)?;
        let top_mask = 0xffu8 >> (8 * em_len - em_bits);
        if masked_db.first().is_some_and(|b| b & !top_mask != 0) {
            return Err(bad);
        }
        mgf1_xor(hash, h, masked_db);
        if let Some(b) = masked_db.first_mut() {
            *b &= top_mask;
        }
        let one = masked_db.iter().position(|&b| b != 0).ok_or(bad)?;
        if masked_db.get(one) != Some(&1) {
            return Err(bad);
        }
        let salt = masked_db.get(one + 1..).ok_or(bad)?;
        let h2 = Hasher::digest(hash, &[&[0u8; 8], digest, salt]);
        if bool::from(h2.as_bytes().ct_eq(h)) {
            Ok(())
        } else {
            Err(bad)
        }
    }

    /// Encrypts `msg`. Raw (`Null`): `msg` is left-padded to the key size and must be below `n`.
    /// OAEP uses `hash` for the label and MGF1; `label` is taken as given (TPM labels carry their
    /// terminating zero; that is the caller's business). `Value` if `msg` is too long.
    pub fn encrypt(
        &self,
        scheme: RsaDecryptScheme,
        label: &[u8],
        msg: &[u8],
        drbg: &mut Drbg,
    ) -> Result<Vec<u8>, CryptoError> {
        let k = self.size();
        let out = match scheme {
            RsaDecryptScheme::Null => {
                if msg.len() > k {
                    return Err(CryptoError::Value);
                }
                self.raw_public(&BigUint::from_bytes_be(msg))
            }
            RsaDecryptScheme::Pkcs1v15 => self
                .key
                .encrypt(drbg, Pkcs1v15Encrypt, msg)
                .map_err(|_| CryptoError::Value),
            RsaDecryptScheme::Oaep(hash) => {
                let h_len = hash.size();
                let max = k.checked_sub(2 * h_len + 2).ok_or(CryptoError::Value)?;
                if msg.len() > max {
                    return Err(CryptoError::Value);
                }
                // EM = 00 ‖ maskedSeed ‖ maskedDB, DB = lHash ‖ PS ‖ 01 ‖ M (RFC 8017 7.1.1).
                let mut em = Zeroizing::new(vec![0u8; k]);
                let (seed, db) = em
                    .get_mut(1..)
                    .ok_or(CryptoError::Value)?
                    .split_at_mut(h_len);
                let lhash = Hasher::digest(hash, &[label]);
                for (d, s) in db.iter_mut().zip(lhash.as_bytes()) {
                    *d = *s;
                }
                let db_len = db.len();
                let sep = db_len - msg.len() - 1;
                if let Some(b) = db.get_mut(sep) {
                    *b = 1;
                }
                for (d, s) in db.iter_mut().skip(sep + 1).zip(msg) {
                    *d = *s;
                }
                drbg.generate(seed, &[])?;
                mgf1_xor(hash, seed, db);
                mgf1_xor(hash, db, seed);
                self.raw_public(&BigUint::from_bytes_be(&em))
            }
        }?;
        drbg.take_rng_error()?;
        Ok(out)
    }

    fn raw_public(&self, m: &BigUint) -> Result<Vec<u8>, CryptoError> {
        if m >= self.key.n() {
            return Err(CryptoError::Value);
        }
        let c = ::rsa::hazmat::rsa_encrypt(&self.key, m).map_err(|_| CryptoError::Value)?;
        i2osp(&c, self.size())
    }
}

/// An RSA private key (two primes, CRT values precomputed). Wiped on drop (`rsa`'s
/// `RsaPrivateKey` zeroizes its secrets).
#[derive(Clone)]
pub struct RsaPrivate {
    key: RsaPrivateKey,
    /// The CRT values for the constant-time private operation ([`crt`]).
    crt: Option<crt::CrtKey>,
}

impl core::fmt::Debug for RsaPrivate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaPrivate({} bits)", self.key.n().bits())
    }
}

impl RsaPrivate {
    /// The key with primes `p` and `q` (big-endian) and public exponent `e` (0 = 65537); the
    /// private exponent is `e⁻¹ mod λ(n)` (SP 800-56B 6.2.1). `Key` if the values are not a
    /// consistent key.
    pub fn from_primes(p: &[u8], q: &[u8], e: u32) -> Result<RsaPrivate, CryptoError> {
        let p = BigUint::from_bytes_be(p);
        let q = BigUint::from_bytes_be(q);
        let key = RsaPrivateKey::from_p_q(p, q, exponent(e)).map_err(|_| CryptoError::Key)?;
        Ok(RsaPrivate::with_crt(key))
    }

    fn with_crt(key: RsaPrivateKey) -> RsaPrivate {
        let crt = crt::CrtKey::new(&key);
        RsaPrivate { key, crt }
    }

    /// The key from the public modulus and one prime, as a TPM stores it (`TPM2B_PRIVATE_KEY_RSA`
    /// holds `p` only). `Key` if `p` does not divide `n`.
    pub fn from_n_e_p(n: &[u8], e: u32, p: &[u8]) -> Result<RsaPrivate, CryptoError> {
        let n = BigUint::from_bytes_be(n);
        let p = BigUint::from_bytes_be(p);
        if p <= BigUint::one() || p >= n {
            return Err(CryptoError::Key);
        }
        let (q, r) = n.div_rem(&p);
        if !r.is_zero() {
            return Err(CryptoError::Key);
        }
        let key = RsaPrivateKey::from_p_q(p, q, exponent(e)).map_err(|_| CryptoError::Key)?;
        Ok(RsaPrivate::with_crt(key))
    }

    /// Generates a `bits`-bit key (FIPS 186-4 B.3.3 step 5: |p − q| large enough; the primes
    /// from the sieved search of [`find_prime`]) fed by
    /// `next_bytes`: deterministic in the byte source, so usable for primary keys.
    pub fn generate_with<F>(
        bits: usize,
        e: u32,
        mut next_bytes: F,
    ) -> Result<RsaPrivate, CryptoError>
    where
        F: FnMut(&mut [u8]) -> Result<(), CryptoError>,
    {
        if bits & 15 != 0 || !(1024..=4096).contains(&bits) {
            return Err(CryptoError::KeySize);
        }
        let half = bits / 2;
        let p = find_prime(half, e, &mut next_bytes)?;
        // |p - q| must exceed 2^(nlen/2 - 100) (B.3.3 step 5.4); a handful of tries at most.
        let min_diff = BigUint::one() << (half - 100);
        let pb = BigUint::from_bytes_be(&p);
        for _ in 0..8 {
            let q = find_prime(half, e, &mut next_bytes)?;
            let qb = BigUint::from_bytes_be(&q);
            let diff = if pb > qb { &pb - &qb } else { &qb - &pb };
            if diff > min_diff {
                return RsaPrivate::from_primes(&p, &q, e);
            }
        }
        Err(CryptoError::NoResult)
    }

    /// Generates a key from the DRBG.
    pub fn generate(bits: usize, e: u32, drbg: &mut Drbg) -> Result<RsaPrivate, CryptoError> {
        RsaPrivate::generate_with(bits, e, |b| drbg.generate(b, &[]))
    }

    pub fn public(&self) -> RsaPublic {
        RsaPublic {
            key: self.key.to_public_key(),
        }
    }

    /// Modulus size in bytes.
    pub fn size(&self) -> usize {
        self.key.size()
    }

    /// The first prime, big-endian (what a TPM keeps as the sensitive area).
    pub fn prime_p(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            self.key
                .primes()
                .first()
                .map(|p| p.to_bytes_be())
                .unwrap_or_default(),
        )
    }

    /// Signs `digest` (exactly `hash`'s size). PSS salt length is the hash length, or the most
    /// the key allows if smaller (emLen − hLen − 2), as the reference implementation does. The
    /// DRBG provides the salt and blinding.
    pub fn sign(
        &self,
        scheme: RsaSigScheme,
        hash: HashAlg,
        digest: &[u8],
        drbg: &mut Drbg,
    ) -> Result<Vec<u8>, CryptoError> {
        if digest.len() != hash.size() {
            return Err(CryptoError::Size);
        }
        let sig = match scheme {
            RsaSigScheme::Pkcs1v15 => self
                .key
                .sign_with_rng(drbg, pkcs1_sign_scheme(hash), digest),
            RsaSigScheme::Pss => {
                let em_len = (self.key.n().bits() - 1).div_ceil(8);
                let room = em_len
                    .checked_sub(hash.size() + 2)
                    .ok_or(CryptoError::Size)?;
                let salt = hash.size().min(room);
                self.key.sign_with_rng(drbg, pss_scheme(hash, salt), digest)
            }
        }
        .map_err(|_| CryptoError::Size)?;
        drbg.take_rng_error()?;
        Ok(sig)
    }

    /// Decrypts `ct`, which must be exactly the key size (`Size`). `Value` for a ciphertext not
    /// below `n` or bad padding. Raw (`Null`) returns all key-size bytes.
    pub fn decrypt(
        &self,
        scheme: RsaDecryptScheme,
        label: &[u8],
        ct: &[u8],
        drbg: &mut Drbg,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let k = self.size();
        if ct.len() != k {
            return Err(CryptoError::Size);
        }
        let out = match scheme {
            RsaDecryptScheme::Pkcs1v15 => {
                let em = self.raw_private(ct, drbg)?;
                pkcs1v15_decode(&em)
            }
            RsaDecryptScheme::Null => self.raw_private(ct, drbg),
            RsaDecryptScheme::Oaep(hash) => {
                let em = self.raw_private(ct, drbg)?;
                oaep_decode(hash, label, &em)
            }
        };
        drbg.take_rng_error()?;
        out
    }

    /// `ct^d mod n`: in constant time by [`crt`] (two primes, the usual case), else `rsa`'s
    /// blinded operation.
    fn raw_private(&self, ct: &[u8], drbg: &mut Drbg) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let c = BigUint::from_bytes_be(ct);
        if &c >= self.key.n() {
            return Err(CryptoError::Value);
        }
        if let Some(crt) = &self.crt {
            return crt.private(ct);
        }
        let m = ::rsa::hazmat::rsa_decrypt_and_check(&self.key, Some(drbg), &c)
            .map_err(|_| CryptoError::Value)?;
        Ok(Zeroizing::new(i2osp(&m, self.size())?))
    }
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 7.2.2 step 3): `EM = 00 ‖ 02 ‖ PS ‖ 00 ‖ M` with at
/// least eight nonzero bytes of `PS`. Constant time up to the final verdict, as
/// [`oaep_decode`]: the position of the separator is found without branching on the bytes.
fn pkcs1v15_decode(em: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if em.len() < 11 {
        return Err(CryptoError::Value);
    }
    let mut good = em[0].ct_eq(&0) & em[1].ct_eq(&2);
    let mut looking = Choice::from(1);
    let mut index = 0u32;
    for (i, b) in em.iter().enumerate().skip(2) {
        let is_zero = b.ct_eq(&0);
        index.conditional_assign(&(i as u32), looking & is_zero);
        looking &= !is_zero;
    }
    // A separator was found, after at least eight bytes of padding (index ≥ 2 + 8).
    good &= !looking;
    good &= !index.ct_lt(&10);
    if !bool::from(good) {
        return Err(CryptoError::Value);
    }
    let msg = em.get(index as usize + 1..).ok_or(CryptoError::Value)?;
    Ok(Zeroizing::new(msg.to_vec()))
}

/// EME-OAEP decoding (RFC 8017 7.1.2 step 3), constant time up to the final verdict.
fn oaep_decode(hash: HashAlg, label: &[u8], em: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let h_len = hash.size();
    if em.len() < 2 * h_len + 2 {
        return Err(CryptoError::Value);
    }
    let mut em = Zeroizing::new(em.to_vec());
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h_len);
    mgf1_xor(hash, db, seed);
    mgf1_xor(hash, seed, db);
    let lhash = Hasher::digest(hash, &[label]);
    let mut good = y.first().map_or(Choice::from(0), |b| b.ct_eq(&0));
    good &= db
        .get(..h_len)
        .map_or(Choice::from(0), |l| l.ct_eq(lhash.as_bytes()));
    // Find the 01 after the zero padding without branching on secret bytes.
    let mut looking = Choice::from(1);
    let mut index = 0u32;
    for (i, b) in db.iter().enumerate().skip(h_len) {
        let is_zero = b.ct_eq(&0);
        let is_one = b.ct_eq(&1);
        index.conditional_assign(&(i as u32), looking & is_one);
        good &= !(looking & !is_zero & !is_one);
        looking &= !is_one;
    }
    good &= !looking;
    if !bool::from(good) {
        return Err(CryptoError::Value);
    }
    let msg = db.get(index as usize + 1..).ok_or(CryptoError::Value)?;
    Ok(Zeroizing::new(msg.to_vec()))
}

mod crt;
mod mont;
mod prime;

pub use prime::find_prime;
#[cfg(test)]
use prime::miller_rabin_rounds;

#[cfg(test)]
mod tests;
