//! AES (FIPS 197) in the TPM's block modes, and XOR obfuscation.
//!
//! The modes follow the reference implementation's `CryptSymmetricEncrypt`/`Decrypt`, which
//! `TPM2_EncryptDecrypt` (Part 3, 15.2), parameter encryption (Part 1, 21) and sensitive-area
//! protection use: CFB is full-block CFB-128; every mode updates `iv` in place to the chaining
//! value the TPM returns as `ivOut`; CBC and ECB take whole blocks only. The block cipher is
//! RustCrypto's `aes`; the modes are here so their `ivOut` semantics are exact.

use super::kdf::kdf_a;
use super::CryptoError;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use alloc::vec;
use tpm_proto::HashAlg;
use zeroize::Zeroizing;

/// The AES block size in bytes.
pub const BLOCK: usize = 16;

/// `TPM_ALG_AES` key sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymAlg {
    Aes128,
    Aes192,
    Aes256,
}

impl SymAlg {
    /// The algorithm for a key of `key_bits` bits (`TPM_RC_KEY_SIZE` otherwise).
    pub fn aes(key_bits: u16) -> Result<SymAlg, CryptoError> {
        match key_bits {
            128 => Ok(SymAlg::Aes128),
            192 => Ok(SymAlg::Aes192),
            256 => Ok(SymAlg::Aes256),
            _ => Err(CryptoError::KeySize),
        }
    }

    pub fn key_bytes(self) -> usize {
        match self {
            SymAlg::Aes128 => 16,
            SymAlg::Aes192 => 24,
            SymAlg::Aes256 => 32,
        }
    }
}

/// `TPMI_ALG_CIPHER_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymMode {
    Cfb,
    Ctr,
    Ofb,
    Cbc,
    Ecb,
}

/// An expanded AES key; the round keys are wiped on drop (`aes`'s `zeroize` feature).
enum Aes {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl Aes {
    fn new(key: &[u8]) -> Result<Aes, CryptoError> {
        let bad = |_| CryptoError::KeySize;
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).map(Aes::A128).map_err(bad),
            24 => aes::Aes192::new_from_slice(key).map(Aes::A192).map_err(bad),
            32 => aes::Aes256::new_from_slice(key).map(Aes::A256).map_err(bad),
            _ => Err(CryptoError::KeySize),
        }
    }

    fn encrypt(&self, b: &mut [u8; BLOCK]) {
        let mut blk = aes::Block::from(*b);
        match self {
            Aes::A128(c) => c.encrypt_block(&mut blk),
            Aes::A192(c) => c.encrypt_block(&mut blk),
            Aes::A256(c) => c.encrypt_block(&mut blk),
        }
        *b = blk.into();
    }

    fn decrypt(&self, b: &mut [u8; BLOCK]) {
        let mut blk = aes::Block::from(*b);
        match self {
            Aes::A128(c) => c.decrypt_block(&mut blk),
            Aes::A192(c) => c.decrypt_block(&mut blk),
            Aes::A256(c) => c.decrypt_block(&mut blk),
        }
        *b = blk.into();
    }
}

/// Checks the key, the IV (a whole block except for ECB, where it is ignored) and, for CBC/ECB,
/// that `len` is a whole number of blocks.
fn prepare(
    key: &[u8],
    mode: SymMode,
    iv: &[u8],
    len: usize,
) -> Result<(Aes, Zeroizing<[u8; BLOCK]>), CryptoError> {
    let cipher = Aes::new(key)?;
    let mut chain = Zeroizing::new([0u8; BLOCK]);
    if mode != SymMode::Ecb {
        if iv.len() != BLOCK {
            return Err(CryptoError::Size);
        }
        chain.copy_from_slice(iv);
    }
    if matches!(mode, SymMode::Cbc | SymMode::Ecb) && len & (BLOCK - 1) != 0 {
        return Err(CryptoError::Size);
    }
    Ok((cipher, chain))
}

fn block_of(chunk: &[u8]) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    for (d, s) in b.iter_mut().zip(chunk) {
        *d = *s;
    }
    b
}

fn increment_be(ctr: &mut [u8; BLOCK]) {
    for byte in ctr.iter_mut().rev() {
        *byte = byte.wrapping_add(1);
        if *byte != 0 {
            break;
        }
    }
}

