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

    /// The Empty Buffer.
    pub fn empty() -> Name {
        Name {
            buf: [0; tpm_proto::MAX_DIGEST_SIZE + 2],
            len: 0,
        }
    }

    /// A Name from its bytes (`None` if longer than a Name can be).
    pub fn from_bytes(b: &[u8]) -> Option<Name> {
        let mut n = Name::empty();
        n.buf.get_mut(..b.len())?.copy_from_slice(b);
        n.len = b.len() as u8;
        Some(n)
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
        ht::Transient | ht::Persistent => match tpm.objects.get(h) {
            Some(Object::Key(k)) => k.attributes.contains(TpmaObject::NO_DA),
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
        ht::Persistent if tpm.objects.get(h).is_none() => return Err(Rc::Handle.handle(i + 1)),
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
        ht::Transient | ht::Persistent => match tpm.objects.get(h) {
            // A sequence object has no public area and no nameAlg: its Name is the Empty Buffer
            // (reference `AllocateSequenceSlot`), as is that of a key loaded with a NULL nameAlg.
            Some(Object::Sequence(_)) => Name::empty(),
            Some(Object::Key(k)) => k.name,
            None => Name::handle(h),
        },
        ht::NvIndex => match tpm.nv.get(h) {
            Some(i) => i.name(),
            None => Name::handle(h),
        },
        _ => Name::handle(h),
    }
}

/// The `authValue` of an entity, if it has one (a public-only object has none). Whether a
/// password or HMAC session may use it is [`auth_value_available`].
pub(crate) fn entity_auth<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Option<AuthValue> {
    match h.ht() {
        ht::Pcr if crate::pcr::in_auth_group(h) => Some(tpm.pcr_auth.clone()),
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
            Object::Key(k) => k.sensitive.as_ref().map(|s| s.auth.clone()),
        },
        // Only when the index allows its authValue for this command (`AUTHWRITE`/`AUTHREAD`,
        // PIN limits); owner or platform authorization goes through the hierarchy handle.
        ht::NvIndex if tpm.nv.auth_available(h, tpm.command) => Some(tpm.nv.get(h)?.auth.clone()),
        _ => None,
    }
}

/// Whether a password or HMAC session may use the `authValue` of `h` in `role` (reference
/// `IsAuthValueAvailable`): for a key, only with its sensitive area loaded, and only if
/// `userWithAuth` is SET, or the role is ADMIN and `adminWithPolicy` is CLEAR.
pub(crate) fn auth_value_available<P: Platform>(tpm: &Tpm<P>, h: Handle, role: AuthRole) -> bool {
    match h.ht() {
        ht::Transient | ht::Persistent => match tpm.objects.get(h) {
            Some(Object::Sequence(_)) => true,
            Some(Object::Key(k)) => {
                let user = k.attributes.contains(TpmaObject::USER_WITH_AUTH);
                let admin = role == AuthRole::Admin
                    && !k.attributes.contains(TpmaObject::ADMIN_WITH_POLICY);
                k.sensitive.is_some() && (user || admin)
            }
            None => false,
        },
        _ => entity_auth(tpm, h).is_some(),
    }
}

/// Whether the ADMIN role of `h` needs a policy session (reference `IsPolicySessionRequired`):
/// always, except for a transient object with `adminWithPolicy` CLEAR.
pub(crate) fn admin_needs_policy<P: Platform>(tpm: &Tpm<P>, h: Handle) -> bool {
    match (h.ht(), tpm.objects.get(h)) {
        (ht::Transient, Some(Object::Key(k))) => {
            k.attributes.contains(TpmaObject::ADMIN_WITH_POLICY)
        }
        (ht::Transient, _) => false,
        _ => true,
    }
}

