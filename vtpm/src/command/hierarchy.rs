//! Hierarchy commands (Part 3, section 24).

use super::{Command, Response};
use crate::engine::{Hierarchy, Platform, Tpm};
use crate::secret::AuthValue;
use tpm_proto::{Handle, Rc, Tpm2bAuth};

/// `TPM2_HierarchyChangeAuth(authHandle, newAuth)`: the new `authValue` of the platform, owner,
/// endorsement or lockout hierarchy. Trailing zeros do not count toward the size limit (the
/// digest size of the context integrity hash, Part 3, 24.8).
pub(crate) fn hierarchy_change_auth<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let new: Tpm2bAuth<'_> = cmd.param()?;
    cmd.end()?;
    let auth = AuthValue::new(new.0).ok_or(Rc::Size.param(1))?;
    match cmd.handle(0) {
        Handle::Platform => tpm.platform_h.auth = auth,
        Handle::Owner => tpm.owner_h.auth = auth,
        Handle::Endorsement => tpm.endorsement_h.auth = auth,
        Handle::Lockout => tpm.lockout_auth = auth,
        _ => return Err(Rc::Value.handle(1)),
    }
    Ok(())
}

/// `TPM2_Clear(authHandle)`: new storage primary seed and owner and endorsement proofs, owner,
/// endorsement and lockout authorizations emptied, transient objects of those hierarchies
/// flushed, NV indices the owner created deleted (Part 3, 24.6). The endorsement primary seed is kept. Refused while `disableClear` is
/// set.
pub(crate) fn clear<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    if tpm.disable_clear {
        return Err(Rc::Disabled);
    }
    let owner = Hierarchy::new(&mut tpm.platform).map_err(|_| Rc::Failure)?;
    let endorsement_proof = Hierarchy::new(&mut tpm.platform)
        .map_err(|_| Rc::Failure)?
        .proof;
    tpm.owner_h = owner;
    tpm.endorsement_h.proof = endorsement_proof;
    tpm.endorsement_h.auth = AuthValue::empty();
    tpm.lockout_auth = AuthValue::empty();
    tpm.objects.flush_all();
    tpm.nv.flush_owner();
    Ok(())
}

/// `TPM2_ClearControl(auth, disable)`: sets or clears `disableClear`; only the platform may clear
/// it (Part 3, 24.7).
pub(crate) fn clear_control<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let disable: u8 = cmd.param()?;
    if disable > 1 {
        return Err(Rc::Value.param(1));
    }
    cmd.end()?;
    if disable == 0 && cmd.handle(0) == Handle::Lockout {
        return Err(Rc::AuthFail.handle(1));
    }
    tpm.disable_clear = disable == 1;
    Ok(())
}
