//! Duplication (Part 3, sections 13.1–13.3; Part 1, 23.3): `TPM2_Duplicate`, `TPM2_Rewrap` and
//! `TPM2_Import`, byte-compatible with other TPMs and with software duplication
//! (`tpm2_duplicate`, `tpm2_import`):
//!
//! ```text
//! duplicate = outer(TPM2B_DIGEST(HMAC) || CFB(STORAGE key, IV 0, inner))   (with a new parent)
//! inner     = CFB(encryptionKey, IV 0, TPM2B_DIGEST(H(TPM2B_SENSITIVE || Name)) ||
//!                 TPM2B_SENSITIVE)                                         (with symmetricAlg)
//! outer keys: KDFa(newParent nameAlg, seed, "STORAGE" / "INTEGRITY", Name); the seed is
//!             encrypted to the new parent with the label "DUPLICATE".
//! ```

use super::credential::encrypt_secret;
use super::object::{ParentInfo, PublicParam};
use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use crate::object::protect::{inner_unwrap, inner_wrap, Protector};
use crate::object::{object_name, LoadedKey, PublicKey};
use alloc::vec;
use alloc::vec::Vec;
use tpm_proto::{
    AllowNull, Handle, Rc, Reader, Tpm2bData, Tpm2bEncryptedSecret, Tpm2bName, Tpm2bPrivate,
    TpmaObject as A, TpmtSensitive, TpmtSymDefObject, Unmarshal,
};
use zeroize::Zeroizing;

/// The label of duplication seeds, with its terminating zero.
const DUPLICATE: &[u8] = b"DUPLICATE\0";

/// Bytes of the inner wrapping key for `sym` (`None` for NULL).
fn inner_key_size(sym: &TpmtSymDefObject) -> Option<usize> {
    match sym {
        TpmtSymDefObject::Aes { key_bits, .. } => Some(key_bits.bytes()),
        TpmtSymDefObject::Null => None,
    }
}

/// `ObjectIsStorage`: a restricted, non-signing decryption key of an asymmetric type (its
/// sensitive area need not be loaded).
fn is_storage(k: &LoadedKey) -> bool {
    k.has(A::RESTRICTED | A::DECRYPT)
        && !k.has(A::SIGN_ENCRYPT)
        && matches!(k.public_key, PublicKey::Rsa(_) | PublicKey::Ecc(..))
}

