//! PolicySigned, PolicySecret and PolicyTicket (Part 3, 23.3–23.5): authorizations given by
//! another entity, with their expirations and the tickets that stand in for them.

use super::{session_mut, update_with_ref};
use crate::command::{Command, Response};
use crate::crypto::{Digest, Hasher, Hmac};
use crate::engine::{Platform, Tpm};
use crate::entity::entity_name;
use crate::session::Session;
use subtle::ConstantTimeEq;
use tpm_proto::{
    Cc, Handle, Rc, Se, St, Tpm2bDigest, Tpm2bName, Tpm2bNonce, Tpm2bTimeout, TpmtTkAuth,
};

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

/// The most significant bit of a `timeout` this TPM hands out: set when the ticket expires on
/// TPM Reset or Restart (no nonceTPM was given). The timeout buffer's format is the TPM's own
/// (Part 3, 23.3.1); this is the reference's (`EXPIRATION_BIT`), so tickets read the same.
const EXPIRATION_BIT: u64 = 1 << 63;

/// `TPM_RC_EXPIRED` (on parameter `blame`) for a timeout already past (reference
/// `PolicyParameterChecks`).
fn check_timeout(timeout: Option<u64>, now: u64, blame: u32) -> Result<(), Rc> {
    if timeout.is_some_and(|t| t < now) {
        return Err(Rc::Expired.param(blame));
    }
    Ok(())
}

/// A non-empty cpHashA must be a digest of the session's hash (`TPM_RC_SIZE` on parameter
/// `blame`) and agree with a cpHash or nameHash the session already has (`TPM_RC_CPHASH`).
fn check_cp_hash(s: &Session, cp: &[u8], blame: u32) -> Result<(), Rc> {
    if !cp.is_empty() {
        if cp.len() != s.hash.size() {
            return Err(Rc::Size.param(blame));
        }
        if s.policy.bound_hash.is_some_and(|v| v.as_bytes() != cp) {
            return Err(Rc::Cphash);
        }
    }
    Ok(())
}

/// Checks shared by PolicySigned and PolicySecret (reference `PolicyParameterChecks`): the nonce
/// if given, the expiration, the cpHashA size and consistency. Changes nothing; returns the
/// timeout to record with [`apply_parameters`]. A trial session checks nothing and records no
/// timeout, as in the reference.
fn policy_parameter_checks(
    s: &Session,
    nonce: &[u8],
    cp: &[u8],
    expiration: i32,
    now: u64,
) -> Result<Option<u64>, Rc> {
    if s.kind == Se::Trial {
        return Ok(None);
    }
    if !nonce.is_empty() && nonce != s.nonce_tpm.as_bytes() {
        return Err(Rc::Nonce.param(1));
    }
    let timeout = auth_timeout(s, expiration, nonce, now);
    check_timeout(timeout, now, 4)?;
    check_cp_hash(s, cp, 2)?;
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

/// The proof a ticket of `hierarchy` is made with (reference `HierarchyGetProof`): the null
/// hierarchy's for `TPM_RH_NULL` (and anything else).
fn ticket_proof<P: Platform>(tpm: &Tpm<P>, hierarchy: Handle) -> &[u8] {
    let h = match hierarchy {
        Handle::Owner => &tpm.owner_h,
        Handle::Endorsement => &tpm.endorsement_h,
        Handle::Platform => &tpm.platform_h,
        _ => &tpm.null_h,
    };
    &h.proof[..]
}

/// What a `TPMT_TK_AUTH` vouches for (reference `TicketComputeAuth`).
struct TicketAuth<'a> {
    tag: St,
    hierarchy: Handle,
    /// The timeout without [`EXPIRATION_BIT`].
    timeout: u64,
    expires_on_reset: bool,
    cp: &'a [u8],
    policy_ref: &'a [u8],
    name: &'a [u8],
}

impl TicketAuth<'_> {
    /// `HMAC(proof, tag || timeout || expiresOnReset || cpHashA || policyRef || authName)`.
    fn digest<P: Platform>(&self, tpm: &Tpm<P>) -> Digest {
        Hmac::mac(
            tpm_proto::HashAlg::Sha256,
            ticket_proof(tpm, self.hierarchy),
            &[
                &self.tag.0.to_be_bytes(),
                &self.timeout.to_be_bytes(),
                &[u8::from(self.expires_on_reset)],
                self.cp,
                self.policy_ref,
                self.name,
            ],
        )
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
    /// No ticket whatever the expiration (PolicySecret of a PIN Pass index).
    no_ticket: bool,
}

