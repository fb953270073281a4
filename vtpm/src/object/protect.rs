//! Sensitive-area protection (Part 1, sections 22.4 and 23; reference `SensitiveToPrivate`,
//! `PrivateToSensitive`, `ProduceOuterWrap`, `UnwrapOuter`), byte-compatible with other TPMs and
//! tpm2-tss so that Import/Duplicate blobs interoperate:
//!
//! ```text
//! TPM2B_PRIVATE = TPM2B_DIGEST(integrity) || TPM2B_IV(iv) || CFB(symKey, iv, TPM2B_SENSITIVE)
//! symKey    = KDFa(parent nameAlg, parent seedValue, "STORAGE", Name, "", parent key bits)
//! hmacKey   = KDFa(parent nameAlg, parent seedValue, "INTEGRITY", "", "", digest bits)
//! integrity = HMAC_parentNameAlg(hmacKey, TPM2B_IV || encrypted TPM2B_SENSITIVE || Name)
//! ```
//!
//! The cipher is the parent's symmetric algorithm in CFB mode whatever mode the parent names, as
//! in the reference.

use crate::crypto::hmac::Hmac;
use crate::crypto::{kdf_a, sym, SymMode};
use alloc::vec;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;
use tpm_proto::{HashAlg, Rc, Reader, TpmtSymDefObject};
use zeroize::Zeroizing;

/// The key of a protecting parent: its `nameAlg`, `seedValue` and symmetric definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Protector<'a> {
    pub name_alg: HashAlg,
    pub seed: &'a [u8],
    pub symmetric: TpmtSymDefObject,
}

/// The IV of the AES block cipher.
pub(crate) const IV_SIZE: usize = sym::BLOCK;

