//! Entities named by handles (Part 1, section 16; Part 1, 32: Names): whether an entity is
//! present, its Name (for cpHash and policy), and its `authValue`.
//!
//! Every kind of entity (PCR, hierarchy, transient object, persistent object, NV index) is
//! answered here, so that the session layer has one place to ask.

use crate::engine::{Platform, Tpm};
use crate::object::Object;
use crate::secret::AuthValue;
use tpm_proto::command::AuthRole;
use tpm_proto::{ht, Handle, Rc, TpmaObject};

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

    /// The Empty Buffer: the Name of an object without a `nameAlg`.
    pub fn empty() -> Name {
        Name {
            buf: [0; tpm_proto::MAX_DIGEST_SIZE + 2],
            len: 0,
        }
    }

    /// `nameAlg || digest`.
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
}

/// The code for a wrong password or HMAC: `TPM_RC_BAD_AUTH` for an entity exempt from
/// dictionary-attack protection (every permanent handle but lockout, PCRs, sequence objects,
/// objects with `noDA`), else `TPM_RC_AUTH_FAIL` (reference `IncrementLockout`, `IsDAExempted`).
pub(crate) fn bad_password<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Rc {
    match h.ht() {
        ht::Permanent if h != Handle::Lockout => Rc::BadAuth,
        ht::Pcr => Rc::BadAuth,
        ht::Transient | ht::Persistent => match tpm.objects.get(h) {
            Some(Object::Key(k)) if !k.attributes.contains(TpmaObject::NO_DA) => Rc::AuthFail,
            _ => Rc::BadAuth,
        },
        _ => Rc::AuthFail,
    }
}

/// Checks that the entity `h` (the `i`-th handle, already type-checked) is present
/// (reference `EntityGetLoadStatus`).
pub(crate) fn entity_present<P: Platform>(tpm: &Tpm<P>, h: Handle, i: u32) -> Result<(), Rc> {
    match h.ht() {
        ht::Transient if tpm.objects.get(h).is_none() => return Err(Rc::reference_handle(i)),
        ht::Persistent if tpm.objects.get(h).is_none() => return Err(Rc::Handle.handle(i + 1)),
        ht::NvIndex => return Err(Rc::Handle.handle(i + 1)),
        ht::HmacSession | ht::PolicySession if tpm.sessions.get(h).is_none() => {
            return Err(Rc::reference_handle(i))
        }
        ht::Permanent => match h {
            Handle::Owner
            | Handle::Endorsement
            | Handle::Platform
            | Handle::PlatformNv
            | Handle::Lockout
            | Handle::Null
            | Handle::Pw => {}
            _ => return Err(Rc::Value.handle(i + 1)),
        },
        _ => {}
    }
    Ok(())
}

/// The Name of a present entity (Part 1, 16).
pub(crate) fn entity_name<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Name {
    match h.ht() {
        ht::Transient | ht::Persistent => match tpm.objects.get(h) {
            // An object without a nameAlg (a public key loaded with a NULL nameAlg) is named by
            // its handle, as is a sequence object, which has no public area.
            Some(Object::Key(k)) if k.name_alg.is_some() => k.name,
            Some(Object::Key(_)) | Some(Object::Sequence(_)) | None => Name::handle(h),
        },
        _ => Name::handle(h),
    }
}

/// The `authValue` of an entity, if it may be used for authorization in `role` (reference
/// `IsAuthValueAvailable`): for a key, only with its sensitive area loaded, and only if
/// `userWithAuth` is SET, or the role is ADMIN and `adminWithPolicy` is CLEAR.
pub(crate) fn entity_auth<P: Platform>(
    tpm: &Tpm<P>,
    h: Handle,
    role: AuthRole,
) -> Option<AuthValue> {
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
        ht::Transient | ht::Persistent => match tpm.objects.get(h)? {
            Object::Sequence(s) => Some(s.auth.clone()),
            Object::Key(k) => {
                let user = k.attributes.contains(TpmaObject::USER_WITH_AUTH);
                let admin = role == AuthRole::Admin
                    && !k.attributes.contains(TpmaObject::ADMIN_WITH_POLICY);
                match &k.sensitive {
                    Some(s) if user || admin => Some(s.auth.clone()),
                    _ => None,
                }
            }
        },
        _ => None,
    }
}