/// Completes an assertion whose checks have passed: records cpHashA and the timeout, extends the
/// digest (`PolicyUpdate`), and writes `timeout` and a `TPMT_TK_AUTH` (Part 2, 10.7.5). A ticket
/// is issued only for a negative expiration on a real session; otherwise the NULL ticket and an
/// empty timeout.
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
    match timeout {
        Some(t) if a.expiration < 0 && !trial && !a.no_ticket => {
            let ticket = TicketAuth {
                tag: a.tag,
                hierarchy: a.hierarchy,
                timeout: t,
                expires_on_reset: a.nonce.is_empty(),
                cp: a.cp,
                policy_ref: a.policy_ref,
                name: a.name,
            };
            let flag = if ticket.expires_on_reset {
                EXPIRATION_BIT
            } else {
                0
            };
            rsp.sized(&(t | flag).to_be_bytes())?;
            rsp.u16(a.tag.0)?;
            rsp.u32(a.hierarchy.0)?;
            rsp.sized(ticket.digest(tpm).as_bytes())
        }
        _ => {
            rsp.sized(&[])?;
            rsp.u16(a.tag.0)?;
            rsp.u32(Handle::Null.0)?;
            rsp.sized(&[])
        }
    }
}

/// The hierarchy an entity belongs to, for tickets (reference `EntityGetHierarchy`): an NV
/// index belongs to the platform if it was created by the platform, else to the owner, as do
/// lockout and the PCRs.
fn entity_hierarchy<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Handle {
    match h {
        Handle::Owner | Handle::Endorsement | Handle::Platform | Handle::Null => h,
        Handle::Lockout => Handle::Owner,
        _ => match (tpm.objects.key(h), tpm.nv.get(h)) {
            (Some(k), _) => k.hierarchy,
            (None, Some(i)) if i.is(tpm_proto::TpmaNv::PLATFORMCREATE) => Handle::Platform,
            _ => Handle::Owner,
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
        no_ticket: tpm
            .nv
            .get(auth_h)
            .is_some_and(|i| i.nt() == tpm_proto::nt::PIN_PASS),
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
            tpm_proto::TpmtSignature::EcDsa(s)
            | tpm_proto::TpmtSignature::EcDaa(s)
            | tpm_proto::TpmtSignature::EcSchnorr(s) => s.hash,
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
        no_ticket: false,
    };
    finish_assertion(tpm, rsp, cmd.handle(1), &a, timeout)
}

/// `TPM2_PolicyTicket(policySession, timeout, cpHashA, policyRef, authName, ticket)` (Part 3,
/// 23.5): a ticket from an earlier PolicySigned or PolicySecret stands in for that assertion.
/// Not on a trial session (`TPM_RC_ATTRIBUTES`: a trial policy can use the assertion itself).
/// The timeout must be one this TPM issued (eight octets, `TPM_RC_SIZE`), not past
/// (`TPM_RC_EXPIRED`); cpHashA is checked as PolicySigned checks it; the ticket must be the one
/// this TPM computes for these values (`TPM_RC_TICKET`). The digest is then extended as the
/// assertion the ticket's tag names would have extended it.
pub(crate) fn policy_ticket<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let timeout: Tpm2bTimeout<'_> = cmd.param()?;
    let cp: Tpm2bDigest<'_> = cmd.param()?;
    let policy_ref: Tpm2bNonce<'_> = cmd.param()?;
    let auth_name: Tpm2bName<'_> = cmd.param()?;
    let ticket: TpmtTkAuth<'_> = cmd.param()?;
    cmd.end()?;
    let now = tpm.time_now();
    let h = cmd.handle(0);
    let s = session_mut(tpm, h, 1)?;
    if s.kind == Se::Trial {
        return Err(Rc::Attributes.handle(1));
    }
    let raw: [u8; 8] = timeout.0.try_into().map_err(|_| Rc::Size.param(1))?;
    let raw = u64::from_be_bytes(raw);
    let t = raw & !EXPIRATION_BIT;
    let t_opt = (t != 0).then_some(t);
    check_timeout(t_opt, now, 1)?;
    check_cp_hash(s, cp.0, 2)?;
    let expect = TicketAuth {
        tag: ticket.tag,
        hierarchy: ticket.hierarchy.0,
        timeout: t,
        expires_on_reset: raw & EXPIRATION_BIT != 0,
        cp: cp.0,
        policy_ref: policy_ref.0,
        name: auth_name.0,
    }
    .digest(tpm);
    if !bool::from(expect.as_bytes().ct_eq(ticket.digest.0)) {
        return Err(Rc::Ticket.param(5));
    }
    let cc = if ticket.tag == St::AuthSigned {
        Cc::PolicySigned
    } else {
        Cc::PolicySecret
    };
    let s = session_mut(tpm, h, 1)?;
    apply_parameters(s, cp.0, t_opt);
    update_with_ref(s, cc, auth_name.0, policy_ref.0);
    Ok(())
}
