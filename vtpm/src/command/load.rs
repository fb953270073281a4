//! Loading and managing objects (Part 3, sections 12.2–12.8 and 28.5): `TPM2_Load`,
//! `TPM2_LoadExternal`, `TPM2_ReadPublic`, `TPM2_Unseal`, `TPM2_ObjectChangeAuth`,
//! `TPM2_EvictControl`.

use super::object::{adjust_auth, ParentInfo, PublicParam};
use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use crate::object::validate::{
    key_material, public_attributes, scheme_checks, sensitive_shape, validate_keys, Blame,
    KeyMaterialIn,
};
use crate::object::{KeyMaterial, LoadedKey, Object, Parentage, Sensitive};
use crate::secret::AuthValue;
use tpm_proto::{
    AllowNull, Handle, Rc, Tpm2bAuth, Tpm2bPrivate, Tpm2bSensitive, TpmaObject as A, TpmiAlgPublic,
    TpmiDhPersistent, TpmtPublic, TpmtSensitive, TpmuSensitiveComposite, Unmarshal,
};

/// The key material of a received sensitive area.
fn material_in<'a>(s: &TpmtSensitive<'a>) -> KeyMaterialIn<'a> {
    match s.sensitive {
        TpmuSensitiveComposite::Rsa(p) => KeyMaterialIn::Rsa(p.0),
        TpmuSensitiveComposite::Ecc(d) => KeyMaterialIn::Ecc(d.0),
        TpmuSensitiveComposite::Bits(b) => KeyMaterialIn::Bits {
            key: b.0,
            seed: s.seed_value.0,
        },
        TpmuSensitiveComposite::Sym(k) => KeyMaterialIn::Sym {
            key: k.0,
            seed: s.seed_value.0,
        },
    }
}

/// `ObjectLoad` for a received sensitive area: the seed size, the public-area checks (blamed on
/// parameter `p_public`), the key binding, then the loaded form of the sensitive area (blamed
/// on `p_sensitive`).
pub(crate) fn load_sensitive(
    parent: Option<&crate::object::validate::ParentView>,
    public: &TpmtPublic<'_>,
    s: &TpmtSensitive<'_>,
    p_public: u32,
    p_sensitive: u32,
) -> Result<Sensitive, Rc> {
    match public.name_alg {
        Some(n) => {
            if s.seed_value.len() > n.size() {
                return Err(Rc::KeySize.param(p_sensitive));
            }
            public_attributes(parent, public).map_err(|rc| rc.param(p_public))?;
        }
        None => scheme_checks(None, public).map_err(|rc| rc.param(p_public))?,
    }
    let k = material_in(s);
    // The reference's ObjectLoad: "On load, check nothing if the parent is fixedTPM". The
    // private area decrypted under such a parent passed its integrity HMAC, keyed from a seed
    // that never leaves this TPM, so this TPM made it and the key binding holds; recomputing
    // it (a scalar multiplication for ECC) is skipped. Import and LoadExternal (no parent)
    // always check.
    let trusted = parent.is_some_and(|p| p.attributes.contains(tpm_proto::TpmaObject::FIXED_TPM));
    let checked = if trusted {
        sensitive_shape(public, s.auth_value.0, &k)
    } else {
        validate_keys(public, Some((s.auth_value.0, &k)))
    };
    checked.map_err(|(rc, blame)| match blame {
        Blame::Public => rc.param(p_public),
        Blame::Sensitive => rc.param(p_sensitive),
        Blame::None => rc,
    })?;
    let key = key_material(public, &k)?;
    Ok(Sensitive {
        auth: AuthValue::new(s.auth_value.0).ok_or(Rc::Size.param(p_sensitive))?,
        seed_value: s.seed_value.0.to_vec().into(),
        key,
    })
}

