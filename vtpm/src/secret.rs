//! Secret values: zeroized on drop, compared in constant time.

use subtle::ConstantTimeEq;
use tpm_proto::MAX_DIGEST_SIZE;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// An `authValue` (Part 1, 17.6.4): at most the size of the largest digest.
///
/// Invariant: the octets of `buf` past `len` are zero (every constructor starts from a zeroed
/// buffer, and trimming only drops zero octets), so wiping the first `len` octets wipes the
/// value. Most authValues are empty or short, and every command with a session drops several
/// copies: wiping all 64 octets one volatile store at a time was a visible share of a
/// password-authorized command.
#[derive(Clone)]
pub(crate) struct AuthValue {
    buf: [u8; MAX_DIGEST_SIZE],
    len: u8,
}

impl Zeroize for AuthValue {
    fn zeroize(&mut self) {
        let n = (self.len as usize).min(MAX_DIGEST_SIZE);
        self.buf[..n].zeroize();
        self.len.zeroize();
    }
}

impl Drop for AuthValue {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for AuthValue {}

impl core::fmt::Debug for AuthValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AuthValue(<{} bytes>)", self.len)
    }
}

impl AuthValue {
    pub fn empty() -> AuthValue {
        AuthValue {
            buf: [0; MAX_DIGEST_SIZE],
            len: 0,
        }
    }

    /// Copies `b`, dropping trailing zero octets as Part 1, 17.6.4.3 requires for comparison.
    /// `None` if longer than a digest.
    pub fn new(b: &[u8]) -> Option<AuthValue> {
        if b.len() > MAX_DIGEST_SIZE {
            return None;
        }
        let mut v = AuthValue::empty();
        v.buf[..b.len()].copy_from_slice(b);
        v.len = b.len() as u8;
        v.trim();
        Some(v)
    }

    fn trim(&mut self) {
        while self.len > 0 && self.buf[self.len as usize - 1] == 0 {
            self.len -= 1;
        }
    }

    #[allow(dead_code, reason = "session keys and HMACs read it")]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Constant-time comparison with a presented password. Trailing zeros of `presented` are
    /// ignored (Part 1, 19.6.4.1: authValue comparison after removing trailing zeros).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mut n = presented.len();
        while n > 0 && presented[n - 1] == 0 {
            n -= 1;
        }
        let presented = &presented[..n];
        // Length is not secret-dependent in a way that helps an attacker: compare a fixed-size
        // buffer and the length together.
        let mut other = [0u8; MAX_DIGEST_SIZE];
        let len_ok = presented.len() == self.len as usize && presented.len() <= MAX_DIGEST_SIZE;
        let m = presented.len().min(MAX_DIGEST_SIZE);
        other[..m].copy_from_slice(&presented[..m]);
        let eq = ct_eq_fixed(&self.buf, &other);
        // Only the first `m` octets were written.
        other[..m].zeroize();
        bool::from(eq) & len_ok
    }
}

