//! Variable-base scalar multiplication `k·Q` for ECDH with the TPM's own key, on the
//! `primeorder` curves with `a = −3` (P-256, P-384).
//!
//! `primeorder`'s generic `ProjectivePoint * Scalar` uses complete projective formulas (Renes,
//! Costello, Batina 2016) and unsigned 4-bit windows: about 13 field multiplications and 21
//! additions per doubling. Here the points are Jacobian (`x = X/Z²`, `y = Y/Z³`), where a
//! doubling with `a = −3` costs 8 multiplications, the table of odd multiples is built with
//! co-Z additions, and the scalar is recoded into signed odd 5-bit digits, so each 5 doublings
//! need one addition of a table entry, with no zero digit to skip. The table is taken to affine
//! coordinates (one inversion, see [`affine_table`]) so those additions are mixed ones.
//!
//! The point arithmetic is generic over the few field operations of [`Fe`] (see
//! [`VarMulCurve`]). P-384 runs it in its crate's field; P-256 in [`p256_field`]'s, Montgomery
//! form as `p256`'s but with every operation inlined and a dedicated squaring, where `p256`'s
//! field calls out of line even for an addition.
//!
//! Constant time in the scalar: the digits come from the scalar's bits at public positions
//! (shifts and masks), every table entry is scanned for each window, signs are applied with
//! conditional selects, and every scalar runs the same sequence of field operations, each of
//! them constant time. The incomplete Jacobian addition is only used where the recoding proves
//! it cannot meet an exceptional case (see [`mul`]); the last addition, where one can occur, is
//! made complete with selects.

use super::p256_field;
use super::CryptoError;
use core::ops::{Add, Mul, Neg, Sub};
use elliptic_curve::bigint::Encoding;
use elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ModulusSize, ToEncodedPoint};
use elliptic_curve::subtle::{Choice, ConditionallySelectable, CtOption};
use elliptic_curve::{Field, FieldBytesSize, NonZeroScalar, PrimeField};
use primeorder::{AffinePoint, PrimeCurveParams};
use zeroize::Zeroize;

/// The field operations the point formulas use, all constant time: for any `ff` field (the
/// curve crates' own, through the blanket implementation) and for P-256's
/// [`p256_field::FieldElement`].
pub(super) trait Fe:
    Copy
    + ConditionallySelectable
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
{
    const ONE: Self;
    fn square(&self) -> Self;
    fn double(&self) -> Self;
    /// The inverse, none for zero.
    fn invert(&self) -> CtOption<Self>;
    fn is_zero(&self) -> Choice;
    /// `other` where `mask` is all ones, `self` where it is zero (no other value): a select by
    /// a mask the caller computed arithmetically, without a [`Choice`] per call.
    fn select_mask(&mut self, other: &Self, mask: u64) {
        self.conditional_assign(other, Choice::from((mask & 1) as u8));
    }
}

impl<T: Field> Fe for T {
    const ONE: Self = <T as Field>::ONE;
    fn square(&self) -> Self {
        Field::square(self)
    }
    fn double(&self) -> Self {
        Field::double(self)
    }
    fn invert(&self) -> CtOption<Self> {
        Field::invert(self)
    }
    fn is_zero(&self) -> Choice {
        Field::is_zero(self)
    }
}

impl Fe for p256_field::FieldElement {
    const ONE: Self = p256_field::FieldElement::ONE;
    // As `FieldElement::square`: the point formulas are made of these.
    #[inline(always)]
    fn square(&self) -> Self {
        p256_field::FieldElement::square(self)
    }
    #[inline]
    fn double(&self) -> Self {
        p256_field::FieldElement::double(self)
    }
    fn invert(&self) -> CtOption<Self> {
        p256_field::FieldElement::invert(self)
    }
    #[inline]
    fn is_zero(&self) -> Choice {
        p256_field::FieldElement::is_zero(self)
    }
    #[inline(always)]
    fn select_mask(&mut self, other: &Self, mask: u64) {
        p256_field::FieldElement::select_mask(self, other, mask)
    }
}

