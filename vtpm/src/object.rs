//! Loaded objects (Part 1, sections 27 and 30): the transient object slots, the persistent objects,
//! and what a loaded key is made of. Sequence objects (hash, event and HMAC sequences) occupy the
//! same slots as keys.
//!
//! Creation ([`create`]), primary-key derivation ([`primary`]), attribute validation
//! ([`validate`]) and sensitive-area protection ([`protect`]) live in submodules.

pub(crate) mod context;
pub(crate) mod create;
pub(crate) mod primary;
pub(crate) mod protect;
pub(crate) mod validate;

use crate::crypto::resumable::ResumableHash;
use crate::crypto::{EccCurve, EccPoint, EccPrivate, Hasher, RsaPrivate, RsaPublic};
use crate::entity::Name;
use crate::secret::{AuthValue, SecretBytes};
use alloc::boxed::Box;
use alloc::vec::Vec;
use tpm_proto::{
    Handle, HashAlg, Marshal, Rc, Reader, TpmaObject, TpmiAlgPublic, TpmtPublic, TpmtSymDefObject,
    TpmuPublicId, TpmuPublicParms, UnmarshalNullable, Writer, HASH_COUNT, MAX_TPMT_PUBLIC_SIZE,
    RSA_PRIVATE_SIZE,
};
use zeroize::Zeroizing;

/// A hash or event sequence (Part 1, 32.4).
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "slots are allocated once; boxing would add an allocation per sequence"
)]
pub(crate) enum SequenceKind {
    /// `TPM2_HashSequenceStart` with a hash algorithm.
    Hash(ResumableHash),
    /// `TPM2_HashSequenceStart` with `TPM_ALG_NULL`: one hash per implemented algorithm.
    Event([ResumableHash; HASH_COUNT]),
    /// `TPM2_HMAC_Start`: HMAC (RFC 2104) as a resumable inner hash started over
    /// `key ⊕ ipad`, and `key ⊕ opad` for the outer hash, so the state can be context-saved.
    Hmac {
        inner: ResumableHash,
        outer_key: SecretBytes,
    },
}

#[derive(Debug)]
pub(crate) struct Sequence {
    pub kind: SequenceKind,
    pub auth: AuthValue,
    /// No data has been added yet (the first block decides whether a ticket is safe).
    pub first_block: bool,
    /// The data did not start with `TPM_GENERATED_VALUE`, so a hash-check ticket may be issued.
    pub ticket_safe: bool,
}

impl Drop for Sequence {
    /// An HMAC sequence's inner hash has absorbed `key ⊕ ipad`: its chaining value computes
    /// the HMAC's inner hash for any message, so it is wiped with the sequence (the outer key
    /// wipes itself). Hash and event sequences hold only the caller's own data.
    fn drop(&mut self) {
        if let SequenceKind::Hmac { inner, .. } = &mut self.kind {
            zeroize::Zeroize::zeroize(inner);
        }
    }
}

/// The private key material of a loaded object (`TPMU_SENSITIVE_COMPOSITE`). Wiped on drop.
#[derive(Debug, Clone)]
pub(crate) enum KeyMaterial {
    Rsa(Box<RsaPrivate>),
    Ecc(EccPrivate),
    /// A keyed-hash object: an HMAC key or sealed data (`TPM2B_SENSITIVE_DATA`).
    Bits(SecretBytes),
    /// A symmetric-cipher key.
    Sym(SecretBytes),
}

impl KeyMaterial {
    /// The contents of the `TPMU_SENSITIVE_COMPOSITE` member: the first RSA prime, the ECC
    /// scalar, the keyed-hash data or the symmetric key.
    pub fn composite(&self) -> Zeroizing<Vec<u8>> {
        match self {
            KeyMaterial::Rsa(k) => k.prime_p(),
            KeyMaterial::Ecc(k) => k.scalar(),
            KeyMaterial::Bits(b) | KeyMaterial::Sym(b) => Zeroizing::new(b.to_vec()),
        }
    }

