//! SP 800-90A deterministic random bit generator.
//!
//! Interim: SHA-256 counter-mode expansion of the seed. Replaced by the HMAC_DRBG with its NIST
//! known-answer tests.

use super::hash::Hasher;
use tpm_proto::HashAlg;
use zeroize::Zeroize;

/// Errors of the DRBG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrbgError {
    /// The reseed interval is exhausted; reseed from the platform first.
    ReseedRequired,
}

/// An SP 800-90A DRBG instance.
pub struct Drbg {
    key: [u8; 32],
    counter: u64,
}

impl core::fmt::Debug for Drbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Drbg")
    }
}

impl Drop for Drbg {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Drbg {
    /// Instantiates from `entropy` (nonce included) and a personalization string.
    pub fn new(entropy: &[u8], personalization: &[u8]) -> Drbg {
        let d = Hasher::digest(HashAlg::Sha256, &[entropy, personalization]);
        let mut key = [0u8; 32];
        key.copy_from_slice(d.as_bytes());
        Drbg { key, counter: 0 }
    }

    /// Mixes in fresh entropy.
    pub fn reseed(&mut self, entropy: &[u8], additional: &[u8]) {
        let d = Hasher::digest(HashAlg::Sha256, &[&self.key, entropy, additional]);
        self.key.copy_from_slice(d.as_bytes());
        self.counter = 0;
    }

    /// Fills `out` with pseudo-random bytes.
    pub fn generate(&mut self, out: &mut [u8], additional: &[u8]) -> Result<(), DrbgError> {
        for chunk in out.chunks_mut(32) {
            self.counter += 1;
            let d = Hasher::digest(
                HashAlg::Sha256,
                &[&self.key, &self.counter.to_be_bytes(), additional],
            );
            chunk.copy_from_slice(&d.as_bytes()[..chunk.len()]);
        }
        let d = Hasher::digest(HashAlg::Sha256, &[&self.key, b"update"]);
        self.key.copy_from_slice(d.as_bytes());
        Ok(())
    }
}
