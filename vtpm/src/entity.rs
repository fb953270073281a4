//! Entities named by handles (Part 1, section 16; Part 1, 32: Names): whether an entity is
//! present, its Name (for cpHash and policy), and its `authValue`.
//!
//! Every kind of entity (PCR, hierarchy, transient object, persistent object, NV index) is
//! answered here, so that the session layer has one place to ask.

use crate::engine::{Platform, Tpm};
use crate::object::Object;
use crate::secret::AuthValue;
use tpm_proto::{ht, Handle, Rc};

/// A Name (`TPM2B_NAME` contents): a handle for PCRs, permanent handles and sessions, or
/// `nameAlg || H(public area)` for objects and NV indices.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    buf: [u8; tpm_proto::MAX_DIGEST_SIZE + 2],
    len: u8,
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Name {
    /// The Name of an entity whose Name is its handle.
    pub fn handle(h: Handle) -> Name {
        let mut n = Name {
            buf: [0; tpm_proto::MAX_DIGEST_SIZE + 2],
            len: 4,
        };
        n.buf[..4].copy_from_slice(&h.0.to_be_bytes());
        n
    }

    /// The Empty Buffer.
    pub fn empty() -> Name {
        Name {
            buf: [0; tpm_proto::MAX_DIGEST_SIZE + 2],
            len: 0,
        }
    }

    /// `nameAlg || digest`.
    #[allow(dead_code, reason = "objects and NV indices")]
    pub fn digest(alg: tpm_proto::HashAlg, d: &[u8]) -> Name {
        let mut n = Name {
            buf: [0; tpm_proto::MAX_DIGEST_SIZE + 2],
            len: 0,
        };
        let d = &d[..d.len().min(tpm_proto::MAX_DIGEST_SIZE)];
        n.buf[..2].copy_from_slice(&alg.alg().0.to_be_bytes());
        n.buf[2..2 + d.len()].copy_from_slice(d);
        n.len = (2 + d.len()) as u8;
        n
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// XORs `b` over the first octets (as many as both have).
    pub fn xor_prefix(&mut self, b: &[u8]) {
        for (x, y) in self.buf[..self.len as usize].iter_mut().zip(b) {
            *x ^= y;
        }
    }
}

/// Whether `h` is exempt from dictionary-attack protection (reference `IsDAExempted`): every
/// permanent handle but lockout, PCRs, sequence objects, and entities with `noDA`.
pub(crate) fn da_exempt<P: Platform>(tpm: &Tpm<P>, h: Handle) -> bool {
    if let Some(e) = crate::da::exempt_by_type(h) {
        return e;
    }
    match h.ht() {
        ht::Transient => match tpm.objects.get(h) {
            Some(Object::Sequence(_)) | None => true,
        },
        ht::NvIndex => tpm.nv.is_da_exempt(h),
        _ => false,
    }
}

/// Checks that the entity `h` (the `i`-th handle, already type-checked) is present
/// (reference `EntityGetLoadStatus`).
pub(crate) fn entity_present<P: Platform>(tpm: &Tpm<P>, h: Handle, i: u32) -> Result<(), Rc> {
    match h.ht() {
        ht::Transient if tpm.objects.get(h).is_none() => return Err(Rc::reference_handle(i)),
        ht::NvIndex if tpm.nv.get(h).is_none() => return Err(Rc::Handle.handle(i + 1)),
        ht::Persistent => return Err(Rc::Handle.handle(i + 1)),
        ht::HmacSession | ht::PolicySession if tpm.sessions.get(h).is_none() => {
            return Err(Rc::reference_handle(i))
        }
        ht::Permanent => {
            let enabled = match h {
                Handle::Owner => tpm.enables.owner,
                Handle::Endorsement => tpm.enables.endorsement,
                Handle::Platform => tpm.enables.platform,
                Handle::PlatformNv => tpm.enables.platform_nv,
                Handle::Lockout | Handle::Null | Handle::Pw => true,
                _ => return Err(Rc::Value.handle(i + 1)),
            };
            if !enabled {
                return Err(Rc::Hierarchy.handle(i + 1));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The Name of a present entity (Part 1, 16).
pub(crate) fn entity_name<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Name {
    match h.ht() {
        ht::Transient => match tpm.objects.get(h) {
            // A sequence object has no public area and no nameAlg: its Name is the Empty Buffer
            // (reference `AllocateSequenceSlot`).
            Some(Object::Sequence(_)) => Name::empty(),
            None => Name::handle(h),
        },
        ht::NvIndex => match tpm.nv.get(h) {
            Some(i) => i.name(),
            None => Name::handle(h),
        },
        _ => Name::handle(h),
    }
}

/// The `authValue` of an entity, if it has one that may be used for authorization.
pub(crate) fn entity_auth<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Option<AuthValue> {
    match h.ht() {
        ht::Pcr => Some(AuthValue::empty()),
        ht::Permanent => match h {
            Handle::Owner => Some(tpm.owner_h.auth.clone()),
            Handle::Endorsement => Some(tpm.endorsement_h.auth.clone()),
            Handle::Platform => Some(tpm.platform_h.auth.clone()),
            Handle::Lockout => Some(tpm.lockout_auth.clone()),
            Handle::Null => Some(AuthValue::empty()),
            _ => None,
        },
        ht::Transient => match tpm.objects.get(h)? {
            Object::Sequence(s) => Some(s.auth.clone()),
        },
        // Only when the index allows its authValue for this command (`AUTHWRITE`/`AUTHREAD`,
        // PIN limits); owner or platform authorization goes through the hierarchy handle.
        ht::NvIndex if tpm.nv.auth_available(h, tpm.command) => Some(tpm.nv.get(h)?.auth.clone()),
        _ => None,
    }
}

/// Decrypts a secret sent to the TPM under a loaded decryption key (Part 1, 11.4.9: RSA-OAEP with
/// `label`, or ECDH + KDFe): the salt of `TPM2_StartAuthSession`, the seed of `TPM2_Import` and
/// `TPM2_ActivateCredential`.
pub(crate) fn decrypt_secret<P: Platform>(
    tpm: &mut Tpm<P>,
    key: Handle,
    _label: &[u8],
    _secret: &[u8],
) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>, Rc> {
    match tpm.objects.get(key) {
        // A sequence object cannot decrypt.
        Some(Object::Sequence(_)) | None => Err(Rc::Key.handle(1)),
    }
}

/// The `authPolicy` of an entity, if it has one (hierarchy policies, objects' and NV indices'
/// `authPolicy`).
pub(crate) fn entity_policy<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Option<crate::crypto::Digest> {
    let p = match h {
        Handle::Platform => &tpm.platform_h.policy,
        Handle::Owner => &tpm.owner_h.policy,
        Handle::Endorsement => &tpm.endorsement_h.policy,
        Handle::Lockout => &tpm.lockout_policy,
        // Only when the index allows its policy for this command (`POLICYWRITE`/`POLICYREAD`,
        // reference `IsAuthPolicyAvailable`).
        _ if h.ht() == ht::NvIndex && tpm.nv.policy_available(h, tpm.command) => {
            return Some(tpm.nv.get(h)?.auth_policy)
        }
        _ => return None,
    };
    p.as_ref().map(|(_, d)| *d)
}
