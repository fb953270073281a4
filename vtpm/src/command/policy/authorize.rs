//! The assertions that replace the digest with an approved one, PolicyAuthorize and
//! PolicyAuthorizeNV (Part 3, 23.16, 23.22), and those that compare TPM state: PolicyNV and
//! PolicyCounterTimer (23.9–23.10).

use super::{extend, session_mut, update_with_ref};
use crate::command::{Command, Response};
use crate::crypto::{Digest, Hasher, Hmac};
use crate::engine::{Platform, Tpm};
use tpm_proto::{
    Cc, Handle, Rc, Reader, Se, St, Tpm2bDigest, Tpm2bName, Tpm2bNonce, TpmtHa, TpmtTkVerified,
    Unmarshal, MAX_DIGEST_SIZE,
};

/// `TPM2_PolicyAuthorize(approvedPolicy, policyRef, keySign, checkTicket)` (Part 3, 23.16):
/// replaces the digest with one authorized by `keySign`, given the `TPMT_TK_VERIFIED` ticket
/// `TPM2_VerifySignature` produced for `H(approvedPolicy || policyRef)`. As in the reference: a
/// `keySign` whose first two octets are not a hash this TPM implements is `TPM_RC_HASH`, one of
/// the wrong length `TPM_RC_SIZE`; a ticket that does not verify is `TPM_RC_VALUE`.
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
        .ok_or(Rc::Hash.param(3))?;
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
            return Err(Rc::Value.param(4));
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
            return Err(Rc::Value.param(4));
        }
    }
    s.policy_digest = Digest::zero(s.hash);
    update_with_ref(s, Cc::PolicyAuthorize, key_sign.0, policy_ref.0);
    Ok(())
}

/// `TPM2_PolicyAuthorizeNV(authHandle, nvIndex, policySession)` (Part 3, 23.22): the index holds
/// the approved policy as a `TPMT_HA`; if it is the session's digest, the digest becomes
/// `H(0...0 || TPM_CC_PolicyAuthorizeNV || nvIndexName)`. Only a real session checks (read
/// access as `TPM2_NV_Read`, then the index contents); as in the reference, the first
/// `sizeof(TPMT_HA)` octets are read as a `TPMT_HA` (`TPM_RC_HASH`, `TPM_RC_INSUFFICIENT`
/// unnumbered), another hash than the session's is `TPM_RC_HASH`, another digest
/// `TPM_RC_VALUE`.
pub(crate) fn policy_authorize_nv<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let (auth, nv_h, session_h) = (cmd.handle(0), cmd.handle(1), cmd.handle(2));
    let (kind, hash, digest) = {
        let s = session_mut(tpm, session_h, 3)?;
        (s.kind, s.hash, s.policy_digest)
    };
    let index = tpm.nv.get(nv_h).ok_or(Rc::Handle.handle(2))?;
    if kind != Se::Trial {
        crate::command::nv::read_access(auth, index)?;
        let n = usize::from(index.data_size).min(2 + MAX_DIGEST_SIZE);
        let approved = TpmtHa::unmarshal(&mut Reader::new(index.read(0, n)?))?;
        if approved.hash != hash {
            return Err(Rc::Hash);
        }
        if approved.digest != digest.as_bytes() {
            return Err(Rc::Value);
        }
    }
    let name = index.name();
    let s = session_mut(tpm, session_h, 3)?;
    s.policy_digest = Digest::zero(s.hash);
    extend(s, Cc::PolicyAuthorizeNv, &[name.as_bytes()]);
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

/// `TPM_EO` as a parameter (`operation`, parameter 3): an undefined operation is
/// `TPM_RC_VALUE` when the command is read, trial session or not (reference `TPM_EO_Unmarshal`).
fn check_operation(op: u16) -> Result<(), Rc> {
    if op > 0x000B {
        return Err(Rc::Value.param(3));
    }
    Ok(())
}

/// `TPM2_PolicyNV(authHandle, nvIndex, policySession, operandB, offset, operation)`: the NV
/// index's data at `offset` must compare true with `operandB` (Part 3, 23.9). Read authorization
/// of `authHandle` was checked by the session layer. A trial session checks nothing, not even
/// that the index may be read or was written, as in the reference.
pub(crate) fn policy_nv<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let operand_b: tpm_proto::Tpm2bOperand<'_> = cmd.param()?;
    let offset: u16 = cmd.param()?;
    let op: u16 = cmd.param()?;
    check_operation(op)?;
    cmd.end()?;
    let (auth, nv_h, session_h) = (cmd.handle(0), cmd.handle(1), cmd.handle(2));
    let kind = session_mut(tpm, session_h, 3)?.kind;
    let index = tpm.nv.get(nv_h).ok_or(Rc::Handle.handle(2))?;
    if kind != Se::Trial {
        crate::command::nv::read_access(auth, index)?;
        let size = usize::from(index.data_size);
        if usize::from(offset) > size {
            return Err(Rc::Value.param(2));
        }
        if size - usize::from(offset) < operand_b.len() {
            return Err(Rc::Size.param(1));
        }
        let a = index.read(usize::from(offset), operand_b.len())?;
        if !compare(a, operand_b.0, op).map_err(|rc| rc.param(3))? {
            return Err(Rc::Policy);
        }
    }
    let name = index.name();
    let s = session_mut(tpm, session_h, 3)?;
    let args = arg_hash(s.hash, operand_b.0, offset, op);
    extend(s, Cc::PolicyNv, &[args.as_bytes(), name.as_bytes()]);
    Ok(())
}

/// `TPM2_PolicyCounterTimer(policySession, operandB, offset, operation)`: compares against the
/// marshalled `TPMS_TIME_INFO` (Part 3, 23.10). As in the reference, also on a trial session: an
/// offset past its 25 octets is `TPM_RC_VALUE` (parameter 2), a range past them `TPM_RC_RANGE`;
/// only the comparison is skipped for a trial session.
pub(crate) fn policy_counter_timer<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let operand_b: tpm_proto::Tpm2bOperand<'_> = cmd.param()?;
    let offset: u16 = cmd.param()?;
    let op: u16 = cmd.param()?;
    check_operation(op)?;
    cmd.end()?;
    let mut info = [0u8; 25];
    info[..8].copy_from_slice(&tpm.time_now().to_be_bytes());
    info[8..16].copy_from_slice(&tpm.clock_now().to_be_bytes());
    info[16..20].copy_from_slice(&tpm.clock.reset_count.to_be_bytes());
    info[20..24].copy_from_slice(&tpm.clock.restart_count.to_be_bytes());
    info[24] = 1;
    let start = usize::from(offset);
    if start > info.len() {
        return Err(Rc::Value.param(2));
    }
    let a = info.get(start..start + operand_b.len()).ok_or(Rc::Range)?;
    let s = session_mut(tpm, cmd.handle(0), 1)?;
    if s.kind != Se::Trial && !compare(a, operand_b.0, op).map_err(|rc| rc.param(3))? {
        return Err(Rc::Policy);
    }
    let args = arg_hash(s.hash, operand_b.0, offset, op);
    extend(s, Cc::PolicyCounterTimer, &[args.as_bytes()]);
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
