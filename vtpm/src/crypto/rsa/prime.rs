//! The deterministic prime search behind RSA key generation (primary keys are derived from a
//! KDF-seeded byte source, so the same source must always give the same prime).
//!
//! A search draws a random odd start with its top two bits set (so that `p·q` has exactly
//! twice the bits), sieves the [`FIELD`] odd numbers from there against every odd prime below
//! 2^16, and tests the survivors in increasing order: `gcd(w − 1, e) = 1`, a Miller–Rabin round
//! to base 2, then [`miller_rabin_rounds`] rounds with random bases drawn from the byte source
//! (FIPS 186-5 B.3.1 / 186-4 C.3.1). The first survivor to pass is the prime; a field without
//! one is followed by a fresh start. This is the incremental search of the TCG reference
//! implementation (`CryptPrimeSieve.c`, which libtpms uses) and of OpenSSL; FIPS 186-4 B.3.3
//! draws a fresh random number per candidate instead, which costs a trial division per
//! candidate where the sieve amortizes one residue per small prime over the whole field.
//!
//! The base-2 round adds nothing a prime can fail and rejects almost every composite the sieve
//! lets through at about 60% of a random-base round's cost (squarings and doublings only).
//! Arithmetic is [`super::mont`]'s, at the smallest of 8, 16, 24 or 32 limbs that holds the
//! candidate.

use super::mont::{self, Modulus};
use super::{CryptoError, DEFAULT_EXPONENT};
use alloc::vec;
use alloc::vec::Vec;
use zeroize::{Zeroize, Zeroizing};

/// Odd candidates per sieve field (8192 consecutive integers). A 1024-bit field holds about 11
/// primes on average, a 2048-bit one about 6; the chance that a 2048-bit field holds none is
/// about 0.3%.
pub const FIELD: usize = 4096;
/// Fields tried before the search gives up with `NoResult`.
pub const MAX_FIELDS: usize = 64;
/// The sieve uses every odd prime below this bound.
const SIEVE_BOUND: usize = 1 << 16;

/// Miller–Rabin rounds for a prime of `bits` bits: FIPS 186-4 table C.3 (error ≤ 2^-100 for
/// RSA primes of 512, 1024 and 1536 bits); smaller sizes are not RSA-grade and get more.
pub(super) fn miller_rabin_rounds(bits: usize) -> usize {
    match bits {
        1536.. => 3,
        1024.. => 4,
        512.. => 7,
        _ => 40,
    }
}

/// The odd primes below [`SIEVE_BOUND`], in groups whose product fits in 32 bits: one residue
/// of the candidate per group, then one per prime from that residue with native arithmetic.
#[derive(Debug)]
struct SievePrimes {
    primes: Vec<u32>,
    groups: Vec<Group>,
}

/// Consecutive sieve primes `primes[first..end]` with their product `m` and Barrett's
/// `mu = ⌊2^64 / m⌋`.
#[derive(Debug)]
struct Group {
    m: u64,
    mu: u64,
    first: usize,
    end: usize,
}

impl Group {
    fn new(m: u64, first: usize, end: usize) -> Group {
        Group {
            m,
            mu: u64::MAX / m, // = ⌊2^64 / m⌋ as m is not a power of two
            first,
            end,
        }
    }

    /// `x mod m` for any 64-bit `x`: Barrett's estimate is at most two below the quotient.
    #[inline(always)]
    fn reduce(&self, x: u64) -> u64 {
        let q = ((x as u128 * self.mu as u128) >> 64) as u64;
        let r = x - q * self.m;
        let r = r.min(r.wrapping_sub(self.m));
        r.min(r.wrapping_sub(self.m))
    }

    /// `x mod m`, 32 bits at a time.
    fn residue<const N: usize>(&self, x: &[u64; N]) -> u64 {
        let mut r = 0u64;
        for &limb in x.iter().rev() {
            r = self.reduce((r << 32) | (limb >> 32));
            r = self.reduce((r << 32) | (limb & 0xFFFF_FFFF));
        }
        r
    }
}

