//! Object creation (Part 3, sections 12.1, 12.9 and 24.1): `TPM2_CreatePrimary`, `TPM2_Create`,
//! `TPM2_CreateLoaded`, with creation data and creation tickets.
//!
//! `TPM2_CreateLoaded` creates ordinary objects (parent a storage key) and primary objects
//! (parent a hierarchy); derived objects (a keyed-hash derivation parent) are not implemented and
//! get `TPM_RC_TYPE` for the parent.

use super::{Command, Response};
use crate::crypto::hmac::Hmac;
use crate::crypto::{CryptoError, Digest, Hasher};
use crate::engine::{Platform, Tpm};
use crate::entity::Name;
use crate::object::create::{create_object, Created};
use crate::object::protect::{Protector, IV_SIZE};
use crate::object::validate::{create_checks, ParentView};
use crate::object::{LoadedKey, Object, Parentage};
use crate::secret::AuthValue;
use alloc::vec::Vec;
use tpm_proto::{
    AlgId, Handle, HashAlg, Marshal, Rc, Reader, St, Tpm2bData, Tpm2bDigest, Tpm2bName,
    Tpm2bPublic, Tpm2bSensitiveCreate, Tpm2bTemplate, TpmaLocality, TpmlPcrSelection,
    TpmsCreationData, TpmtPublic, TpmtSymDefObject, Unmarshal, PCR_COUNT,
};
use zeroize::Zeroizing;

/// A `TPM2B_PUBLIC` parameter together with the bytes of its `TPMT_PUBLIC`, which the Name and
/// the primary-key derivation hash exactly as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicParam<'a, const NULL_OK: bool> {
    pub area: TpmtPublic<'a>,
    pub raw: &'a [u8],
}

impl<'a, const NULL_OK: bool> Unmarshal<'a> for PublicParam<'a, NULL_OK> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let (p, raw) = Tpm2bPublic::unmarshal_with_raw(r, NULL_OK)?;
        Ok(PublicParam {
            area: p.public_area,
            raw,
        })
    }
}

/// `AdjustAuthSize`: an `authValue` may not be longer than the `nameAlg` digest once trailing
/// zeros are removed (`TPM_RC_SIZE`, numbered by the caller).
pub(crate) fn adjust_auth(auth: &[u8], name_alg: Option<HashAlg>) -> Result<AuthValue, Rc> {
    let v = AuthValue::new(auth).ok_or(Rc::Size)?;
    let max = name_alg.map_or(tpm_proto::MAX_DIGEST_SIZE, HashAlg::size);
    if v.as_bytes().len() > max {
        return Err(Rc::Size);
    }
    Ok(v)
}

/// The digest of the selected PCRs in selection order (reference `PCRComputeCurrentDigest`);
/// PCRs that are not allocated are removed from `sel` first.
pub(crate) fn pcr_digest<P: Platform>(
    tpm: &Tpm<P>,
    alg: HashAlg,
    sel: &mut TpmlPcrSelection,
) -> Digest {
    let mut h = Hasher::new(alg);
    for s in sel.iter_mut() {
        for pcr in 0..PCR_COUNT {
            if !s.is_selected(pcr) {
                continue;
            }
            match tpm.pcrs.get(s.hash, pcr) {
                Some(d) => {
                    h.update(d.as_bytes());
                }
                None => s.clear(pcr),
            }
        }
    }
    h.finish()
}

/// The proof of a hierarchy (`TPM_RH_NULL`: nullProof), the key of its tickets.
pub(crate) fn proof<P: Platform>(tpm: &Tpm<P>, hierarchy: Handle) -> &[u8] {
    tpm.hierarchy(hierarchy).map_or(&[][..], |h| &h.proof[..])
}