/// `TPM2_Load(parentHandle; inPrivate, inPublic)` → `objectHandle`; `name`.
pub(crate) fn load<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let private: Tpm2bPrivate<'_> = cmd.param()?;
    let public: PublicParam<'_, false> = cmd.param()?;
    cmd.end()?;
    tpm.objects.free_slot()?;
    if private.is_empty() {
        return Err(Rc::Size.param(1));
    }
    let parent = ParentInfo::get(tpm, cmd.handle(0), 1)?;
    let name = crate::object::object_name(public.area.name_alg, public.raw);
    let bytes = parent
        .protector()
        .unwrap(private.0, name.as_bytes())
        .map_err(|rc| rc.param(1))?;
    let s = TpmtSensitive::from_bytes(&bytes).map_err(|_| Rc::Sensitive)?;
    let sensitive = load_sensitive(Some(&parent.view), &public.area, &s, 2, 1)?;
    let key = LoadedKey::new(
        public.raw,
        Some(sensitive),
        Parentage::Parent {
            qualified_name: &parent.qualified_name,
            hierarchy: parent.hierarchy,
        },
    )
    .map_err(|rc| rc.param(2))?;
    rsp.sized(key.name.as_bytes())?;
    rsp.handle = Some(tpm.objects.insert(Object::Key(key))?);
    Ok(())
}

/// `TPM2_LoadExternal(inPrivate, inPublic, hierarchy)` → `objectHandle`; `name`. A sensitive
/// area may only be loaded in the NULL hierarchy, and not for an object that claims to be this
/// TPM's (`fixedTPM`, `fixedParent`, `restricted`).
pub(crate) fn load_external<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let private: Tpm2bSensitive<'_> = cmd.param()?;
    let public: PublicParam<'_, true> = cmd.param()?;
    let AllowNull(hierarchy): AllowNull<tpm_proto::TpmiRhHierarchy> = cmd.param()?;
    cmd.end()?;
    let hierarchy = hierarchy.0;
    tpm.objects.free_slot()?;
    let area = &public.area;
    let sensitive = match &private.sensitive_area {
        Some(s) => {
            if hierarchy != Handle::Null {
                return Err(Rc::Hierarchy.param(3));
            }
            if area
                .object_attributes
                .intersects(A::FIXED_TPM | A::FIXED_PARENT | A::RESTRICTED)
            {
                return Err(Rc::Attributes.param(2));
            }
            Some(load_sensitive(None, area, s, 2, 1)?)
        }
        None => {
            scheme_checks(None, area).map_err(|rc| rc.param(2))?;
            validate_keys(area, None).map_err(|(rc, _)| rc.param(2))?;
            None
        }
    };
    let key = LoadedKey::new(public.raw, sensitive, Parentage::External(hierarchy))
        .map_err(|rc| rc.param(2))?;
    rsp.sized(key.name.as_bytes())?;
    rsp.handle = Some(tpm.objects.insert(Object::Key(key))?);
    Ok(())
}

/// The key at handle `n` (1-based) of the command; a sequence object is `TPM_RC_TYPE`.
pub(crate) fn key_at<P: Platform>(tpm: &Tpm<P>, h: Handle, n: u32) -> Result<&LoadedKey, Rc> {
    tpm.objects.key(h).ok_or(Rc::Type.handle(n))
}

/// `TPM2_ReadPublic(objectHandle)` → `outPublic`, `name`, `qualifiedName`.
pub(crate) fn read_public<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let k = match tpm.objects.get(cmd.handle(0)) {
        Some(Object::Key(k)) => k,
        _ => return Err(Rc::Sequence),
    };
    rsp.sized(k.public_bytes())?;
    rsp.sized(k.name.as_bytes())?;
    rsp.sized(k.qualified_name.as_bytes())
}

