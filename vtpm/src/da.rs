//! Dictionary-attack protection (Part 1, section 19.8; reference `DA.c`, `IncrementLockout`).
//!
//! Each failed authorization of a DA-protected entity counts in `failedTries`; at `maxTries` the
//! TPM is in lockout and DA-protected entities cannot be authorized (`TPM_RC_LOCKOUT`) until
//! `recoveryTime` seconds per failure have passed or `TPM2_DictionaryAttackLockReset` clears the
//! count. A failed `lockoutAuth` disables lockout authorization for `lockoutRecovery` seconds.
//! Time is `Clock`, which never goes backwards.

use tpm_proto::{ht, Handle, Rc};

/// Defaults as the reference implementation ships them.
pub(crate) const DEFAULT_MAX_TRIES: u32 = 3;
pub(crate) const DEFAULT_RECOVERY_TIME: u32 = 1000;
pub(crate) const DEFAULT_LOCKOUT_RECOVERY: u32 = 1000;

#[derive(Debug, Clone)]
pub(crate) struct DaState {
    pub failed_tries: u32,
    pub max_tries: u32,
    /// Seconds for `failedTries` to decrease by one; 0 disables DA protection.
    pub recovery_time: u32,
    /// Seconds `lockoutAuth` stays unusable after a failure; 0 means until the next TPM Reset.
    pub lockout_recovery: u32,
    /// `Clock` (ms) when `failedTries` last changed.
    self_heal_from: u64,
    /// `lockoutAuth` may be used (cleared by a failed lockout authorization).
    pub lockout_auth_enabled: bool,
    /// `Clock` (ms) when lockout authorization becomes available again.
    lockout_until: u64,
}

impl DaState {
    pub fn new() -> DaState {
        DaState {
            failed_tries: 0,
            max_tries: DEFAULT_MAX_TRIES,
            recovery_time: DEFAULT_RECOVERY_TIME,
            lockout_recovery: DEFAULT_LOCKOUT_RECOVERY,
            self_heal_from: 0,
            lockout_auth_enabled: true,
            lockout_until: 0,
        }
    }

    /// Lets time heal: one failure forgiven per `recoveryTime` seconds; lockout authorization
    /// returns after `lockoutRecovery` seconds.
    pub fn tick(&mut self, clock_ms: u64) {
        if self.recovery_time != 0 && self.failed_tries > 0 {
            let step = self.recovery_time as u64 * 1000;
            let healed = clock_ms.saturating_sub(self.self_heal_from) / step;
            if healed > 0 {
                self.failed_tries = self
                    .failed_tries
                    .saturating_sub(healed.min(u32::MAX as u64) as u32);
                self.self_heal_from = self.self_heal_from.saturating_add(healed * step);
            }
        }
        if !self.lockout_auth_enabled
            && self.lockout_recovery != 0
            && clock_ms >= self.lockout_until
        {
            self.lockout_auth_enabled = true;
        }
    }

    /// True while DA-protected entities cannot be authorized.
    pub fn in_lockout(&self) -> bool {
        self.recovery_time != 0 && self.failed_tries >= self.max_tries
    }

    /// Before an authValue is used for `h` (reference `CheckLockedOut`).
    pub fn check(&self, h: Handle, exempt: bool) -> Result<(), Rc> {
        if h == Handle::Lockout {
            return if self.lockout_auth_enabled {
                Ok(())
            } else {
                Err(Rc::Lockout)
            };
        }
        if !exempt && self.in_lockout() {
            return Err(Rc::Lockout);
        }
        Ok(())
    }

    /// After a failed authorization of `h` (reference `IncrementLockout`): `TPM_RC_AUTH_FAIL`
    /// when it counted, `TPM_RC_BAD_AUTH` for a DA-exempt entity.
    pub fn failure(&mut self, h: Handle, exempt: bool, clock_ms: u64) -> Rc {
        if h == Handle::Lockout {
            self.lockout_auth_enabled = false;
            self.lockout_until = clock_ms.saturating_add(self.lockout_recovery as u64 * 1000);
            return Rc::AuthFail;
        }
        if exempt {
            return Rc::BadAuth;
        }
        if self.recovery_time != 0 {
            if self.failed_tries == 0 {
                self.self_heal_from = clock_ms;
            }
            self.failed_tries = self.failed_tries.saturating_add(1);
        }
        Rc::AuthFail
    }

    /// `TPM2_DictionaryAttackLockReset`.
    pub fn reset(&mut self) {
        self.failed_tries = 0;
    }
}

/// Whether `h` is exempt from DA protection (reference `IsDAExempted`): permanent handles other
/// than lockout, PCRs, and (decided by the caller for objects and NV indices) `noDA` entities.
pub(crate) fn exempt_by_type(h: Handle) -> Option<bool> {
    match h.ht() {
        ht::Permanent => Some(h != Handle::Lockout),
        ht::Pcr => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_out_and_heal_over_time() {
        let mut d = DaState::new();
        let key = Handle(0x8100_0001);
        for _ in 0..3 {
            assert_eq!(d.failure(key, false, 0), Rc::AuthFail);
        }
        assert_eq!(d.check(key, false), Err(Rc::Lockout));
        assert_eq!(d.check(Handle::Owner, true), Ok(()));
        d.tick(999_999);
        assert!(d.in_lockout());
        d.tick(1_000_000);
        assert!(!d.in_lockout());
        assert_eq!(d.failed_tries, 2);
    }

    #[test]
    fn lockout_auth_failure_disables_lockout_auth() {
        let mut d = DaState::new();
        assert_eq!(d.failure(Handle::Lockout, false, 10), Rc::AuthFail);
        assert_eq!(d.check(Handle::Lockout, false), Err(Rc::Lockout));
        d.tick(10 + 1_000_000);
        assert_eq!(d.check(Handle::Lockout, false), Ok(()));
        assert_eq!(d.failure(Handle::Pw, true, 0), Rc::BadAuth);
    }
}
