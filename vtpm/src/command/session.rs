//! TPM2_StartAuthSession, TPM2_FlushContext and the policy-session bookkeeping commands
//! (Part 3, sections 11, 23 and 28.4).

use super::{Command, Response};
use crate::crypto::{kdf_a, Digest};
use crate::engine::{Platform, Tpm};
use crate::entity::{entity_auth, entity_name, Name};
use crate::session::{ParamCipher, PolicyState, Session};
use tpm_proto::{
    ht, AllowNull, Handle, Rc, Se, Tpm2bEncryptedSecret, Tpm2bNonce, TpmiAlgSymMode, TpmtSymDef,
};
use zeroize::Zeroizing;

/// The bound-entity value of a session (reference `SessionComputeBoundEntity`): the entity's Name
/// with its authValue (trailing zeros removed) XORed over its first octets.
pub(crate) fn bound_entity<P: Platform>(tpm: &Tpm<P>, h: Handle) -> Name {
    let mut name = entity_name(tpm, h);
    if let Some(auth) = entity_auth(tpm, h) {
        name.xor_prefix(auth.as_bytes());
    }
    name
}

/// `TPM2_StartAuthSession(tpmKey, bind, nonceCaller, encryptedSalt, sessionType, symmetric,
/// authHash)` → `sessionHandle`, `nonceTPM`.
pub(crate) fn start_auth_session<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let nonce_caller: Tpm2bNonce<'_> = cmd.param()?;
    let salt: Tpm2bEncryptedSecret<'_> = cmd.param()?;
    let kind: Se = cmd.param()?;
    if !matches!(kind, Se::Hmac | Se::Policy | Se::Trial) {
        return Err(Rc::Value.param(3));
    }
    let AllowNull(symmetric): AllowNull<TpmtSymDef> = cmd.param()?;
    let hash = cmd.hash_param(false)?.ok_or(Rc::Hash.param(5))?;
    cmd.end()?;

    if nonce_caller.len() < 16 || nonce_caller.len() > hash.size() {
        return Err(Rc::Size.param(1));
    }
    let tpm_key = cmd.handle(0);
    let bind = cmd.handle(1);
    // A salt needs a key to decrypt it with (Part 3, 11.1); salted sessions arrive with loaded
    // decryption keys.
    let salt_value: Zeroizing<alloc::vec::Vec<u8>> = if tpm_key == Handle::Null {
        if !salt.is_empty() {
            return Err(Rc::Handle.handle(1));
        }
        Zeroizing::new(alloc::vec::Vec::new())
    } else {
        crate::entity::decrypt_secret(tpm, tpm_key, b"SECRET", salt.0).map_err(|rc| {
            if rc.is_format_one() {
                rc.param(2)
            } else {
                rc
            }
        })?
    };
    let cipher = match symmetric {
        TpmtSymDef::Null => ParamCipher::None,
        TpmtSymDef::Xor { hash } => ParamCipher::Xor(hash),
        TpmtSymDef::Aes { key_bits, mode } => {
            if mode != Some(TpmiAlgSymMode::Cfb) {
                return Err(Rc::Mode.param(4));
            }
            ParamCipher::AesCfb(key_bits.bits())
        }
    };

    // nonceCaller "sets nonceTPM size for the session" (Part 3, 11.1, table of
    // TPM2_StartAuthSession): every nonceTPM of the session is as long as it.
    let mut nonce_tpm = [0u8; 64];
    let fresh = nonce_tpm
        .get_mut(..nonce_caller.len())
        .ok_or(Rc::Size.param(1))?;
    tpm.random(fresh)?;
    let nonce_tpm = Digest::from_slice(fresh);

    // sessionKey = KDFa(authHash, bind.authValue || salt, "ATH", nonceTPM, nonceCaller, bits)
    // when bound or salted; empty otherwise (Part 1, 19.6.8).
    let mut session_key = Zeroizing::new(alloc::vec::Vec::new());
    let bind_auth = if bind == Handle::Null {
        None
    } else {
        entity_auth(tpm, bind)
    };
    if bind_auth.is_some() || !salt_value.is_empty() {
        let mut secret = Zeroizing::new(alloc::vec::Vec::new());
        if let Some(a) = &bind_auth {
            secret.extend_from_slice(a.as_bytes());
        }
        secret.extend_from_slice(&salt_value);
        session_key.resize(hash.size(), 0);
        kdf_a(
            hash,
            &secret,
            b"ATH",
            nonce_tpm.as_bytes(),
            nonce_caller.0,
            (hash.size() * 8) as u32,
            &mut session_key,
        )
        .map_err(Rc::from)?;
    }
    // A bound HMAC session remembers its entity; policy sessions are never bound (Part 1, 19.6.9).
    let bound = (kind == Se::Hmac && bind != Handle::Null).then(|| bound_entity(tpm, bind));

    let session = Session {
        kind,
        hash,
        start_time: tpm.time_now(),
        nonce_tpm,
        session_key: session_key.into(),
        cipher,
        bind: bound,
        policy_digest: Digest::zero(hash),
        policy: PolicyState::default(),
        audit: None,
    };
    let h = tpm.sessions.insert(session)?;
    // A handle freed by an exclusive audit session names a new session now.
    if tpm.exclusive_audit == Some(h) {
        tpm.exclusive_audit = None;
    }
    rsp.handle = Some(h);
    rsp.sized(nonce_tpm.as_bytes())
}

/// `TPM2_FlushContext(flushHandle)`: a transient object or a session.
pub(crate) fn flush_context<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let h: Handle = cmd.param()?;
    cmd.end()?;
    match h.ht() {
        ht::Transient => tpm.objects.remove(h).map(drop),
        ht::HmacSession | ht::PolicySession => tpm.sessions.remove(h).map(drop),
        _ => return Err(Rc::Value.param(1)),
    }
    .ok_or(Rc::Handle.param(1))
}

fn policy_session<P: Platform>(tpm: &mut Tpm<P>, h: Handle) -> Result<&mut Session, Rc> {
    match tpm.sessions.get_mut(h) {
        Some(s) if s.kind != Se::Hmac => Ok(s),
        _ => Err(Rc::Handle.handle(1)),
    }
}

/// `TPM2_PolicyRestart(sessionHandle)`: back to an empty policy.
pub(crate) fn policy_restart<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let s = policy_session(tpm, cmd.handle(0))?;
    s.policy_digest = Digest::zero(s.hash);
    s.policy = PolicyState::default();
    Ok(())
}

/// `TPM2_PolicyGetDigest(policySession)` → `policyDigest`.
pub(crate) fn policy_get_digest<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let d = policy_session(tpm, cmd.handle(0))?.policy_digest;
    rsp.sized(d.as_bytes())
}