/// Decrypts a secret sent to the TPM under a loaded decryption key (Part 1, 11.4.9: RSA-OAEP with
/// `label`, or ECDH + KDFe): the salt of `TPM2_StartAuthSession`, the seed of `TPM2_Import` and
/// `TPM2_ActivateCredential`.
/// Errors as the reference `CryptSecretDecrypt`, unnumbered: `TPM_RC_SCHEME` for an RSA key
/// whose scheme is not OAEP (NULL means OAEP with `nameAlg`), `TPM_RC_VALUE` for a bad
/// padding or a secret longer than the digest, unmarshal codes or `TPM_RC_ECC_POINT` for a bad
/// ECC point.
pub(crate) fn decrypt_secret<P: Platform>(
    tpm: &mut Tpm<P>,
    key: Handle,
    label: &[u8],
    secret: &[u8],
) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>, Rc> {
    use crate::object::{KeyMaterial, PublicKey};
    use tpm_proto::{TpmsEccPoint, TpmtRsaScheme, TpmuPublicParms, Unmarshal};
    let k = match tpm.objects.get(key) {
        Some(Object::Key(k)) => k,
        // A sequence object cannot decrypt.
        Some(Object::Sequence(_)) | None => return Err(Rc::Key.handle(1)),
    };
    let name_alg = k.name_alg.ok_or(Rc::Key.handle(1))?;
    match (
        &k.parameters,
        k.sensitive.as_ref().map(|s| &s.key),
        &k.public_key,
    ) {
        (TpmuPublicParms::Rsa(p), Some(KeyMaterial::Rsa(rsa)), _) => {
            let hash = match p.scheme {
                TpmtRsaScheme::Null => name_alg,
                TpmtRsaScheme::Oaep(h) => h.hash_alg,
                _ => return Err(Rc::Scheme),
            };
            let scheme = crate::crypto::RsaDecryptScheme::Oaep(hash);
            // The OAEP label is the label string with its terminating zero (Part 1, 11.4.10.2).
            let mut l = alloc::vec::Vec::from(label);
            if l.last() != Some(&0) {
                l.push(0);
            }
            let out = rsa.decrypt(scheme, &l, secret, &mut tpm.drbg)?;
            if out.len() > hash.size() {
                return Err(Rc::Value);
            }
            Ok(out)
        }
        (TpmuPublicParms::Ecc(_), Some(KeyMaterial::Ecc(d)), PublicKey::Ecc(_, q)) => {
            let point = TpmsEccPoint::unmarshal(&mut tpm_proto::Reader::new(secret))?;
            let peer = crate::crypto::EccPoint {
                x: point.x.0.to_vec(),
                y: point.y.0.to_vec(),
            };
            let z = d.ecdh(&peer)?;
            let size = name_alg.size();
            let mut out = zeroize::Zeroizing::new(alloc::vec![0u8; size]);
            crate::crypto::kdf_e(
                name_alg,
                &z.x,
                label,
                point.x.0,
                &q.x,
                (size * 8) as u32,
                &mut out,
            )?;
            Ok(out)
        }
        _ => Err(Rc::Key.handle(1)),
    }
}

/// The `authPolicy` of an entity, if it has one (hierarchy policies, objects' and NV indices'
/// `authPolicy`, the PCR policy group's). A PCR of the policy group always has one, empty until
/// `TPM2_PCR_SetAuthPolicy` (reference `PCRPolicyIsAvailable`), so a policy session fails
/// with `TPM_RC_POLICY_FAIL` rather than `TPM_RC_AUTH_UNAVAILABLE`.
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
        _ if h.ht() == ht::NvIndex => return None,
        _ if crate::pcr::in_auth_group(h) => {
            return Some(
                tpm.pcr_policy
                    .map_or(crate::crypto::Digest::from_slice(&[]), |p| p.1),
            )
        }
        _ => {
            return match tpm.objects.get(h) {
                Some(Object::Key(k)) => k
                    .public_area()
                    .ok()
                    .filter(|p| !p.auth_policy.is_empty())
                    .map(|p| crate::crypto::Digest::from_slice(p.auth_policy.0)),
                _ => None,
            }
        }
    };
    p.as_ref().map(|(_, d)| *d)
}
