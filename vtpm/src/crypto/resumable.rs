//! SHA-1/256/384/512 with an explicit, serializable state (FIPS 180-4), built on RustCrypto's
//! compression functions. Hash and event sequence objects use it so that `TPM2_ContextSave` can
//! carry a sequence's state inside an encrypted context blob instead of keeping it in the TPM.

use super::hash::Digest;
use sha2::digest::generic_array::GenericArray;
use tpm_proto::{HashAlg, Marshal, Rc, Reader, WriteError, Writer};
use zeroize::Zeroize;

const IV1: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
const IV256: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const IV384: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];
const IV512: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The first 64 bytes of `block` as the one-block slice SHA-1/SHA-256 compress.
fn block64(block: &[u8; 128]) -> &[GenericArray<u8, sha2::digest::consts::U64>] {
    core::slice::from_ref(GenericArray::from_slice(&block[..64]))
}

/// An incremental hash whose whole state can be written out and read back.
#[derive(Clone, Zeroize)]
pub struct ResumableHash {
    #[zeroize(skip)]
    alg: HashAlg,
    /// Chaining value: 5 or 8 words of 32 bits (SHA-1/256) or 8 of 64 bits (SHA-384/512).
    state: [u64; 8],
    block: [u8; 128],
    filled: u8,
    /// Message length in bytes so far.
    length: u64,
}

impl core::fmt::Debug for ResumableHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ResumableHash({:?})", self.alg)
    }
}

impl ResumableHash {
    pub fn new(alg: HashAlg) -> ResumableHash {
        let mut state = [0u64; 8];
        match alg {
            HashAlg::Sha1 => state.iter_mut().zip(IV1).for_each(|(s, v)| *s = v as u64),
            HashAlg::Sha256 => state.iter_mut().zip(IV256).for_each(|(s, v)| *s = v as u64),
            HashAlg::Sha384 => state = IV384,
            HashAlg::Sha512 => state = IV512,
        }
        ResumableHash {
            alg,
            state,
            block: [0; 128],
            filled: 0,
            length: 0,
        }
    }

    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    fn block_size(&self) -> usize {
        self.alg.block_size()
    }

    /// Compresses the full block in place (the compression functions take the block by
    /// reference: no copy of it).
    fn compress(&mut self) {
        match self.alg {
            HashAlg::Sha1 => {
                let mut st = [0u32; 5];
                st.iter_mut()
                    .zip(self.state)
                    .for_each(|(d, s)| *d = s as u32);
                sha1::compress(&mut st, block64(&self.block));
                self.state
                    .iter_mut()
                    .zip(st)
                    .for_each(|(d, s)| *d = s as u64);
            }
            HashAlg::Sha256 => {
                let mut st = [0u32; 8];
                st.iter_mut()
                    .zip(self.state)
                    .for_each(|(d, s)| *d = s as u32);
                sha2::compress256(&mut st, block64(&self.block));
                self.state
                    .iter_mut()
                    .zip(st)
                    .for_each(|(d, s)| *d = s as u64);
            }
            HashAlg::Sha384 | HashAlg::Sha512 => {
                sha2::compress512(
                    &mut self.state,
                    core::slice::from_ref(GenericArray::from_slice(&self.block[..])),
                );
            }
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        let bs = self.block_size();
        self.length = self.length.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let at = self.filled as usize;
            let take = (bs - at).min(data.len());
            self.block[at..at + take].copy_from_slice(&data[..take]);
            self.filled += take as u8;
            data = &data[take..];
            if self.filled as usize == bs {
                self.compress();
                self.filled = 0;
            }
        }
    }

    pub fn finish(mut self) -> Digest {
        self.finish_in_place()
    }

