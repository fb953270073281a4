//! Fixed-width Montgomery arithmetic modulo an odd `m` of `N` 64-bit limbs (little-endian), for
//! the Miller–Rabin tests of the prime search ([`super::prime`]).
//!
//! Values are kept in Montgomery form `x·R mod m`, `R = 2^(64·N)`, always fully reduced
//! (`< m`). Multiplication is product scanning with the reduction interleaved (Koç, Acar and
//! Kaliski, "Analyzing and comparing Montgomery multiplication algorithms", IEEE Micro 1996:
//! the "FIPS" method); squaring uses it too (a dedicated squaring with a quarter fewer
//! products measured no faster here: the loops are bound by the 64×64-bit multiplier).
//! Every operation runs in time independent of the values: no branch or index depends on them,
//! the final subtraction is a masked select. Exponentiation scans every bit of the exponent and
//! every table entry. Only the *number* of squarings after `d` in a Miller–Rabin round (the
//! 2-adic valuation of `m − 1`) and the round's verdict shape the running time, as in every
//! Miller–Rabin implementation.
//!
//! `num-bigint-dig`'s `modpow` (what the `rsa` crate uses) computes the same thing through
//! heap-allocated digit vectors: one 1024-bit modular exponentiation takes about 685 µs there
//! and about 450 µs here (a 16-limb product 0.44 µs, AMD EPYC Zen 4).

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// A 192-bit column accumulator for product scanning.
#[derive(Default, Clone, Copy)]
struct Acc {
    lo: u64,
    hi: u64,
    top: u64,
}

impl Acc {
    /// `acc += x·y`.
    #[inline(always)]
    fn add(&mut self, x: u64, y: u64) {
        let p = (x as u128) * (y as u128);
        let (s, c) = (((self.hi as u128) << 64) | self.lo as u128).overflowing_add(p);
        self.lo = s as u64;
        self.hi = (s >> 64) as u64;
        self.top += c as u64;
    }

    /// `acc += Σ x[i]·y[len−1−i]`: `y` is read backwards (a column of a product).
    #[inline(always)]
    fn dot(&mut self, x: &[u64], y: &[u64]) {
        let n = x.len().min(y.len());
        let (x, y) = (&x[..n], &y[y.len() - n..]);
        // Two products per step: the low halves and the high halves go into separate
        // accumulators, so the two carry chains overlap.
        let (mut lo, mut hi) = (
            self.lo as u128,
            ((self.top as u128) << 64) | self.hi as u128,
        );
        for (xs, ys) in x.chunks_exact(2).zip(y.rchunks_exact(2)) {
            let p0 = (xs[0] as u128) * (ys[1] as u128);
            let p1 = (xs[1] as u128) * (ys[0] as u128);
            lo += (p0 as u64) as u128 + (p1 as u64) as u128;
            hi += (p0 >> 64) + (p1 >> 64);
        }
        if n % 2 == 1 {
            let p = (x[n - 1] as u128) * (y[0] as u128);
            lo += (p as u64) as u128;
            hi += p >> 64;
        }
        hi += lo >> 64;
        self.lo = lo as u64;
        self.hi = hi as u64;
        self.top = (hi >> 64) as u64;
    }

    /// Drop the low word (a column is complete).
    #[inline(always)]
    fn shift(&mut self) {
        (self.lo, self.hi, self.top) = (self.hi, self.top, 0);
    }
}

/// `a + b` over `N` limbs with the final carry (0 or 1).
#[inline(always)]
fn add_limbs<const N: usize>(a: &[u64; N], b: &[u64; N]) -> ([u64; N], u64) {
    let mut out = [0u64; N];
    let mut carry = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (s1, c1) = x.overflowing_add(y);
        let (s2, c2) = s1.overflowing_add(carry);
        *o = s2;
        carry = (c1 | c2) as u64;
    }
    (out, carry)
}

