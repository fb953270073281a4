//! HMAC (FIPS 198-1, RFC 2104) over the TPM's hashes, built on [`Hasher`] so the algorithm is
//! chosen at run time by `TPMI_ALG_HASH`.

use super::hash::{Digest, Hasher};
use tpm_proto::HashAlg;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Largest hash block (SHA-384/512).
const MAX_BLOCK: usize = 128;

/// An incremental HMAC computation: the inner and outer hashes with `K0 ^ ipad` and
/// `K0 ^ opad` already absorbed, so that [`Hmac::finish`] costs one compression for the outer
/// hash and a clone of a keyed `Hmac` starts a new MAC under the same key without redoing the
/// key schedule (the DRBG and KDFa rely on this). Both keyed states are overwritten on drop.
#[derive(Clone)]
pub struct Hmac {
    inner: Hasher,
    outer: Hasher,
}

impl core::fmt::Debug for Hmac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Hmac({:?})", self.inner.alg())
    }
}

impl Hmac {
    /// Starts an HMAC keyed with `key` (any length; keys longer than the block are hashed first,
    /// FIPS 198-1 step 2).
    pub fn new(alg: HashAlg, key: &[u8]) -> Hmac {
        let block = alg.block_size();
        let mut pad = [0u8; MAX_BLOCK];
        if key.len() > block {
            let d = Hasher::digest(alg, &[key]);
            for (k, b) in pad.iter_mut().zip(d.as_bytes()) {
                *k = *b;
            }
        } else {
            for (k, b) in pad.iter_mut().zip(key) {
                *k = *b;
            }
        }
        let pad = pad.get_mut(..block).unwrap_or(&mut []);
        // K0 ^ ipad, then (K0 ^ ipad) ^ (ipad ^ opad) = K0 ^ opad.
        pad.iter_mut().for_each(|b| *b ^= 0x36);
        let mut inner = Hasher::new(alg);
        inner.update(pad);
        pad.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
        let mut outer = Hasher::new(alg);
        outer.update(pad);
        pad.zeroize();
        Hmac { inner, outer }
    }

    pub fn alg(&self) -> HashAlg {
        self.inner.alg()
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.inner.update(data);
        self
    }

    pub fn finish(mut self) -> Digest {
        let inner = self.inner.finish_reset();
        self.outer.update(inner.as_bytes());
        self.outer.finish_reset()
    }

    /// One-shot HMAC of the concatenation of `parts`.
    pub fn mac(alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> Digest {
        let mut h = Hmac::new(alg, key);
        for p in parts {
            h.update(p);
        }
        h.finish()
    }
}

impl Drop for Hmac {
    fn drop(&mut self) {
        // After `finish` both are already reset; wiping a reset state is cheap.
        self.inner.wipe();
        self.outer.wipe();
    }
}

impl ZeroizeOnDrop for Hmac {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_util::h;
    use alloc::vec;

    fn check(alg: HashAlg, key: &[u8], data: &[u8], expect: &str) {
        assert_eq!(
            Hmac::mac(alg, key, &[data]).as_bytes(),
            &h(expect)[..],
            "{alg:?}"
        );
        // Incremental, split at every position of a short prefix.
        for cut in 0..data.len().min(5) {
            let mut m = Hmac::new(alg, key);
            m.update(&data[..cut]).update(&data[cut..]);
            assert_eq!(m.finish().as_bytes(), &h(expect)[..]);
        }
    }

    // RFC 4231 test cases 1, 2, 6 and 7 (SHA-256/384/512).
    #[test]
    fn rfc4231_vectors() {
        let k1 = [0x0bu8; 20];
        let d1 = b"Hi There";
        check(
            HashAlg::Sha256,
            &k1,
            d1,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        );
        check(
            HashAlg::Sha384,
            &k1,
            d1,
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
        );
        check(
            HashAlg::Sha512,
            &k1,
            d1,
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        );
        let k2 = b"Jefe";
        let d2 = b"what do ya want for nothing?";
        check(
            HashAlg::Sha256,
            k2,
            d2,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
        check(
            HashAlg::Sha512,
            k2,
            d2,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        );
        let k6 = vec![0xaau8; 131];
        let d6 = b"Test Using Larger Than Block-Size Key - Hash Key First";
        check(
            HashAlg::Sha256,
            &k6,
            d6,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        );
        check(
            HashAlg::Sha384,
            &k6,
            d6,
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
        );
        let d7 = b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
        check(
            HashAlg::Sha256,
            &k6,
            d7,
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        );
        check(
            HashAlg::Sha512,
            &k6,
            d7,
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
        );
    }

    // RFC 2202 test cases 1, 2, 6 and 7 (SHA-1).
    #[test]
    fn rfc2202_sha1_vectors() {
        check(
            HashAlg::Sha1,
            &[0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        );
        check(
            HashAlg::Sha1,
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        );
        let k = [0xaau8; 80];
        check(
            HashAlg::Sha1,
            &k,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        );
        check(
            HashAlg::Sha1,
            &k,
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        );
    }
}