/// Constant-time equality of two equal-size buffers: the differences of every 8-byte word are
/// OR-ed together with no branch on the data, and only the result becomes a [`subtle::Choice`]
/// (one optimisation barrier, where `<[u8]>::ct_eq` puts one on every byte).
fn ct_eq_fixed<const N: usize>(a: &[u8; N], b: &[u8; N]) -> subtle::Choice {
    let mut diff = 0u64;
    let (wa, ta) = a.as_chunks::<8>();
    let (wb, tb) = b.as_chunks::<8>();
    for (x, y) in wa.iter().zip(wb) {
        diff |= u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y);
    }
    for (x, y) in ta.iter().zip(tb) {
        diff |= u64::from(x ^ y);
    }
    diff.ct_eq(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_size_comparison_sees_every_byte() {
        let a = [0x5Au8; 64];
        assert!(bool::from(ct_eq_fixed(&a, &a)));
        for i in 0..64 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!bool::from(ct_eq_fixed(&a, &b)), "byte {i} bit {bit}");
            }
        }
        let (x, mut y) = ([1u8; 13], [1u8; 13]);
        assert!(bool::from(ct_eq_fixed(&x, &y)));
        y[12] = 0;
        assert!(
            !bool::from(ct_eq_fixed(&x, &y)),
            "the tail after the last word"
        );
    }

    #[test]
    fn wiping_an_auth_value_leaves_no_octet() {
        for v in [&b"secret"[..], b"pw\0\0", &[0xFF; 64], b"", b"\0a\0"] {
            let mut a = AuthValue::new(v).unwrap();
            assert!(a.buf[a.len as usize..].iter().all(|&b| b == 0), "{v:?}");
            a.zeroize();
            assert_eq!(a.buf, [0u8; MAX_DIGEST_SIZE], "{v:?}");
            assert!(a.is_empty());
        }
    }

    #[test]
    fn auth_value_ignores_trailing_zeros() {
        let a = AuthValue::new(b"abc\0\0").unwrap();
        assert_eq!(a.as_bytes(), b"abc");
        assert!(a.matches(b"abc"));
        assert!(a.matches(b"abc\0"));
        assert!(!a.matches(b"abd"));
        assert!(!a.matches(b"ab"));
        assert!(AuthValue::empty().matches(b""));
        assert!(AuthValue::new(&[0u8; 65]).is_none());
    }

    /// Every container of secrets wipes itself when dropped (and with it when an object is
    /// flushed, a session ends or an index is undefined: their slots drop them).
    #[test]
    fn secret_containers_zeroize_on_drop() {
        fn wipes<T: ZeroizeOnDrop>() {}
        wipes::<AuthValue>();
        wipes::<SecretBytes>();
        wipes::<crate::crypto::hmac::Hmac>();
        wipes::<crate::crypto::drbg::Drbg>();
        wipes::<zeroize::Zeroizing<[u8; 64]>>(); // hierarchy seeds and proofs, the context key
    }

    /// The secret as `{:?}` would print it inside a `Vec<u8>`: "[83, 69, 67, …".
    fn printed(secret: &[u8]) -> alloc::string::String {
        let v: alloc::vec::Vec<u8> = secret.to_vec();
        let s = alloc::format!("{v:?}");
        s[1..s.len() - 1].into()
    }

    #[test]
    fn no_secret_is_printed_by_debug() {
        use crate::object::{KeyMaterial, Sensitive};
        let secret: &[u8] = b"SEALED-SECRET-4242";
        let key = Sensitive {
            auth: AuthValue::new(b"AUTH-SECRET-77").unwrap(),
            seed_value: secret.to_vec().into(),
            key: KeyMaterial::Bits(secret.to_vec().into()),
        };
        let sym = KeyMaterial::Sym(secret.to_vec().into());
        for text in [alloc::format!("{key:?}"), alloc::format!("{sym:?}")] {
            assert!(!text.contains(&printed(secret)), "{text}");
            assert!(!text.contains(&printed(b"AUTH-SECRET-77")), "{text}");
            assert!(!text.contains("SEALED"), "{text}");
        }
        let bytes: SecretBytes = secret.to_vec().into();
        assert_eq!(alloc::format!("{bytes:?}"), "<18 secret bytes>");
        // Moving out of a Zeroizing buffer leaves nothing behind in it.
        let z = zeroize::Zeroizing::new(secret.to_vec());
        let moved: SecretBytes = z.into();
        assert_eq!(&moved[..], secret);
    }
}

/// Secret octets of any length (private keys, sealed data, session keys, NV contents): zeroized
/// on drop, and never printed — `Debug` shows the length only, so no secret reaches a log line
/// through a `{:?}` of the structure that holds it.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretBytes(alloc::vec::Vec<u8>);

impl core::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<{} secret bytes>", self.0.len())
    }
}

impl core::ops::Deref for SecretBytes {
    type Target = alloc::vec::Vec<u8>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl core::ops::DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<alloc::vec::Vec<u8>> for SecretBytes {
    fn from(v: alloc::vec::Vec<u8>) -> Self {
        SecretBytes(v)
    }
}

impl From<zeroize::Zeroizing<alloc::vec::Vec<u8>>> for SecretBytes {
    fn from(mut z: zeroize::Zeroizing<alloc::vec::Vec<u8>>) -> Self {
        // Moves the buffer out; the emptied Zeroizing wrapper has nothing left to wipe.
        SecretBytes(core::mem::take(&mut *z))
    }
}