/// The outer wrapper for `new_parent` (handle 2 of Duplicate and Rewrap) around `inner`, and
/// the new seed encrypted to it; `inner` as it is, and no seed, without a new parent.
fn outer_wrap<P: Platform>(
    tpm: &mut Tpm<P>,
    new_parent: Option<&LoadedKey>,
    inner: &[u8],
    name: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Rc> {
    let Some(np) = new_parent else {
        return Ok((inner.to_vec(), Vec::new()));
    };
    let (seed, secret) = encrypt_secret(tpm, np, DUPLICATE)?;
    let protector = Protector {
        name_alg: np.name_alg.ok_or(Rc::Type.handle(2))?,
        seed: &seed,
        symmetric: np.symmetric(),
    };
    Ok((protector.seal_raw(inner, name, None)?, secret))
}

/// `TPM2_Duplicate(objectHandle, newParentHandle; encryptionKeyIn, symmetricAlg)` →
/// `encryptionKeyOut`, `duplicate`, `outSymSeed`.
pub(crate) fn duplicate<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let key_in: Tpm2bData<'_> = cmd.param()?;
    let AllowNull(sym): AllowNull<TpmtSymDefObject> = cmd.param()?;
    cmd.end()?;
    let object = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Type.handle(1))?;
    if object.has(A::FIXED_PARENT) {
        return Err(Rc::Attributes.handle(1));
    }
    let name_alg = object.name_alg.ok_or(Rc::Type.handle(1))?;
    let new_parent_h = cmd.handle(1);
    let new_parent = if new_parent_h == Handle::Null {
        None
    } else {
        match tpm.objects.key(new_parent_h) {
            Some(k) if is_storage(k) => Some(k.clone()),
            _ => return Err(Rc::Type.handle(2)),
        }
    };
    if object.has(A::ENCRYPTED_DUPLICATION) {
        if sym == TpmtSymDefObject::Null {
            return Err(Rc::Symmetric.param(2));
        }
        if new_parent.is_none() {
            return Err(Rc::Hierarchy.handle(2));
        }
    }
    match inner_key_size(&sym) {
        None if !key_in.is_empty() => return Err(Rc::Size.param(1)),
        Some(n) if !key_in.is_empty() && key_in.len() != n => return Err(Rc::Size.param(1)),
        _ => {}
    }
    let name = object.name;
    let sensitive = object
        .sensitive
        .as_ref()
        .ok_or(Rc::Type.handle(1))?
        .marshal(name_alg.size())?;
    // Inner wrap, with the caller's key or a fresh one (returned).
    let (inner, key_out) = match inner_key_size(&sym) {
        None => {
            let len = u16::try_from(sensitive.len()).map_err(|_| Rc::Size)?;
            let mut b = Zeroizing::new(Vec::with_capacity(2 + sensitive.len()));
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&sensitive);
            (b, Zeroizing::new(Vec::new()))
        }
        Some(n) => {
            let key = if key_in.is_empty() {
                let mut k = Zeroizing::new(vec![0u8; n]);
                tpm.random(&mut k)?;
                k
            } else {
                Zeroizing::new(key_in.0.to_vec())
            };
            let w = inner_wrap(name_alg, &key, &sensitive, name.as_bytes())?;
            // A caller-supplied key is not returned.
            let out = if key_in.is_empty() {
                key
            } else {
                Zeroizing::new(Vec::new())
            };
            (w, out)
        }
    };
    let (dup, sym_seed) = outer_wrap(tpm, new_parent.as_ref(), &inner, name.as_bytes())?;
    if dup.len() > Tpm2bPrivate::MAX || sym_seed.len() > Tpm2bEncryptedSecret::MAX {
        return Err(Rc::Size);
    }
    rsp.sized(&key_out)?;
    rsp.sized(&dup)?;
    rsp.sized(&sym_seed)
}

/// `TPM2_Import(parentHandle; encryptionKey, objectPublic, duplicate, inSymSeed, symmetricAlg)`
/// → `outPrivate`: a duplication blob re-protected under `parentHandle`.
pub(crate) fn import<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let key: Tpm2bData<'_> = cmd.param()?;
    let public: PublicParam<'_, false> = cmd.param()?;
    let dup: Tpm2bPrivate<'_> = cmd.param()?;
    let sym_seed: Tpm2bEncryptedSecret<'_> = cmd.param()?;
    let AllowNull(sym): AllowNull<TpmtSymDefObject> = cmd.param()?;
    cmd.end()?;
    let attrs = public.area.object_attributes;
    if attrs.intersects(A::FIXED_TPM | A::FIXED_PARENT) {
        return Err(Rc::Attributes.param(2));
    }
    let parent_h = cmd.handle(0);
    let parent = ParentInfo::get(tpm, parent_h, 1)?;
    match inner_key_size(&sym) {
        Some(n) if key.len() != n => return Err(Rc::Size.param(1)),
        None if !key.is_empty() => return Err(Rc::Size.param(1)),
        None if attrs.contains(A::ENCRYPTED_DUPLICATION) => return Err(Rc::Attributes.param(1)),
        _ => {}
    }
    let seed = if sym_seed.is_empty() {
        if attrs.contains(A::ENCRYPTED_DUPLICATION) {
            return Err(Rc::Attributes.param(4));
        }
        None
    } else {
        let parent_key = tpm.objects.key(parent_h).ok_or(Rc::Type.handle(1))?;
        if matches!(parent_key.public_key, PublicKey::Symmetric) {
            return Err(Rc::Type.handle(1));
        }
        Some(
            crate::entity::decrypt_secret(tpm, parent_h, DUPLICATE, sym_seed.0)
                .map_err(|rc| rc.param(4))?,
        )
    };
    let name_alg = public.area.name_alg.ok_or(Rc::Hash.param(2))?;
    let name = object_name(Some(name_alg), public.raw);
    // Outer wrap.
    let inner = match &seed {
        Some(seed) => Protector {
            name_alg: parent.name_alg,
            seed,
            symmetric: parent.symmetric,
        }
        .open_raw(dup.0, name.as_bytes(), false)
        .map_err(|rc| rc.param(3))?,
        None => Zeroizing::new(dup.0.to_vec()),
    };
    // Inner wrap.
    let tpm2b = match inner_key_size(&sym) {
        Some(_) => {
            inner_unwrap(name_alg, key.0, &inner, name.as_bytes()).map_err(|rc| rc.param(3))?
        }
        None => inner,
    };
    let mut r = Reader::new(&tpm2b);
    let n = usize::from(r.u16().map_err(|rc| rc.param(3))?);
    if n + 2 != tpm2b.len() {
        return Err(Rc::Size.param(3));
    }
    let s = TpmtSensitive::from_bytes(r.rest()).map_err(|rc| rc.param(3))?;
    // Validated as a load without a parent would be (reference `ObjectLoad(NULL, NULL, ..)`),
    // whatever the parent: the engine needs a consistent key to re-protect it.
    let sensitive = super::load::load_sensitive(None, &public.area, &s, 2, 3)?;
    let private = parent.wrap(tpm, &sensitive, name_alg, &name)?;
    rsp.sized(&private)
}

