//! The RSA private operation `c^d mod n` in constant time, by the Chinese remainder theorem
//! (RFC 8017 5.1.2, second form) on [`super::mont`]'s fixed-width Montgomery arithmetic.
//!
//! `rsa` 0.9's private operation runs on `num-bigint-dig`, whose time depends on the values
//! (RUSTSEC-2023-0071, "Marvin"); blinding hides the exponent but not the timing of the
//! reductions around it. A vTPM's RSA decryption is reachable by whoever can send commands —
//! TPM2_ActivateCredential decrypts a caller's OAEP ciphertext with the EK — and in a
//! confidential VM the host that may time it is the adversary. Here every step is constant time
//! in the secret values: reductions of `c` into each prime's field are Montgomery products,
//! each exponentiation scans all bits of a fixed-width exponent (its leading zeros too) and
//! every table entry, the recombination `m = m_q + q·((m_p − m_q)·q⁻¹ mod p)` uses masked
//! modular subtraction and a schoolbook product of fixed size. The result is checked by
//! re-encryption (`m^e = c` modulo each prime), also in constant time, against faults.
//!
//! Sizes: primes of up to 8, 16, 24 or 32 limbs (RSA keys up to 4096 bits), the two primes
//! may differ in length (imported keys); `N` is the larger one's limb count.

use super::mont::{self, Modulus};
use super::{CryptoError, RsaPrivateKey};
use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use alloc::vec::Vec;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

/// A key's CRT values as big-endian bytes, kept beside `rsa`'s key.
#[derive(Clone)]
pub(super) struct CrtKey {
    p: Zeroizing<Vec<u8>>,
    q: Zeroizing<Vec<u8>>,
    dp: Zeroizing<Vec<u8>>,
    dq: Zeroizing<Vec<u8>>,
    qinv: Zeroizing<Vec<u8>>,
    n: Vec<u8>,
    e: u32,
    p_bits: usize,
    q_bits: usize,
    n_bits: usize,
}

impl core::fmt::Debug for CrtKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CrtKey({} bits)", self.n_bits)
    }
}

impl CrtKey {
    /// The CRT values of a two-prime key with a public exponent below 2^32; `None` otherwise
    /// (the caller then keeps `rsa`'s own operation).
    pub(super) fn new(key: &RsaPrivateKey) -> Option<CrtKey> {
        let [p, q] = key.primes() else {
            return None;
        };
        let e = num_traits::ToPrimitive::to_u32(key.e())?;
        let (dp, dq) = (key.dp()?, key.dq()?);
        let qinv = key.crt_coefficient()?;
        let k = CrtKey {
            p: Zeroizing::new(p.to_bytes_be()),
            q: Zeroizing::new(q.to_bytes_be()),
            dp: Zeroizing::new(dp.to_bytes_be()),
            dq: Zeroizing::new(dq.to_bytes_be()),
            qinv: Zeroizing::new(qinv.to_bytes_be()),
            n: key.n().to_bytes_be(),
            e,
            p_bits: p.bits(),
            q_bits: q.bits(),
            n_bits: key.n().bits(),
        };
        (k.limbs() <= 32).then_some(k)
    }

    fn limbs(&self) -> usize {
        self.p_bits.max(self.q_bits).div_ceil(64)
    }

    /// `c^d mod n` for `c < n` (big-endian, at most the modulus length), as the modulus-length
    /// big-endian bytes. `Value` if the re-encryption check fails (a fault, or inconsistent
    /// key values).
    pub(super) fn private(&self, c: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(alloc::vec![0u8; self.n.len()]);
        match self.limbs() {
            0..=8 => self.run::<8, 16>(c, &mut out)?,
            9..=16 => self.run::<16, 32>(c, &mut out)?,
            17..=24 => self.run::<24, 48>(c, &mut out)?,
            25..=32 => self.run::<32, 64>(c, &mut out)?,
            _ => return Err(CryptoError::KeySize),
        }
        Ok(out)
    }