static SIEVE_PRIMES: spin::Once<SievePrimes> = spin::Once::new();

fn sieve_primes() -> &'static SievePrimes {
    SIEVE_PRIMES.call_once(|| {
        // Eratosthenes over the odd numbers: bit k stands for 2k + 1.
        let mut composite = vec![0u64; SIEVE_BOUND.div_ceil(128)];
        let mut primes = Vec::new();
        for k in 1..SIEVE_BOUND / 2 {
            if composite
                .get(k / 64)
                .is_some_and(|w| w >> (k % 64) & 1 != 0)
            {
                continue;
            }
            let p = 2 * k + 1;
            primes.push(p as u32);
            let mut j = (p * p) / 2;
            while j < SIEVE_BOUND / 2 {
                if let Some(w) = composite.get_mut(j / 64) {
                    *w |= 1 << (j % 64);
                }
                j += p;
            }
        }
        let mut groups = Vec::new();
        let mut first = 0;
        let mut product = 1u64;
        for (i, &p) in primes.iter().enumerate() {
            if product * p as u64 > u32::MAX as u64 {
                groups.push(Group::new(product, first, i));
                first = i;
                product = 1;
            }
            product *= p as u64;
        }
        groups.push(Group::new(product, first, primes.len()));
        SievePrimes { primes, groups }
    })
}