    pub fn type_(&self) -> TpmiAlgPublic {
        match self {
            KeyMaterial::Rsa(_) => TpmiAlgPublic::Rsa,
            KeyMaterial::Ecc(_) => TpmiAlgPublic::Ecc,
            KeyMaterial::Bits(_) => TpmiAlgPublic::KeyedHash,
            KeyMaterial::Sym(_) => TpmiAlgPublic::SymCipher,
        }
    }
}

/// The sensitive area of an object (`TPMT_SENSITIVE`): `authValue`, `seedValue` and the key.
#[derive(Debug, Clone)]
pub(crate) struct Sensitive {
    pub auth: AuthValue,
    /// `seedValue`: the obfuscation value of a symmetric object, the seed from which a storage
    /// parent's protection keys are derived (Part 1, 27.2.4).
    pub seed_value: SecretBytes,
    pub key: KeyMaterial,
}

/// Largest marshalled `TPMT_SENSITIVE`: type, authValue, seedValue, an RSA private part.
pub(crate) const MAX_SENSITIVE_SIZE: usize =
    2 + 2 * (2 + tpm_proto::MAX_DIGEST_SIZE) + 2 + RSA_PRIVATE_SIZE;

impl Sensitive {
    /// Marshals `TPMT_SENSITIVE` with the `authValue` padded with zeros to `auth_pad` octets, as
    /// the reference `MarshalSensitive` does (the digest size of the object's `nameAlg`).
    pub fn marshal(&self, auth_pad: usize) -> Result<Zeroizing<Vec<u8>>, Rc> {
        let mut buf = Zeroizing::new([0u8; MAX_SENSITIVE_SIZE]);
        let mut auth = Zeroizing::new([0u8; tpm_proto::MAX_DIGEST_SIZE]);
        let a = self.auth.as_bytes();
        let alen = auth_pad.max(a.len()).min(auth.len());
        auth.get_mut(..a.len())
            .ok_or(Rc::Failure)?
            .copy_from_slice(a);
        let composite = self.key.composite();
        let mut w = Writer::new(&mut buf[..]);
        let n = (|| {
            w.write(&self.key.type_())?;
            w.sized(auth.get(..alen).unwrap_or(&[]))?;
            w.sized(&self.seed_value)?;
            w.sized(&composite)?;
            Ok::<usize, tpm_proto::WriteError>(w.len())
        })()
        .map_err(|_| Rc::Failure)?;
        Ok(Zeroizing::new(buf.get(..n).ok_or(Rc::Failure)?.to_vec()))
    }
}

/// The public key of a loaded object, decoded once at load time.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    Rsa(RsaPublic),
    Ecc(EccCurve, EccPoint),
    /// A keyed-hash or symmetric-cipher object: `unique` is a digest, there is no public key.
    Symmetric,
}

/// A loaded key or data object.
#[derive(Debug, Clone)]
pub(crate) struct LoadedKey {
    /// The marshalled `TPMT_PUBLIC`, exactly as its Name hashes it.
    public: Vec<u8>,
    pub type_: TpmiAlgPublic,
    /// `None` only for a public key loaded with `TPM2_LoadExternal` and a NULL `nameAlg`.
    pub name_alg: Option<HashAlg>,
    pub attributes: TpmaObject,
    pub parameters: TpmuPublicParms,
    pub public_key: PublicKey,
    pub name: Name,
    pub qualified_name: Name,
    /// `TPM_RH_OWNER`, `_ENDORSEMENT`, `_PLATFORM`, or `TPM_RH_NULL` (temporary objects).
    pub hierarchy: Handle,
    /// `None` for a public-only object (`TPM2_LoadExternal` without a sensitive area).
    pub sensitive: Option<Sensitive>,
    /// Loaded with `TPM2_LoadExternal`: temporary, its qualified name is its Name.
    pub external: bool,
}