    fn run<const N: usize, const N2: usize>(
        &self,
        c: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let val = |b: &[u8]| mont::from_be_bytes::<N>(b).ok_or(CryptoError::Key);
        let (p, q) = (Zeroizing::new(val(&self.p)?), Zeroizing::new(val(&self.q)?));
        let (dp, dq) = (
            Zeroizing::new(val(&self.dp)?),
            Zeroizing::new(val(&self.dq)?),
        );
        let qinv = Zeroizing::new(val(&self.qinv)?);
        let c = mont::from_be_bytes::<N2>(c).ok_or(CryptoError::Value)?;
        let fp = Field::new(&p, self.p_bits)?;
        let fq = Field::new(&q, self.q_bits)?;

        let cp = Zeroizing::new(fp.reduce(&c)); // c·R mod p
        let cq = Zeroizing::new(fq.reduce(&c)); // c·R mod q
        let xp = Zeroizing::new(fp.m.pow(&cp, &dp, 64 * N)); // m_p·R mod p
        let xq = Zeroizing::new(fq.m.pow(&cq, &dq, 64 * N)); // m_q·R mod q
        let m_q = Zeroizing::new(fq.m.out_of_montgomery(&xq));
        // h = (m_p − m_q)·q⁻¹ mod p, in p's Montgomery form (m_q < q < R may exceed p).
        let m_q_p = Zeroizing::new(fp.m.mul(&m_q, &fp.r2));
        let diff = Zeroizing::new(fp.m.sub(&xp, &m_q_p));
        let qinv_m = Zeroizing::new(fp.m.mul(&qinv, &fp.r2));
        let h = Zeroizing::new(fp.m.out_of_montgomery(&fp.m.mul(&diff, &qinv_m)));
        // m = m_q + h·q < n.
        let m = Zeroizing::new(mul_add::<N, N2>(&h, &q, &m_q));

        // m^e = c modulo p and modulo q, which is modulo n = p·q: a fault anywhere above, the
        // recombination included, is caught. Constant time in m (a fixed 32-bit exponent).
        let mut e = [0u64; N];
        e[0] = self.e as u64;
        let mut same = Choice::from(1);
        for (f, cf) in [(&fp, &cp), (&fq, &cq)] {
            let y = f.m.pow(&f.reduce(&m), &e, 32);
            for (a, b) in y.iter().zip(cf.iter()) {
                same &= a.ct_eq(b);
            }
        }
        if !bool::from(same) {
            return Err(CryptoError::Value);
        }
        mont::to_be_bytes(&m, out);
        Ok(())
    }
}

/// A prime's Montgomery modulus with `R² mod m` and `R³ mod m`.
struct Field<const N: usize> {
    m: Modulus<N>,
    r2: Zeroizing<[u64; N]>,
    r3: Zeroizing<[u64; N]>,
}

impl<const N: usize> Field<N> {
    fn new(m: &[u64; N], bits: usize) -> Result<Self, CryptoError> {
        let m = Modulus::new(m, bits).ok_or(CryptoError::Key)?;
        let r2 = Zeroizing::new(m.r2());
        let r3 = Zeroizing::new(m.mul(&r2, &r2));
        Ok(Field { m, r2, r3 })
    }

    /// `x·R mod m` (Montgomery form) for `x` of `N2 ≤ 2N` limbs: with `x = x_hi·R + x_lo`,
    /// `x·R ≡ x_hi·R³ + x_lo·R²`, Montgomery products valid for factors below `R`.
    fn reduce<const N2: usize>(&self, x: &[u64; N2]) -> [u64; N] {
        let mut lo = [0u64; N];
        let mut hi = [0u64; N];
        for (i, &w) in x.iter().enumerate() {
            if let Some(l) = lo.get_mut(i) {
                *l = w;
            } else if let Some(h) = hi.get_mut(i - N) {
                *h = w;
            }
        }
        let out = self
            .m
            .add(&self.m.mul(&hi, &self.r3), &self.m.mul(&lo, &self.r2));
        lo.zeroize();
        hi.zeroize();
        out
    }
}

