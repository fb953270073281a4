//! The P-256 base field GF(p), `p = 2^256 − 2^224 + 2^192 + 2^96 − 1` (FIPS 186-4 D.1.2.3,
//! SP 800-186 3.2.1.3), for the variable-base multiplication of [`super::varmul`].
//!
//! Elements are in Montgomery form, `x·2^256 mod p`, with the same word-by-word reduction as
//! `p256`'s field ([`mont_reduce`]); what differs is around it. `p256` 0.13 makes every
//! operation an out-of-line call (an addition costs 16 ns there, 3.4 here) and squares with a
//! full multiplication; here every operation is inlined into the point formulas and a square
//! takes the 10 products of the schoolbook with the cross products counted once, against 16.
//! A multiplication then costs 17.7 ns against 30.2 (latency, this machine) and P-256 `d·Q`
//! 71 µs against 96 (68 µs since inversion is by safegcd, [`super::p256_inv`]). A reduction by the special form of `p` alone (FIPS 186-4 D.2.3), tried
//! first, needs no products but about 145 instructions on 32-bit words and came out slower
//! (80 µs): the multiplier is not what limits these loops, the instruction count is.
//!
//! Elements are always fully reduced, in `[0, p)`, so equality is equality of the limbs.
//! Constant time: no branch and no index depends on a value; the corrections into `[0, p)` are
//! computed whatever the value and chosen by masks made from carries.

use core::ops::{Add, Mul, Neg, Sub};
use elliptic_curve::subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};

/// `p` in little-endian 64-bit limbs.
const P: [u64; 4] = [
    0xFFFF_FFFF_FFFF_FFFF,
    0x0000_0000_FFFF_FFFF,
    0x0000_0000_0000_0000,
    0xFFFF_FFFF_0000_0001,
];

/// `δ = 2^256 − p = 2^224 − 2^192 − 2^96 + 1`, so `2^256 ≡ δ (mod p)` and, for `x` below
/// `2^256`, `x − p ≡ x + δ (mod 2^256)`.
const DELTA: [u64; 4] = [
    0x0000_0000_0000_0001,
    0xFFFF_FFFF_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
    0x0000_0000_FFFF_FFFE,
];

/// An element of GF(p) for P-256 in Montgomery form: `x·2^256 mod p` in four little-endian
/// 64-bit limbs, in `[0, p)`.
#[derive(Clone, Copy, Default)]
pub(super) struct FieldElement([u64; 4]);

/// `a + b + carry`, and the carry out (0 or 1).
#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a − b − borrow` (`borrow` 0 or 1), and the borrow out (0 or 1).
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = u128::from(a)
        .wrapping_sub(u128::from(b))
        .wrapping_sub(u128::from(borrow));
    (t as u64, (t >> 127) as u64)
}

/// `acc + a·b + carry` as a low and a high limb (it cannot exceed `2^128 − 1`).
#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(acc) + u128::from(a) * u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `x − p` for the 257-bit `x = x_256·2^256 + (limbs)` in `[0, 2p)` if it is at least `p`, else
/// `x`. `x + δ` is computed whatever `x`: its low 256 bits are `x − p` when that is not
/// negative, which is when `x_256` is set or the addition carries; a mask from those chooses.
#[inline(always)]
fn sub_p_if_at_least_p(x: &[u64; 4], x_256: u64) -> [u64; 4] {
    let (s0, c) = adc(x[0], DELTA[0], 0);
    let (s1, c) = adc(x[1], DELTA[1], c);
    let (s2, c) = adc(x[2], DELTA[2], c);
    let (s3, c) = adc(x[3], DELTA[3], c);
    let take = (c | x_256).wrapping_neg();
    [
        x[0] ^ ((x[0] ^ s0) & take),
        x[1] ^ ((x[1] ^ s1) & take),
        x[2] ^ ((x[2] ^ s2) & take),
        x[3] ^ ((x[3] ^ s3) & take),
    ]
}

