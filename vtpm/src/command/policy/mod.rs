//! Enhanced authorization: the policy commands (Part 3, section 23; Part 1, section 19.7).
//!
//! Each assertion extends the session's `policyDigest` as the spec defines
//! (`policyDigest_new = H(policyDigest_old || TPM_CC_Policy* || arguments)`) and, on a real (not
//! trial) policy session, records what must hold when the session authorizes a command; those
//! deferred checks run in `auth.rs` (`check_policy`).
//!
//! Here: the session helpers and the assertions that only look at their parameters.
//! [`assertion`] has the authorizations that can be replaced by tickets (PolicySigned,
//! PolicySecret) and PolicyTicket; [`authorize`] the ones that replace the digest with an
//! approved one (PolicyAuthorize, PolicyAuthorizeNV) or compare with TPM state (PolicyNV,
//! PolicyCounterTimer).

use super::{Command, Response};
use crate::crypto::{Digest, Hasher};
use crate::engine::{Platform, Tpm};
use crate::session::Session;
use tpm_proto::{
    Cc, Handle, Marshal, Rc, Se, Tpm2bDigest, Tpm2bName, TpmaLocality, TpmlDigest,
    TpmlPcrSelection, PCR_COUNT,
};

mod assertion;
mod authorize;

pub(crate) use assertion::{policy_secret, policy_signed, policy_ticket};
pub(crate) use authorize::{
    policy_authorize, policy_authorize_nv, policy_counter_timer, policy_nv,
};

/// Extends a session's policy digest: `H(old || cc || parts...)`.
fn extend(s: &mut Session, cc: Cc, parts: &[&[u8]]) {
    let mut h = Hasher::new(s.hash);
    h.update(s.policy_digest.as_bytes());
    h.update(&cc.0.to_be_bytes());
    for p in parts {
        h.update(p);
    }
    s.policy_digest = h.finish();
}

/// `PolicyUpdate` (Part 3, 23.2.3): `H(H(old || cc || name) || policyRef)`.
fn update_with_ref(s: &mut Session, cc: Cc, name: &[u8], policy_ref: &[u8]) {
    extend(s, cc, &[name]);
    let d = Hasher::digest(s.hash, &[s.policy_digest.as_bytes(), policy_ref]);
    s.policy_digest = d;
}

fn session_mut<P: Platform>(tpm: &mut Tpm<P>, h: Handle, n: u32) -> Result<&mut Session, Rc> {
    match tpm.sessions.get_mut(h) {
        Some(s) if s.kind != Se::Hmac => Ok(s),
        _ => Err(Rc::Handle.handle(n)),
    }
}

/// `TPM2_PolicyAuthValue`: the entity's authValue is required (in the HMAC).
pub(crate) fn policy_auth_value<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    extend(s, Cc::PolicyAuthValue, &[]);
    s.policy.auth_value = true;
    s.policy.password = false;
    Ok(())
}

/// `TPM2_PolicyPassword`: the entity's authValue is required, as a password. Extends the digest
/// with `TPM_CC_PolicyAuthValue`, as the spec says, so the two give the same policy.
pub(crate) fn policy_password<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    extend(s, Cc::PolicyAuthValue, &[]);
    s.policy.password = true;
    s.policy.auth_value = false;
    Ok(())
}

/// `TPM2_PolicyCommandCode(code)`.
pub(crate) fn policy_command_code<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let code: Cc = cmd.param()?;
    cmd.end()?;
    if !super::implemented::<P>(code) {
        return Err(Rc::PolicyCc.param(1));
    }
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.policy.command_code.is_some_and(|c| c != code) {
        return Err(Rc::Value.param(1));
    }
    extend(s, Cc::PolicyCommandCode, &[&code.0.to_be_bytes()]);
    s.policy.command_code = Some(code);
    Ok(())
}