/// A curve [`mul`] handles: the field its points are computed in, and the conversions of the
/// affine coordinates into it and out of it.
pub(super) trait VarMulCurve: PrimeCurveParams {
    type F: Fe;
    /// The affine coordinates of `q`; `NoResult` for the identity, which `decode` has
    /// already refused.
    fn coordinates(q: &AffinePoint<Self>) -> Result<(Self::F, Self::F), CryptoError>;
    /// The affine point `(x, y)`, checked to be on the curve.
    fn point(x: &Self::F, y: &Self::F) -> Result<AffinePoint<Self>, CryptoError>;
}

/// P-256 in [`p256_field`]: the coordinates cross as their big-endian bytes.
impl VarMulCurve for p256::NistP256 {
    type F = p256_field::FieldElement;

    fn coordinates(q: &AffinePoint<Self>) -> Result<(Self::F, Self::F), CryptoError> {
        let e = q.to_encoded_point(false);
        let (x, y) = e.x().zip(e.y()).ok_or(CryptoError::NoResult)?;
        let field = |b: &[u8]| -> Result<Self::F, CryptoError> {
            let b = <[u8; 32]>::try_from(b).map_err(|_| CryptoError::NoResult)?;
            Option::from(p256_field::FieldElement::from_bytes(&b)).ok_or(CryptoError::NoResult)
        };
        Ok((field(x)?, field(y)?))
    }

    fn point(x: &Self::F, y: &Self::F) -> Result<AffinePoint<Self>, CryptoError> {
        let e = EncodedPoint::<Self>::from_affine_coordinates(
            &x.to_bytes().into(),
            &y.to_bytes().into(),
            false,
        );
        Option::from(AffinePoint::<Self>::from_encoded_point(&e)).ok_or(CryptoError::NoResult)
    }
}

/// P-384 in its crate's field.
impl VarMulCurve for p384::NistP384 {
    type F = <Self as PrimeCurveParams>::FieldElement;

    fn coordinates(q: &AffinePoint<Self>) -> Result<(Self::F, Self::F), CryptoError> {
        crate_coordinates::<Self>(q)
    }

    fn point(x: &Self::F, y: &Self::F) -> Result<AffinePoint<Self>, CryptoError> {
        crate_point::<Self>(x, y)
    }
}

/// [`VarMulCurve::coordinates`] in the curve crate's field.
fn crate_coordinates<C>(
    q: &AffinePoint<C>,
) -> Result<(C::FieldElement, C::FieldElement), CryptoError>
where
    C: PrimeCurveParams,
    FieldBytesSize<C>: ModulusSize,
    AffinePoint<C>: ToEncodedPoint<C>,
{
    let e = q.to_encoded_point(false);
    let (x, y) = e.x().zip(e.y()).ok_or(CryptoError::NoResult)?;
    let x = Option::from(C::FieldElement::from_repr(x.clone())).ok_or(CryptoError::NoResult)?;
    let y = Option::from(C::FieldElement::from_repr(y.clone())).ok_or(CryptoError::NoResult)?;
    Ok((x, y))
}

/// [`VarMulCurve::point`] in the curve crate's field.
fn crate_point<C>(x: &C::FieldElement, y: &C::FieldElement) -> Result<AffinePoint<C>, CryptoError>
where
    C: PrimeCurveParams,
    FieldBytesSize<C>: ModulusSize,
    AffinePoint<C>: FromEncodedPoint<C>,
{
    let e = EncodedPoint::<C>::from_affine_coordinates(&x.to_repr(), &y.to_repr(), false);
    Option::from(AffinePoint::<C>::from_encoded_point(&e)).ok_or(CryptoError::NoResult)
}

/// Window width `w`: digits are odd, in `[−(2^w − 1), 2^w − 1]`.
const W: usize = 5;
/// Table entries `Q, 3Q, …, (2^w − 1)Q`: `2^(w−1)` of them.
const TABLE: usize = 1 << (W - 1);

