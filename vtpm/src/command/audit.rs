//! Audit commands (Part 3, sections 18.5, 18.6 and 21.2): the command audit list and digest
//! ([`crate::audit`]) and the session audit digest an audit session keeps
//! ([`super::auth`]), reported in signed attestations.

use super::attest::{attest, report_params, signer};
use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use tpm_proto::{Rc, Tpm2bDigest, TpmlCc, TpmsCommandAuditInfo, TpmsSessionAuditInfo, TpmuAttest};

/// `TPM2_SetCommandCodeAuditStatus(auth; auditAlg, setList, clearList)` (Part 3, 21.2): either
/// changes the audit algorithm (which ends the digest; the lists must then be empty, else
/// `TPM_RC_VALUE` for `auditAlg`) or, with `TPM_ALG_NULL` or the current algorithm, adds the
/// implemented commands of `setList` and removes those of `clearList`
/// (`TPM2_SetCommandCodeAuditStatus` itself stays).
pub(crate) fn set_command_code_audit_status<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let alg = cmd.hash_param(true)?;
    let set: TpmlCc = cmd.param()?;
    let clear: TpmlCc = cmd.param()?;
    cmd.end()?;
    match alg {
        Some(alg) if alg != tpm.command_audit.alg() => {
            if !set.is_empty() || !clear.is_empty() {
                return Err(Rc::Value.param(1));
            }
            tpm.command_audit.change_alg(alg);
        }
        _ => {
            for &cc in set.iter() {
                if super::implemented::<P>(cc) {
                    tpm.command_audit.set(cc);
                }
            }
            for &cc in clear.iter() {
                tpm.command_audit.clear(cc);
            }
        }
    }
    Ok(())
}

/// `TPM2_GetCommandAuditDigest(privacyHandle, signHandle; qualifyingData, inScheme)` →
/// `auditInfo`, `signature` (Part 3, 18.5): the counter, algorithm, digest and the digest of
/// the list. A signed report restarts the digest.
pub(crate) fn get_command_audit_digest<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let (qualifying_data, in_scheme) = report_params(cmd)?;
    let sign_h = cmd.handle(1);
    let scheme = signer(tpm, sign_h, 2, in_scheme, 2)?;
    let audit = tpm.command_audit.clone();
    let command_digest = audit.command_digest();
    let attested = TpmuAttest::CommandAudit(TpmsCommandAuditInfo {
        audit_counter: audit.counter,
        digest_alg: audit.alg().alg(),
        audit_digest: Tpm2bDigest(audit.digest()),
        command_digest: Tpm2bDigest(command_digest.as_bytes()),
    });
    attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)?;
    if sign_h != tpm_proto::Handle::Null {
        tpm.command_audit.restart();
    }
    Ok(())
}

/// `TPM2_GetSessionAuditDigest(privacyAdminHandle, signHandle, sessionHandle; qualifyingData,
/// inScheme)` → `auditInfo`, `signature` (Part 3, 18.6): the session's audit digest and
/// whether it is the exclusive audit session. A session never used for audit is `TPM_RC_TYPE`.
pub(crate) fn get_session_audit_digest<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let (qualifying_data, in_scheme) = report_params(cmd)?;
    let session_h = cmd.handle(2);
    let digest = tpm
        .sessions
        .get(session_h)
        .and_then(|s| s.audit)
        .ok_or(Rc::Type.handle(3))?;
    let sign_h = cmd.handle(1);
    let scheme = signer(tpm, sign_h, 2, in_scheme, 2)?;
    let attested = TpmuAttest::SessionAudit(TpmsSessionAuditInfo {
        exclusive_session: tpm.exclusive_audit == Some(session_h),
        session_digest: Tpm2bDigest(digest.as_bytes()),
    });
    attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
}
