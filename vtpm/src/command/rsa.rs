//! RSA encryption (Part 3, sections 14.2–14.3): `TPM2_RSA_Encrypt` and `TPM2_RSA_Decrypt`.

use super::{Command, Response};
use crate::crypto::RsaDecryptScheme;
use crate::engine::{Platform, Tpm};
use crate::object::{KeyMaterial, LoadedKey, PublicKey};
use tpm_proto::{
    AllowNull, Rc, Tpm2bData, Tpm2bPublicKeyRsa, TpmaObject as A, TpmtRsaDecrypt, TpmtRsaScheme,
    TpmuPublicParms,
};

/// `IsLabelProperlyFormatted`: a label is empty or ends with a zero octet.
fn label_ok(label: &[u8]) -> bool {
    label.last().is_none_or(|b| *b == 0)
}

/// `CryptRsaSelectScheme`: the key's scheme unless NULL, then the requested one; both given
/// they must agree (`None`: `TPM_RC_SCHEME` on the scheme parameter). A key scheme that is not a
/// decryption scheme is `TPM_RC_SCHEME` unnumbered, as `CryptRsaEncrypt` returns it.
fn select_scheme(k: &LoadedKey, input: TpmtRsaDecrypt) -> Result<RsaDecryptScheme, Rc> {
    let own = match &k.parameters {
        TpmuPublicParms::Rsa(p) => p.scheme,
        _ => return Err(Rc::Key.handle(1)),
    };
    let chosen = match (own, input) {
        (TpmtRsaScheme::Null, i) => i,
        (TpmtRsaScheme::RsaEs(e), TpmtRsaDecrypt::Null | TpmtRsaDecrypt::RsaEs(_)) => {
            TpmtRsaDecrypt::RsaEs(e)
        }
        (TpmtRsaScheme::Oaep(h), TpmtRsaDecrypt::Null) => TpmtRsaDecrypt::Oaep(h),
        (TpmtRsaScheme::Oaep(h), TpmtRsaDecrypt::Oaep(i)) if h == i => TpmtRsaDecrypt::Oaep(h),
        (TpmtRsaScheme::RsaSsa(_) | TpmtRsaScheme::RsaPss(_), TpmtRsaDecrypt::Null) => {
            return Err(Rc::Scheme)
        }
        _ => return Err(Rc::Scheme.param(2)),
    };
    Ok(match chosen {
        TpmtRsaDecrypt::Null => RsaDecryptScheme::Null,
        TpmtRsaDecrypt::RsaEs(_) => RsaDecryptScheme::Pkcs1v15,
        TpmtRsaDecrypt::Oaep(h) => RsaDecryptScheme::Oaep(h.hash_alg),
    })
}

/// `TPM2_RSA_Encrypt(keyHandle; message, inScheme, label)` → `outData`. Any RSA key with
/// `decrypt` (public-only included) may encrypt.
pub(crate) fn rsa_encrypt<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let message: Tpm2bPublicKeyRsa<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtRsaDecrypt> = cmd.param()?;
    let label: Tpm2bData<'_> = cmd.param()?;
    cmd.end()?;
    tpm.reseed_if_needed()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    let PublicKey::Rsa(pk) = &k.public_key else {
        return Err(Rc::Key.handle(1));
    };
    if !k.has(A::DECRYPT) {
        return Err(Rc::Attributes.handle(1));
    }
    if !label_ok(label.0) {
        return Err(Rc::Value.param(3));
    }
    let scheme = select_scheme(k, in_scheme)?;
    let out = pk.encrypt(scheme, label.0, message.0, &mut tpm.drbg)?;
    rsp.sized(&out)
}

/// `TPM2_RSA_Decrypt(keyHandle; cipherText, inScheme, label)` → `message`: an unrestricted RSA
/// decryption key.
pub(crate) fn rsa_decrypt<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let cipher: Tpm2bPublicKeyRsa<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtRsaDecrypt> = cmd.param()?;
    let label: Tpm2bData<'_> = cmd.param()?;
    cmd.end()?;
    tpm.reseed_if_needed()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    let Some(KeyMaterial::Rsa(rsa)) = k.sensitive.as_ref().map(|s| &s.key) else {
        return Err(Rc::Key.handle(1));
    };
    if k.has(A::RESTRICTED) || !k.has(A::DECRYPT) {
        return Err(Rc::Attributes.handle(1));
    }
    if !label_ok(label.0) {
        return Err(Rc::Value.param(3));
    }
    let scheme = select_scheme(k, in_scheme)?;
    let out = rsa.decrypt(scheme, label.0, cipher.0, &mut tpm.drbg)?;
    rsp.sized(&out)
}