/// A point in Jacobian coordinates: `(X : Y : Z)` is the affine `(X/Z², Y/Z³)`; `Z = 0` is the
/// point at infinity.
#[derive(Clone, Copy)]
struct Jacobian<F> {
    x: F,
    y: F,
    z: F,
}

impl<F: Fe> Jacobian<F> {
    fn conditional_assign(&mut self, other: &Self, choice: Choice) {
        self.x.conditional_assign(&other.x, choice);
        self.y.conditional_assign(&other.y, choice);
        self.z.conditional_assign(&other.z, choice);
    }

    /// `2P` for `a = −3`: "dbl-2001-b" of the Explicit-Formulas Database
    /// (<https://hyperelliptic.org/EFD/g1p/auto-shortw-jacobian-3.html#doubling-dbl-2001-b>),
    /// with `Z3 = 2·Y1·Z1` (as "dbl-1998-cmo-2" computes it) and `4β`, `8γ²` from `2γ`: 4M + 4S
    /// and 12 additions instead of 3M + 5S and 16: a square costs a multiplication in `p384`
    /// and about 0.9 of one in [`p256_field`], and an addition is not free. Exception-free on a prime-order curve:
    /// `Z3 = 2·Y1·Z1` is zero exactly for the point at infinity (no point has `Y = 0`, which
    /// would be of order 2).
    fn double(&self) -> Self {
        let delta = self.z.square();
        let gamma2 = self.y.square().double();
        let beta4 = self.x * gamma2.double();
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let x = alpha.square() - beta4.double();
        let y = alpha * (beta4 - x) - gamma2.square().double();
        let z = (self.y * self.z).double();
        Jacobian { x, y, z }
    }

    /// `P + Q` for an affine `Q` ("add-1998-cmo-2" of the Explicit-Formulas Database,
    /// <https://hyperelliptic.org/EFD/g1p/auto-shortw-jacobian-3.html#addition-add-1998-cmo-2>,
    /// with `Z2 = 1`): 8M + 3S and 7 additions, against 12M + 4S for two Jacobian points.
    /// Incomplete: right for `P ≠ ±Q`, `P` finite; `P = −Q` gives `Z3 = 0` (the right answer);
    /// `P = Q` and `P` at infinity give garbage. Also returns whether `P = Q` (`H = 0` and
    /// `r = 0`).
    fn add_affine_incomplete(&self, other: &Affine<F>) -> (Self, Choice) {
        let z1z1 = self.z.square();
        let u2 = other.x * z1z1;
        let s2 = other.y * self.z * z1z1;
        let h = u2 - self.x;
        let r = s2 - self.y;
        let hh = h.square();
        let hhh = h * hh;
        let v = self.x * hh;
        let x = r.square() - hhh - v.double();
        let y = r * (v - x) - self.y * hhh;
        let z = self.z * h;
        let same = h.is_zero() & r.is_zero();
        (Jacobian { x, y, z }, same)
    }

    /// `P + Q` for an affine `Q` and every `P`: [`Self::add_affine_incomplete`], with the
    /// doubling selected when the operands are equal and `Q` when `P` is at infinity. One
    /// doubling more than the incomplete addition, whatever the inputs.
    fn add_affine(&self, other: &Affine<F>) -> Self {
        let (mut sum, same) = self.add_affine_incomplete(other);
        let self_inf = self.z.is_zero();
        sum.conditional_assign(&self.double(), same & !self_inf);
        sum.conditional_assign(&other.to_jacobian(), self_inf);
        sum
    }
}

/// A finite point in affine coordinates.
#[derive(Clone, Copy)]
struct Affine<F> {
    x: F,
    y: F,
}

impl<F: Fe> Affine<F> {
    fn to_jacobian(self) -> Jacobian<F> {
        Jacobian {
            x: self.x,
            y: self.y,
            z: F::ONE,
        }
    }
}