/// Encrypts `data` in place with `key` (16, 24 or 32 bytes) in `mode`; `iv` is replaced by the
/// chaining value (`ivOut`). Errors: `KeySize` for a bad key, `Size` for an IV that is not one
/// block (except ECB) or CBC/ECB data that is not whole blocks. Empty data changes nothing.
pub fn encrypt(
    key: &[u8],
    mode: SymMode,
    iv: &mut [u8],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    let (aes, mut chain) = prepare(key, mode, iv, data.len())?;
    if data.is_empty() {
        return Ok(());
    }
    let mut tmp = Zeroizing::new([0u8; BLOCK]);
    for chunk in data.chunks_mut(BLOCK) {
        match mode {
            SymMode::Cfb => {
                aes.encrypt(&mut chain);
                for (c, x) in chunk.iter_mut().zip(chain.iter_mut()) {
                    *x ^= *c;
                    *c = *x;
                }
                // A short last block leaves zeros in the unused IV bytes (reference behaviour).
                for x in chain.iter_mut().skip(chunk.len()) {
                    *x = 0;
                }
            }
            SymMode::Ctr => {
                *tmp = *chain;
                aes.encrypt(&mut tmp);
                increment_be(&mut chain);
                for (c, k) in chunk.iter_mut().zip(tmp.iter()) {
                    *c ^= *k;
                }
            }
            SymMode::Ofb => {
                aes.encrypt(&mut chain);
                for (c, k) in chunk.iter_mut().zip(chain.iter()) {
                    *c ^= *k;
                }
            }
            SymMode::Cbc => {
                for (x, c) in chain.iter_mut().zip(chunk.iter()) {
                    *x ^= *c;
                }
                aes.encrypt(&mut chain);
                chunk.copy_from_slice(chain.get(..chunk.len()).unwrap_or(&[]));
            }
            SymMode::Ecb => {
                *tmp = block_of(chunk);
                aes.encrypt(&mut tmp);
                chunk.copy_from_slice(tmp.get(..chunk.len()).unwrap_or(&[]));
            }
        }
    }
    if mode != SymMode::Ecb {
        iv.copy_from_slice(&chain[..]);
    }
    Ok(())
}

/// Decrypts `data` in place; the inverse of [`encrypt`] with the same `iv` semantics (for CFB
/// and CBC the new `iv` is the last ciphertext block).
pub fn decrypt(
    key: &[u8],
    mode: SymMode,
    iv: &mut [u8],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    if matches!(mode, SymMode::Ctr | SymMode::Ofb) {
        return encrypt(key, mode, iv, data);
    }
    let (aes, mut chain) = prepare(key, mode, iv, data.len())?;
    if data.is_empty() {
        return Ok(());
    }
    let mut tmp = Zeroizing::new([0u8; BLOCK]);
    for chunk in data.chunks_mut(BLOCK) {
        match mode {
            SymMode::Cfb => {
                *tmp = *chain;
                aes.encrypt(&mut tmp);
                for ((p, x), k) in chunk.iter_mut().zip(chain.iter_mut()).zip(tmp.iter()) {
                    *x = *p;
                    *p ^= *k;
                }
                for x in chain.iter_mut().skip(chunk.len()) {
                    *x = 0;
                }
            }
            SymMode::Cbc => {
                let ct = block_of(chunk);
                *tmp = ct;
                aes.decrypt(&mut tmp);
                for ((p, d), x) in chunk.iter_mut().zip(tmp.iter()).zip(chain.iter()) {
                    *p = *d ^ *x;
                }
                *chain = ct;
            }
            SymMode::Ecb => {
                *tmp = block_of(chunk);
                aes.decrypt(&mut tmp);
                chunk.copy_from_slice(tmp.get(..chunk.len()).unwrap_or(&[]));
            }
            SymMode::Ctr | SymMode::Ofb => {}
        }
    }
    if mode != SymMode::Ecb {
        iv.copy_from_slice(&chain[..]);
    }
    Ok(())
}