/// The creation ticket (Part 2, 10.7.3): `HMAC_SHA256(proof, TPM_ST_CREATION || Name ||
/// creationHash)`, SHA-256 being this TPM's context integrity hash.
pub(crate) fn creation_ticket<P: Platform>(
    tpm: &Tpm<P>,
    hierarchy: Handle,
    name: &[u8],
    creation_hash: &[u8],
) -> Digest {
    Hmac::mac(
        HashAlg::Sha256,
        proof(tpm, hierarchy),
        &[&St::Creation.0.to_be_bytes(), name, creation_hash],
    )
}

/// Who the new object's parent is, as creation data records it.
#[derive(Debug, Clone, Copy)]
struct CreationParent<'a> {
    name_alg: Option<HashAlg>,
    name: &'a [u8],
    qualified_name: &'a [u8],
}

/// Writes `creationData`, `creationHash` and `creationTicket` (reference `FillInCreationData`,
/// `TicketComputeCreation`).
#[allow(
    clippy::too_many_arguments,
    reason = "the fields of TPMS_CREATION_DATA"
)]
fn write_creation<P: Platform>(
    tpm: &Tpm<P>,
    rsp: &mut Response<'_>,
    locality: u8,
    parent: CreationParent<'_>,
    name_alg: HashAlg,
    outside_info: Tpm2bData<'_>,
    mut creation_pcr: TpmlPcrSelection,
    object_name: &Name,
    hierarchy: Handle,
) -> Result<(), Rc> {
    let pcr_digest = pcr_digest(tpm, name_alg, &mut creation_pcr);
    let data = TpmsCreationData {
        pcr_select: creation_pcr,
        pcr_digest: Tpm2bDigest(pcr_digest.as_bytes()),
        locality: TpmaLocality::from_bits_retain(1u8 << locality.min(4)),
        parent_name_alg: parent.name_alg.map_or(AlgId::Null, HashAlg::alg),
        parent_name: Tpm2bName(parent.name),
        parent_qualified_name: Tpm2bName(parent.qualified_name),
        outside_info,
    };
    let mut buf = [0u8; 512];
    let n = data.to_bytes(&mut buf).map_err(|_| Rc::Failure)?;
    let bytes = buf.get(..n).ok_or(Rc::Failure)?;
    let creation_hash = Hasher::digest(name_alg, &[bytes]);
    rsp.sized(bytes)?;
    rsp.sized(creation_hash.as_bytes())?;
    let ticket = creation_ticket(
        tpm,
        hierarchy,
        object_name.as_bytes(),
        creation_hash.as_bytes(),
    );
    rsp.u16(St::Creation.0)?;
    rsp.u32(hierarchy.0)?;
    rsp.sized(ticket.as_bytes())
}

/// The parent of an ordinary object, copied out so the DRBG can be used while creating.
#[derive(Debug)]
pub(crate) struct ParentInfo {
    pub view: ParentView,
    pub name_alg: HashAlg,
    pub seed: Zeroizing<Vec<u8>>,
    pub symmetric: TpmtSymDefObject,
    pub name: Name,
    pub qualified_name: Name,
    pub hierarchy: Handle,
}

impl ParentInfo {
    /// The storage parent at `h` (the `n`-th handle): `TPM_RC_TYPE` unless it is a restricted
    /// decryption key with its sensitive area loaded (reference `ObjectIsParent`).
    pub fn get<P: Platform>(tpm: &Tpm<P>, h: Handle, n: u32) -> Result<ParentInfo, Rc> {
        let k = tpm.objects.key(h).ok_or(Rc::Type.handle(n))?;
        let (Some(s), Some(name_alg)) = (&k.sensitive, k.name_alg) else {
            return Err(Rc::Type.handle(n));
        };
        if !k.is_parent() {
            return Err(Rc::Type.handle(n));
        }
        Ok(ParentInfo {
            view: ParentView::of(k),
            name_alg,
            seed: Zeroizing::new(s.seed_value.to_vec()),
            symmetric: k.symmetric(),
            name: k.name,
            qualified_name: k.qualified_name,
            hierarchy: k.hierarchy,
        })
    }