/// The Name of an object: `nameAlg || H_nameAlg(TPMT_PUBLIC)`, or the Empty Buffer when
/// `nameAlg` is NULL (Part 1, 16).
pub(crate) fn object_name(name_alg: Option<HashAlg>, public: &[u8]) -> Name {
    match name_alg {
        Some(h) => Name::digest(h, Hasher::digest(h, &[public]).as_bytes()),
        None => Name::empty(),
    }
}

/// The qualified name (Part 1, 16.6): `nameAlg || H_nameAlg(parentQN || Name)`, where the QN of
/// a hierarchy is its handle.
pub(crate) fn qualified_name(name_alg: Option<HashAlg>, parent_qn: &[u8], name: &Name) -> Name {
    match name_alg {
        Some(h) => Name::digest(
            h,
            Hasher::digest(h, &[parent_qn, name.as_bytes()]).as_bytes(),
        ),
        None => Name::empty(),
    }
}

/// Where a loaded object hangs: under a hierarchy (a primary object), under a loaded parent, or
/// nowhere (`TPM2_LoadExternal`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Parentage<'a> {
    Hierarchy(Handle),
    Parent {
        qualified_name: &'a Name,
        hierarchy: Handle,
    },
    External(Handle),
}

impl LoadedKey {
    /// Builds a loaded object from its marshalled public area and optional sensitive area.
    /// The public area must already have been validated; an unusable public key is
    /// `TPM_RC_KEY` (format one: the caller adds the parameter).
    pub fn new(
        public: &[u8],
        sensitive: Option<Sensitive>,
        parentage: Parentage<'_>,
    ) -> Result<LoadedKey, Rc> {
        if public.len() > MAX_TPMT_PUBLIC_SIZE {
            return Err(Rc::Size);
        }
        let p = TpmtPublic::unmarshal_nullable(&mut Reader::new(public), true)?;
        let public_key = match (&p.parameters, &p.unique) {
            (TpmuPublicParms::Rsa(parms), TpmuPublicId::Rsa(n)) => {
                PublicKey::Rsa(RsaPublic::new(n.0, parms.exponent).map_err(|_| Rc::Key)?)
            }
            (TpmuPublicParms::Ecc(parms), TpmuPublicId::Ecc(pt)) => {
                let curve = EccCurve::from_tpm(parms.curve_id.curve().0).ok_or(Rc::Curve)?;
                PublicKey::Ecc(
                    curve,
                    EccPoint {
                        x: pt.x.0.to_vec(),
                        y: pt.y.0.to_vec(),
                    },
                )
            }
            _ => PublicKey::Symmetric,
        };
        let name = object_name(p.name_alg, public);
        let (qn, hierarchy, external) = match parentage {
            Parentage::Hierarchy(h) => (
                qualified_name(p.name_alg, &h.0.to_be_bytes(), &name),
                h,
                false,
            ),
            Parentage::Parent {
                qualified_name: parent_qn,
                hierarchy,
            } => (
                qualified_name(p.name_alg, parent_qn.as_bytes(), &name),
                hierarchy,
                false,
            ),
            Parentage::External(h) => (name, h, true),
        };
        Ok(LoadedKey {
            public: public.to_vec(),
            type_: p.type_(),
            name_alg: p.name_alg,
            attributes: p.object_attributes,
            parameters: p.parameters,
            public_key,
            name,
            qualified_name: qn,
            hierarchy,
            sensitive,
            external,
        })
    }

