//! PolicySigned and PolicySecret (Part 3, 23.3–23.4): authorizations given by another entity, with
//! their expirations and the tickets that stand in for them.

use super::{session_mut, update_with_ref};
use crate::command::{Command, Response};
use crate::crypto::{Digest, Hasher, Hmac};
use crate::engine::{Platform, Tpm};
use crate::entity::entity_name;
use crate::session::Session;
use tpm_proto::{Cc, Handle, Rc, Se, St, Tpm2bDigest, Tpm2bNonce};

/// The policy timeout of an expiration (reference `ComputeAuthTimeout`): none for 0; else
/// `|expiration|` seconds after the session started, or — without a nonce — absolute `Time`.
fn auth_timeout(s: &Session, expiration: i32, nonce: &[u8], now: u64) -> Option<u64> {
    if expiration == 0 {
        return None;
    }
    let ms = expiration.unsigned_abs() as u64 * 1000;
    Some(if nonce.is_empty() {
        ms + now % 1000
    } else {
        s.start_time.saturating_add(ms)
    })
}

/// Checks shared by PolicySigned and PolicySecret (reference `PolicyParameterChecks`): the nonce
/// if given, the expiration, the cpHashA size and consistency. Changes nothing; returns the
/// timeout to record with [`apply_parameters`].
fn policy_parameter_checks(
    s: &Session,
    nonce: &[u8],
    cp: &[u8],
    expiration: i32,
    now: u64,
) -> Result<Option<u64>, Rc> {
    if !nonce.is_empty() && nonce != s.nonce_tpm.as_bytes() {
        return Err(Rc::Nonce.param(1));
    }
    let timeout = auth_timeout(s, expiration, nonce, now);
    if timeout.is_some_and(|t| t < now) {
        return Err(Rc::Expired.param(4));
    }
    if !cp.is_empty() {
        if cp.len() != s.hash.size() {
            return Err(Rc::Size.param(2));
        }
        if s.policy.bound_hash.is_some_and(|v| v.as_bytes() != cp) {
            return Err(Rc::Cphash);
        }
    }
    Ok(timeout)
}

/// Records cpHashA and the timeout once every check has passed.
fn apply_parameters(s: &mut Session, cp: &[u8], timeout: Option<u64>) {
    if !cp.is_empty() {
        s.policy.bound_hash = Some(Digest::from_slice(cp));
        s.policy.cp_hash_defined = true;
    }
    if let Some(t) = timeout {
        s.policy.timeout = Some(s.policy.timeout.map_or(t, |old| old.min(t)));
    }
}

/// The parameters of a PolicySecret or PolicySigned assertion that go into the policy digest
/// and the ticket.
struct Assertion<'a> {
    cc: Cc,
    /// `TPM_ST_AUTH_SECRET` or `TPM_ST_AUTH_SIGNED`.
    tag: St,
    nonce: &'a [u8],
    cp: &'a [u8],
    policy_ref: &'a [u8],
    expiration: i32,
    /// Name of the authorizing entity.
    name: &'a [u8],
    /// Hierarchy of the authorizing entity (the ticket's proof).
    hierarchy: Handle,
}

/// Completes an assertion whose checks have passed: records cpHashA and the timeout, extends the
/// digest (`PolicyUpdate`), and writes `timeout` and a `TPMT_TK_AUTH` (Part 2, 10.7.5). A ticket
/// is issued only for a negative expiration on a real session: `HMAC(proof, tag || timeout ||
/// expiresOnReset || cpHashA || policyRef || authName)` (reference `TicketComputeAuth`);
/// otherwise the NULL ticket and an empty timeout.
fn finish_assertion<P: Platform>(
    tpm: &mut Tpm<P>,
    rsp: &mut Response<'_>,
    session: Handle,
    a: &Assertion<'_>,
    timeout: Option<u64>,
) -> Result<(), Rc> {
    let s = session_mut(tpm, session, 2)?;
    apply_parameters(s, a.cp, timeout);
    update_with_ref(s, a.cc, a.name, a.policy_ref);
    let trial = s.kind == Se::Trial;
    let proof = match a.hierarchy {
        Handle::Owner => Some(&tpm.owner_h.proof),
        Handle::Endorsement => Some(&tpm.endorsement_h.proof),
        Handle::Platform => Some(&tpm.platform_h.proof),
        _ => None,
    };
    match (timeout, proof) {
        (Some(t), Some(proof)) if a.expiration < 0 && !trial => {
            rsp.sized(&t.to_be_bytes())?;
            let mac = Hmac::mac(
                tpm_proto::HashAlg::Sha256,
                &proof[..],
                &[
                    &a.tag.0.to_be_bytes(),
                    &t.to_be_bytes(),
                    &[a.nonce.is_empty() as u8],
                    a.cp,
                    a.policy_ref,
                    a.name,
                ],
            );
            rsp.u16(a.tag.0)?;
            rsp.u32(a.hierarchy.0)?;
            rsp.sized(mac.as_bytes())
        }
        _ => {
            rsp.sized(&[])?;
            rsp.u16(a.tag.0)?;
            rsp.u32(Handle::Null.0)?;
            rsp.sized(&[])
        }
    }
}