/// `a − b` over `N` limbs with the final borrow (0 or 1).
#[inline(always)]
fn sub<const N: usize>(a: &[u64; N], b: &[u64; N]) -> ([u64; N], u64) {
    let mut out = [0u64; N];
    let mut borrow = 0u64;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (d, b1) = x.overflowing_sub(y);
        let (d, b2) = d.overflowing_sub(borrow);
        *o = d;
        borrow = (b1 | b2) as u64;
    }
    (out, borrow)
}

/// `a` where `choice` is 0, `b` where it is 1, limb by limb in constant time.
#[inline(always)]
fn select<const N: usize>(a: &[u64; N], b: &[u64; N], choice: Choice) -> [u64; N] {
    let mut out = *a;
    for (o, &y) in out.iter_mut().zip(b) {
        o.conditional_assign(&y, choice);
    }
    out
}

/// Constant-time equality of two limb arrays.
fn equal<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    let mut eq = Choice::from(1);
    for (&x, &y) in a.iter().zip(b) {
        eq &= x.ct_eq(&y);
    }
    bool::from(eq)
}

/// An odd modulus with what Montgomery multiplication needs. The copies of the modulus and of
/// `R mod m` are wiped on drop (the modulus is a candidate prime of a private key).
pub(super) struct Modulus<const N: usize> {
    m: [u64; N],
    /// `−m⁻¹ mod 2^64`.
    minv: u64,
    /// `R mod m`: 1 in Montgomery form.
    one: [u64; N],
    /// `m − (R mod m)`: −1 in Montgomery form.
    minus_one: [u64; N],
}

impl<const N: usize> Drop for Modulus<N> {
    fn drop(&mut self) {
        self.m.zeroize();
        self.one.zeroize();
        self.minus_one.zeroize();
    }
}

impl<const N: usize> core::fmt::Debug for Modulus<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Modulus<{N}>")
    }
}