/// Montgomery reduction `r·2^-256 mod p` of `r < p·2^256` (the product of two elements),
/// word by word (Handbook of Applied Cryptography 14.32) with P-256's shortcuts, as `p256`'s
/// own: `−p⁻¹ ≡ 1 (mod 2^64)`, so each round's multiplier is the round's low word itself;
/// `p`'s low limb is `2^64 − 1`, whose product with that word plus the word is the word shifted
/// up one limb; `p`'s third limb is 0. Eight products in all; the result, below `2p`, is
/// brought into `[0, p)` by [`sub_p_if_at_least_p`].
#[inline(always)]
fn mont_reduce(r: &[u64; 8]) -> [u64; 4] {
    const P1: u64 = 0x0000_0000_FFFF_FFFF;
    const P3: u64 = 0xFFFF_FFFF_0000_0001;
    let (r0, r1, r2, r3, r4, r5, r6, r7) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    let (r1, carry) = mac(r1, r0, P1, r0);
    let (r2, carry) = adc(r2, 0, carry);
    let (r3, carry) = mac(r3, r0, P3, carry);
    let (r4, carry2) = adc(r4, 0, carry);
    let (r2, carry) = mac(r2, r1, P1, r1);
    let (r3, carry) = adc(r3, 0, carry);
    let (r4, carry) = mac(r4, r1, P3, carry);
    let (r5, carry2) = adc(r5, carry2, carry);
    let (r3, carry) = mac(r3, r2, P1, r2);
    let (r4, carry) = adc(r4, 0, carry);
    let (r5, carry) = mac(r5, r2, P3, carry);
    let (r6, carry2) = adc(r6, carry2, carry);
    let (r4, carry) = mac(r4, r3, P1, r3);
    let (r5, carry) = adc(r5, 0, carry);
    let (r6, carry) = mac(r6, r3, P3, carry);
    let (r7, r8) = adc(r7, carry2, carry);
    sub_p_if_at_least_p(&[r4, r5, r6, r7], r8)
}

/// `R² mod p`, `R = 2^256`: a Montgomery product with it takes an integer into Montgomery form.
const R2: FieldElement = FieldElement([
    0x0000_0000_0000_0003,
    0xFFFF_FFFB_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFE,
    0x0000_0004_FFFF_FFFD,
]);

/// `R³ mod p`: a Montgomery product with it takes `a⁻¹R⁻¹` to `a⁻¹R`.
const R3: FieldElement = FieldElement([
    0xFFFF_FFFD_0000_000A,
    0xFFFF_FFED_FFFF_FFF7,
    0x0000_0005_FFFF_FFFC,
    0x0000_0018_0000_0001,
]);

impl FieldElement {
    pub(super) const ZERO: Self = FieldElement([0; 4]);
    pub(super) const ONE: Self = FieldElement(DELTA);

