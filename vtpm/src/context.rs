//! Context blobs (Part 1, section 30): the protected form of a saved object or session.
//!
//! `TPMS_CONTEXT.contextBlob` = `integrity` (`TPM2B_DIGEST`, HMAC-SHA-256) || `encrypted`
//! (AES-256-CFB). Both keys come from a per-reset context secret (`Tpm::context_key`, fresh at
//! manufacture and at every TPM Reset, so a blob from before a Reset is stale) and the proof of
//! the object's hierarchy (so `TPM2_Clear` invalidates blobs of the owner hierarchy):
//!
//! * key, IV = `KDFa(SHA-256, contextKey || proof, "CONTEXT", sequence, savedHandle, 384)`
//! * integrity = `HMAC-SHA-256(contextKey || proof, sequence || savedHandle || hierarchy ||
//!   [restartCount for stClear objects] || encrypted)`
//!
//! A session's blob carries no state (the session stays in the TPM, marked saved); the sequence
//! number in the integrity-protected header is what makes each saved session loadable once.

use crate::crypto::{kdf_a, sym, Hmac};
use tpm_proto::{Handle, HashAlg, Rc};
use zeroize::Zeroizing;

/// Size of the integrity HMAC.
pub(crate) const INTEGRITY_SIZE: usize = 32;

/// What binds a blob: the secret and the header fields.
#[derive(Debug)]
pub(crate) struct BlobKey<'a> {
    pub context_key: &'a [u8],
    pub proof: &'a [u8],
    pub sequence: u64,
    pub saved_handle: Handle,
    pub hierarchy: Handle,
    /// `restartCount` for stClear objects (a TPM Restart invalidates them).
    pub restart: Option<u32>,
}

impl BlobKey<'_> {
    fn secret(&self) -> Zeroizing<alloc::vec::Vec<u8>> {
        let mut s = Zeroizing::new(alloc::vec::Vec::with_capacity(128));
        s.extend_from_slice(self.context_key);
        s.extend_from_slice(self.proof);
        s
    }

    fn cipher(&self, data: &mut [u8], encrypt: bool) -> Result<(), Rc> {
        let mut kiv = Zeroizing::new([0u8; 48]);
        kdf_a(
            HashAlg::Sha256,
            &self.secret(),
            b"CONTEXT",
            &self.sequence.to_be_bytes(),
            &self.saved_handle.0.to_be_bytes(),
            384,
            &mut kiv[..],
        )
        .map_err(Rc::from)?;
        let (k, iv) = kiv.split_at_mut(32);
        if encrypt {
            sym::encrypt(k, sym::SymMode::Cfb, iv, data).map_err(Rc::from)
        } else {
            sym::decrypt(k, sym::SymMode::Cfb, iv, data).map_err(Rc::from)
        }
    }

    fn integrity(&self, encrypted: &[u8]) -> crate::crypto::Digest {
        let mut mac = Hmac::new(HashAlg::Sha256, &self.secret());
        mac.update(&self.sequence.to_be_bytes());
        mac.update(&self.saved_handle.0.to_be_bytes());
        mac.update(&self.hierarchy.0.to_be_bytes());
        if let Some(r) = self.restart {
            mac.update(&r.to_be_bytes());
        }
        mac.update(encrypted);
        mac.finish()
    }

    /// Protects `blob[2 + INTEGRITY_SIZE..]` (the plaintext already written there) in place and
    /// fills in the integrity `TPM2B_DIGEST` at the front.
    pub fn seal(&self, blob: &mut [u8]) -> Result<(), Rc> {
        let (head, body) = blob.split_at_mut(2 + INTEGRITY_SIZE);
        self.cipher(body, true)?;
        let mac = self.integrity(body);
        head[..2].copy_from_slice(&(INTEGRITY_SIZE as u16).to_be_bytes());
        head[2..].copy_from_slice(mac.as_bytes());
        Ok(())
    }

    /// Verifies and decrypts a blob in place, returning the plaintext. `TPM_RC_SIZE` for a blob
    /// too short to hold the integrity value, `TPM_RC_INTEGRITY` when it does not verify.
    pub fn open<'b>(&self, blob: &'b mut [u8]) -> Result<&'b mut [u8], Rc> {
        if blob.len() < 2 + INTEGRITY_SIZE
            || u16::from_be_bytes([blob[0], blob[1]]) as usize != INTEGRITY_SIZE
        {
            return Err(Rc::Size);
        }
        let (head, body) = blob.split_at_mut(2 + INTEGRITY_SIZE);
        let want = self.integrity(body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(want.as_bytes(), &head[2..])) {
            return Err(Rc::Integrity);
        }
        self.cipher(body, false)?;
        Ok(body)
    }
}