    /// [`ResumableHash::finish`] on a hash that stays where it is (a sequence object's slot,
    /// which is then dropped in place): the state is consumed and must not be used again.
    pub fn finish_in_place(&mut self) -> Digest {
        let bs = self.block_size();
        let len_bytes = if bs == 64 { 8 } else { 16 };
        let bits = (self.length as u128).wrapping_mul(8);
        let at = self.filled as usize;
        self.block[at] = 0x80;
        self.block[at + 1..bs].fill(0);
        if at + 1 > bs - len_bytes {
            self.compress();
            self.block[..bs].fill(0);
        }
        if bs == 64 {
            self.block[56..64].copy_from_slice(&(bits as u64).to_be_bytes());
        } else {
            self.block[112..128].copy_from_slice(&bits.to_be_bytes());
        }
        self.compress();
        let mut out = [0u8; 64];
        match self.alg {
            HashAlg::Sha1 | HashAlg::Sha256 => {
                for (i, w) in self.state.iter().take(8).enumerate() {
                    out[i * 4..i * 4 + 4].copy_from_slice(&(*w as u32).to_be_bytes());
                }
            }
            HashAlg::Sha384 | HashAlg::Sha512 => {
                for (i, w) in self.state.iter().enumerate() {
                    out[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
                }
            }
        }
        // The digest is the result handed out, not a secret of the sequence: no wiping.
        Digest::from_slice(&out[..self.alg.size()])
    }

    /// Reads a state written by [`Marshal`]; anything inconsistent is `TPM_RC_VALUE`.
    pub fn unmarshal(r: &mut Reader<'_>) -> Result<ResumableHash, Rc> {
        let alg = HashAlg::unmarshal_opt(r, false)?.ok_or(Rc::Value)?;
        let mut h = ResumableHash::new(alg);
        for s in h.state.iter_mut() {
            *s = r.u64()?;
        }
        h.filled = r.u8()?;
        if h.filled as usize >= h.block_size() {
            return Err(Rc::Value);
        }
        h.block[..h.filled as usize].copy_from_slice(r.bytes(h.filled as usize)?);
        h.length = r.u64()?;
        if h.length % h.block_size() as u64 != h.filled as u64 {
            return Err(Rc::Value);
        }
        Ok(h)
    }
}

impl Marshal for ResumableHash {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.alg.alg().0)?;
        for s in self.state {
            w.u64(s)?;
        }
        w.u8(self.filled)?;
        w.bytes(&self.block[..self.filled as usize])?;
        w.u64(self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Hasher;

    #[test]
    fn matches_the_one_shot_hashes_at_every_length_around_blocks() {
        let data: alloc::vec::Vec<u8> = (0..600u32).map(|i| (i * 7 + 3) as u8).collect();
        for alg in HashAlg::ALL {
            for len in [0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 300, 600] {
                let mut h = ResumableHash::new(alg);
                let (a, b) = data[..len].split_at(len / 3);
                h.update(a);
                h.update(b);
                assert_eq!(
                    h.finish(),
                    Hasher::digest(alg, &[&data[..len]]),
                    "{alg:?} {len}"
                );
            }
        }
    }

    #[test]
    fn state_survives_a_round_trip() {
        for alg in HashAlg::ALL {
            let mut h = ResumableHash::new(alg);
            h.update(&[0x5a; 200]);
            let mut buf = [0u8; 256];
            let n = h.to_bytes(&mut buf).unwrap();
            let mut back = ResumableHash::unmarshal(&mut Reader::new(&buf[..n])).unwrap();
            let mut again = [0u8; 256];
            assert_eq!(back.to_bytes(&mut again).unwrap(), n);
            assert_eq!(again[..n], buf[..n]);
            back.update(b"tail");
            h.update(b"tail");
            assert_eq!(back.finish(), h.finish());
        }
    }

    #[test]
    fn inconsistent_state_is_refused() {
        let mut h = ResumableHash::new(HashAlg::Sha256);
        h.update(&[1; 10]);
        let mut buf = [0u8; 256];
        let n = h.to_bytes(&mut buf).unwrap();
        buf[2 + 64] = 200; // filled beyond the block
        assert!(matches!(
            ResumableHash::unmarshal(&mut Reader::new(&buf[..n])),
            Err(Rc::Value)
        ));
    }
}