impl Protector<'_> {
    fn sym_key(&self, name: &[u8]) -> Result<Zeroizing<Vec<u8>>, Rc> {
        let TpmtSymDefObject::Aes { key_bits, .. } = self.symmetric else {
            return Err(Rc::Symmetric);
        };
        let mut key = Zeroizing::new(vec![0u8; key_bits.bytes()]);
        kdf_a(
            self.name_alg,
            self.seed,
            b"STORAGE",
            name,
            &[],
            u32::from(key_bits.bits()),
            &mut key,
        )?;
        Ok(key)
    }

    fn integrity(&self, protected: &[u8], name: &[u8]) -> Result<crate::crypto::Digest, Rc> {
        let size = self.name_alg.size();
        let mut hmac_key = Zeroizing::new(vec![0u8; size]);
        kdf_a(
            self.name_alg,
            self.seed,
            b"INTEGRITY",
            &[],
            &[],
            (size * 8) as u32,
            &mut hmac_key,
        )?;
        Ok(Hmac::mac(self.name_alg, &hmac_key, &[protected, name]))
    }

    /// Wraps a marshalled `TPMT_SENSITIVE` for the object `name` (`SensitiveToPrivate`): returns
    /// the contents of `TPM2B_PRIVATE`.
    pub fn wrap(&self, sensitive: &[u8], name: &[u8], iv: &[u8; IV_SIZE]) -> Result<Vec<u8>, Rc> {
        self.wrap_outer(sensitive, name, Some(iv))
    }

    /// `ProduceOuterWrap` of `TPM2B(data)`: with an IV (a private area), or with a zero IV and no
    /// IV field (a credential blob or a duplication blob, whose seed is used once).
    pub fn wrap_outer(
        &self,
        data: &[u8],
        name: &[u8],
        iv: Option<&[u8; IV_SIZE]>,
    ) -> Result<Vec<u8>, Rc> {
        let inner_len = u16::try_from(data.len()).map_err(|_| Rc::Size)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(2 + data.len()));
        buf.extend_from_slice(&inner_len.to_be_bytes());
        buf.extend_from_slice(data);
        self.seal_raw(&buf, name, iv)
    }

    /// `ProduceOuterWrap` of `buf` as it is (a duplication blob's inner wrap carries its own
    /// structure).
    pub fn seal_raw(
        &self,
        buf: &[u8],
        name: &[u8],
        iv: Option<&[u8; IV_SIZE]>,
    ) -> Result<Vec<u8>, Rc> {
        let key = self.sym_key(name)?;
        let mut protected = Zeroizing::new(Vec::with_capacity(2 + IV_SIZE + buf.len()));
        if let Some(iv) = iv {
            protected.extend_from_slice(&(IV_SIZE as u16).to_be_bytes());
            protected.extend_from_slice(iv);
        }
        let start = protected.len();
        protected.extend_from_slice(buf);
        let mut chain = iv.copied().unwrap_or([0u8; IV_SIZE]);
        let body = protected.get_mut(start..).ok_or(Rc::Failure)?;
        sym::encrypt(&key, SymMode::Cfb, &mut chain, body)?;
        let mac = self.integrity(&protected, name)?;
        let mut out = Vec::with_capacity(2 + mac.as_bytes().len() + protected.len());
        out.extend_from_slice(&(mac.as_bytes().len() as u16).to_be_bytes());
        out.extend_from_slice(mac.as_bytes());
        out.extend_from_slice(&protected);
        Ok(out)
    }

    /// Unwraps `TPM2B_PRIVATE` contents for the object `name` (`PrivateToSensitive`): checks the
    /// integrity (`TPM_RC_INTEGRITY`), decrypts, and returns the marshalled `TPMT_SENSITIVE`.
    /// Errors are format one without a parameter number (the caller blames `inPrivate`), except
    /// `TPM_RC_SENSITIVE` for an inner size that disagrees with the data.
    pub fn unwrap(&self, private: &[u8], name: &[u8]) -> Result<Zeroizing<Vec<u8>>, Rc> {
        self.unwrap_outer(private, name, true, Rc::Sensitive)
    }

    /// `UnwrapOuter` and the inner `TPM2B`: `with_iv` as [`Protector::wrap_outer`]; an inner
    /// size that disagrees with the data is `mismatch`.
    pub fn unwrap_outer(
        &self,
        private: &[u8],
        name: &[u8],
        with_iv: bool,
        mismatch: Rc,
    ) -> Result<Zeroizing<Vec<u8>>, Rc> {
        let body = self.open_raw(private, name, with_iv)?;
        let mut inner = Reader::new(&body);
        let n = usize::from(inner.u16().map_err(|_| mismatch)?);
        if n + 2 != body.len() {
            return Err(mismatch);
        }
        Ok(Zeroizing::new(inner.rest().to_vec()))
    }

    /// `UnwrapOuter`: checks the integrity and returns the decrypted buffer.
    pub fn open_raw(
        &self,
        private: &[u8],
        name: &[u8],
        with_iv: bool,
    ) -> Result<Zeroizing<Vec<u8>>, Rc> {
        let mut r = Reader::new(private);
        let size = usize::from(r.u16()?);
        if size > tpm_proto::MAX_DIGEST_SIZE {
            return Err(Rc::Size);
        }
        let integrity = r.bytes(size)?;
        let protected = r.rest();
        let expect = self.integrity(protected, name)?;
        if !bool::from(expect.as_bytes().ct_eq(integrity)) {
            return Err(Rc::Integrity);
        }
        let key = self.sym_key(name)?;
        let mut chain = [0u8; IV_SIZE];
        if with_iv {
            let iv_size = usize::from(r.u16()?);
            if iv_size > IV_SIZE {
                return Err(Rc::Size);
            }
            let iv = r.bytes(iv_size)?;
            if iv.len() != IV_SIZE {
                return Err(Rc::Value);
            }
            chain.copy_from_slice(iv);
        }
        let mut body = Zeroizing::new(r.rest().to_vec());
        sym::decrypt(&key, SymMode::Cfb, &mut chain, &mut body)?;
        Ok(body)
    }
}

