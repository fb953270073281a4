//! Enhanced authorization: the policy commands (Part 3, section 23; Part 1, section 19.7).
//!
//! Each assertion extends the session's `policyDigest` as the spec defines
//! (`policyDigest_new = H(policyDigest_old || TPM_CC_Policy* || arguments)`) and, on a real (not
//! trial) policy session, records what must hold when the session authorizes a command; those
//! deferred checks run in `auth.rs` (`check_policy`).

use super::{Command, Response};
use crate::crypto::{Digest, Hasher, Hmac};
use crate::engine::{Platform, Tpm};
use crate::entity::entity_name;
use crate::session::Session;
use tpm_proto::{
    Cc, Handle, Marshal, Rc, Se, St, Tpm2bDigest, Tpm2bName, Tpm2bNonce, TpmaLocality, TpmlDigest,
    TpmlPcrSelection, TpmtTkVerified, PCR_COUNT,
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

/// `TPM2_PolicyCpHash(cpHashA)` and `TPM2_PolicyNameHash(nameHash)`.
fn policy_hash_binding<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    cc: Cc,
) -> Result<(), Rc> {
    let d: Tpm2bDigest<'_> = cmd.param()?;
    cmd.end()?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if d.len() != s.hash.size() {
        return Err(Rc::Size.param(1));
    }
    let value = Digest::from_slice(d.0);
    let slot = if cc == Cc::PolicyCpHash {
        &mut s.policy.cp_hash
    } else {
        &mut s.policy.name_hash
    };
    if slot.is_some_and(|v| v != value) {
        return Err(Rc::Cphash);
    }
    if s.policy.cp_hash.is_some() && s.policy.name_hash.is_some() {
        return Err(Rc::Cphash);
    }
    let slot = if cc == Cc::PolicyCpHash {
        &mut s.policy.cp_hash
    } else {
        &mut s.policy.name_hash
    };
    *slot = Some(value);
    extend(s, cc, &[d.0]);
    Ok(())
}

pub(crate) fn policy_cp_hash<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    policy_hash_binding(tpm, cmd, Cc::PolicyCpHash)
}

pub(crate) fn policy_name_hash<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    policy_hash_binding(tpm, cmd, Cc::PolicyNameHash)
}

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
        if s.policy.cp_hash.is_some_and(|v| v.as_bytes() != cp) {
            return Err(Rc::Cphash);
        }
    }
    Ok(timeout)
}

/// Records cpHashA and the timeout once every check has passed.
fn apply_parameters(s: &mut Session, cp: &[u8], timeout: Option<u64>) {
    if !cp.is_empty() {
        s.policy.cp_hash = Some(Digest::from_slice(cp));
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
        super::sign::validate_signature(key, a_hash.as_bytes(), &sig.0)
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

/// `TPM2_PolicyAuthorize(approvedPolicy, policyRef, keySign, checkTicket)`: replaces the digest
/// with one authorized by `keySign`, given the `TPMT_TK_VERIFIED` ticket `TPM2_VerifySignature`
/// produced for `H(approvedPolicy || policyRef)`.
pub(crate) fn policy_authorize<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let approved: Tpm2bDigest<'_> = cmd.param()?;
    let policy_ref: Tpm2bNonce<'_> = cmd.param()?;
    let key_sign: Tpm2bName<'_> = cmd.param()?;
    let ticket: TpmtTkVerified<'_> = cmd.param()?;
    cmd.end()?;
    let key_alg = key_sign
        .0
        .get(..2)
        .and_then(|a| {
            tpm_proto::HashAlg::from_alg(tpm_proto::AlgId(u16::from_be_bytes([a[0], a[1]])))
        })
        .ok_or(Rc::Size.param(3))?;
    if key_sign.len() != 2 + key_alg.size() {
        return Err(Rc::Size.param(3));
    }
    let proof = match ticket.hierarchy.0 {
        Handle::Owner => Some(tpm.owner_h.proof.clone()),
        Handle::Endorsement => Some(tpm.endorsement_h.proof.clone()),
        Handle::Platform => Some(tpm.platform_h.proof.clone()),
        _ => None,
    };
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.kind != Se::Trial {
        if approved.0 != s.policy_digest.as_bytes() {
            return Err(Rc::Value.param(1));
        }
        // ticket = HMAC(proof, TPM_ST_VERIFIED || aHash || keyName),
        // aHash = H_keyNameAlg(approvedPolicy || policyRef).
        let a_hash = Hasher::digest(key_alg, &[approved.0, policy_ref.0]);
        let Some(proof) = proof else {
            return Err(Rc::Ticket.param(4));
        };
        let want = Hmac::mac(
            key_alg,
            &proof[..],
            &[&St::Verified.0.to_be_bytes(), a_hash.as_bytes(), key_sign.0],
        );
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            want.as_bytes(),
            ticket.digest.0,
        )) {
            return Err(Rc::Ticket.param(4));
        }
    }
    s.policy_digest = Digest::zero(s.hash);
    update_with_ref(s, Cc::PolicyAuthorize, key_sign.0, policy_ref.0);
    Ok(())
}

/// `TPM2_PolicyPhysicalPresence`: this TPM has no physical presence; the assertion is recorded
/// and can never be satisfied on use.
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