impl<const N: usize> Modulus<N> {
    /// The modulus `m`, which must be odd with bit `bits − 1` its highest set bit
    /// (`2 ≤ bits ≤ 64·N`); `None` otherwise.
    pub(super) fn new(m: &[u64; N], bits: usize) -> Option<Self> {
        if N == 0 || bits < 2 || bits > 64 * N || m[0] & 1 == 0 || bit_length(m) != bits {
            return None;
        }
        // Newton's iteration doubles the number of correct low bits of m⁻¹ mod 2^64; an odd
        // m is its own inverse modulo 8.
        let mut inv = m[0];
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m[0].wrapping_mul(inv)));
        }
        let mut me = Modulus {
            m: *m,
            minv: inv.wrapping_neg(),
            one: [0; N],
            minus_one: [0; N],
        };
        // 2^bits − m < m because 2^(bits−1) ≤ m, so it is 2^bits mod m; doubling it
        // 64·N − bits times gives R mod m.
        let mut pow = [0u64; N];
        if let Some(limb) = pow.get_mut(bits / 64) {
            *limb = 1 << (bits % 64);
        }
        let (mut one, _) = sub(&pow, m); // wraps to R − m when bits = 64·N
        for _ in bits..64 * N {
            one = me.double(&one);
        }
        me.minus_one = sub(m, &one).0;
        me.one = one;
        Some(me)
    }

    /// 1 in Montgomery form.
    #[cfg(test)]
    pub(super) fn one(&self) -> &[u64; N] {
        &self.one
    }

    /// −1 in Montgomery form.
    #[cfg(test)]
    pub(super) fn minus_one(&self) -> &[u64; N] {
        &self.minus_one
    }

    /// `2x mod m` for `x < m`.
    pub(super) fn double(&self, x: &[u64; N]) -> [u64; N] {
        let mut y = [0u64; N];
        let mut carry = 0u64;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v << 1) | carry;
            carry = v >> 63;
        }
        let (d, borrow) = sub(&y, &self.m);
        // 2x ≥ m exactly when the doubling carried out or the subtraction did not borrow.
        select(&y, &d, Choice::from(((carry | (borrow ^ 1)) & 1) as u8))
    }

    /// Montgomery product `a·b·R⁻¹ mod m` of `a, b < m`.
    ///
    /// Product scanning with the reduction interleaved (Koç–Acar–Kaliski's "FIPS" method):
    /// column `k` of `a·b + q·m` is summed into a three-word accumulator that stays in
    /// registers, and `q[k]` is chosen as soon as column `k` is complete so that the column's
    /// low word vanishes. Columns `N..2N` are the result.
    pub(super) fn mul(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let m = &self.m;
        let mut q = [0u64; N];
        let mut t = [0u64; N];
        let mut acc = Acc::default();
        for k in 0..N {
            // Column k: a[i]·b[k−i] and q[i]·m[k−i] for i < k, then a[k]·b[0] and q[k]·m[0].
            acc.dot(&a[..k], &b[1..=k]);
            acc.dot(&q[..k], &m[1..=k]);
            acc.add(a[k], b[0]);
            q[k] = acc.lo.wrapping_mul(self.minv);
            acc.add(q[k], m[0]);
            acc.shift();
        }
        for k in N..2 * N - 1 {
            // Column k: i from k+1−N to N−1.
            acc.dot(&a[k + 1 - N..], &b[k + 1 - N..]);
            acc.dot(&q[k + 1 - N..], &m[k + 1 - N..]);
            t[k - N] = acc.lo;
            acc.shift();
        }
        self.finish(t, acc)
    }

    /// The last column: `t + hi·R < 2m`, less `m` once if it is at least `m`.
    fn finish(&self, mut t: [u64; N], acc: Acc) -> [u64; N] {
        t[N - 1] = acc.lo;
        let (d, borrow) = sub(&t, &self.m);
        select(&t, &d, Choice::from(((acc.hi | (borrow ^ 1)) & 1) as u8))
    }

    /// `R² mod m`, by doubling `R mod m` `64·N` times.
    pub(super) fn r2(&self) -> [u64; N] {
        let mut r2 = self.one;
        for _ in 0..64 * N {
            r2 = self.double(&r2);
        }
        r2
    }

    /// `x` in Montgomery form: `x·R mod m`, computed as `x·R²·R⁻¹`. Any `x < R` (not only
    /// `x < m`): the product with `R² mod m < m` stays below `2m` before the final subtraction.
    pub(super) fn to_montgomery(&self, x: &[u64; N]) -> [u64; N] {
        let mut r2 = self.r2();
        let out = self.mul(x, &r2);
        r2.zeroize();
        out
    }

    /// `x` (Montgomery form) back in ordinary form: `x·R⁻¹ mod m`.
    pub(super) fn out_of_montgomery(&self, x: &[u64; N]) -> [u64; N] {
        let mut one = [0u64; N];
        one[0] = 1;
        self.mul(x, &one)
    }

    /// `a + b mod m` for `a, b < m`.
    pub(super) fn add(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let (y, carry) = add_limbs(a, b);
        let (d, borrow) = sub(&y, &self.m);
        select(&y, &d, Choice::from(((carry | (borrow ^ 1)) & 1) as u8))
    }

    /// `a − b mod m` for `a, b < m`.
    pub(super) fn sub(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let (d, borrow) = sub(a, b);
        let (fixed, _) = add_limbs(&d, &self.m);
        select(&d, &fixed, Choice::from((borrow & 1) as u8))
    }

    /// `2^e` in Montgomery form, `e` given by its limbs and bit length: left to right, a
    /// squaring per bit and a doubling selected by the bit (computed whatever the bit).
    pub(super) fn pow2(&self, e: &[u64; N], e_bits: usize) -> [u64; N] {
        let mut x = self.one;
        for i in (0..e_bits.min(64 * N)).rev() {
            x = self.mul(&x, &x);
            let d = self.double(&x);
            let bit = (e[i / 64] >> (i % 64)) & 1;
            x = select(&x, &d, Choice::from(bit as u8));
        }
        x
    }

    /// `b^e` for `b` in Montgomery form: fixed 4-bit windows from the top, each four
    /// squarings and one multiplication by a table entry chosen by scanning all sixteen.
    pub(super) fn pow(&self, b: &[u64; N], e: &[u64; N], e_bits: usize) -> [u64; N] {
        let mut table = [[0u64; N]; 16];
        table[0] = self.one;
        for k in 1..16 {
            table[k] = self.mul(&table[k - 1], b);
        }
        let windows = e_bits.min(64 * N).div_ceil(4);
        let mut x = self.one;
        for w in (0..windows).rev() {
            for _ in 0..4 {
                x = self.mul(&x, &x);
            }
            let bit = 4 * w;
            let nibble = ((e[bit / 64] >> (bit % 64)) & 0xF) as u8;
            let mut entry = table[0];
            for (k, t) in table.iter().enumerate().skip(1) {
                let hit = (k as u8).ct_eq(&nibble);
                for (o, &v) in entry.iter_mut().zip(t) {
                    o.conditional_assign(&v, hit);
                }
            }
            x = self.mul(&x, &entry);
            entry.zeroize();
        }
        table.zeroize();
        x
    }

    /// Whether `x` (Montgomery form) is 1.
    pub(super) fn is_one(&self, x: &[u64; N]) -> bool {
        equal(x, &self.one)
    }

    /// Whether `x` (Montgomery form) is −1.
    pub(super) fn is_minus_one(&self, x: &[u64; N]) -> bool {
        equal(x, &self.minus_one)
    }
}