/// `TPM2_Unseal(itemHandle)` → `outData`: the data of a sealed data object (a keyed-hash object
/// that is neither sign, decrypt nor restricted).
pub(crate) fn unseal<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let k = key_at(tpm, cmd.handle(0), 1)?;
    if k.type_ != TpmiAlgPublic::KeyedHash {
        return Err(Rc::Type.handle(1));
    }
    if k.attributes
        .intersects(A::DECRYPT | A::SIGN_ENCRYPT | A::RESTRICTED)
    {
        return Err(Rc::Attributes.handle(1));
    }
    match k.sensitive.as_ref().map(|s| &s.key) {
        Some(KeyMaterial::Bits(b)) => rsp.sized(b),
        _ => Err(Rc::Type.handle(1)),
    }
}

/// `TPM2_ObjectChangeAuth(objectHandle, parentHandle; newAuth)` → `outPrivate`: the object's
/// sensitive area with the new `authValue`, protected by its parent. The loaded object keeps its
/// old `authValue`.
pub(crate) fn object_change_auth<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let new_auth: Tpm2bAuth<'_> = cmd.param()?;
    cmd.end()?;
    let k = key_at(tpm, cmd.handle(0), 1)?;
    let name_alg = k.name_alg.ok_or(Rc::Type.handle(1))?;
    let auth = adjust_auth(new_auth.0, Some(name_alg)).map_err(|rc| rc.param(1))?;
    let parent = ParentInfo::get(tpm, cmd.handle(1), 2)?;
    let qn =
        crate::object::qualified_name(Some(name_alg), parent.qualified_name.as_bytes(), &k.name);
    if qn != k.qualified_name {
        return Err(Rc::Type.handle(2));
    }
    let mut sensitive = k.sensitive.clone().ok_or(Rc::Type.handle(1))?;
    let name = k.name;
    sensitive.auth = auth;
    let private = parent.wrap(tpm, &sensitive, name_alg, &name)?;
    rsp.sized(&private)
}

/// Owner persistent handles: `0x81000000`–`0x817FFFFF`; platform: `0x81800000`–`0x81FFFFFF`
/// (Part 2, 7.5; TCG handle registry).
fn is_platform_persistent(h: Handle) -> bool {
    (0x8180_0000..=0x81FF_FFFF).contains(&h.0)
}

fn is_owner_persistent(h: Handle) -> bool {
    (0x8100_0000..=0x817F_FFFF).contains(&h.0)
}

/// `TPM2_EvictControl(auth, objectHandle; persistentHandle)`: makes a loaded object persistent
/// at `persistentHandle`, or removes the persistent object `objectHandle` (reference
/// `TPM2_EvictControl`). Persistent objects live as long as the TPM instance: this TPM has no NV
/// that outlives the process.
pub(crate) fn evict_control<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let persistent: TpmiDhPersistent = cmd.param()?;
    cmd.end()?;
    let persistent = persistent.0;
    let auth = cmd.handle(0);
    let h = cmd.handle(1);
    let k = key_at(tpm, h, 2)?;
    let stclear = k.has(A::ST_CLEAR);
    if k.is_temporary() || stclear || k.sensitive.is_none() {
        return Err(Rc::Attributes.handle(2));
    }
    let evicted = h.ht() == tpm_proto::ht::Persistent;
    if evicted && h != persistent {
        return Err(Rc::Handle.handle(2));
    }
    let platform_object = k.hierarchy == Handle::Platform;
    if auth == Handle::Platform {
        if !evicted {
            if !platform_object {
                return Err(Rc::Hierarchy.handle(2));
            }
            if !is_platform_persistent(persistent) {
                return Err(Rc::Range.param(1));
            }
        }
    } else {
        if platform_object {
            return Err(Rc::Hierarchy.handle(2));
        }
        if !evicted && !is_owner_persistent(persistent) {
            return Err(Rc::Range.param(1));
        }
    }
    if evicted {
        tpm.objects.remove_persistent(h);
        return Ok(());
    }
    let copy = k.clone();
    tpm.objects.make_persistent(persistent, copy)
}