    /// The element of the big-endian `bytes` (SEC 1 2.3.6, octet string to field element); none
    /// if the integer is not below `p`.
    pub(super) fn from_bytes(bytes: &[u8; 32]) -> CtOption<Self> {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().rev().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(word);
        }
        let (_, b) = sbb(limbs[0], P[0], 0);
        let (_, b) = sbb(limbs[1], P[1], b);
        let (_, b) = sbb(limbs[2], P[2], b);
        let (_, b) = sbb(limbs[3], P[3], b);
        CtOption::new(FieldElement(limbs) * R2, Choice::from(b as u8))
    }

    /// The 32 big-endian bytes of the element.
    pub(super) fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let l = mont_reduce(&[self.0[0], self.0[1], self.0[2], self.0[3], 0, 0, 0, 0]);
        for (chunk, limb) in out.chunks_exact_mut(8).zip(l.iter().rev()) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// `a² mod p`: the 6 cross products `a_i·a_j` (`i < j`) once, doubled by a shift, plus the
    /// 4 squares `a_i²`: 10 products. Then [`mont_reduce`].
    #[inline(always)]
    pub(super) fn square(&self) -> Self {
        let a = &self.0;
        let wide = |x: u64, y: u64| {
            let t = u128::from(x) * u128::from(y);
            (t as u64, (t >> 64) as u64)
        };
        let (p01, q01) = wide(a[0], a[1]);
        let (p02, q02) = wide(a[0], a[2]);
        let (p03, q03) = wide(a[0], a[3]);
        let (p12, q12) = wide(a[1], a[2]);
        let (p13, q13) = wide(a[1], a[3]);
        let (p23, q23) = wide(a[2], a[3]);

        // The cross products, words 1 to 6.
        let w1 = p01;
        let (w2, c) = adc(q01, p02, 0);
        let (w3, c) = adc(q02, p03, c);
        let (w4, c) = adc(q03, p13, c);
        let (w5, c) = adc(q13, p23, c);
        let (w6, _) = adc(q23, 0, c);
        let (w3, c) = adc(w3, p12, 0);
        let (w4, c) = adc(w4, q12, c);
        let (w5, c) = adc(w5, 0, c);
        let (w6, _) = adc(w6, 0, c);

        // Doubled.
        let w7 = w6 >> 63;
        let w6 = (w6 << 1) | (w5 >> 63);
        let w5 = (w5 << 1) | (w4 >> 63);
        let w4 = (w4 << 1) | (w3 >> 63);
        let w3 = (w3 << 1) | (w2 >> 63);
        let w2 = (w2 << 1) | (w1 >> 63);
        let w1 = w1 << 1;

        // Plus the squares.
        let (d0, e0) = wide(a[0], a[0]);
        let (d1, e1) = wide(a[1], a[1]);
        let (d2, e2) = wide(a[2], a[2]);
        let (d3, e3) = wide(a[3], a[3]);
        let (w1, c) = adc(w1, e0, 0);
        let (w2, c) = adc(w2, d1, c);
        let (w3, c) = adc(w3, e1, c);
        let (w4, c) = adc(w4, d2, c);
        let (w5, c) = adc(w5, e2, c);
        let (w6, c) = adc(w6, d3, c);
        let (w7, _) = adc(w7, e3, c);

        FieldElement(mont_reduce(&[d0, w1, w2, w3, w4, w5, w6, w7]))
    }

    /// `2a mod p`.
    #[inline]
    pub(super) fn double(&self) -> Self {
        *self + *self
    }

    /// `a⁻¹`, none for 0: the integer inverse of the Montgomery form `aR` by safegcd
    /// ([`super::p256_inv`]), `a⁻¹R⁻¹`, taken back to `a⁻¹R` by a Montgomery product with
    /// `R³ mod p`.
    pub(super) fn invert(&self) -> CtOption<Self> {
        let inverse = FieldElement(super::p256_inv::invert(&self.0)) * R3;
        CtOption::new(inverse, !self.is_zero())
    }

    pub(super) fn is_zero(&self) -> Choice {
        self.ct_eq(&FieldElement::ZERO)
    }
}

impl ConditionallySelectable for FieldElement {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        FieldElement([
            u64::conditional_select(&a.0[0], &b.0[0], choice),
            u64::conditional_select(&a.0[1], &b.0[1], choice),
            u64::conditional_select(&a.0[2], &b.0[2], choice),
            u64::conditional_select(&a.0[3], &b.0[3], choice),
        ])
    }
}

impl ConstantTimeEq for FieldElement {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0[0].ct_eq(&other.0[0])
            & self.0[1].ct_eq(&other.0[1])
            & self.0[2].ct_eq(&other.0[2])
            & self.0[3].ct_eq(&other.0[3])
    }
}