    /// The marshalled `TPMT_PUBLIC`.
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    /// The parsed public area (borrowing this object's bytes).
    pub fn public_area(&self) -> Result<TpmtPublic<'_>, Rc> {
        TpmtPublic::unmarshal_nullable(&mut Reader::new(&self.public), true)
            .map_err(|_| Rc::Failure)
    }

    pub fn has(&self, a: TpmaObject) -> bool {
        self.attributes.contains(a)
    }

    /// An ordinary parent: a restricted decryption key with its sensitive area, not keyed-hash
    /// (reference `ObjectSetLoadedAttributes`: `isParent`).
    pub fn is_parent(&self) -> bool {
        !self.external
            && self.sensitive.is_some()
            && self.name_alg.is_some()
            && self.has(TpmaObject::RESTRICTED | TpmaObject::DECRYPT)
            && self.type_ != TpmiAlgPublic::KeyedHash
    }

    /// A temporary object (in the NULL hierarchy or loaded from outside): it cannot be made
    /// persistent.
    pub fn is_temporary(&self) -> bool {
        self.external || self.hierarchy == Handle::Null
    }

    /// The symmetric definition of a parent (`TPMT_SYM_DEF_OBJECT` at the start of the
    /// parameters), if it has one.
    pub fn symmetric(&self) -> TpmtSymDefObject {
        match &self.parameters {
            TpmuPublicParms::Rsa(p) => p.symmetric,
            TpmuPublicParms::Ecc(p) => p.symmetric,
            TpmuPublicParms::SymCipher(p) => p.sym,
            TpmuPublicParms::KeyedHash(_) => TpmtSymDefObject::Null,
        }
    }
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "slots are allocated once; boxing would add an allocation per object"
)]
pub(crate) enum Object {
    Sequence(Sequence),
    Key(LoadedKey),
}

/// The fixed set of transient object slots, and the persistent objects. Handle
/// `TRANSIENT_FIRST + i` names slot `i`; persistent objects keep the handle they were evicted
/// to.
#[derive(Debug)]
pub(crate) struct Objects {
    slots: Vec<Option<Object>>,
    /// Persistent objects, ascending by handle (always [`Object::Key`]).
    persistent: Vec<(Handle, Object)>,
    max_persistent: usize,
}

impl Objects {
    pub fn new(max: usize, max_persistent: usize) -> Objects {
        let mut slots = Vec::new();
        slots.resize_with(max, || None);
        Objects {
            slots,
            persistent: Vec::new(),
            max_persistent,
        }
    }

    fn index(h: Handle) -> Option<usize> {
        if h.ht() != tpm_proto::ht::Transient {
            return None;
        }
        Some((h.0 - Handle::TransientFirst.0) as usize)
    }

    /// Loads an object into a free slot; `TPM_RC_OBJECT_MEMORY` when all are in use.
    pub fn insert(&mut self, o: Object) -> Result<Handle, Rc> {
        let i = self.free_slot()?;
        let slot = self.slots.get_mut(i).ok_or(Rc::ObjectMemory)?;
        *slot = Some(o);
        Ok(Handle(Handle::TransientFirst.0 + i as u32))
    }

    /// The slot the next [`Objects::insert`] will use; `TPM_RC_OBJECT_MEMORY` if none is free.
    pub fn free_slot(&self) -> Result<usize, Rc> {
        self.slots
            .iter()
            .position(Option::is_none)
            .ok_or(Rc::ObjectMemory)
    }