/// `TPM2_PolicyLocality(locality)`.
pub(crate) fn policy_locality<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let loc: TpmaLocality = cmd.param()?;
    cmd.end()?;
    let bits = loc.bits();
    // Extended localities (32..255) are a value, not a mask; this TPM has localities 0..4.
    if bits == 0 || bits & 0xE0 != 0 {
        return Err(Rc::Range.param(1));
    }
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    let merged = match s.policy.locality {
        Some(prev) => prev & bits,
        None => bits,
    };
    if merged == 0 {
        return Err(Rc::Range.param(1));
    }
    extend(s, Cc::PolicyLocality, &[&[bits]]);
    s.policy.locality = Some(merged);
    Ok(())
}

/// The digest of the selected PCR values, in selection order (Part 3, 23.7).
fn pcr_digest<P: Platform>(
    tpm: &Tpm<P>,
    hash: tpm_proto::HashAlg,
    sel: &TpmlPcrSelection,
) -> Digest {
    let mut h = Hasher::new(hash);
    for s in sel.iter() {
        for pcr in 0..PCR_COUNT {
            if s.is_selected(pcr) {
                if let Some(v) = tpm.pcrs.get(s.hash, pcr) {
                    h.update(v.as_bytes());
                }
            }
        }
    }
    h.finish()
}

/// `TPM2_PolicyPCR(pcrDigest, pcrs)`.
pub(crate) fn policy_pcr<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let given: Tpm2bDigest<'_> = cmd.param()?;
    let pcrs: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let h = cmd.handle(0);
    let (hash, kind) = {
        let s = session_mut(tpm, h, 1)?;
        (s.hash, s.kind)
    };
    let actual = pcr_digest(tpm, hash, &pcrs);
    let counter = tpm.pcrs.update_counter;
    let digest = if kind == Se::Trial && !given.is_empty() {
        Digest::from_slice(given.0)
    } else {
        if !given.is_empty() && given.0 != actual.as_bytes() {
            return Err(Rc::Value.param(1));
        }
        actual
    };
    let mut sel = [0u8; 2 + 4 + 4 * 6];
    let n = pcrs.to_bytes(&mut sel).map_err(|_| Rc::Size.param(2))?;
    let s = session_mut(tpm, h, 1)?;
    if kind != Se::Trial {
        if s.policy.pcr_counter.is_some_and(|c| c != counter) {
            return Err(Rc::PcrChanged);
        }
        s.policy.pcr_counter = Some(counter);
    }
    extend(s, Cc::PolicyPcr, &[&sel[..n], digest.as_bytes()]);
    Ok(())
}

/// `TPM2_PolicyOR(pHashList)`: the current digest must be one of the list.
pub(crate) fn policy_or<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let list: TpmlDigest<'_> = cmd.param()?;
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.kind != Se::Trial && !list.iter().any(|d| d.0 == s.policy_digest.as_bytes()) {
        return Err(Rc::Value.param(1));
    }
    let mut h = Hasher::new(s.hash);
    h.update(Digest::zero(s.hash).as_bytes());
    h.update(&Cc::PolicyOr.0.to_be_bytes());
    for d in list.iter() {
        h.update(d.0);
    }
    s.policy_digest = h.finish();
    Ok(())
}

/// `TPM2_PolicyCpHash(cpHashA)` (Part 3, 23.11): the authorized command's cpHash must be
/// `cpHashA`. Another cpHash, or a nameHash already set, is `TPM_RC_CPHASH`.
pub(crate) fn policy_cp_hash<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let d: Tpm2bDigest<'_> = cmd.param()?;
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if d.len() != s.hash.size() {
        return Err(Rc::Size.param(1));
    }
    if let Some(set) = s.policy.bound_hash {
        if !s.policy.cp_hash_defined || set.as_bytes() != d.0 {
            return Err(Rc::Cphash);
        }
    }
    extend(s, Cc::PolicyCpHash, &[d.0]);
    s.policy.bound_hash = Some(Digest::from_slice(d.0));
    s.policy.cp_hash_defined = true;
    Ok(())
}