    pub fn protector(&self) -> Protector<'_> {
        Protector {
            name_alg: self.name_alg,
            seed: &self.seed,
            symmetric: self.symmetric,
        }
    }

    /// `SensitiveToPrivate`: the new object's `TPM2B_PRIVATE` contents under this parent.
    pub fn wrap<P: Platform>(
        &self,
        tpm: &mut Tpm<P>,
        c: &crate::object::Sensitive,
        object_name_alg: HashAlg,
        name: &Name,
    ) -> Result<Vec<u8>, Rc> {
        let sensitive = c.marshal(object_name_alg.size())?;
        let mut iv = [0u8; IV_SIZE];
        tpm.random(&mut iv)?;
        self.protector().wrap(&sensitive, name.as_bytes(), &iv)
    }
}

/// Creates an ordinary object with the TPM's DRBG.
fn create_ordinary<P: Platform>(
    tpm: &mut Tpm<P>,
    public: &TpmtPublic<'_>,
    data: &[u8],
    auth: AuthValue,
) -> Result<Created, Rc> {
    tpm.reseed_if_needed()?;
    let drbg = &mut tpm.drbg;
    let mut next = |b: &mut [u8]| -> Result<(), CryptoError> { drbg.generate(b, &[]) };
    create_object(public, data, auth, &mut next)
}

/// Derives a primary object in `hierarchy` (through the cache).
fn create_primary_object<P: Platform>(
    tpm: &mut Tpm<P>,
    hierarchy: Handle,
    public: &TpmtPublic<'_>,
    raw: &[u8],
    data: &[u8],
    auth: AuthValue,
) -> Result<Created, Rc> {
    let seed = match hierarchy {
        Handle::Owner => &tpm.owner_h.seed,
        Handle::Endorsement => &tpm.endorsement_h.seed,
        Handle::Platform => &tpm.platform_h.seed,
        _ => &tpm.null_h.seed,
    };
    tpm.primary_cache
        .get_or_derive(&seed[..], public, raw, data, auth)
}

/// `TPM2_CreatePrimary(primaryHandle; inSensitive, inPublic, outsideInfo, creationPCR)` →
/// `objectHandle`; `outPublic`, `creationData`, `creationHash`, `creationTicket`, `name`.
pub(crate) fn create_primary<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let sensitive: Tpm2bSensitiveCreate<'_> = cmd.param()?;
    let public: PublicParam<'_, false> = cmd.param()?;
    let outside_info: Tpm2bData<'_> = cmd.param()?;
    let creation_pcr: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let hierarchy = cmd.handle(0);
    tpm.objects.free_slot()?;
    let s = sensitive.sensitive;
    create_checks(None, &public.area, &s).map_err(|rc| rc.param(2))?;
    let name_alg = public.area.name_alg.ok_or(Rc::Hash.param(2))?;
    let auth = adjust_auth(s.user_auth.0, Some(name_alg)).map_err(|rc| rc.param(1))?;
    let c = create_primary_object(tpm, hierarchy, &public.area, public.raw, s.data.0, auth)?;
    let key = LoadedKey::new(
        &c.public,
        Some(c.sensitive),
        Parentage::Hierarchy(hierarchy),
    )?;
    let name = key.name;
    rsp.sized(key.public_bytes())?;
    let handle_bytes = hierarchy.0.to_be_bytes();
    let parent = CreationParent {
        name_alg: None,
        name: &handle_bytes,
        qualified_name: &handle_bytes,
    };
    write_creation(
        tpm,
        rsp,
        cmd.locality,
        parent,
        name_alg,
        outside_info,
        creation_pcr,
        &name,
        hierarchy,
    )?;
    rsp.sized(name.as_bytes())?;
    rsp.handle = Some(tpm.objects.insert(Object::Key(key))?);
    Ok(())
}

