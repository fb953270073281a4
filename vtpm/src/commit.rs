//! The commit counter of two-phase ECC operations (Part 1, "Commit"/ two-phase key exchange;
//! reference `CryptCommit`, `CryptGenerateR`, `CryptEndCommit`): `TPM2_EC_Ephemeral` hands out
//! an ephemeral point `Q = r·G` and a 16-bit counter; the TPM can later recompute `r` from the
//! counter, once, for `TPM2_ZGen_2Phase`.
//!
//! `r` is `KDFa(SHA-256, commitNonce, "ECDAA Commit", name, count, bits)`, reduced by rejection
//! (`name` is the signing key's Name for `TPM2_Commit` and an ECDAA signature, empty for
//! `TPM2_EC_Ephemeral`):
//! the nonce is a secret drawn at every TPM Reset, so no two boots (or resets) share an `r`. A
//! bitmap of the last 128 counts records which are outstanding; a count is cleared when used,
//! and one older than 128 commits (or from before the reset) is refused.

use crate::crypto::{kdf_a, EccCurve, EccPrivate};
use tpm_proto::HashAlg;
use zeroize::Zeroizing;

/// Counts tracked by the bitmap (reference `COMMIT_INDEX_MASK + 1` with a 16-byte array).
const TRACKED: u64 = 128;

/// Candidate `r` values tried before giving up; each is out of range with probability about
/// 2^-32 (P-256) or 2^-190 (P-384).
const TRIES: u8 = 16;

/// Commit state (reference `gr.commitNonce`, `gr.commitCounter`, `gr.commitArray`).
pub(crate) struct Commit {
    nonce: Zeroizing<[u8; 32]>,
    counter: u64,
    outstanding: u128,
}

impl core::fmt::Debug for Commit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Commit(counter {})", self.counter)
    }
}

impl Commit {
    /// A fresh state with secret `nonce` (at manufacture and every TPM Reset).
    pub fn new(nonce: &[u8; 32]) -> Commit {
        Commit {
            nonce: Zeroizing::new(*nonce),
            counter: 0,
            outstanding: 0,
        }
    }

    /// The key `r` of the next count, before [`Self::commit`] (`TPM2_EC_Ephemeral`,
    /// `TPM2_Commit`), or of the outstanding count `c`, for the key named `name`; `None` if `c`
    /// is not outstanding.
    pub fn r(&self, curve: EccCurve, c: Option<u16>, name: &[u8]) -> Option<EccPrivate> {
        let count = match c {
            None => self.counter,
            Some(c) => self.full_count(c)?,
        };
        let mut buf = Zeroizing::new([0u8; 48]);
        let out = buf.get_mut(..curve.field_bytes())?;
        for retry in 0..TRIES {
            let context = [&count.to_be_bytes()[..], &[retry]].concat();
            let bits = (out.len() * 8) as u32;
            kdf_a(
                HashAlg::Sha256,
                &self.nonce[..],
                b"ECDAA Commit",
                name,
                &context,
                bits,
                out,
            )
            .ok()?;
            if let Ok(r) = EccPrivate::from_scalar(curve, out) {
                return Some(r);
            }
        }
        None
    }

    /// Commits the next count (reference `CryptCommit`): it becomes outstanding; returns its low
    /// 16 bits.
    pub fn commit(&mut self) -> u16 {
        let c = self.counter;
        self.counter = self.counter.wrapping_add(1);
        self.outstanding |= 1 << (c % TRACKED);
        c as u16
    }

    /// Uses up the outstanding count `c` (reference `CryptEndCommit`).
    pub fn end(&mut self, c: u16) {
        if self.full_count(c).is_some() {
            self.outstanding &= !(1 << (u64::from(c) % TRACKED));
        }
    }

    /// The 64-bit count whose low 16 bits are `c`: one of the last [`TRACKED`] commits, and
    /// still outstanding.
    fn full_count(&self, c: u16) -> Option<u64> {
        let age = (self.counter as u16).wrapping_sub(c);
        if age == 0 || u64::from(age) > TRACKED || u64::from(age) > self.counter {
            return None;
        }
        let full = self.counter - u64::from(age);
        (self.outstanding >> (full % TRACKED) & 1 == 1).then_some(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_gives_the_committed_r_once() {
        let mut c = Commit::new(&[7; 32]);
        let before = c.r(EccCurve::NistP256, None, &[]).unwrap().scalar();
        let n = c.commit();
        assert_eq!(n, 0);
        assert_eq!(
            c.r(EccCurve::NistP256, Some(n), &[]).unwrap().scalar(),
            before
        );
        assert!(
            c.r(EccCurve::NistP256, Some(1), &[]).is_none(),
            "not committed yet"
        );
        c.end(n);
        assert!(c.r(EccCurve::NistP256, Some(n), &[]).is_none(), "used");
        // Another key name gives another r.
        assert_ne!(
            c.r(EccCurve::NistP256, None, b"key").unwrap().scalar(),
            before
        );
        // Another nonce (another boot) gives another r for the same count.
        let other = Commit::new(&[8; 32]);
        assert_ne!(
            other.r(EccCurve::NistP256, None, &[]).unwrap().scalar(),
            before
        );
    }

    #[test]
    fn only_the_last_128_counts_stay_usable() {
        let mut c = Commit::new(&[1; 32]);
        let first = c.commit();
        for _ in 0..127 {
            c.commit();
        }
        assert!(c.r(EccCurve::NistP384, Some(first), &[]).is_some());
        c.commit();
        assert!(
            c.r(EccCurve::NistP384, Some(first), &[]).is_none(),
            "too old"
        );
        // Counts wrap at 16 bits; the bitmap still tells which are outstanding.
        for _ in 0..70_000 {
            let n = c.commit();
            c.end(n);
        }
        let n = c.commit();
        assert!(c.r(EccCurve::NistP256, Some(n), &[]).is_some());
        assert!(c
            .r(EccCurve::NistP256, Some(n.wrapping_sub(1)), &[])
            .is_none());
    }
}
