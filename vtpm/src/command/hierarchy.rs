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

/// `TPM2_Clear(authHandle)` (Part 3, 24.6), as the reference does it: a new storage primary
/// seed and owner and endorsement proofs; owner, endorsement and lockout authorizations and
/// policies emptied; the storage and endorsement hierarchies enabled; their transient objects
/// flushed and the NV indices the owner created deleted; the dictionary-attack parameters and
/// count back to their defaults (`DAPreInstall_Init`); `Clock`, `resetCount` and
/// `restartCount` zero; the PCR authValue emptied and `pcrUpdateCounter` advanced. The
/// endorsement primary seed is kept. Refused while `disableClear` is set.
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
    tpm.endorsement_h.policy = None;
    tpm.lockout_auth = AuthValue::empty();
    tpm.lockout_policy = None;
    tpm.enables.owner = true;
    tpm.enables.endorsement = true;
    tpm.objects.clear_owner();
    tpm.nv.flush_owner();
    tpm.da = crate::da::DaState::new();
    tpm.clock.clock_base = 0;
    tpm.clock.base_ms = tpm.platform.monotonic_ms();
    tpm.clock.reset_count = 0;
    tpm.clock.restart_count = 0;
    tpm.command_audit.counter = 0;
    tpm.pcr_auth = AuthValue::empty();
    tpm.pcrs.changed(0);
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

/// `TPM2_SetPrimaryPolicy(authHandle, authPolicy, hashAlg)`: the `authPolicy` of a hierarchy
/// (Part 3, 24.5). The policy size must match `hashAlg` (an empty policy with `TPM_ALG_NULL`
/// clears it).
pub(crate) fn set_primary_policy<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let policy: tpm_proto::Tpm2bDigest<'_> = cmd.param()?;
    let alg = cmd.hash_param(true)?;
    cmd.end()?;
    let size = alg.map_or(0, |a| a.size());
    if policy.len() != size {
        return Err(Rc::Size.param(1));
    }
    let value = alg.map(|a| (a, crate::crypto::Digest::from_slice(policy.0)));
    match cmd.handle(0) {
        Handle::Platform => tpm.platform_h.policy = value,
        Handle::Owner => tpm.owner_h.policy = value,
        Handle::Endorsement => tpm.endorsement_h.policy = value,
        Handle::Lockout => tpm.lockout_policy = value,
        _ => return Err(Rc::Value.handle(1)),
    }
    Ok(())
}

/// `TPM2_DictionaryAttackLockReset(lockHandle)`: `failedTries` back to zero (Part 3, 25.2).
pub(crate) fn dictionary_attack_lock_reset<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    tpm.da.reset();
    Ok(())
}

/// `TPM2_DictionaryAttackParameters(lockHandle, newMaxTries, newRecoveryTime, lockoutRecovery)`
/// (Part 3, 25.3). Lowering `maxTries` below `failedTries` puts the TPM in lockout at once.
pub(crate) fn dictionary_attack_parameters<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let max_tries: u32 = cmd.param()?;
    let recovery_time: u32 = cmd.param()?;
    let lockout_recovery: u32 = cmd.param()?;
    cmd.end()?;
    tpm.da.max_tries = max_tries;
    tpm.da.recovery_time = recovery_time;
    tpm.da.lockout_recovery = lockout_recovery;
    Ok(())
}

/// `TPM2_HierarchyControl(authHandle, enable, state)` (Part 3, 24.4): the platform may enable or
/// disable any hierarchy; the owner and endorsement authorities may only disable their own.
pub(crate) fn hierarchy_control<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let enable: Handle = cmd.param()?;
    if !matches!(
        enable,
        Handle::Platform | Handle::PlatformNv | Handle::Owner | Handle::Endorsement
    ) {
        return Err(Rc::Value.param(1));
    }
    let state: u8 = cmd.param()?;
    if state > 1 {
        return Err(Rc::Value.param(2));
    }
    cmd.end()?;
    let auth = cmd.handle(0);
    let on = state == 1;
    let allowed = match enable {
        Handle::Platform | Handle::PlatformNv => auth == Handle::Platform,
        Handle::Owner => auth == Handle::Platform || (auth == Handle::Owner && !on),
        Handle::Endorsement => auth == Handle::Platform || (auth == Handle::Endorsement && !on),
        _ => false,
    };
    if !allowed {
        return Err(Rc::AuthType);
    }
    let e = &mut tpm.enables;
    match enable {
        Handle::Platform => e.platform = on,
        Handle::PlatformNv => e.platform_nv = on,
        Handle::Owner => e.owner = on,
        _ => e.endorsement = on,
    }
    Ok(())
}

/// `TPM2_ChangeEPS(authHandle)` (Part 3, 24.10): a new endorsement primary seed and proof; the
/// endorsement authValue and policy are emptied and its transient objects flushed.
pub(crate) fn change_eps<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    tpm.endorsement_h = Hierarchy::new(&mut tpm.platform).map_err(|_| Rc::Failure)?;
    tpm.objects.flush_all();
    Ok(())
}

/// `TPM2_ChangePPS(authHandle)` (Part 3, 24.11): a new platform primary seed and proof; the
/// platform policy is emptied (the platform authValue is kept).
pub(crate) fn change_pps<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let auth = tpm.platform_h.auth.clone();
    tpm.platform_h = Hierarchy::new(&mut tpm.platform).map_err(|_| Rc::Failure)?;
    tpm.platform_h.auth = auth;
    tpm.objects.flush_all();
    Ok(())
}

/// `TPM2_SetAlgorithmSet(authHandle, algorithmSet)` (Part 3, 27.2): recorded and reported as
/// `TPM_PT_ALGORITHM_SET`; this TPM has one algorithm set.
pub(crate) fn set_algorithm_set<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let set: u32 = cmd.param()?;
    cmd.end()?;
    tpm.algorithm_set = set;
    Ok(())
}
