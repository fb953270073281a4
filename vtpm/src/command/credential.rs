//! Credential protection (Part 3, sections 12.5 and 12.6; Part 1, 24):
//! `TPM2_MakeCredential` and `TPM2_ActivateCredential`, byte-compatible with the software
//! `tpm2_makecredential` and with Keylime's registrar:
//!
//! ```text
//! seed          = random (RSA: OAEP-encrypted to the key, label "IDENTITY")
//!               | KDFe(nameAlg, ECDH(ephemeral, key).x, "IDENTITY", ephemeral.x, key.x)
//! credentialBlob = TPM2B_DIGEST(integrity) || CFB(KDFa(nameAlg, seed, "STORAGE", objectName),
//!                                                 IV 0, TPM2B_DIGEST(credential))
//! integrity     = HMAC_nameAlg(KDFa(nameAlg, seed, "INTEGRITY"), encrypted || objectName)
//! ```

use super::{Command, Response};
use crate::crypto::{ecc, kdf_e, RsaDecryptScheme};
use crate::engine::{Platform, Tpm};
use crate::object::protect::Protector;
use crate::object::{LoadedKey, PublicKey};
use alloc::vec;
use alloc::vec::Vec;
use tpm_proto::{
    Rc, Tpm2bDigest, Tpm2bEncryptedSecret, Tpm2bIdObject, Tpm2bName, TpmaObject as A,
    TpmtRsaScheme, TpmuPublicParms,
};
use zeroize::Zeroizing;

/// The label of credential seeds, with its terminating zero.
pub(crate) const IDENTITY: &[u8] = b"IDENTITY\0";

/// An asymmetric restricted decryption key (`TPM_RC_TYPE` on handle `n` otherwise).
fn storage_key(k: Option<&LoadedKey>, n: u32) -> Result<&LoadedKey, Rc> {
    match k {
        Some(k)
            if matches!(k.public_key, PublicKey::Rsa(_) | PublicKey::Ecc(..))
                && k.has(A::DECRYPT)
                && k.has(A::RESTRICTED) =>
        {
            Ok(k)
        }
        _ => Err(Rc::Type.handle(n)),
    }
}

/// `CryptSecretEncrypt`: a fresh seed of the key's `nameAlg` digest size and its encryption to
/// the key, with `label`. Returns `(seed, TPM2B_ENCRYPTED_SECRET contents)`.
pub(crate) fn encrypt_secret<P: Platform>(
    tpm: &mut Tpm<P>,
    k: &LoadedKey,
    label: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), Rc> {
    tpm.reseed_if_needed()?;
    let name_alg = k.name_alg.ok_or(Rc::Key)?;
    let size = name_alg.size();
    match &k.public_key {
        PublicKey::Rsa(pk) => {
            let hash = match &k.parameters {
                TpmuPublicParms::Rsa(p) => match p.scheme {
                    TpmtRsaScheme::Null => name_alg,
                    TpmtRsaScheme::Oaep(h) => h.hash_alg,
                    _ => return Err(Rc::Scheme),
                },
                _ => return Err(Rc::Key),
            };
            let mut seed = Zeroizing::new(vec![0u8; size]);
            tpm.drbg.generate(&mut seed, &[])?;
            let secret = pk.encrypt(RsaDecryptScheme::Oaep(hash), label, &seed, &mut tpm.drbg)?;
            Ok((seed, secret))
        }
        PublicKey::Ecc(curve, q) => {
            let (eph, z) = ecc::ecdh_keygen(*curve, q, &mut tpm.drbg)?;
            let mut seed = Zeroizing::new(vec![0u8; size]);
            kdf_e(
                name_alg,
                &z.x,
                label,
                &eph.x,
                &q.x,
                (size * 8) as u32,
                &mut seed,
            )?;
            let mut secret = Vec::with_capacity(4 + eph.x.len() + eph.y.len());
            for c in [&eph.x, &eph.y] {
                secret.extend_from_slice(&(c.len() as u16).to_be_bytes());
                secret.extend_from_slice(c);
            }
            Ok((seed, secret))
        }
        PublicKey::Symmetric => Err(Rc::Key),
    }
}

/// The protector of a credential blob: the key's `nameAlg` and symmetric definition, keyed by
/// the seed.
fn protector<'a>(k: &LoadedKey, seed: &'a [u8]) -> Result<Protector<'a>, Rc> {
    Ok(Protector {
        name_alg: k.name_alg.ok_or(Rc::Key)?,
        seed,
        symmetric: k.symmetric(),
    })
}

/// `TPM2_MakeCredential(handle; credential, objectName)` → `credentialBlob`, `secret`.
pub(crate) fn make_credential<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let credential: Tpm2bDigest<'_> = cmd.param()?;
    let object_name: Tpm2bName<'_> = cmd.param()?;
    cmd.end()?;
    let k = storage_key(tpm.objects.key(cmd.handle(0)), 1)?.clone();
    let name_alg = k.name_alg.ok_or(Rc::Type.handle(1))?;
    if credential.len() > name_alg.size() {
        return Err(Rc::Size.param(1));
    }
    let (seed, secret) = encrypt_secret(tpm, &k, IDENTITY)?;
    let blob = protector(&k, &seed)?.wrap_outer(credential.0, object_name.0, None)?;
    if blob.len() > Tpm2bIdObject::MAX || secret.len() > Tpm2bEncryptedSecret::MAX {
        return Err(Rc::Size);
    }
    rsp.sized(&blob)?;
    rsp.sized(&secret)
}

/// `TPM2_ActivateCredential(activateHandle, keyHandle; credentialBlob, secret)` → `certInfo`:
/// the credential, if it was made for the Name of `activateHandle` and the key at `keyHandle`.
pub(crate) fn activate_credential<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let blob: Tpm2bIdObject<'_> = cmd.param()?;
    let secret: Tpm2bEncryptedSecret<'_> = cmd.param()?;
    cmd.end()?;
    let key_h = cmd.handle(1);
    let k = storage_key(tpm.objects.key(key_h), 2)?.clone();
    let name = crate::entity::entity_name(tpm, cmd.handle(0));
    let seed = crate::entity::decrypt_secret(tpm, key_h, IDENTITY, secret.0).map_err(|rc| {
        if rc.base() == Rc::Key {
            Rc::Failure
        } else {
            rc.param(2)
        }
    })?;
    let credential = protector(&k, &seed)?
        .unwrap_outer(blob.0, name.as_bytes(), false, Rc::Size)
        .map_err(|rc| rc.param(1))?;
    if credential.len() > tpm_proto::MAX_DIGEST_SIZE {
        return Err(Rc::Size.param(1));
    }
    rsp.sized(&credential)
}
