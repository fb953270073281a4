//! The P-256 base field GF(p), `p = 2^256 − 2^224 + 2^192 + 2^96 − 1` (FIPS 186-4 D.1.2.3,
//! SP 800-186 3.2.1.3), for the variable-base multiplication of [`super::varmul`].
//!
//! Elements are in Montgomery form, `x·2^256 mod p`, as in `p256`'s field; what differs is
//! around it. `p256` 0.13 makes every operation an out-of-line call (an addition costs 16 ns
//! there, 3.4 here); here every operation is inlined into the point formulas, and the product
//! interleaves the reduction with the rows of the schoolbook (CIOS: Koç, Acar and Kaliski,
//! "Analyzing and comparing Montgomery multiplication algorithms", 1996), so that six words are
//! live instead of the eight of a full product and its reduction. On this machine that took
//! P-256 `d·Q` from 67.7 to 63.9 µs against the full product and then a word-by-word
//! reduction; squaring with the same code (16 products) rather than with the 10 of a dedicated
//! square and the separate reduction took it to 62.6 µs: the multiplier is not what limits
//! these loops, the instruction count and the registers are. A reduction by the special form of
//! `p` alone (FIPS 186-4 D.2.3), tried first, came out slower still (80 µs).
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
        // A Montgomery product with the integer 1 leaves `x·R·R⁻¹ = x`.
        let l = (self * FieldElement([1, 0, 0, 0])).0;
        for (chunk, limb) in out.chunks_exact_mut(8).zip(l.iter().rev()) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// `a² mod p`, as the product `a·a`: a dedicated square (10 products) with a separate
    /// reduction was slower (module documentation).
    #[inline(always)]
    pub(super) fn square(&self) -> Self {
        *self * *self
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

    /// `other` where `mask` is all ones, `self` where it is zero.
    #[inline(always)]
    pub(super) fn select_mask(&mut self, other: &Self, mask: u64) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a ^= mask & (*a ^ b);
        }
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
    /// `a·b·2^-256 mod p` (CIOS): four rows, each adding `a_i·b` and then `m·p` for the `m` that
    /// clears the low word (`−p⁻¹ ≡ 1 (mod 2^64)`, so `m` is that word), shifted down a word.
    /// The running value stays below `2p` (so its fifth word is 0 or 1); one conditional
    /// subtraction ends in `[0, p)`.
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        let (a, b) = (&self.0, &rhs.0);
        let t = mont_row(&mul_row(&[0; 5], a[0], b));
        let t = mont_row(&mul_row(&t, a[1], b));
        let t = mont_row(&mul_row(&t, a[2], b));
        let t = mont_row(&mul_row(&t, a[3], b));
        FieldElement(sub_p_if_at_least_p(&[t[0], t[1], t[2], t[3]], t[4]))
    }
}

/// `t + a_i·b`.
#[inline(always)]
fn mul_row(t: &[u64; 5], ai: u64, b: &[u64; 4]) -> [u64; 6] {
    let (s0, c) = mac(t[0], ai, b[0], 0);
    let (s1, c) = mac(t[1], ai, b[1], c);
    let (s2, c) = mac(t[2], ai, b[2], c);
    let (s3, c) = mac(t[3], ai, b[3], c);
    let (s4, s5) = adc(t[4], c, 0);
    [s0, s1, s2, s3, s4, s5]
}

/// `(s + m·p) / 2^64` with `m = s_0`, by P-256's shortcuts: `p`'s low limb is `2^64 − 1`, so
/// `s_0 + m·(2^64 − 1) = m·2^64` (low word 0, carry `m`), and with its second limb `2^32 − 1`
/// that carry and `m·p_1` add up to `m·2^32`, two shifts instead of a product (59.6 against
/// 61.6 µs for `d·Q`); its third limb is 0.
#[inline(always)]
fn mont_row(s: &[u64; 6]) -> [u64; 5] {
    const P3: u64 = 0xFFFF_FFFF_0000_0001;
    let m = s[0];
    // s_1 + m·p_1 + m = s_1 + m·2^32: the low word of m·2^32 here, its high word next.
    let (r0, c) = adc(s[1], m << 32, 0);
    let (r1, c) = adc(s[2], m >> 32, c);
    let (r2, c) = mac(s[3], m, P3, c);
    let (r3, c) = adc(s[4], c, 0);
    [r0, r1, r2, r3, s[5] + c]
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

    /// The Montgomery product against `a·b·2^-256 mod p` by num-bigint, for every pair of
    /// operands below `p` made of all-ones and zero 32-bit words (the carry patterns of the
    /// rows and of the reduction at their extremes), `p − 1` squared, and random pairs.
    #[test]
    fn product_matches_bigint() {
        let p = modulus();
        let r = BigUint::from(1u32) << 256;
        let r_inv = r.modpow(&(&p - BigUint::from(2u32)), &p);
        let value = |a: &[u64; 4]| BigUint::from_bytes_be(&limbs_to_bytes(*a));
        let check = |a: &[u64; 4], b: &[u64; 4]| {
            let want = value(a) * value(b) * &r_inv % &p;
            let got = value(&(FieldElement(*a) * FieldElement(*b)).0);
            assert_eq!(got, want, "{a:x?} · {b:x?}");
        };
        let mut patterns = Vec::new();
        for pattern in 0u32..=0xFF {
            let mut a = [0u64; 4];
            for (k, w) in a.iter_mut().enumerate() {
                let word = |bit: usize| u64::from(pattern >> bit & 1) * 0xFFFF_FFFF;
                *w = word(2 * k) | word(2 * k + 1) << 32;
            }
            if value(&a) < p {
                patterns.push(a);
            }
        }
        assert_eq!(patterns.len(), 192, "the patterns below p");
        for a in &patterns {
            for b in &patterns {
                check(a, b);
            }
        }
        let pm1 = [P[0] - 1, P[1], P[2], P[3]];
        check(&pm1, &pm1);
        let mut drbg = Drbg::new(&[0x7A; 48], b"p256 field product");
        for _ in 0..2000 {
            check(&random(&mut drbg).0, &random(&mut drbg).0);
        }
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