/// XOR obfuscation (Part 1, 11.4.6.3): `data ^= KDFa(hash, key, "XOR", contextU, contextV,
/// |data|·8)`. Its own inverse. For parameter encryption `contextU`/`contextV` are the nonces
/// (nonceNewer, nonceOlder) as Part 1, 21.2 lays them out; the caller picks them.
pub fn xor_obfuscate(
    hash: HashAlg,
    key: &[u8],
    context_u: &[u8],
    context_v: &[u8],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    let bits = data
        .len()
        .checked_mul(8)
        .and_then(|b| u32::try_from(b).ok())
        .ok_or(CryptoError::Size)?;
    let mut mask = Zeroizing::new(vec![0u8; data.len()]);
    kdf_a(hash, key, b"XOR", context_u, context_v, bits, &mut mask)?;
    for (d, m) in data.iter_mut().zip(mask.iter()) {
        *d ^= *m;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_util::h;
    use alloc::vec::Vec;

    const K128: &str = "2b7e151628aed2a6abf7158809cf4f3c";
    const K256: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const PT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                      30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
    const IV: &str = "000102030405060708090a0b0c0d0e0f";
    const CTR0: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    /// Encrypts the SP 800-38A plaintext, checks the ciphertext and `ivOut`, decrypts back.
    fn kat(key: &str, mode: SymMode, iv: &str, ct: &str, iv_out: &[u8]) {
        let key = h(key);
        let mut iv_e = h(iv);
        let mut data = h(PT);
        encrypt(&key, mode, &mut iv_e, &mut data).unwrap();
        assert_eq!(data, h(ct), "{mode:?} encrypt");
        if mode != SymMode::Ecb {
            assert_eq!(iv_e, iv_out, "{mode:?} ivOut");
        }
        let mut iv_d = h(iv);
        decrypt(&key, mode, &mut iv_d, &mut data).unwrap();
        assert_eq!(data, h(PT), "{mode:?} decrypt");
        assert_eq!(iv_d, iv_e, "{mode:?} decrypt ivOut");
    }

    fn last_block(ct: &str) -> Vec<u8> {
        h(ct)[48..].to_vec()
    }

    // NIST SP 800-38A appendix F: F.1.1/F.1.5 (ECB), F.2.1/F.2.5 (CBC), F.3.13/F.3.17 (CFB128),
    // F.4.1/F.4.5 (OFB), F.5.1/F.5.5 (CTR), AES-128 and AES-256.
    #[test]
    fn sp800_38a_aes128() {
        let ecb = "3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf
                   43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4";
        kat(K128, SymMode::Ecb, "", ecb, &[]);
        let cbc = "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
                   73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7";
        kat(K128, SymMode::Cbc, IV, cbc, &last_block(cbc));
        let cfb = "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b
                   26751f67a3cbb140b1808cf187a4f4df c04b05357c5d1c0eeac4c66f9ff7f2e6";
        kat(K128, SymMode::Cfb, IV, cfb, &last_block(cfb));
        let ofb = "3b3fd92eb72dad20333449f8e83cfb4a 7789508d16918f03f53c52dac54ed825
                   9740051e9c5fecf64344f7a82260edcc 304c6528f659c77866a510d9c1d6ae5e";
        // ivOut is the last keystream block: last ciphertext XOR last plaintext.
        let ks: Vec<u8> = last_block(ofb)
            .iter()
            .zip(&h(PT)[48..])
            .map(|(a, b)| a ^ b)
            .collect();
        kat(K128, SymMode::Ofb, IV, ofb, &ks);
        let ctr = "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff
                   5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee";
        kat(
            K128,
            SymMode::Ctr,
            CTR0,
            ctr,
            &h("f0f1f2f3f4f5f6f7f8f9fafbfcfdff03"),
        );
    }

    #[test]
    fn sp800_38a_aes256() {
        let ecb = "f3eed1bdb5d2a03c064b5a7e3db181f8 591ccb10d410ed26dc5ba74a31362870
                   b6ed21b99ca6f4f9f153e7b1beafed1d 23304b7a39f9f3ff067d8d8f9e24ecc7";
        kat(K256, SymMode::Ecb, "", ecb, &[]);
        let cbc = "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
                   39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b";
        kat(K256, SymMode::Cbc, IV, cbc, &last_block(cbc));
        let cfb = "dc7e84bfda79164b7ecd8486985d3860 39ffed143b28b1c832113c6331e5407b
                   df10132415e54b92a13ed0a8267ae2f9 75a385741ab9cef82031623d55b1e471";
        kat(K256, SymMode::Cfb, IV, cfb, &last_block(cfb));
        let ofb = "dc7e84bfda79164b7ecd8486985d3860 4febdc6740d20b3ac88f6ad82a4fb08d
                   71ab47a086e86eedf39d1c5bba97c408 0126141d67f37be8538f5a8be740e484";
        let ks: Vec<u8> = last_block(ofb)
            .iter()
            .zip(&h(PT)[48..])
            .map(|(a, b)| a ^ b)
            .collect();
        kat(K256, SymMode::Ofb, IV, ofb, &ks);
        let ctr = "601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5
                   2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6";
        kat(
            K256,
            SymMode::Ctr,
            CTR0,
            ctr,
            &h("f0f1f2f3f4f5f6f7f8f9fafbfcfdff03"),
        );
    }

    // A 20-byte message: CFB's ivOut is the 4 ciphertext bytes of the short block then zeros;
    // CTR's counter advanced twice. Ciphertexts are the SP 800-38A prefixes (stream modes).
    #[test]
    fn partial_blocks_follow_reference_iv_rules() {
        let key = h(K128);
        let mut iv = h(IV);
        let mut data = h(PT)[..20].to_vec();
        encrypt(&key, SymMode::Cfb, &mut iv, &mut data).unwrap();
        assert_eq!(data, h("3b3fd92eb72dad20333449f8e83cfb4a c8a64537"));
        assert_eq!(iv, h("c8a64537 000000000000000000000000"));
        let mut iv = h(IV);
        decrypt(&key, SymMode::Cfb, &mut iv, &mut data).unwrap();
        assert_eq!(data, h(PT)[..20]);
        assert_eq!(iv, h("c8a64537 000000000000000000000000"));

        let mut iv = h(CTR0);
        let mut data = h(PT)[..20].to_vec();
        encrypt(&key, SymMode::Ctr, &mut iv, &mut data).unwrap();
        assert_eq!(data, h("874d6191b620e3261bef6864990db6ce 9806f66b"));
        assert_eq!(iv, h("f0f1f2f3f4f5f6f7f8f9fafbfcfdff01"));
    }

    #[test]
    fn block_modes_reject_partial_blocks_and_bad_sizes() {
        let key = h(K128);
        let mut iv = h(IV);
        let mut data = [0u8; 17];
        assert_eq!(
            encrypt(&key, SymMode::Cbc, &mut iv, &mut data),
            Err(CryptoError::Size)
        );
        assert_eq!(
            decrypt(&key, SymMode::Ecb, &mut [], &mut data),
            Err(CryptoError::Size)
        );
        assert_eq!(
            encrypt(&key, SymMode::Cfb, &mut [0; 8], &mut data),
            Err(CryptoError::Size)
        );
        assert_eq!(
            encrypt(&key[..15], SymMode::Cfb, &mut iv, &mut data),
            Err(CryptoError::KeySize)
        );
        // Empty data leaves the IV alone.
        encrypt(&key, SymMode::Cfb, &mut iv, &mut []).unwrap();
        assert_eq!(iv, h(IV));
        assert_eq!(SymAlg::aes(192).unwrap().key_bytes(), 24);
        assert_eq!(SymAlg::aes(512), Err(CryptoError::KeySize));
    }

    #[test]
    fn counter_carries_across_bytes() {
        let mut c = [0xffu8; BLOCK];
        c[0] = 0x01;
        increment_be(&mut c);
        let mut e = [0u8; BLOCK];
        e[0] = 0x02;
        assert_eq!(c, e);
    }

    // The mask is exactly KDFa(hash, key, "XOR", contextU, contextV, bits), checked against the
    // KDFa known answer (SHA-512, 100 bytes) from the kdf tests.
    #[test]
    fn xor_obfuscation_is_kdfa_mask() {
        let mut data = [0u8; 100];
        xor_obfuscate(
            HashAlg::Sha512,
            &[b'x'; 64],
            &[b'U'; 8],
            &[b'V'; 8],
            &mut data,
        )
        .unwrap();
        assert_eq!(
            data[..],
            h(
                "d8ddc7cdb009f0e02bbf47d1a2fea80567e7d9380492c83eeb11e2c033886808
               d2e2ac0083f039d601165f1a81e52280bf5d3598a6416abad5ff71004e285eb5
               90b3f75560f37c270e6787e102dae831ba1e76a74a5a1c57c0f4cc802aa8e3a7
               ef78b871"
            )[..]
        );
        xor_obfuscate(
            HashAlg::Sha512,
            &[b'x'; 64],
            &[b'U'; 8],
            &[b'V'; 8],
            &mut data,
        )
        .unwrap();
        assert_eq!(data, [0u8; 100]);
    }
}