/// The hierarchy an entity belongs to, for tickets (reference `EntityGetHierarchy`).
fn entity_hierarchy<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Handle {
    match h {
        Handle::Owner | Handle::Endorsement | Handle::Platform | Handle::Null => h,
        Handle::Lockout => Handle::Owner,
        _ => match tpm.objects.key(h) {
            Some(k) => k.hierarchy,
            None => Handle::Owner,
        },
    }
}

/// `TPM2_PolicySecret(authHandle, policySession, nonceTPM, cpHashA, policyRef, expiration)` →
/// `timeout`, `policyTicket` (Part 3, 23.4). The authorization of `authHandle` was checked by
/// the session layer before this runs.
pub(crate) fn policy_secret<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let nonce: Tpm2bNonce<'_> = cmd.param()?;
    let cp: Tpm2bDigest<'_> = cmd.param()?;
    let policy_ref: Tpm2bNonce<'_> = cmd.param()?;
    let expiration = cmd.param::<u32>()? as i32;
    cmd.end()?;
    let auth_h = cmd.handle(0);
    let name = entity_name(tpm, auth_h);
    let hierarchy = entity_hierarchy(tpm, auth_h);
    let now = tpm.time_now();
    let s = session_mut(tpm, cmd.handle(1), 2)?;
    let timeout = policy_parameter_checks(s, nonce.0, cp.0, expiration, now)?;
    let a = Assertion {
        cc: Cc::PolicySecret,
        tag: St::AuthSecret,
        nonce: nonce.0,
        cp: cp.0,
        policy_ref: policy_ref.0,
        expiration,
        name: name.as_bytes(),
        hierarchy,
    };
    finish_assertion(tpm, rsp, cmd.handle(1), &a, timeout)
}

/// `TPM2_PolicySigned(authObject, policySession, nonceTPM, cpHashA, policyRef, expiration,
/// auth)` → `timeout`, `policyTicket` (Part 3, 23.3): `auth` must be the authObject key's
/// signature over `aHash = H(nonceTPM || expiration || cpHashA || policyRef)`.
pub(crate) fn policy_signed<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let nonce: Tpm2bNonce<'_> = cmd.param()?;
    let cp: Tpm2bDigest<'_> = cmd.param()?;
    let policy_ref: Tpm2bNonce<'_> = cmd.param()?;
    let expiration = cmd.param::<u32>()? as i32;
    let sig: tpm_proto::AllowNull<tpm_proto::TpmtSignature<'_>> = cmd.param()?;
    cmd.end()?;
    let key_h = cmd.handle(0);
    let name = entity_name(tpm, key_h);
    let hierarchy = entity_hierarchy(tpm, key_h);
    let now = tpm.time_now();
    let (trial, timeout) = {
        let s = session_mut(tpm, cmd.handle(1), 2)?;
        (
            s.kind == Se::Trial,
            policy_parameter_checks(s, nonce.0, cp.0, expiration, now)?,
        )
    };
    if !trial {
        let hash = match &sig.0 {
            tpm_proto::TpmtSignature::RsaSsa(s) | tpm_proto::TpmtSignature::RsaPss(s) => s.hash,
            tpm_proto::TpmtSignature::EcDsa(s) | tpm_proto::TpmtSignature::EcSchnorr(s) => s.hash,
            tpm_proto::TpmtSignature::Hmac(h) => h.hash,
            tpm_proto::TpmtSignature::Null => return Err(Rc::Scheme.param(5)),
        };
        let a_hash = Hasher::digest(
            hash,
            &[
                nonce.0,
                &(expiration as u32).to_be_bytes(),
                cp.0,
                policy_ref.0,
            ],
        );
        let key = tpm.objects.key(key_h).ok_or(Rc::Handle.handle(1))?;
        crate::command::sign::validate_signature(key, a_hash.as_bytes(), &sig.0)
            .map_err(|rc| rc.param(5))?;
    }
    let a = Assertion {
        cc: Cc::PolicySigned,
        tag: St::AuthSigned,
        nonce: nonce.0,
        cp: cp.0,
        policy_ref: policy_ref.0,
        expiration,
        name: name.as_bytes(),
        hierarchy,
    };
    finish_assertion(tpm, rsp, cmd.handle(1), &a, timeout)
}
