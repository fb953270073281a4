//! Cryptographic primitives behind small wrappers, so a primitive can be swapped without touching
//! a command handler. Each wrapper has known-answer tests beside it.
//!
//! Every fallible operation returns [`CryptoError`]; nothing here panics on bad input. Secret
//! material (keys, DRBG state, derived masks) is wiped when dropped.

pub mod drbg;
pub mod ecc;
pub mod hash;
pub mod hmac;
pub mod kdf;
pub mod resumable;
pub mod rsa;
pub mod sym;

pub use self::rsa::{find_prime, RsaDecryptScheme, RsaPrivate, RsaPublic, RsaSigScheme};
pub use drbg::Drbg;
pub use ecc::{EccCurve, EccPoint, EccPrivate, EccSignature};
pub use hash::{Digest, Hasher};
pub use hmac::Hmac;
pub use kdf::{kdf_a, kdf_e, mgf1};
pub use sym::{SymAlg, SymMode};

use tpm_proto::Rc;

/// Why a cryptographic operation failed. Each maps to the response code a reference TPM returns
/// for the same failure ([`CryptoError::rc`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// The DRBG reached its reseed interval; reseed it from the platform and retry.
    ReseedRequired,
    /// An input has the wrong length (`TPM_RC_SIZE`).
    Size,
    /// A value is out of range: a message not below the modulus, a scalar not below the order,
    /// a malformed padding (`TPM_RC_VALUE`).
    Value,
    /// Key material is inconsistent or unusable (`TPM_RC_KEY`).
    Key,
    /// Key size not supported (`TPM_RC_KEY_SIZE`).
    KeySize,
    /// A signature does not verify (`TPM_RC_SIGNATURE`).
    Signature,
    /// A point is not on the curve, or is the identity (`TPM_RC_ECC_POINT`).
    EccPoint,
    /// A search gave up or a result was degenerate (`TPM_RC_NO_RESULT`).
    NoResult,
}

impl CryptoError {
    /// The response code a reference TPM returns for this failure (format one, no parameter
    /// number: the handler adds it).
    pub fn rc(self) -> Rc {
        match self {
            CryptoError::ReseedRequired => Rc::Failure,
            CryptoError::Size => Rc::Size,
            CryptoError::Value => Rc::Value,
            CryptoError::Key => Rc::Key,
            CryptoError::KeySize => Rc::KeySize,
            CryptoError::Signature => Rc::Signature,
            CryptoError::EccPoint => Rc::EccPoint,
            CryptoError::NoResult => Rc::NoResult,
        }
    }
}

impl From<CryptoError> for Rc {
    fn from(e: CryptoError) -> Rc {
        e.rc()
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use alloc::vec::Vec;

    /// Hex to bytes; whitespace is ignored so long vectors can be wrapped.
    pub fn h(s: &str) -> Vec<u8> {
        let s: alloc::string::String = s.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(s).unwrap()
    }
}