    /// A transient or persistent object.
    pub fn get(&self, h: Handle) -> Option<&Object> {
        if h.ht() == tpm_proto::ht::Persistent {
            let i = self.persistent.binary_search_by_key(&h, |(p, _)| *p).ok()?;
            return self.persistent.get(i).map(|(_, o)| o);
        }
        self.slots.get(Self::index(h)?)?.as_ref()
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Object> {
        if h.ht() == tpm_proto::ht::Persistent {
            let i = self.persistent.binary_search_by_key(&h, |(p, _)| *p).ok()?;
            return self.persistent.get_mut(i).map(|(_, o)| o);
        }
        self.slots.get_mut(Self::index(h)?)?.as_mut()
    }

    /// The loaded key named by `h` (transient or persistent).
    pub fn key(&self, h: Handle) -> Option<&LoadedKey> {
        match self.get(h)? {
            Object::Key(k) => Some(k),
            Object::Sequence(_) => None,
        }
    }

    /// Removes a transient object.
    /// Drops a transient object where it lies (no copy out of the slot, unlike [`Objects::remove`]).
    pub fn discard(&mut self, h: Handle) {
        if let Some(slot) = Self::index(h).and_then(|i| self.slots.get_mut(i)) {
            *slot = None;
        }
    }

    pub fn remove(&mut self, h: Handle) -> Option<Object> {
        self.slots.get_mut(Self::index(h)?)?.take()
    }

    /// Makes a copy of `key` persistent at `h`: `TPM_RC_NV_DEFINED` if `h` is taken,
    /// `TPM_RC_NV_SPACE` when the configured number of persistent objects is reached.
    pub fn make_persistent(&mut self, h: Handle, key: LoadedKey) -> Result<(), Rc> {
        match self.persistent.binary_search_by_key(&h, |(p, _)| *p) {
            Ok(_) => Err(Rc::NvDefined),
            Err(_) if self.persistent.len() >= self.max_persistent => Err(Rc::NvSpace),
            Err(i) => {
                self.persistent.insert(i, (h, Object::Key(key)));
                Ok(())
            }
        }
    }

    /// Removes a persistent object.
    pub fn remove_persistent(&mut self, h: Handle) -> Option<Object> {
        let i = self.persistent.binary_search_by_key(&h, |(p, _)| *p).ok()?;
        Some(self.persistent.remove(i).1)
    }

    /// Flushes every transient object (`_TPM_Init`); persistent objects stay.
    pub fn flush_all(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// `TPM2_Clear`: flushes every transient object and removes the persistent objects of the
    /// owner and endorsement hierarchies.
    pub fn clear_owner(&mut self) {
        self.flush_all();
        self.persistent.retain(|(_, o)| match o {
            Object::Key(k) => k.hierarchy == Handle::Platform,
            Object::Sequence(_) => false,
        });
    }

    /// Handles of the loaded transient objects, ascending.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| Handle(Handle::TransientFirst.0 + i as u32))
    }

    /// Handles of the persistent objects, ascending.
    pub fn persistent_handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.persistent.iter().map(|(h, _)| *h)
    }

    pub fn loaded(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn persistent_count(&self) -> usize {
        self.persistent.len()
    }

    pub fn persistent_capacity(&self) -> usize {
        self.max_persistent
    }
}

/// Starts an HMAC (RFC 2104) sequence with `key` in `alg`: the inner hash over `key ⊕ ipad` and
/// the outer pad `key ⊕ opad` (a key longer than a block is hashed first).
pub(crate) fn hmac_start(alg: HashAlg, key: &[u8]) -> SequenceKind {
    let block = alg.block_size();
    let mut k = Zeroizing::new(alloc::vec![0u8; block]);
    if key.len() > block {
        let d = Hasher::digest(alg, &[key]);
        for (o, i) in k.iter_mut().zip(d.as_bytes()) {
            *o = *i;
        }
    } else {
        for (o, i) in k.iter_mut().zip(key) {
            *o = *i;
        }
    }
    let mut ipad = Zeroizing::new(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    let outer_key = Zeroizing::new(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    let mut inner = ResumableHash::new(alg);
    inner.update(&ipad);
    zeroize::Zeroize::zeroize(&mut *ipad);
    SequenceKind::Hmac {
        inner,
        outer_key: outer_key.into(),
    }
}

/// Completes an HMAC sequence: `H(key ⊕ opad || inner)`.
pub(crate) fn hmac_finish(inner: &mut ResumableHash, outer_key: &[u8]) -> crate::crypto::Digest {
    let alg = inner.alg();
    let i = inner.finish_in_place();
    Hasher::digest(alg, &[outer_key, i.as_bytes()])
}

/// Marshals a public area into a new vector.
pub(crate) fn marshal_public(p: &TpmtPublic<'_>) -> Result<Vec<u8>, Rc> {
    let mut buf = [0u8; MAX_TPMT_PUBLIC_SIZE];
    let n = p.to_bytes(&mut buf).map_err(|_| Rc::Failure)?;
    Ok(buf.get(..n).ok_or(Rc::Failure)?.to_vec())
}