/// `TPM2_Rewrap(oldParent, newParent; inDuplicate, name, inSymSeed)` → `outDuplicate`,
/// `outSymSeed` (Part 3, 13.2): takes the outer wrapper of a duplication blob off with
/// `oldParent` (none for `TPM_RH_NULL`) and puts one on for `newParent` (none for
/// `TPM_RH_NULL`), with a new seed. The inner wrapper, if any, is not touched. A seed without
/// an old parent, or an old parent without a seed, is `TPM_RC_HANDLE` on `oldParent`; a parent
/// that is not a storage key is `TPM_RC_TYPE`; a seed that does not decrypt is `TPM_RC_VALUE` on
/// `inSymSeed` (reference `TPM2_Rewrap`).
pub(crate) fn rewrap<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let dup: Tpm2bPrivate<'_> = cmd.param()?;
    let name: Tpm2bName<'_> = cmd.param()?;
    let sym_seed: Tpm2bEncryptedSecret<'_> = cmd.param()?;
    cmd.end()?;
    let (old_h, new_h) = (cmd.handle(0), cmd.handle(1));
    if sym_seed.is_empty() != (old_h == Handle::Null) {
        return Err(Rc::Handle.handle(1));
    }
    // A parent handle that names a storage key, or none for TPM_RH_NULL.
    let storage = |tpm: &Tpm<P>, h: Handle, n: u32| -> Result<Option<LoadedKey>, Rc> {
        if h == Handle::Null {
            return Ok(None);
        }
        match tpm.objects.key(h) {
            Some(k) if is_storage(k) => Ok(Some(k.clone())),
            _ => Err(Rc::Type.handle(n)),
        }
    };
    let old = storage(tpm, old_h, 1)?;
    let new = storage(tpm, new_h, 2)?;
    let inner = match &old {
        None => Zeroizing::new(dup.0.to_vec()),
        Some(old) => {
            let seed = crate::entity::decrypt_secret(tpm, old_h, DUPLICATE, sym_seed.0)
                .map_err(|_| Rc::Value.param(3))?;
            Protector {
                name_alg: old.name_alg.ok_or(Rc::Type.handle(1))?,
                seed: &seed,
                symmetric: old.symmetric(),
            }
            .open_raw(dup.0, name.0, false)
            .map_err(|rc| rc.param(1))?
        }
    };
    let (out, out_seed) = outer_wrap(tpm, new.as_ref(), &inner, name.0)?;
    if out.len() > Tpm2bPrivate::MAX {
        return Err(Rc::Value.param(1));
    }
    rsp.sized(&out)?;
    rsp.sized(&out_seed)
}