/// `2Q` for an affine `Q` (`Z = 1`), and `Q` again with the Z of `2Q`: "mdbl-2007-bl" of the
/// Explicit-Formulas Database
/// (<https://hyperelliptic.org/EFD/g1p/auto-shortw-jacobian.html#doubling-mdbl-2007-bl>), with
/// `S = 4·X1·YY`: with `Z3 = 2·Y1`, `Q = (X1·Z3², Y1·Z3³, Z3) = (S, 8·YYYY, Z3)` (the "doubling
/// with update" of co-Z arithmetic). 2M + 4S, with `M = 3·XX + a = 3·(XX − 1)` for `a = −3`.
fn double_affine_update<F: Fe>(q: &Jacobian<F>) -> (Jacobian<F>, Jacobian<F>) {
    let xx = q.x.square();
    let yy = q.y.square();
    let yyyy8 = yy.square().double().double().double();
    let s = (q.x * yy).double().double();
    let xx1 = xx - F::ONE;
    let m = xx1.double() + xx1;
    let t = m.square() - s.double();
    let z = q.y.double();
    let doubled = Jacobian {
        x: t,
        y: m * (s - t) - yyyy8,
        z,
    };
    (doubled, Jacobian { x: s, y: yyyy8, z })
}

/// `P + Q` for `P`, `Q` with the same `Z`, and `P` again with the Z of the sum: co-Z addition
/// with update, "zadd-2007-m" of the Explicit-Formulas Database
/// (<https://hyperelliptic.org/EFD/g1p/auto-shortw-jacobian.html#addition-zadd-2007-m>,
/// Meloni 2007), 5M + 2S. Incomplete: `P ≠ ±Q`. Also returns the factor `X_Q − X_P` by which
/// the common Z grew.
fn co_z_add_update<F: Fe>(p: &Jacobian<F>, q: &Jacobian<F>) -> (Jacobian<F>, Jacobian<F>, F) {
    let xd = q.x - p.x;
    let a = xd.square();
    let b = p.x * a;
    let c = q.x * a;
    let yd = q.y - p.y;
    let e = p.y * (c - b);
    let x = yd.square() - b - c;
    let y = yd * (b - x) - e;
    let z = p.z * xd;
    (Jacobian { x, y, z }, Jacobian { x: b, y: e, z }, xd)
}

/// `Q, 3Q, …, (2^w − 1)Q` for an affine `Q` (`Z = 1`), by co-Z additions of `2Q` (the
/// precomputation of Longa and Miri, "New composite operations and precomputation scheme for
/// elliptic curve cryptosystems over prime fields", PKC 2008): 2M + 4S and 15 × (5M + 2S),
/// where general additions would take 248 multiplications. The additions are never
/// exceptional: `2j − 1 ≢ ±2 (mod n)` for `j < 2^(w−1)`. Also returns, for `j ≥ 1`, the
/// factor `f_j` with `Z_j = Z_(j−1)·f_j` (entry 0 is `Q` itself, `Z = 1`).
fn odd_multiples<F: Fe>(q: &Jacobian<F>) -> ([Jacobian<F>; TABLE], [F; TABLE]) {
    let (mut q2, q1) = double_affine_update(q);
    let mut table = [*q; TABLE];
    let mut factors = [F::ONE; TABLE];
    let mut prev = q1;
    for (entry, factor) in table.iter_mut().zip(factors.iter_mut()).skip(1) {
        (prev, q2, *factor) = co_z_add_update(&q2, &prev);
        *entry = prev;
    }
    (table, factors)
}

/// The table of [`odd_multiples`] in affine coordinates, so that the main loop adds with
/// [`Jacobian::add_affine_incomplete`] (8M + 3S instead of 12M + 4S) and scans 2 coordinates
/// instead of 3 per entry. One inversion, of the last entry's Z: the others' inverses follow
/// from the co-Z chain, `Z_(j−1)⁻¹ = Z_j⁻¹·f_j` (14 multiplications where Montgomery's batch
/// inversion would take 45), and 4 operations per entry. The Zs are never zero (the additions
/// are not exceptional); `NoResult` if one were.
fn affine_table<F: Fe>(q: &Jacobian<F>) -> Result<[Affine<F>; TABLE], CryptoError> {
    let (table, factors) = odd_multiples(q);
    let mut zinv = Option::<F>::from(table[TABLE - 1].z.invert()).ok_or(CryptoError::NoResult)?;
    let mut out = [Affine { x: q.x, y: q.y }; TABLE];
    for j in (1..TABLE).rev() {
        let zinv2 = zinv.square();
        out[j] = Affine {
            x: table[j].x * zinv2,
            y: table[j].y * zinv2 * zinv,
        };
        zinv = zinv * factors[j];
    }
    Ok(out)
}