impl PartialEq for FieldElement {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for FieldElement {}

impl core::fmt::Debug for FieldElement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FieldElement(0x")?;
        for b in self.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl Mul for FieldElement {
    type Output = Self;
    /// `a·b mod p`: the 16 products of the schoolbook, then [`mont_reduce`].
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        let (a, b) = (&self.0, &rhs.0);
        let (w0, c) = mac(0, a[0], b[0], 0);
        let (w1, c) = mac(0, a[0], b[1], c);
        let (w2, c) = mac(0, a[0], b[2], c);
        let (w3, w4) = mac(0, a[0], b[3], c);

        let (w1, c) = mac(w1, a[1], b[0], 0);
        let (w2, c) = mac(w2, a[1], b[1], c);
        let (w3, c) = mac(w3, a[1], b[2], c);
        let (w4, w5) = mac(w4, a[1], b[3], c);

        let (w2, c) = mac(w2, a[2], b[0], 0);
        let (w3, c) = mac(w3, a[2], b[1], c);
        let (w4, c) = mac(w4, a[2], b[2], c);
        let (w5, w6) = mac(w5, a[2], b[3], c);

        let (w3, c) = mac(w3, a[3], b[0], 0);
        let (w4, c) = mac(w4, a[3], b[1], c);
        let (w5, c) = mac(w5, a[3], b[2], c);
        let (w6, w7) = mac(w6, a[3], b[3], c);

        FieldElement(mont_reduce(&[w0, w1, w2, w3, w4, w5, w6, w7]))
    }
}

impl Add for FieldElement {
    type Output = Self;
    /// `a + b mod p`: the 257-bit sum, less `p` if it is at least `p`.
    #[inline]
    fn add(self, rhs: Self) -> Self {
        let (a, b) = (&self.0, &rhs.0);
        let (s0, c) = adc(a[0], b[0], 0);
        let (s1, c) = adc(a[1], b[1], c);
        let (s2, c) = adc(a[2], b[2], c);
        let (s3, c) = adc(a[3], b[3], c);
        FieldElement(sub_p_if_at_least_p(&[s0, s1, s2, s3], c))
    }
}

impl Sub for FieldElement {
    type Output = Self;
    /// `a − b mod p`: the difference, plus `p` masked by the borrow.
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        let (a, b) = (&self.0, &rhs.0);
        let (d0, br) = sbb(a[0], b[0], 0);
        let (d1, br) = sbb(a[1], b[1], br);
        let (d2, br) = sbb(a[2], b[2], br);
        let (d3, br) = sbb(a[3], b[3], br);
        let mask = br.wrapping_neg();
        let (d0, c) = adc(d0, P[0] & mask, 0);
        let (d1, c) = adc(d1, P[1] & mask, c);
        let (d2, c) = adc(d2, P[2] & mask, c);
        let (d3, _) = adc(d3, P[3] & mask, c);
        FieldElement([d0, d1, d2, d3])
    }
}