/// `TPM2_PolicyNameHash(nameHash)` (Part 3, 23.12): the hash of the authorized command's handle
/// Names must be `nameHash`. Only once, and not with a cpHash (`TPM_RC_CPHASH`).
pub(crate) fn policy_name_hash<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let d: Tpm2bDigest<'_> = cmd.param()?;
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if d.len() != s.hash.size() {
        return Err(Rc::Size.param(1));
    }
    if s.policy.bound_hash.is_some() || s.policy.cp_hash_defined || s.policy.template_set {
        return Err(Rc::Cphash);
    }
    extend(s, Cc::PolicyNameHash, &[d.0]);
    s.policy.bound_hash = Some(Digest::from_slice(d.0));
    Ok(())
}

/// `TPM2_PolicyTemplate(templateHash)` (Part 3, 23.21): the session may only authorize
/// `TPM2_Create`, `TPM2_CreatePrimary` or `TPM2_CreateLoaded` of a public template whose digest
/// is `templateHash`. Another templateHash than one already set is `TPM_RC_VALUE` (checked
/// before the size, as the reference does); a cpHash or nameHash already set is
/// `TPM_RC_CPHASH`; a digest of another size than the session hash's `TPM_RC_SIZE`.
pub(crate) fn policy_template<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let d: Tpm2bDigest<'_> = cmd.param()?;
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.policy.template_set {
        if s.policy.bound_hash.is_some_and(|t| t.as_bytes() != d.0) {
            return Err(Rc::Value.param(1));
        }
    } else if s.policy.bound_hash.is_some() {
        return Err(Rc::Cphash);
    }
    if d.len() != s.hash.size() {
        return Err(Rc::Size.param(1));
    }
    extend(s, Cc::PolicyTemplate, &[d.0]);
    s.policy.bound_hash = Some(Digest::from_slice(d.0));
    s.policy.template_set = true;
    Ok(())
}

/// `TPM2_PolicyPhysicalPresence`: the session will need physical presence asserted when it is
/// used (never, inside a confidential VM).
pub(crate) fn policy_physical_presence<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    extend(s, Cc::PolicyPhysicalPresence, &[]);
    s.policy.physical_presence = true;
    Ok(())
}

/// `TPM2_PolicyNvWritten(writtenSet)`.
pub(crate) fn policy_nv_written<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let set: u8 = cmd.param()?;
    if set > 1 {
        return Err(Rc::Value.param(1));
    }
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.policy.nv_written.is_some_and(|v| v != (set == 1)) {
        return Err(Rc::Value.param(1));
    }
    extend(s, Cc::PolicyNvWritten, &[&[set]]);
    s.policy.nv_written = Some(set == 1);
    Ok(())
}

/// `TPM2_PolicyDuplicationSelect(policySession, objectName, newParentName, includeObject)`:
/// limits the session to `TPM2_Duplicate` of that object to that new parent (Part 3, 23.15).
pub(crate) fn policy_duplication_select<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let object: Tpm2bName<'_> = cmd.param()?;
    let parent: Tpm2bName<'_> = cmd.param()?;
    let include: u8 = cmd.param()?;
    if include > 1 {
        return Err(Rc::Value.param(3));
    }
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.policy.bound_hash.is_some() {
        return Err(Rc::Cphash);
    }
    if s.policy.command_code.is_some() {
        return Err(Rc::CommandCode);
    }
    s.policy.bound_hash = Some(Hasher::digest(s.hash, &[object.0, parent.0]));
    s.policy.command_code = Some(Cc::Duplicate);
    let obj: &[u8] = if include == 1 { object.0 } else { &[] };
    extend(s, Cc::PolicyDuplicationSelect, &[obj, parent.0, &[include]]);
    Ok(())
}