/// `x mod m` for `0 < m < 2^32`, 32 bits at a time with native 64-bit division.
fn residue<const N: usize>(x: &[u64; N], m: u64) -> u64 {
    let mut r = 0u64;
    for &limb in x.iter().rev() {
        r = ((r << 32) | (limb >> 32)) % m;
        r = ((r << 32) | (limb & 0xFFFF_FFFF)) % m;
    }
    r
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Marks in `composite` every `i` for which `start + 2i` has a factor below the sieve bound.
fn sieve<const N: usize>(start: &[u64; N], composite: &mut [u64; FIELD / 64]) {
    let sp = sieve_primes();
    composite.fill(0);
    for g in &sp.groups {
        let r = g.residue(start);
        for &p in sp.primes.get(g.first..g.end).unwrap_or(&[]) {
            let p = p as u64;
            // start + 2i ≡ 0 (mod p)  ⇔  i ≡ −start · 2⁻¹ (mod p), and 2⁻¹ = (p + 1)/2.
            let mut i = ((p - r % p) % p) * p.div_ceil(2) % p;
            while (i as usize) < FIELD {
                if let Some(w) = composite.get_mut(i as usize / 64) {
                    *w |= 1 << (i % 64);
                }
                i += p;
            }
        }
    }
}

/// Finds a prime of exactly `bits` bits (a multiple of 8, 64 to 2048: RSA keys up to 4096
/// bits) with `gcd(p − 1, e) = 1`
/// for public exponent `e` (0 = 65537), as the module documentation describes. Deterministic
/// in the byte source; `NoResult` after [`MAX_FIELDS`] fields without a prime.
pub fn find_prime<F>(bits: usize, e: u32, next_bytes: F) -> Result<Zeroizing<Vec<u8>>, CryptoError>
where
    F: FnMut(&mut [u8]) -> Result<(), CryptoError>,
{
    if bits & 7 != 0 || !(64..=2048).contains(&bits) {
        return Err(CryptoError::KeySize);
    }
    let e = if e == 0 { DEFAULT_EXPONENT } else { e };
    match bits.div_ceil(64) {
        0..=8 => search::<8, F>(bits, e, next_bytes),
        9..=16 => search::<16, F>(bits, e, next_bytes),
        17..=24 => search::<24, F>(bits, e, next_bytes),
        _ => search::<32, F>(bits, e, next_bytes),
    }
}

fn search<const N: usize, F>(
    bits: usize,
    e: u32,
    mut next_bytes: F,
) -> Result<Zeroizing<Vec<u8>>, CryptoError>
where
    F: FnMut(&mut [u8]) -> Result<(), CryptoError>,
{
    let len = bits / 8;
    let rounds = miller_rabin_rounds(bits);
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let mut base = Zeroizing::new(vec![0u8; len]);
    let mut composite = Zeroizing::new([0u64; FIELD / 64]);
    let e = e as u64;
    for _ in 0..MAX_FIELDS {
        next_bytes(&mut buf)?;
        if let Some(b) = buf.first_mut() {
            *b |= 0xc0;
        }
        if let Some(b) = buf.last_mut() {
            *b |= 1;
        }
        let start = Zeroizing::new(mont::from_be_bytes::<N>(&buf).ok_or(CryptoError::KeySize)?);
        sieve(&start, &mut composite);
        let start_mod_e = residue(&start, e);
        for i in 0..FIELD {
            if composite
                .get(i / 64)
                .is_some_and(|w| w >> (i % 64) & 1 != 0)
            {
                continue;
            }
            // gcd(w − 1, e) = gcd((w − 1) mod e, e)
            if gcd((start_mod_e + 2 * i as u64 + e - 1) % e, e) != 1 {
                continue;
            }
            let mut w = Zeroizing::new(*start);
            if !add_small(&mut w, 2 * i as u64) || mont::bit_length(&w) != bits {
                break; // the field ran past 2^bits
            }
            let Some(m) = Modulus::new(&w, bits) else {
                break;
            };
            if probable_prime(&m, &w, rounds, &mut next_bytes, &mut base)? {
                let mut out = Zeroizing::new(vec![0u8; len]);
                mont::to_be_bytes(&w, &mut out);
                return Ok(out);
            }
        }
    }
    Err(CryptoError::NoResult)
}

/// `x += k`; false if it carried out of the top limb.
fn add_small<const N: usize>(x: &mut [u64; N], k: u64) -> bool {
    let mut carry = k;
    for limb in x.iter_mut() {
        let (s, c) = limb.overflowing_add(carry);
        *limb = s;
        carry = c as u64;
    }
    carry == 0
}

/// `a < b`.
fn less<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `x >> s` for `s < 64·N`.
fn shr<const N: usize>(x: &[u64; N], s: usize) -> [u64; N] {
    let (words, bits) = (s / 64, s % 64);
    let mut out = [0u64; N];
    for (i, o) in out.iter_mut().enumerate() {
        let lo = x.get(i + words).copied().unwrap_or(0);
        let hi = x.get(i + words + 1).copied().unwrap_or(0);
        *o = if bits == 0 {
            lo
        } else {
            (lo >> bits) | (hi << (64 - bits))
        };
    }
    out
}

/// Miller–Rabin (FIPS 186-4 C.3.1) on odd `w` > 3: one round to base 2, then `rounds` rounds
/// with bases `1 < b < w − 1` of `w`'s byte length drawn from `next_bytes` (redrawn when out of
/// range, `NoResult` after 100 draws).
fn probable_prime<const N: usize, F>(
    m: &Modulus<N>,
    w: &[u64; N],
    rounds: usize,
    next_bytes: &mut F,
    base: &mut [u8],
) -> Result<bool, CryptoError>
where
    F: FnMut(&mut [u8]) -> Result<(), CryptoError>,
{
    // w − 1 = d·2^s with d odd.
    let mut w1 = Zeroizing::new(*w);
    w1[0] &= !1;
    let s = w1
        .iter()
        .position(|&l| l != 0)
        .map_or(0, |i| 64 * i + w1[i].trailing_zeros() as usize);
    let d = Zeroizing::new(shr(&w1, s));
    let d_bits = mont::bit_length(&d);
    if !strong_round(m, m.pow2(&d, d_bits), s) {
        return Ok(false);
    }
    let mut one = [0u64; N];
    one[0] = 1;
    for _ in 0..rounds {
        let mut b = Zeroizing::new([0u64; N]);
        let mut found = false;
        for _ in 0..100 {
            next_bytes(base)?;
            *b = mont::from_be_bytes(base).ok_or(CryptoError::KeySize)?;
            if less(&one, &b) && less(&b, &w1) {
                found = true;
                break;
            }
        }
        if !found {
            return Err(CryptoError::NoResult);
        }
        let mut bm = m.to_montgomery(&b);
        let x = m.pow(&bm, &d, d_bits);
        bm.zeroize();
        if !strong_round(m, x, s) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The rest of a Miller–Rabin round from `x = b^d` (Montgomery form): probably prime if `x` is
/// ±1 or one of the next `s − 1` squarings is −1.
fn strong_round<const N: usize>(m: &Modulus<N>, mut x: [u64; N], s: usize) -> bool {
    let mut verdict = m.is_one(&x) || m.is_minus_one(&x);
    for _ in 1..s {
        if verdict {
            break;
        }
        x = m.sqr(&x);
        if m.is_one(&x) {
            break;
        }
        verdict = m.is_minus_one(&x);
    }
    x.zeroize();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sieve_primes_are_the_odd_primes_below_the_bound() {
        let sp = sieve_primes();
        assert_eq!(sp.primes.len(), 6541); // π(65536) − 1
        assert_eq!(&sp.primes[..5], &[3, 5, 7, 11, 13]);
        assert_eq!(sp.primes.last(), Some(&65521));
        let mut next = 0;
        for g in &sp.groups {
            assert_eq!(g.first, next);
            assert!(g.end > g.first);
            let p: u64 = sp.primes[g.first..g.end]
                .iter()
                .map(|&p| p as u64)
                .product();
            assert_eq!(p, g.m);
            assert!(g.m <= u32::MAX as u64);
            next = g.end;
        }
        // Barrett reduction against the hardware's, at the edges and in between.
        for g in sp.groups.iter().step_by(97) {
            for x in [
                0,
                1,
                g.m - 1,
                g.m,
                g.m + 1,
                u64::MAX,
                u64::MAX - g.m,
                1 << 63,
            ] {
                assert_eq!(g.reduce(x), x % g.m, "{x} mod {}", g.m);
            }
            let x = [0x0123_4567_89ab_cdef_u64, u64::MAX, 7];
            assert_eq!(g.residue(&x), residue(&x, g.m));
        }
        assert_eq!(next, sp.primes.len());
    }

    #[test]
    fn sieve_marks_exactly_the_numbers_with_a_small_factor() {
        // start = 2^64 + 1 (two limbs); check every field position by trial division.
        let start = [1u64, 1];
        let mut composite = [0u64; FIELD / 64];
        sieve(&start, &mut composite);
        let sp = sieve_primes();
        for i in 0..FIELD {
            let w = (1u128 << 64) + 1 + 2 * i as u128;
            let small_factor = sp.primes.iter().any(|&p| w.is_multiple_of(p as u128));
            assert_eq!(
                composite[i / 64] >> (i % 64) & 1 == 1,
                small_factor,
                "i = {i}"
            );
        }
    }

    fn mr_u128(w: u128) -> bool {
        // Reference strong test to base 2 in u128 arithmetic (w < 2^63 keeps products exact).
        let (mut d, mut s) = (w - 1, 0);
        while d % 2 == 0 {
            d /= 2;
            s += 1;
        }
        let mulmod = |a: u128, b: u128| a * b % w;
        let (mut x, mut b, mut e) = (1u128, 2u128, d);
        while e > 0 {
            if e & 1 == 1 {
                x = mulmod(x, b);
            }
            b = mulmod(b, b);
            e >>= 1;
        }
        if x == 1 || x == w - 1 {
            return true;
        }
        for _ in 1..s {
            x = mulmod(x, x);
            if x == w - 1 {
                return true;
            }
        }
        false
    }

    #[test]
    fn base_two_round_agrees_with_a_reference_and_catches_pseudoprimes_later() {
        // Strong pseudoprimes to base 2 pass the first round; the random rounds catch them.
        for w in [2047u64, 3277, 4033, 4681, 8321, 3_215_031_751] {
            let m = Modulus::<1>::new(&[w], 64 - w.leading_zeros() as usize).unwrap();
            let d_s = (w - 1).trailing_zeros() as usize;
            let d = [(w - 1) >> d_s];
            assert!(
                strong_round(&m, m.pow2(&d, mont::bit_length(&d)), d_s),
                "{w}"
            );
            let mut n = 0u64;
            let mut src = |b: &mut [u8]| {
                n += 1;
                b.fill(0);
                if let Some(x) = b.last_mut() {
                    // Bases 11, 12, …: 3215031751 is a strong pseudoprime to 2, 3, 5 and 7.
                    *x = (n + 10) as u8;
                }
                Ok(())
            };
            let mut base = [0u8; 8];
            assert!(
                !probable_prime(&m, &[w], 8, &mut src, &mut base).unwrap(),
                "{w}"
            );
        }
        // Odd numbers around 2^62 against the u128 reference.
        let mut agree = 0;
        for k in 0..2000u64 {
            let w = (1u64 << 62) + 2 * k + 1;
            let m = Modulus::<1>::new(&[w], 63).unwrap();
            let d_s = (w - 1).trailing_zeros() as usize;
            let d = [(w - 1) >> d_s];
            let got = strong_round(&m, m.pow2(&d, mont::bit_length(&d)), d_s);
            assert_eq!(got, mr_u128(w as u128), "{w}");
            agree += got as u32;
        }
        assert!(agree > 20, "some primes were found ({agree})");
    }

    /// The search without its sieve: every odd number of the field in turn.
    fn unsieved(bits: usize, mut next_bytes: impl FnMut(&mut [u8])) -> [u64; 8] {
        let mut buf = vec![0u8; bits / 8];
        let mut base = vec![0u8; bits / 8];
        let mut src = |b: &mut [u8]| {
            next_bytes(b);
            Ok(())
        };
        src(&mut buf).unwrap();
        buf[0] |= 0xc0;
        *buf.last_mut().unwrap() |= 1;
        let start: [u64; 8] = mont::from_be_bytes(&buf).unwrap();
        for i in 0..FIELD as u64 {
            let mut w = start;
            assert!(add_small(&mut w, 2 * i));
            let m = Modulus::new(&w, bits).unwrap();
            if residue(&w, 65537) != 1 && probable_prime(&m, &w, 7, &mut src, &mut base).unwrap() {
                return w;
            }
        }
        panic!("no prime in the field");
    }

    #[test]
    fn the_sieve_skips_no_prime() {
        // Same byte source, with and without the sieve: the same (first) prime of the field.
        for seed in 0..12u64 {
            let stream = |mut ctr: u64| {
                move |b: &mut [u8]| {
                    for c in b.iter_mut() {
                        ctr = ctr
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        *c = (ctr >> 56) as u8;
                    }
                }
            };
            let want = unsieved(512, stream(seed));
            let mut s = stream(seed);
            let got = find_prime(512, 0, |b| {
                s(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(mont::from_be_bytes::<8>(&got).unwrap(), want, "seed {seed}");
        }
    }

    #[test]
    fn add_less_shr() {
        let mut x = [u64::MAX, 0];
        assert!(add_small(&mut x, 2));
        assert_eq!(x, [1, 1]);
        let mut y = [u64::MAX, u64::MAX];
        assert!(!add_small(&mut y, 1));
        assert!(less(&[5, 0], &[0, 1]));
        assert!(!less(&[0, 1], &[0, 1]));
        assert_eq!(shr(&[0, 1], 1), [1 << 63, 0]);
        assert_eq!(shr(&[0, 8], 67), [1, 0]);
        assert_eq!(gcd(65537 * 3, 65537), 65537);
        assert_eq!(residue(&[5, 1], 7), (((1u128 << 64) + 5) % 7) as u64);
    }
}