/// `a·b + c` for `a, b, c` of `N` limbs, in `N2 = 2N` limbs (it fits: `a < p`, `b = q`,
/// `c < q`). Fixed loops, no value-dependent branch.
fn mul_add<const N: usize, const N2: usize>(a: &[u64; N], b: &[u64; N], c: &[u64; N]) -> [u64; N2] {
    let mut t = [0u64; N2];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            if let Some(w) = t.get_mut(i + j) {
                let s = (x as u128) * (y as u128) + (*w as u128) + (carry as u128);
                *w = s as u64;
                carry = (s >> 64) as u64;
            }
        }
        if let Some(w) = t.get_mut(i + N) {
            *w = carry;
        }
    }
    let mut carry = 0u64;
    for (i, w) in t.iter_mut().enumerate() {
        let s = (*w as u128) + (c.get(i).copied().unwrap_or(0) as u128) + (carry as u128);
        *w = s as u64;
        carry = (s >> 64) as u64;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa::{find_prime, RsaPrivate};
    use crate::crypto::Drbg;
    use ::rsa::BigUint;

    fn check(key: &RsaPrivate, drbg: &mut Drbg, rounds: usize) {
        let crt = CrtKey::new(&key.key).expect("two-prime key");
        let n = key.key.n();
        for _ in 0..rounds {
            let mut b = alloc::vec![0u8; key.size()];
            drbg.generate(&mut b, &[]).unwrap();
            let c = BigUint::from_bytes_be(&b) % n;
            let want =
                ::rsa::hazmat::rsa_decrypt_and_check(&key.key, None::<&mut Drbg>, &c).unwrap();
            let got = crt.private(&c.to_bytes_be()).unwrap();
            assert_eq!(BigUint::from_bytes_be(&got), want);
            assert_eq!(got.len(), key.size());
        }
        // 0, 1 and n − 1.
        for c in [BigUint::from(0u32), BigUint::from(1u32), n - 1u32] {
            let want =
                ::rsa::hazmat::rsa_decrypt_and_check(&key.key, None::<&mut Drbg>, &c).unwrap();
            let got = crt.private(&c.to_bytes_be()).unwrap();
            assert_eq!(BigUint::from_bytes_be(&got), want);
        }
    }

    #[test]
    fn agrees_with_the_rsa_crate_for_balanced_and_unbalanced_keys() {
        let mut d = Drbg::new(&[0x5C; 48], b"crt tests");
        for bits in [1024, 2048] {
            let key = RsaPrivate::generate(bits, 0, &mut d).unwrap();
            check(&key, &mut d, 8);
        }
        // Primes of different lengths (an imported key): 504 and 520 bits, q > p.
        let p = find_prime(504, 0, |b| d.generate(b, &[])).unwrap();
        let q = find_prime(520, 0, |b| d.generate(b, &[])).unwrap();
        check(&RsaPrivate::from_primes(&p, &q, 0).unwrap(), &mut d, 8);
        check(&RsaPrivate::from_primes(&q, &p, 0).unwrap(), &mut d, 8);
        // A small public exponent other than 65537.
        let p = find_prime(512, 3, |b| d.generate(b, &[])).unwrap();
        let q = find_prime(512, 3, |b| d.generate(b, &[])).unwrap();
        check(&RsaPrivate::from_primes(&p, &q, 3).unwrap(), &mut d, 4);
    }

    #[test]
    fn a_wrong_exponent_fails_the_re_encryption_check() {
        let mut d = Drbg::new(&[0x5D; 48], b"crt fault");
        let key = RsaPrivate::generate(1024, 0, &mut d).unwrap();
        let mut crt = CrtKey::new(&key.key).unwrap();
        let last = crt.dp.len() - 1;
        crt.dp[last] ^= 2; // a fault in d_p
        let c = [0x42u8; 100];
        assert_eq!(crt.private(&c).unwrap_err(), CryptoError::Value);
    }
}