/// `count` (at most 8) bits of the little-endian integer `bytes` from bit `pos` on; bits past
/// the end are zero. The positions are public, the bits may be secret: no branch on them.
fn bits(bytes: &[u8], pos: usize, count: usize) -> u8 {
    let lo = u16::from(bytes.get(pos / 8).copied().unwrap_or(0));
    let hi = u16::from(bytes.get(pos / 8 + 1).copied().unwrap_or(0));
    (((lo | hi << 8) >> (pos % 8)) & ((1 << count) - 1)) as u8
}

/// The signed odd digit `d_i` of window `i` (below the top one) of the odd integer `k` in
/// `bytes`, as the table index `(|d_i| − 1)/2` and whether `d_i < 0`.
///
/// The recoding (Joye–Tunstall's regular signed window): with `k_0 = k` and
/// `d_i = (k_i mod 2^(w+1)) − 2^w`, `k_(i+1) = (k_i − d_i)/2^w`, every `k_i` is odd and
/// positive and `k_(i+1) = ⌊k/2^(w(i+1))⌋ | 1`. So bit 0 of `k_i` is 1, its bits 1..w are bits
/// `wi+1 .. wi+w` of `k`, and `d_i = v − 2^w·(1 − b)` with `v = 1 + 2·bits(wi+1, w−1)` and
/// `b = bit(wi+w)`: `d_i = v` if `b = 1`, else `−(2^w − v)`, whose index is the first one's
/// with its `w − 1` bits flipped.
fn digit(bytes: &[u8], i: usize) -> (u8, Choice) {
    let j = bits(bytes, W * i + 1, W - 1);
    let negative = bits(bytes, W * i + W, 1) ^ 1;
    let flip = negative.wrapping_neg() & (TABLE as u8 - 1);
    (j ^ flip, Choice::from(negative))
}

/// `±table[index]`, scanning every entry.
fn lookup<F: Fe>(table: &[Affine<F>; TABLE], index: u8, negative: Choice) -> Affine<F> {
    let mut p = table[0];
    for (j, entry) in table.iter().enumerate().skip(1) {
        // All ones exactly when j = index: (j ^ index) − 1 borrows only from zero.
        let hit = (u64::from(j as u8 ^ index).wrapping_sub(1) >> 63).wrapping_neg();
        p.x.select_mask(&entry.x, hit);
        p.y.select_mask(&entry.y, hit);
    }
    p.y = F::conditional_select(&p.y, &-p.y, negative);
    p
}

/// The affine point `q` in Jacobian coordinates (`Z = 1`).
fn to_jacobian<C: VarMulCurve>(q: &AffinePoint<C>) -> Result<Jacobian<C::F>, CryptoError> {
    let (x, y) = C::coordinates(q)?;
    Ok(Jacobian {
        x,
        y,
        z: <C::F as Fe>::ONE,
    })
}

/// The affine point of `p`, with one field inversion. `NoResult` at infinity.
fn to_affine<C: VarMulCurve>(p: &Jacobian<C::F>) -> Result<AffinePoint<C>, CryptoError> {
    let zinv = Option::<C::F>::from(p.z.invert()).ok_or(CryptoError::NoResult)?;
    let zinv2 = zinv.square();
    C::point(&(p.x * zinv2), &(p.y * zinv2 * zinv))
}