/// The inner wrap of a duplication blob (Part 1, 23.3.2.3; reference `SensitiveToDuplicate`):
/// `CFB(key, IV 0, TPM2B_DIGEST(H_nameAlg(TPM2B_SENSITIVE || Name)) || TPM2B_SENSITIVE)`.
pub(crate) fn inner_wrap(
    name_alg: HashAlg,
    key: &[u8],
    sensitive: &[u8],
    name: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Rc> {
    let len = u16::try_from(sensitive.len()).map_err(|_| Rc::Size)?;
    let mut tpm2b = Zeroizing::new(Vec::with_capacity(2 + sensitive.len()));
    tpm2b.extend_from_slice(&len.to_be_bytes());
    tpm2b.extend_from_slice(sensitive);
    let digest = crate::crypto::Hasher::digest(name_alg, &[&tpm2b, name]);
    let mut buf = Zeroizing::new(Vec::with_capacity(
        2 + digest.as_bytes().len() + tpm2b.len(),
    ));
    buf.extend_from_slice(&(digest.as_bytes().len() as u16).to_be_bytes());
    buf.extend_from_slice(digest.as_bytes());
    buf.extend_from_slice(&tpm2b);
    sym::encrypt(key, SymMode::Cfb, &mut [0u8; IV_SIZE], &mut buf)?;
    Ok(buf)
}

/// Removes an inner wrap (reference `DuplicateToSensitive`, `CheckInnerIntegrity`): returns the
/// `TPM2B_SENSITIVE` (with its size). `TPM_RC_INTEGRITY` if the digest does not match.
pub(crate) fn inner_unwrap(
    name_alg: HashAlg,
    key: &[u8],
    blob: &[u8],
    name: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Rc> {
    let mut buf = Zeroizing::new(blob.to_vec());
    sym::decrypt(key, SymMode::Cfb, &mut [0u8; IV_SIZE], &mut buf)?;
    let mut r = Reader::new(&buf);
    let size = usize::from(r.u16()?);
    if size > tpm_proto::MAX_DIGEST_SIZE {
        return Err(Rc::Size);
    }
    let integrity = r.bytes(size)?;
    let rest = r.rest();
    let expect = crate::crypto::Hasher::digest(name_alg, &[rest, name]);
    if !bool::from(expect.as_bytes().ct_eq(integrity)) {
        return Err(Rc::Integrity);
    }
    Ok(Zeroizing::new(rest.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tpm_proto::{TpmiAesKeyBits, TpmiAlgSymMode};

    fn protector(seed: &[u8]) -> Protector<'_> {
        Protector {
            name_alg: HashAlg::Sha256,
            seed,
            symmetric: TpmtSymDefObject::Aes {
                key_bits: TpmiAesKeyBits::Aes128,
                mode: Some(TpmiAlgSymMode::Cfb),
            },
        }
    }

    #[test]
    fn wrap_unwrap_round_trip_and_layout() {
        let seed = [7u8; 32];
        let p = protector(&seed);
        let name = [0x00, 0x0b, 1, 2, 3];
        let sens = b"sensitive area bytes";
        let blob = p.wrap(sens, &name, &[9u8; 16]).unwrap();
        assert_eq!(&blob[..2], &[0, 32]);
        assert_eq!(&blob[34..36], &[0, 16]);
        assert_eq!(&blob[36..52], &[9u8; 16]);
        assert_eq!(blob.len(), 2 + 32 + 2 + 16 + 2 + sens.len());
        assert_eq!(&p.unwrap(&blob, &name).unwrap()[..], sens);
    }

    #[test]
    fn tampering_is_integrity() {
        let seed = [7u8; 32];
        let p = protector(&seed);
        let name = [0x00, 0x0b, 1, 2, 3];
        let blob = p.wrap(b"secret", &name, &[1u8; 16]).unwrap();
        for i in [0usize, 2, 40, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            let rc = p.unwrap(&bad, &name).unwrap_err();
            assert!(rc == Rc::Integrity || rc == Rc::Size, "byte {i}: {rc:?}");
        }
        assert_eq!(p.unwrap(&blob, &[0, 0x0b, 9]).unwrap_err(), Rc::Integrity);
        let other = [8u8; 32];
        assert_eq!(
            protector(&other).unwrap(&blob, &name).unwrap_err(),
            Rc::Integrity
        );
        assert_eq!(p.unwrap(&blob[..1], &name).unwrap_err(), Rc::Insufficient);
    }
}
