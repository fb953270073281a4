//! TPM2_Startup and TPM2_Shutdown (Part 3, section 9; Part 1, section 12).

use super::{Command, Response};
use crate::engine::{Platform, Power, Tpm};
use crate::nv::StartupKind;
use tpm_proto::{Rc, Su};

/// `TPM2_Startup`: TPM Reset (CLEAR after anything but `Shutdown(STATE)`), TPM Restart (CLEAR
/// after `Shutdown(STATE)`) or TPM Resume (STATE after `Shutdown(STATE)`).
pub(crate) fn startup<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let su: Su = cmd.param()?;
    cmd.end()?;
    if tpm.power == Power::Started {
        return Err(Rc::Initialize);
    }
    let orderly_state = tpm.shutdown == Some(Su::State);
    match su {
        Su::Clear if orderly_state => {
            // TPM Restart.
            tpm.clock.restart_count = tpm.clock.restart_count.wrapping_add(1);
            tpm.pcrs.reset_all(cmd.locality, false);
        }
        Su::Clear => {
            // TPM Reset: a new null seed and context secret (saved contexts become stale).
            tpm.null_h =
                crate::engine::Hierarchy::new(&mut tpm.platform).map_err(|_| Rc::Failure)?;
            tpm.platform
                .entropy(&mut tpm.context_key[..])
                .map_err(|_| Rc::Failure)?;
            let mut commit_nonce = zeroize::Zeroizing::new([0u8; 32]);
            tpm.platform
                .entropy(&mut commit_nonce[..])
                .map_err(|_| Rc::Failure)?;
            tpm.commit = crate::commit::Commit::new(&commit_nonce);
            tpm.sessions.flush_all();
            if tpm.da.lockout_recovery == 0 {
                tpm.da.lockout_auth_enabled = true;
            }
            tpm.clock.reset_count = tpm.clock.reset_count.wrapping_add(1);
            tpm.clock.restart_count = 0;
            tpm.command_audit.restart();
            tpm.exclusive_audit = None;
            tpm.pcrs.reset_all(cmd.locality, true);
        }
        Su::State if orderly_state => {
            // TPM Resume.
            tpm.clock.restart_count = tpm.clock.restart_count.wrapping_add(1);
            if let Some(saved) = tpm.saved_pcrs.take() {
                tpm.pcrs.resume(&saved);
            }
        }
        Su::State => return Err(Rc::Value.param(1)),
        _ => return Err(Rc::Value.param(1)),
    }
    if su == Su::Clear {
        tpm.enables = crate::engine::Enables::ALL;
        tpm.pcr_auth = crate::secret::AuthValue::empty();
    }
    let kind = match (su, orderly_state) {
        (Su::Clear, true) => StartupKind::Restart,
        (Su::Clear, false) => StartupKind::Reset,
        _ => StartupKind::Resume,
    };
    tpm.nv.startup(kind, tpm.shutdown.is_some());
    tpm.saved_pcrs = None;
    tpm.orderly = tpm.shutdown.is_some();
    tpm.shutdown = None;
    tpm.power = Power::Started;
    Ok(())
}

/// `TPM2_Shutdown`: records an orderly shutdown; `STATE` saves the PCRs for a later Resume.
pub(crate) fn shutdown<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let su: Su = cmd.param()?;
    cmd.end()?;
    match su {
        Su::State => {
            tpm.saved_pcrs = Some(tpm.pcrs.clone());
            tpm.shutdown = Some(Su::State);
        }
        Su::Clear => {
            tpm.saved_pcrs = None;
            tpm.shutdown = Some(Su::Clear);
        }
        _ => return Err(Rc::Value.param(1)),
    }
    Ok(())
}