/// `k·Q` for a point `Q` on the curve (not the identity) and `k` in `[1, n−1]`, in constant
/// time in `k`; the same point as `ProjectivePoint::from(q) * k`.
///
/// `k` is made odd first: an even `k` is replaced by `n − k` (odd, as `n` is) and the result
/// negated, both by conditional selects. The odd `k` is recoded (see [`digit`]) into `m`
/// digits, `m = ⌈bits/w⌉`, the top one `k_(m−1)` positive; the table holds `Q, 3Q, …, 31Q`.
/// Starting from `A = d_(m−1)·Q`, each window doubles `A` `w` times and adds `d_i·Q`.
///
/// Why the incomplete addition is safe for every window but the last (the table's additions
/// are, see [`odd_multiples`]): before window `i`'s addition, `A = K_i·Q` with
/// `K_i = 2^w·k_(i+1) = k_i − d_i`, and `d_i·Q` is not the identity (`0 < |d_i| < n`). For
/// `i ≥ 1`, `k_(i+1) ≤ k/2^(2w) + 1`, so `2^w ≤ K_i < n/2^w + 2^w` and both `K_i − d_i` and
/// `K_i + d_i = k_i` lie in `[1, n − 1]`: `A ≠ ±d_i·Q` and `A` is not the identity. For the last
/// window, `i = 0`, `K_0 + d_0 = k ∈ [1, n−1]` and `K_0`, even and below `n + 2^w`, is not `n`;
/// but `K_0 − d_0 = n` happens, when `k = n + 2·d_0` and `(k mod 2^(w+1)) − 2^w = d_0`, that
/// is for the `|d_0| = (n mod 2^(w+1)) − 2^w` if that is positive: not on P-256
/// (`n mod 64 = 17`), but on P-384 (`n mod 64 = 51`) for `k = n − 38` (and `k = 38`, whose
/// `n − k` it is). So the last addition is the complete [`Jacobian::add_affine`].
///
/// The scalar's copies (the odd scalar, its integer and bytes) are wiped; the digits are
/// computed per window from those bytes and never stored.
pub(super) fn mul<C: VarMulCurve>(
    q: &AffinePoint<C>,
    k: &NonZeroScalar<C>,
) -> Result<AffinePoint<C>, CryptoError> {
    let table = affine_table(&to_jacobian::<C>(q)?)?;

    let mut scalar: C::Scalar = *k.as_ref();
    let even = !scalar.is_odd();
    scalar = C::Scalar::conditional_select(&scalar, &-scalar, even);
    let mut uint: C::Uint = scalar.into();
    let mut bytes = uint.to_le_bytes();
    let k = bytes.as_ref();

    let top = (k.len() * 8).div_ceil(W) - 1;
    let mut acc = lookup(&table, bits(k, W * top + 1, W - 1), Choice::from(0)).to_jacobian();
    for i in (0..top).rev() {
        for _ in 0..W {
            acc = acc.double();
        }
        let (index, negative) = digit(k, i);
        let p = lookup(&table, index, negative);
        acc = if i == 0 {
            acc.add_affine(&p)
        } else {
            acc.add_affine_incomplete(&p).0
        };
    }
    acc.y = C::F::conditional_select(&acc.y, &-acc.y, even);

    scalar.zeroize();
    uint.zeroize();
    bytes.as_mut().zeroize();
    to_affine::<C>(&acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Drbg;
    use elliptic_curve::group::Group as _;
    use elliptic_curve::ops::Reduce;
    use elliptic_curve::{CurveArithmetic, FieldBytes};

    /// A random nonzero scalar from the DRBG (reduced bytes; zero is skipped).
    fn random_scalar<C: PrimeCurveParams>(drbg: &mut Drbg) -> NonZeroScalar<C> {
        loop {
            let mut b = FieldBytes::<C>::default();
            drbg.generate(&mut b, &[]).unwrap();
            let s = <C::Scalar as Reduce<C::Uint>>::reduce_bytes(&b);
            if let Some(s) = Option::from(NonZeroScalar::new(s)) {
                return s;
            }
        }
    }

    fn reference<C: PrimeCurveParams>(q: &AffinePoint<C>, k: &C::Scalar) -> AffinePoint<C> {
        (<C as CurveArithmetic>::ProjectivePoint::from(*q) * *k).to_affine()
    }

    fn check<C: VarMulCurve>(q: &AffinePoint<C>, k: &C::Scalar, what: &str) {
        let nz = Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(*k)).unwrap();
        assert_eq!(mul(q, &nz).unwrap(), reference(q, k), "{what}");
    }

    fn random_point<C: PrimeCurveParams>(drbg: &mut Drbg) -> AffinePoint<C> {
        (<C as CurveArithmetic>::ProjectivePoint::generator() * *random_scalar::<C>(drbg))
            .to_affine()
    }

    fn differential<C: VarMulCurve>(count: usize) {
        let mut drbg = Drbg::new(&[0x5D; 48], b"varmul differential");
        for n in 0..count {
            let q = random_point::<C>(&mut drbg);
            let k = random_scalar::<C>(&mut drbg);
            check(&q, &k, &alloc::format!("pair {n}"));
        }
    }

    /// Scalars at the edges of the recoding: small ones (the top windows alone), around the
    /// window size, near `n` (whose even neighbours become small odd ones), `(n−1)/2` and
    /// `(n+1)/2`, and every `2a` and `n − 2a` for odd `a < 2^w`, the only scalars for which the
    /// last addition can be a doubling.
    fn boundary<C: VarMulCurve>(q: &AffinePoint<C>) {
        let small = |v: u64| C::Scalar::from(v);
        let mut scalars = alloc::vec::Vec::new();
        for v in [
            1u64, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025,
        ] {
            scalars.push(small(v));
            scalars.push(-small(v));
        }
        scalars.push(-C::Scalar::TWO_INV);
        scalars.push(C::Scalar::TWO_INV);
        for a in (1u64..32).step_by(2) {
            scalars.push(small(2 * a));
            scalars.push(-small(2 * a));
        }
        for k in &scalars {
            check(q, k, &alloc::format!("{k:?}"));
        }
    }

    #[test]
    fn matches_the_generic_multiplication_on_random_pairs() {
        differential::<p256::NistP256>(300);
        differential::<p384::NistP384>(300);
    }

    #[test]
    fn boundary_scalars_match_the_generic_multiplication() {
        let mut drbg = Drbg::new(&[0xB0; 48], b"varmul boundary");
        boundary::<p256::NistP256>(&AffinePoint::GENERATOR);
        boundary::<p256::NistP256>(&random_point(&mut drbg));
        boundary::<p384::NistP384>(&AffinePoint::GENERATOR);
        boundary::<p384::NistP384>(&random_point(&mut drbg));
    }

    /// P-384's `k = n − 38` (odd): its last digit is `d_0 = −19`, so the last window adds
    /// `−19·G` to `A = (k − d_0)·G = (n − 19)·G`, the same point, which the incomplete addition
    /// gets wrong and the complete one does not. `k = 38` becomes `n − 38`.
    #[test]
    fn p384_scalar_whose_last_addition_is_a_doubling() {
        use p384::{NistP384, Scalar, U384};
        let g = AffinePoint::<NistP384>::GENERATOR;
        let k = -Scalar::from(38u64);
        let bytes = Into::<U384>::into(k).to_le_bytes();
        let (index, negative) = digit(&bytes, 0);
        assert_eq!((index, bool::from(negative)), (9, true));
        let a = to_jacobian::<NistP384>(&reference(&g, &-Scalar::from(19u64))).unwrap();
        let a_affine = Affine { x: a.x, y: a.y };
        let (wrong, same) = a.add_affine_incomplete(&a_affine);
        assert!(bool::from(same));
        assert!(to_affine::<NistP384>(&wrong).is_err());
        assert_eq!(
            to_affine::<NistP384>(&a.add_affine(&a_affine)).unwrap(),
            reference(&g, &k)
        );
        check::<NistP384>(&g, &k, "n − 38");
        check::<NistP384>(&g, &Scalar::from(38u64), "38");
    }

    fn check_table<C: VarMulCurve>() {
        let g = AffinePoint::<C>::GENERATOR;
        let q = to_jacobian::<C>(&g).unwrap();
        let (table, factors) = odd_multiples(&q);
        let affine = affine_table(&q).unwrap();
        for (j, (entry, a)) in (0u64..).zip(table.iter().zip(&affine)) {
            let want = reference(&g, &C::Scalar::from(2 * j + 1));
            assert_eq!(to_affine::<C>(entry).unwrap(), want, "{}·G", 2 * j + 1);
            assert_eq!(
                to_affine::<C>(&a.to_jacobian()).unwrap(),
                want,
                "affine {}·G",
                2 * j + 1
            );
            if j >= 2 {
                let zj = table[j as usize - 1].z * factors[j as usize];
                assert!(bool::from((zj - entry.z).is_zero()), "Z chain at {j}");
            }
        }
    }

    /// The co-Z table holds `G, 3G, …, 31G`, in Jacobian and in affine coordinates.
    #[test]
    fn table_holds_the_odd_multiples() {
        check_table::<p256::NistP256>();
        check_table::<p384::NistP384>();
    }

    /// The complete mixed addition on its exceptional inputs, with `Z ≠ 1` on the Jacobian
    /// side: `P + P`, `P + (−P)` and `O + P`.
    fn check_exceptional_additions<C: VarMulCurve>() {
        let g = AffinePoint::<C>::GENERATOR;
        let p = to_jacobian::<C>(&g).unwrap();
        let p_affine = Affine { x: p.x, y: p.y };
        let one = <C::F as Fe>::ONE;
        let l = one.double().double() + one.double() + one;
        let p_scaled = Jacobian {
            x: p.x * l.square(),
            y: p.y * l.square() * l,
            z: l,
        };
        let neg = Affine { x: p.x, y: -p.y };
        let inf = Jacobian {
            x: one,
            y: one,
            z: -one + one,
        };
        let two_g = reference::<C>(&g, &C::Scalar::from(2u64));
        assert_eq!(
            to_affine::<C>(&p_scaled.add_affine(&p_affine)).unwrap(),
            two_g
        );
        assert!(bool::from(p_scaled.add_affine(&neg).z.is_zero()));
        assert_eq!(to_affine::<C>(&inf.add_affine(&p_affine)).unwrap(), g);
        assert!(bool::from(inf.double().z.is_zero()));
        assert_eq!(to_affine::<C>(&p_scaled.double()).unwrap(), two_g);
    }

    #[test]
    fn complete_addition_handles_the_exceptional_cases() {
        check_exceptional_additions::<p256::NistP256>();
        check_exceptional_additions::<p384::NistP384>();
    }

    /// The formulas take `a = −3` ([`double_affine_update`] and [`Jacobian::double`]).
    #[test]
    fn curves_have_a_equal_to_minus_three() {
        fn check<C: PrimeCurveParams>() {
            let three = C::FieldElement::from(3u64);
            assert_eq!(C::EQUATION_A, -three);
        }
        check::<p256::NistP256>();
        check::<p384::NistP384>();
    }

    /// The recoded digits of random odd scalars are odd, below `2^w` in size, and sum back to
    /// the scalar (checked modulo `2^64`: Horner's rule over the windows, wrapping).
    #[test]
    fn recoded_digits_are_odd_and_sum_to_the_scalar() {
        let mut drbg = Drbg::new(&[0xD1; 48], b"varmul digits");
        for _ in 0..64 {
            let mut b = [0u8; 32];
            drbg.generate(&mut b, &[]).unwrap();
            b[0] |= 1;
            let top = (b.len() * 8).div_ceil(W) - 1;
            let mut sum = u64::from(2 * bits(&b, W * top + 1, W - 1) + 1);
            for i in (0..top).rev() {
                let (index, negative) = digit(&b, i);
                let d = i64::from(2 * index + 1);
                assert!(d < 1 << W);
                let d = if bool::from(negative) { -d } else { d };
                sum = sum.wrapping_mul(1 << W).wrapping_add(d as u64);
            }
            let mut low = [0u8; 8];
            low.copy_from_slice(&b[..8]);
            assert_eq!(sum, u64::from_le_bytes(low));
        }
    }
}