impl Neg for FieldElement {
    type Output = Self;
    /// `−a mod p`, as `0 − a` (so 0 stays 0).
    #[inline]
    fn neg(self) -> Self {
        FieldElement::ZERO - self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Drbg;
    use alloc::vec::Vec;
    use elliptic_curve::PrimeField;
    use num_bigint_dig::BigUint;

    /// `p256`'s field element (Montgomery form), the reference.
    type Reference = <p256::NistP256 as primeorder::PrimeCurveParams>::FieldElement;

    fn to_reference(a: &FieldElement) -> Reference {
        Option::from(Reference::from_repr(a.to_bytes().into())).unwrap()
    }

    fn from_reference(a: &Reference) -> FieldElement {
        let bytes: [u8; 32] = a.to_repr().into();
        Option::from(FieldElement::from_bytes(&bytes)).unwrap()
    }

    /// The 32 big-endian bytes of an integer given as little-endian limbs.
    fn limbs_to_bytes(limbs: [u64; 4]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(limbs.iter().rev()) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// The element whose integer (not its Montgomery form) has these limbs.
    fn from_limbs(limbs: [u64; 4]) -> FieldElement {
        Option::from(FieldElement::from_bytes(&limbs_to_bytes(limbs))).unwrap()
    }

    fn modulus() -> BigUint {
        BigUint::from_bytes_be(&limbs_to_bytes(P))
    }

    /// Operands at the edges: 0, 1, 2, `p − 1`, `p − 2`, `(p − 1)/2`, `2^255`, powers of two at
    /// the word boundaries of the reduction, limbs of all ones below `p`, `p`'s own limb pattern
    /// with a limb changed, and `2^256 − p`.
    fn edge_operands() -> Vec<FieldElement> {
        const M: u64 = u64::MAX;
        Vec::from([
            from_limbs([0, 0, 0, 0]),
            from_limbs([1, 0, 0, 0]),
            from_limbs([2, 0, 0, 0]),
            from_limbs([P[0] - 1, P[1], P[2], P[3]]),
            from_limbs([P[0] - 2, P[1], P[2], P[3]]),
            from_limbs([M, M >> 33, 1 << 63, P[3] >> 1]),
            from_limbs([0, 0, 0, 1 << 63]),
            from_limbs([M, M, M, M >> 1]),
            from_limbs([M, M, M, 0xFFFF_FFFF_0000_0000]),
            from_limbs([M, M, M, 0xFFFF_FFFE_FFFF_FFFF]),
            from_limbs([M, M >> 32, M, 0xFFFF_FFFF_0000_0000]),
            from_limbs([0, 1 << 32, 0, 0]),
            from_limbs([0, 0, 0, 1]),
            from_limbs([0, 0, 0, 1 << 32]),
            from_limbs([M, 0, 0, 0]),
            from_limbs([0, M, 0, 0]),
            from_limbs([0, 0, M, 0]),
            from_limbs([M, M, 0, 0]),
            from_limbs([0xFFFF_FFFF_0000_0000, M, M, 0xFFFF_FFFF_0000_0000]),
            from_limbs([1, 0xFFFF_FFFF_0000_0000, M, 0xFFFF_FFFE]),
        ])
    }

    /// A random element: 32 bytes from the DRBG, redrawn until below `p`.
    fn random(drbg: &mut Drbg) -> FieldElement {
        loop {
            let mut b = [0u8; 32];
            drbg.generate(&mut b, &[]).unwrap();
            if let Some(e) = Option::from(FieldElement::from_bytes(&b)) {
                return e;
            }
        }
    }

    /// Every operation against `p256`'s on `a` and `b`.
    fn check_pair(a: &FieldElement, b: &FieldElement) {
        let (ra, rb) = (to_reference(a), to_reference(b));
        assert_eq!(*a * *b, from_reference(&(ra * rb)), "{a:?} · {b:?}");
        assert_eq!(a.square(), from_reference(&ra.square()), "{a:?}²");
        assert_eq!(*a + *b, from_reference(&(ra + rb)), "{a:?} + {b:?}");
        assert_eq!(*a - *b, from_reference(&(ra - rb)), "{a:?} − {b:?}");
        assert_eq!(-*a, from_reference(&-ra), "−{a:?}");
        assert_eq!(a.double(), from_reference(&ra.double()), "2·{a:?}");
    }

    #[test]
    fn operations_match_p256_on_random_operands() {
        let mut drbg = Drbg::new(&[0x3E; 48], b"p256 field differential");
        for _ in 0..4000 {
            let (a, b) = (random(&mut drbg), random(&mut drbg));
            check_pair(&a, &b);
        }
    }

    #[test]
    fn operations_match_p256_on_edge_operands() {
        let edges = edge_operands();
        for a in &edges {
            for b in &edges {
                check_pair(a, b);
            }
        }
    }

    #[test]
    fn inversion_matches_p256_and_refuses_zero() {
        let mut drbg = Drbg::new(&[0x1F; 48], b"p256 field inversion");
        let mut operands = edge_operands();
        operands.extend((0..200).map(|_| random(&mut drbg)));
        for a in &operands {
            let got = Option::<FieldElement>::from(a.invert());
            let want = Option::<Reference>::from(to_reference(a).invert());
            assert_eq!(got, want.map(|w| from_reference(&w)), "{a:?}⁻¹");
            if let Some(inv) = got {
                assert_eq!(inv * *a, FieldElement::ONE);
            }
        }
        assert!(bool::from(FieldElement::ZERO.invert().is_none()));
    }

    /// The Montgomery reduction against `A·2^-256 mod p` by num-bigint, for random 512-bit
    /// values below `p·2^256` (its input range; every product of two elements is below `p²`),
    /// `(p − 1)²` (the largest product) and every combination of all-ones and zero 32-bit words
    /// in range.
    #[test]
    fn reduction_matches_bigint() {
        let p = modulus();
        let r = BigUint::from(1u32) << 256;
        let r_inv = r.modpow(&(&p - BigUint::from(2u32)), &p);
        let limit = &p * &r;
        let value = |a: &[u64; 8]| {
            let mut bytes = Vec::new();
            for w in a.iter().rev() {
                bytes.extend_from_slice(&w.to_be_bytes());
            }
            BigUint::from_bytes_be(&bytes)
        };
        let check = |a: &[u64; 8]| {
            let want = value(a) * &r_inv % &p;
            let got = BigUint::from_bytes_be(&limbs_to_bytes(mont_reduce(a)));
            assert_eq!(got, want, "{a:x?}");
        };
        let mut drbg = Drbg::new(&[0x7A; 48], b"p256 field reduction");
        for _ in 0..3000 {
            let mut a = [0u64; 8];
            for w in a.iter_mut() {
                let mut b = [0u8; 8];
                drbg.generate(&mut b, &[]).unwrap();
                *w = u64::from_le_bytes(b);
            }
            if value(&a) < limit {
                check(&a);
            }
            a[7] >>= 1 + (a[0] & 3);
            check(&a);
        }
        let pm1 = [P[0] - 1, P[1], P[2], P[3]];
        let mut square = [0u64; 8];
        for (i, x) in pm1.iter().enumerate() {
            let mut carry = 0;
            for (j, y) in pm1.iter().enumerate() {
                let (lo, hi) = mac(square[i + j], *x, *y, carry);
                square[i + j] = lo;
                carry = hi;
            }
            square[i + 4] = carry;
        }
        check(&square);
        let mut checked = 0;
        for pattern in 0u32..=0xFFFF {
            let mut a = [0u64; 8];
            for (k, w) in a.iter_mut().enumerate() {
                let word = |bit: usize| u64::from(pattern >> bit & 1) * 0xFFFF_FFFF;
                *w = word(2 * k) | word(2 * k + 1) << 32;
            }
            if value(&a) < limit {
                check(&a);
                checked += 1;
            }
        }
        assert!(checked > 30_000, "{checked}");
    }

    #[test]
    fn bytes_round_trip_and_values_from_p_up_are_refused() {
        let mut drbg = Drbg::new(&[0x42; 48], b"p256 field bytes");
        for _ in 0..100 {
            let a = random(&mut drbg);
            assert_eq!(from_reference(&to_reference(&a)), a);
        }
        let p = limbs_to_bytes(P);
        assert!(bool::from(FieldElement::from_bytes(&p).is_none()));
        let mut below = p;
        below[31] -= 1;
        assert!(bool::from(FieldElement::from_bytes(&below).is_some()));
        // p + 1 and p + 2^192.
        for above in [[0, 1 << 32, 0, P[3]], [P[0], P[1], P[2], P[3] + 1]] {
            let above = limbs_to_bytes(above);
            assert!(bool::from(FieldElement::from_bytes(&above).is_none()));
        }
        assert!(bool::from(FieldElement::from_bytes(&[0xFF; 32]).is_none()));
        let one = FieldElement::from_bytes(&{
            let mut b = [0u8; 32];
            b[31] = 1;
            b
        });
        assert_eq!(Option::from(one), Some(FieldElement::ONE));
        assert_eq!(FieldElement::ONE, from_reference(&Reference::ONE));
    }
}