/// `TPM2_Create(parentHandle; inSensitive, inPublic, outsideInfo, creationPCR)` → `outPrivate`,
/// `outPublic`, `creationData`, `creationHash`, `creationTicket`.
pub(crate) fn create<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let sensitive: Tpm2bSensitiveCreate<'_> = cmd.param()?;
    let public: PublicParam<'_, false> = cmd.param()?;
    let outside_info: Tpm2bData<'_> = cmd.param()?;
    let creation_pcr: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let parent = ParentInfo::get(tpm, cmd.handle(0), 1)?;
    // The reference creates in a free object slot used as scratch space.
    tpm.objects.free_slot()?;
    let s = sensitive.sensitive;
    create_checks(Some(&parent.view), &public.area, &s).map_err(|rc| rc.param(2))?;
    let name_alg = public.area.name_alg.ok_or(Rc::Hash.param(2))?;
    let auth = adjust_auth(s.user_auth.0, Some(name_alg)).map_err(|rc| rc.param(1))?;
    let c = create_ordinary(tpm, &public.area, s.data.0, auth)?;
    let name = crate::object::object_name(Some(name_alg), &c.public);
    let private = parent.wrap(tpm, &c.sensitive, name_alg, &name)?;
    rsp.sized(&private)?;
    rsp.sized(&c.public)?;
    let creation_parent = CreationParent {
        name_alg: Some(parent.name_alg),
        name: parent.name.as_bytes(),
        qualified_name: parent.qualified_name.as_bytes(),
    };
    write_creation(
        tpm,
        rsp,
        cmd.locality,
        creation_parent,
        name_alg,
        outside_info,
        creation_pcr,
        &name,
        parent.hierarchy,
    )
}

/// `TPM2_CreateLoaded(parentHandle; inSensitive, inPublic, )` → `objectHandle`; `outPrivate`,
/// `outPublic`, `name`. A hierarchy as parent creates a primary object (empty `outPrivate`).
pub(crate) fn create_loaded<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let sensitive: Tpm2bSensitiveCreate<'_> = cmd.param()?;
    let template: Tpm2bTemplate<'_> = cmd.param()?;
    cmd.end()?;
    let parent_h = cmd.handle(0);
    let parent = match parent_h.ht() {
        tpm_proto::ht::Permanent => None,
        _ => Some(ParentInfo::get(tpm, parent_h, 1)?),
    };
    tpm.objects.free_slot()?;
    // The template is a whole TPMT_PUBLIC: trailing bytes are TPM_RC_SIZE.
    let area = TpmtPublic::from_bytes(template.0).map_err(|rc| rc.param(2))?;
    let s = sensitive.sensitive;
    let name_alg = area.name_alg.ok_or(Rc::Hash.param(2))?;
    create_checks(parent.as_ref().map(|p| &p.view), &area, &s).map_err(|rc| rc.param(2))?;
    let auth = adjust_auth(s.user_auth.0, Some(name_alg)).map_err(|rc| rc.param(1))?;
    let (key, private) = match &parent {
        None => {
            let c = create_primary_object(tpm, parent_h, &area, template.0, s.data.0, auth)?;
            let key = LoadedKey::new(&c.public, Some(c.sensitive), Parentage::Hierarchy(parent_h))?;
            (key, Vec::new())
        }
        Some(p) => {
            let c = create_ordinary(tpm, &area, s.data.0, auth)?;
            let name = crate::object::object_name(Some(name_alg), &c.public);
            let private = p.wrap(tpm, &c.sensitive, name_alg, &name)?;
            let key = LoadedKey::new(
                &c.public,
                Some(c.sensitive),
                Parentage::Parent {
                    qualified_name: &p.qualified_name,
                    hierarchy: p.hierarchy,
                },
            )?;
            (key, private)
        }
    };
    rsp.sized(&private)?;
    rsp.sized(key.public_bytes())?;
    rsp.sized(key.name.as_bytes())?;
    rsp.handle = Some(tpm.objects.insert(Object::Key(key))?);
    Ok(())
}