/// Number of significant bits.
pub(super) fn bit_length<const N: usize>(x: &[u64; N]) -> usize {
    x.iter()
        .rposition(|&l| l != 0)
        .map_or(0, |i| 64 * i + 64 - x[i].leading_zeros() as usize)
}

/// Big-endian bytes (at most `8·N`) as little-endian limbs; `None` if too long.
pub(super) fn from_be_bytes<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    if bytes.len() > 8 * N {
        return None;
    }
    let mut out = [0u64; N];
    for (limb, chunk) in out.iter_mut().zip(bytes.rchunks(8)) {
        let mut w = [0u8; 8];
        w[8 - chunk.len()..].copy_from_slice(chunk);
        *limb = u64::from_be_bytes(w);
    }
    Some(out)
}

/// The low `len` bytes of `x`, big-endian, into `out` (`out.len() = len ≤ 8·N`).
pub(super) fn to_be_bytes<const N: usize>(x: &[u64; N], out: &mut [u8]) {
    let len = out.len();
    for (i, o) in out.iter_mut().enumerate() {
        let k = len - 1 - i; // byte index from the least significant end
        *o = x.get(k / 8).map_or(0, |l| (l >> (8 * (k % 8))) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa::BigUint;
    use num_traits::One;

    fn big<const N: usize>(x: &[u64; N]) -> BigUint {
        let mut b = [0u8; 512];
        to_be_bytes(x, &mut b[..8 * N]);
        BigUint::from_bytes_be(&b[..8 * N])
    }

    fn limbs<const N: usize>(x: &BigUint) -> [u64; N] {
        from_be_bytes(&x.to_bytes_be()).unwrap()
    }

    /// A deterministic stream of limbs (SplitMix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn limbs<const N: usize>(&mut self) -> [u64; N] {
            core::array::from_fn(|_| self.next())
        }
    }

    fn check_arithmetic<const N: usize>(bits: usize, rng: &mut Rng) {
        // Odd, exactly `bits` bits.
        let low = big(&rng.limbs::<N>()) % (BigUint::one() << bits);
        let m: [u64; N] = limbs(&(low | (BigUint::one() << (bits - 1)) | BigUint::one()));
        let md = Modulus::new(&m, bits).unwrap();
        let mb = big(&m);
        let r = BigUint::one() << (64 * N);
        assert_eq!(big(md.one()), &r % &mb, "R mod m");
        assert_eq!(big(md.minus_one()), &mb - (&r % &mb));
        let rinv_check = |x: &BigUint| (x * &r) % &mb; // maps ordinary → Montgomery
        for _ in 0..20 {
            let a = big(&rng.limbs::<N>()) % &mb;
            let b = big(&rng.limbs::<N>()) % &mb;
            let (am, bm) = (limbs::<N>(&rinv_check(&a)), limbs::<N>(&rinv_check(&b)));
            assert_eq!(big(&md.to_montgomery(&limbs(&a))), rinv_check(&a));
            assert_eq!(big(&md.mul(&am, &bm)), rinv_check(&(&a * &b % &mb)));
            let top = limbs::<N>(&(&mb - BigUint::one())); // the largest operand
            let x = big(&top);
            assert_eq!(big(&md.mul(&top, &top)) * &r % &mb, &x * &x % &mb);
            assert_eq!(big(&md.double(&am)), rinv_check(&((&a << 1) % &mb)));
            assert_eq!(big(&md.add(&am, &bm)), rinv_check(&((&a + &b) % &mb)));
            assert_eq!(big(&md.sub(&am, &bm)), rinv_check(&((&a + &mb - &b) % &mb)));
            assert_eq!(big(&md.out_of_montgomery(&am)), a);
            // Any x below R, not only below m.
            let x = big(&rng.limbs::<N>());
            assert_eq!(big(&md.to_montgomery(&limbs(&x))), rinv_check(&(&x % &mb)));
            let e = big(&rng.limbs::<N>()) >> (rng.next() % 64) as usize;
            let el: [u64; N] = limbs(&e);
            let eb = e.bits();
            assert_eq!(
                big(&md.pow(&am, &el, eb)),
                rinv_check(&a.modpow(&e, &mb)),
                "pow"
            );
            let two = BigUint::from(2u32);
            assert_eq!(
                big(&md.pow2(&el, eb)),
                rinv_check(&two.modpow(&e, &mb)),
                "pow2"
            );
        }
    }

    #[test]
    fn arithmetic_agrees_with_num_bigint() {
        let mut rng = Rng(1);
        for bits in [64, 100, 500, 512] {
            check_arithmetic::<8>(bits, &mut rng);
        }
        check_arithmetic::<16>(1024, &mut rng);
        check_arithmetic::<16>(1000, &mut rng);
        check_arithmetic::<24>(1536, &mut rng);
        check_arithmetic::<32>(2048, &mut rng);
        check_arithmetic::<1>(61, &mut rng);
    }

    #[test]
    fn modulus_rejects_even_or_mis_sized_values() {
        assert!(Modulus::<2>::new(&[4, 1], 65).is_none());
        assert!(Modulus::<2>::new(&[5, 1], 66).is_none());
        assert!(Modulus::<2>::new(&[5, 1], 129).is_none());
        assert!(Modulus::<2>::new(&[5, 1], 0).is_none());
        assert!(Modulus::<2>::new(&[5, 1], 65).is_some());
    }

    #[test]
    fn byte_conversions_round_trip() {
        let b: [u8; 11] = core::array::from_fn(|i| i as u8 + 1);
        let l: [u64; 2] = from_be_bytes(&b).unwrap();
        assert_eq!(l, [0x0405_0607_0809_0a0b, 0x01_0203]);
        let mut out = [0u8; 11];
        to_be_bytes(&l, &mut out);
        assert_eq!(out, b);
        assert!(from_be_bytes::<1>(&b).is_none());
        assert_eq!(bit_length(&l), 64 + 17);
    }
}
