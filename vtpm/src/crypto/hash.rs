//! SHA-1, SHA-256, SHA-384 and SHA-512 (FIPS 180-4) over RustCrypto's `sha1`/`sha2`.

use digest::Digest as _;
use tpm_proto::{HashAlg, MAX_DIGEST_SIZE};

/// A digest of any implemented hash, held inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    buf: [u8; MAX_DIGEST_SIZE],
    len: u8,
}

impl Digest {
    /// A digest of `alg`'s size, all zero (a PCR after reset).
    pub fn zero(alg: HashAlg) -> Digest {
        Digest {
            buf: [0; MAX_DIGEST_SIZE],
            len: alg.size() as u8,
        }
    }

    /// A digest of `alg`'s size, all 0xFF (a PCR after a locality-4 reset).
    pub fn ones(alg: HashAlg) -> Digest {
        let mut d = Digest::zero(alg);
        d.buf[..alg.size()].fill(0xFF);
        d
    }

    /// Copies up to [`MAX_DIGEST_SIZE`] bytes.
    pub fn from_slice(b: &[u8]) -> Digest {
        let len = b.len().min(MAX_DIGEST_SIZE);
        let mut buf = [0; MAX_DIGEST_SIZE];
        buf[..len].copy_from_slice(&b[..len]);
        Digest {
            buf,
            len: len as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Zeroes the digest (one that was key material; `Digest` is `Copy`, so this is explicit).
    pub fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl core::fmt::Debug for Digest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An incremental hash of a run-time selected algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl core::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Hasher({:?})", self.alg())
    }
}

impl Hasher {
    pub fn new(alg: HashAlg) -> Hasher {
        match alg {
            HashAlg::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn alg(&self) -> HashAlg {
        match self {
            Hasher::Sha1(_) => HashAlg::Sha1,
            Hasher::Sha256(_) => HashAlg::Sha256,
            Hasher::Sha384(_) => HashAlg::Sha384,
            Hasher::Sha512(_) => HashAlg::Sha512,
        }
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
        self
    }

    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha1(h) => Digest::from_slice(&h.finalize()),
            Hasher::Sha256(h) => Digest::from_slice(&h.finalize()),
            Hasher::Sha384(h) => Digest::from_slice(&h.finalize()),
            Hasher::Sha512(h) => Digest::from_slice(&h.finalize()),
        }
    }

    /// Finishes and leaves `self` reset to the empty state of the same algorithm, without
    /// moving the (up to 200-byte) state around.
    pub fn finish_reset(&mut self) -> Digest {
        match self {
            Hasher::Sha1(h) => Digest::from_slice(&h.finalize_reset()),
            Hasher::Sha256(h) => Digest::from_slice(&h.finalize_reset()),
            Hasher::Sha384(h) => Digest::from_slice(&h.finalize_reset()),
            Hasher::Sha512(h) => Digest::from_slice(&h.finalize_reset()),
        }
    }

    /// Overwrites the state in place with a fresh one (of the same size: the variant is kept),
    /// so that a keyed state (HMAC pads) does not outlive its owner. RustCrypto's hash states
    /// have no `Zeroize`; `black_box` keeps the store from being elided as dead.
    pub fn wipe(&mut self) {
        match self {
            Hasher::Sha1(h) => digest::Digest::reset(h),
            Hasher::Sha256(h) => digest::Digest::reset(h),
            Hasher::Sha384(h) => digest::Digest::reset(h),
            Hasher::Sha512(h) => digest::Digest::reset(h),
        }
        core::hint::black_box(&*self);
    }

    /// One-shot hash of the concatenation of `parts`.
    pub fn digest(alg: HashAlg, parts: &[&[u8]]) -> Digest {
        let mut h = Hasher::new(alg);
        for p in parts {
            h.update(p);
        }
        h.finish_reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: Digest) -> alloc::string::String {
        use core::fmt::Write;
        let mut s = alloc::string::String::new();
        for b in d.as_bytes() {
            write!(s, "{b:02x}").unwrap();
        }
        s
    }

    // FIPS 180-4 examples ("abc"), from NIST's Cryptographic Standards and Guidelines examples.
    #[test]
    fn known_answers_abc() {
        assert_eq!(
            hex(Hasher::digest(HashAlg::Sha1, &[b"abc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(Hasher::digest(HashAlg::Sha256, &[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(Hasher::digest(HashAlg::Sha384, &[b"abc"])),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            hex(Hasher::digest(HashAlg::Sha512, &[b"abc"])),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }
}
