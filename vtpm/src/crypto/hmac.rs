//! HMAC (FIPS 198-1, RFC 2104) over the implemented hashes.

use super::hash::{Digest, Hasher};
use tpm_proto::HashAlg;
use zeroize::Zeroize;

/// An incremental HMAC.
#[derive(Debug, Clone)]
pub struct Hmac {
    inner: Hasher,
    outer: Hasher,
}

impl Hmac {
    pub fn new(alg: HashAlg, key: &[u8]) -> Hmac {
        let mut k = [0u8; 128];
        let block = alg.block_size();
        if key.len() > block {
            let d = Hasher::digest(alg, &[key]);
            k[..d.as_bytes().len()].copy_from_slice(d.as_bytes());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut ipad = [0x36u8; 128];
        let mut opad = [0x5cu8; 128];
        for i in 0..block {
            ipad[i] ^= k[i];
            opad[i] ^= k[i];
        }
        let mut inner = Hasher::new(alg);
        inner.update(&ipad[..block]);
        let mut outer = Hasher::new(alg);
        outer.update(&opad[..block]);
        k.zeroize();
        ipad.zeroize();
        opad.zeroize();
        Hmac { inner, outer }
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.inner.update(data);
        self
    }

    pub fn finish(self) -> Digest {
        let ih = self.inner.finish();
        let mut outer = self.outer;
        outer.update(ih.as_bytes());
        outer.finish()
    }

    /// One-shot HMAC of the concatenation of `parts`.
    pub fn mac(alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> Digest {
        let mut m = Hmac::new(alg, key);
        for p in parts {
            m.update(p);
        }
        m.finish()
    }
}
