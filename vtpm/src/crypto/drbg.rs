//! SP 800-90A deterministic random bit generator (placeholder interface; the HMAC_DRBG lands
//! with its NIST known-answer tests).

/// An SP 800-90A DRBG instance.
#[derive(Debug)]
pub struct Drbg {
    _state: [u8; 32],
}

impl Drbg {
    /// Instantiates from `entropy` (with the nonce included) and a personalization string.
    pub fn new(entropy: &[u8], _personalization: &[u8]) -> Drbg {
        let mut s = [0u8; 32];
        for (i, b) in entropy.iter().enumerate() {
            s[i % 32] ^= b;
        }
        Drbg { _state: s }
    }
}