/// `TPM_EO`: how `TPM2_PolicyNV` and `TPM2_PolicyCounterTimer` compare operand A (the TPM's
/// value) with operand B (Part 2, table 27). `TPM_RC_VALUE` for an unknown operation.
fn compare(a: &[u8], b: &[u8], op: u16) -> Result<bool, Rc> {
    use core::cmp::Ordering;
    let unsigned = a.cmp(b);
    // Signed: a different most significant bit decides; otherwise as unsigned.
    let signed = match (
        a.first().map(|x| x & 0x80 != 0),
        b.first().map(|x| x & 0x80 != 0),
    ) {
        (Some(true), Some(false)) => Ordering::Less,
        (Some(false), Some(true)) => Ordering::Greater,
        _ => unsigned,
    };
    let bits_all = |set: bool| {
        a.iter()
            .zip(b)
            .all(|(x, y)| if set { x & y == *y } else { x & y == 0 })
    };
    Ok(match op {
        0x0000 => unsigned == Ordering::Equal,
        0x0001 => unsigned != Ordering::Equal,
        0x0002 => signed == Ordering::Greater,
        0x0003 => unsigned == Ordering::Greater,
        0x0004 => signed == Ordering::Less,
        0x0005 => unsigned == Ordering::Less,
        0x0006 => signed != Ordering::Less,
        0x0007 => unsigned != Ordering::Less,
        0x0008 => signed != Ordering::Greater,
        0x0009 => unsigned != Ordering::Greater,
        0x000A => bits_all(true),
        0x000B => bits_all(false),
        _ => return Err(Rc::Value),
    })
}

/// `argHash = H(operandB || offset || operation)` of PolicyNV and PolicyCounterTimer.
fn arg_hash(hash: tpm_proto::HashAlg, operand_b: &[u8], offset: u16, op: u16) -> Digest {
    Hasher::digest(hash, &[operand_b, &offset.to_be_bytes(), &op.to_be_bytes()])
}

/// `TPM2_PolicyNV(authHandle, nvIndex, policySession, operandB, offset, operation)`: the NV
/// index's data at `offset` must compare true with `operandB` (Part 3, 23.9). Read authorization
/// of `authHandle` was checked by the session layer.
pub(crate) fn policy_nv<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let operand_b: tpm_proto::Tpm2bOperand<'_> = cmd.param()?;
    let offset: u16 = cmd.param()?;
    let op: u16 = cmd.param()?;
    cmd.end()?;
    let (auth, nv_h, session_h) = (cmd.handle(0), cmd.handle(1), cmd.handle(2));
    let index = tpm.nv.get(nv_h).ok_or(Rc::Handle.handle(2))?;
    super::nv::read_access(auth, index)?;
    let name = index.name();
    let size = index.data_size as usize;
    if offset as usize > size {
        return Err(Rc::Value.param(2));
    }
    if size - (offset as usize) < operand_b.len() {
        return Err(Rc::Size.param(1));
    }
    let kind = session_mut(tpm, session_h, 3)?.kind;
    if kind != Se::Trial {
        let index = tpm.nv.get(nv_h).ok_or(Rc::Handle.handle(2))?;
        let a = index.read(offset as usize, operand_b.len())?;
        if !compare(a, operand_b.0, op).map_err(|rc| rc.param(3))? {
            return Err(Rc::Policy);
        }
    }
    let s = session_mut(tpm, session_h, 3)?;
    let args = arg_hash(s.hash, operand_b.0, offset, op);
    extend(s, Cc::PolicyNv, &[args.as_bytes(), name.as_bytes()]);
    Ok(())
}

/// `TPM2_PolicyCounterTimer(policySession, operandB, offset, operation)`: compares against the
/// marshalled `TPMS_TIME_INFO` (Part 3, 23.10).
pub(crate) fn policy_counter_timer<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let operand_b: tpm_proto::Tpm2bOperand<'_> = cmd.param()?;
    let offset: u16 = cmd.param()?;
    let op: u16 = cmd.param()?;
    cmd.end()?;
    let mut info = [0u8; 25];
    info[..8].copy_from_slice(&tpm.time_now().to_be_bytes());
    info[8..16].copy_from_slice(&tpm.clock_now().to_be_bytes());
    info[16..20].copy_from_slice(&tpm.clock.reset_count.to_be_bytes());
    info[20..24].copy_from_slice(&tpm.clock.restart_count.to_be_bytes());
    info[24] = 1;
    let end = (offset as usize)
        .checked_add(operand_b.len())
        .ok_or(Rc::Range)?;
    let a = info.get(offset as usize..end).ok_or(Rc::Range)?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.kind != Se::Trial && !compare(a, operand_b.0, op).map_err(|rc| rc.param(3))? {
        return Err(Rc::Policy);
    }
    let args = arg_hash(s.hash, operand_b.0, offset, op);
    extend(s, Cc::PolicyCounterTimer, &[args.as_bytes()]);
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
    if s.policy.cp_hash.is_some() || s.policy.name_hash.is_some() {
        return Err(Rc::Cphash);
    }
    if s.policy.command_code.is_some_and(|c| c != Cc::Duplicate) {
        return Err(Rc::CommandCode);
    }
    s.policy.name_hash = Some(Hasher::digest(s.hash, &[object.0, parent.0]));
    s.policy.command_code = Some(Cc::Duplicate);
    let obj: &[u8] = if include == 1 { object.0 } else { &[] };
    extend(s, Cc::PolicyDuplicationSelect, &[obj, parent.0, &[include]]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn operations_compare_as_the_spec_says() {
        assert_eq!(compare(&[1, 2], &[1, 2], 0), Ok(true));
        assert_eq!(compare(&[0x80], &[0x01], 3), Ok(true)); // unsigned GT
        assert_eq!(compare(&[0x80], &[0x01], 2), Ok(false)); // signed GT: -128 > 1 is false
        assert_eq!(compare(&[0b1011], &[0b0011], 0xA), Ok(true));
        assert_eq!(compare(&[0b1000], &[0b0011], 0xB), Ok(true));
        assert_eq!(compare(&[0], &[0], 0xC), Err(tpm_proto::Rc::Value));
    }
}
