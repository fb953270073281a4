//! The authorization area (Part 1, section 19): session parsing and checks, password, HMAC and
//! policy authorization, parameter encryption (Part 1, 21), and the response session area.
//!
//! Order follows the reference implementation (`RetrieveSessionData`, `ParseSessionBuffer`,
//! `BuildResponseSession`): every session is parsed and its attributes checked before any
//! authorization is evaluated; the first parameter is decrypted after authorization; on the way
//! out, nonces roll, the first response parameter is encrypted, then response HMACs are computed
//! over the encrypted parameters.

use super::session::bound_entity;
use crate::crypto::{kdf_a, sym, Digest, Hasher, Hmac};
use crate::engine::{Platform, Tpm};
use crate::entity::{auth_value_available, da_exempt, entity_auth, entity_name};
use crate::secret::AuthValue;
use crate::session::{ParamCipher, Session};
use subtle::ConstantTimeEq;
use tpm_proto::command::{AuthRole, CommandDesc};
use tpm_proto::{
    Cc, Handle, HashAlg, Rc, Reader, Se, TpmaSession, TpmsAuthCommand, Unmarshal, WriteError,
    Writer,
};
use zeroize::Zeroizing;

/// At most three sessions per command (`MAX_SESSION_NUM`).
pub(crate) const MAX_SESSIONS: usize = 3;

/// The sessions of one command, and what authorization learned about them.
#[derive(Debug)]
pub(crate) struct Sessions<'c> {
    list: [Option<TpmsAuthCommand<'c>>; MAX_SESSIONS],
    count: usize,
    /// The handle each session authorizes, if any.
    associated: [Option<Handle>; MAX_SESSIONS],
    /// authValue of the associated entity, captured before the command runs.
    auth: [Option<AuthValue>; MAX_SESSIONS],
    /// Index of the session with `decrypt` / `encrypt` / `audit` set.
    decrypt: Option<usize>,
    encrypt: Option<usize>,
    audit: Option<usize>,
    /// cpHash per session hash algorithm (bank index), as the sessions were checked.
    cp: [Option<Digest>; 4],
}

impl<'c> Sessions<'c> {
    pub fn none() -> Sessions<'c> {
        Sessions {
            list: [None; MAX_SESSIONS],
            count: 0,
            associated: [None; MAX_SESSIONS],
            auth: [None, None, None],
            decrypt: None,
            encrypt: None,
            audit: None,
            cp: [None; 4],
        }
    }

    /// True if a session decrypts the first parameter.
    pub fn has_decrypt(&self) -> bool {
        self.decrypt.is_some()
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &TpmsAuthCommand<'c>)> {
        self.list
            .iter()
            .take(self.count)
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Parses the authorization area and checks each session's form (reference
    /// `RetrieveSessionData`).
    ///
    /// Fills `self`, which must be [`Sessions::none`]: parsed in place, because a `Sessions`
    /// is several hundred bytes and returning one by value copies it.
    pub fn parse<P: Platform>(
        &mut self,
        tpm: &Tpm<P>,
        mut area: Reader<'c>,
        desc: &CommandDesc,
    ) -> Result<(), Rc> {
        let s = self;
        while !area.is_empty() {
            let i = s.count;
            if i == MAX_SESSIONS {
                return Err(Rc::Size.session(i as u32 + 1));
            }
            let n = i as u32 + 1;
            let a = TpmsAuthCommand::unmarshal(&mut area).map_err(|rc| rc.session(n))?;
            if a.session_handle == Handle::Pw {
                // A password session may only have continueSession set, and no nonce.
                if a.attributes.intersects(!TpmaSession::CONTINUE_SESSION) {
                    return Err(Rc::Attributes.session(n));
                }
                if !a.nonce.is_empty() {
                    return Err(Rc::Nonce.session(n));
                }
            } else {
                let Some(session) = tpm.sessions.get(a.session_handle) else {
                    return Err(Rc::reference_session(i as u32));
                };
                if s.iter().any(|(_, b)| b.session_handle == a.session_handle) {
                    return Err(Rc::Handle.session(n));
                }
                // A trial session cannot authorize, audit or encrypt.
                if session.kind == Se::Trial {
                    return Err(Rc::Attributes.session(n));
                }
                if a.attributes.contains(TpmaSession::DECRYPT) {
                    if !desc.decrypt || s.decrypt.is_some() {
                        return Err(Rc::Attributes.session(n));
                    }
                    if session.cipher == ParamCipher::None {
                        return Err(Rc::Symmetric.session(n));
                    }
                    s.decrypt = Some(i);
                }
                if a.attributes.contains(TpmaSession::ENCRYPT) {
                    if !desc.encrypt || s.encrypt.is_some() {
                        return Err(Rc::Attributes.session(n));
                    }
                    if session.cipher == ParamCipher::None {
                        return Err(Rc::Symmetric.session(n));
                    }
                    s.encrypt = Some(i);
                }
                if a.attributes.contains(TpmaSession::AUDIT) {
                    // One audit session, an HMAC session; a continuing audit session asking for
                    // exclusivity must still have it (reference `RetrieveSessionData`).
                    if s.audit.is_some() || session.kind != Se::Hmac {
                        return Err(Rc::Attributes.session(n));
                    }
                    if !a.attributes.contains(TpmaSession::AUDIT_RESET)
                        && session.audit.is_some()
                        && a.attributes.contains(TpmaSession::AUDIT_EXCLUSIVE)
                        && tpm.exclusive_audit != Some(a.session_handle)
                    {
                        return Err(Rc::Exclusive);
                    }
                    s.audit = Some(i);
                }
            }
            s.list[i] = Some(a);
            s.count += 1;
        }
        Ok(())
    }

    /// Checks that every handle needing authorization has a session and that each session
    /// authorizes its handle (reference `ParseSessionBuffer`, `CheckAuthNoSession`).
    /// `params` are the parameter bytes as received (cpHash covers them encrypted).
    pub fn authorize<P: Platform>(
        &mut self,
        tpm: &mut Tpm<P>,
        desc: &CommandDesc,
        handles: &[Handle; 3],
        locality: u8,
        params: &[u8],
    ) -> Result<(), Rc> {
        let needed = desc.auth_handles();
        if self.count < needed {
            return Err(Rc::AuthMissing);
        }
        for i in 0..self.count.min(MAX_SESSIONS) {
            if i < needed {
                let h = handles.get(i).copied().unwrap_or(Handle::Null);
                self.associated[i] = Some(h);
                self.auth[i] = entity_auth(tpm, h);
            }
        }
        // cpHash per session hash algorithm, computed at most once each.
        let mut cp_hashes: [Option<Digest>; 4] = [None; 4];
        for i in 0..self.count.min(MAX_SESSIONS) {
            let n = i as u32 + 1;
            let Some(s) = self.list[i] else { continue };
            let role = desc
                .handles
                .get(i)
                .map(|(_, r)| *r)
                .unwrap_or(AuthRole::None);
            let associated = self.associated[i];
            // Physical presence first, whatever the session (reference `CheckAuthSession`).
            if associated == Some(Handle::Platform)
                && tpm.pp_list.requires(desc.cc)
                && !tpm.physical_presence
            {
                return Err(Rc::Pp.session(n));
            }
            if s.session_handle == Handle::Pw {
                let Some(h) = associated else {
                    return Err(Rc::Handle.session(n));
                };
                if policy_required(tpm, h, role) {
                    return Err(Rc::AuthType.session(n));
                }
                if !auth_value_available(tpm, h, role) {
                    return Err(Rc::AuthUnavailable);
                }
                let auth = self.auth[i].as_ref().ok_or(Rc::AuthUnavailable)?;
                let exempt = da_exempt(tpm, h);
                lockout_check(tpm, h, exempt)?;
                let good = auth.matches(s.hmac.0);
                tpm.nv.pin_authorization(h, good);
                if !good {
                    let clock = tpm.clock_now();
                    return Err(tpm.da.failure(h, exempt, clock).session(n));
                }
                continue;
            }
            let Some(session) = tpm.sessions.get(s.session_handle) else {
                return Err(Rc::reference_session(i as u32));
            };
            if associated.is_none()
                && !s
                    .attributes
                    .intersects(TpmaSession::DECRYPT | TpmaSession::ENCRYPT | TpmaSession::AUDIT)
            {
                return Err(Rc::Attributes.session(n));
            }
            let slot = crate::pcr::bank_index(session.hash);
            let cp = *cp_hashes[slot]
                .get_or_insert_with(|| cp_hash(tpm, session.hash, desc.cc, handles, desc, params));
            let mut include_auth = false;
            if let Some(h) = associated {
                if session.kind == Se::Policy {
                    let nh = name_hash(tpm, session.hash, handles, desc);
                    let u = PolicyUse {
                        h,
                        role,
                        cc: desc.cc,
                        locality,
                        cp: &cp,
                        name_hash: &nh,
                        params,
                    };
                    check_policy(tpm, session, &u).map_err(|rc| rc.session(n))?;
                    include_auth = session.policy.auth_value;
                    if session.policy.password {
                        let auth = self.auth[i].as_ref().ok_or(Rc::AuthUnavailable)?;
                        let exempt = da_exempt(tpm, h);
                        lockout_check(tpm, h, exempt)?;
                        if !auth.matches(s.hmac.0) {
                            let clock = tpm.clock_now();
                            return Err(tpm.da.failure(h, exempt, clock).session(n));
                        }
                        continue;
                    }
                } else {
                    if policy_required(tpm, h, role) {
                        return Err(Rc::AuthType.session(n));
                    }
                    if self.auth[i].is_none() || !auth_value_available(tpm, h, role) {
                        return Err(Rc::AuthUnavailable);
                    }
                    include_auth = session.bind != Some(bound_entity(tpm, h));
                }
            }
            let auth = if include_auth {
                self.auth[i].as_ref()
            } else {
                None
            };
            let (dec, enc) = self.extra_nonces(tpm, i);
            let expect = session_hmac(
                session,
                s.hmac.is_empty(),
                auth,
                cp.as_bytes(),
                s.nonce.0,
                session.nonce_tpm.as_bytes(),
                &[
                    dec.as_ref().map_or(&[][..], |d| d.as_bytes()),
                    enc.as_ref().map_or(&[][..], |d| d.as_bytes()),
                ],
                s.attributes.bits(),
            );
            if let (Some(h), true) = (associated, include_auth) {
                lockout_check(tpm, h, da_exempt(tpm, h))?;
            }
            let ok = match &expect {
                None => s.hmac.is_empty(),
                Some(d) => bool::from(d.as_bytes().ct_eq(s.hmac.0)),
            };
            if let (Some(h), true) = (associated, include_auth) {
                tpm.nv.pin_authorization(h, ok);
            }
            if !ok {
                // A failure counts against DA only when the authValue was in the HMAC key.
                let rc = match associated {
                    Some(h) if include_auth => {
                        let exempt = da_exempt(tpm, h);
                        let clock = tpm.clock_now();
                        tpm.da.failure(h, exempt, clock)
                    }
                    _ => Rc::BadAuth,
                };
                return Err(rc.session(n));
            }
        }
        self.cp = cp_hashes;
        Ok(())
    }

    /// `nonceTPMdecrypt` and `nonceTPMencrypt` for the HMAC of session `i`: only the first
    /// session's HMAC includes them, and only for other sessions (Part 1, 19.6.5).
    fn extra_nonces<P: Platform>(
        &self,
        tpm: &Tpm<P>,
        i: usize,
    ) -> (Option<Digest>, Option<Digest>) {
        if i != 0 {
            return (None, None);
        }
        let nonce = |j: Option<usize>| -> Option<Digest> {
            let j = j.filter(|&j| j != 0)?;
            let h = self.list.get(j)?.as_ref()?.session_handle;
            Some(tpm.sessions.get(h)?.nonce_tpm)
        };
        let dec = nonce(self.decrypt);
        let enc = if self.encrypt == self.decrypt {
            None
        } else {
            nonce(self.encrypt)
        };
        (dec, enc)
    }

    /// Decrypts the first parameter in place (`params` is a copy of the parameter area).
    pub fn decrypt_parameter<P: Platform>(
        &self,
        tpm: &Tpm<P>,
        params: &mut [u8],
    ) -> Result<(), Rc> {
        let Some(i) = self.decrypt else { return Ok(()) };
        let Some(s) = self.list[i] else { return Ok(()) };
        let session = tpm.sessions.get(s.session_handle).ok_or(Rc::Failure)?;
        let n = i as u32 + 1;
        let size = u16::from_be_bytes([
            *params.first().ok_or(Rc::Size.session(n))?,
            *params.get(1).ok_or(Rc::Size.session(n))?,
        ]) as usize;
        let data = params.get_mut(2..2 + size).ok_or(Rc::Size.session(n))?;
        let auth = self.auth[i].as_ref();
        apply_cipher(
            session,
            auth,
            s.nonce.0,
            session.nonce_tpm.as_bytes(),
            data,
            false,
        )
        .map_err(|rc| rc.session(n))
    }

    /// Finishes a successful command: rolls nonces, encrypts the first response parameter,
    /// writes one `TPMS_AUTH_RESPONSE` per session, and flushes sessions without
    /// `continueSession`.
    pub fn respond<P: Platform>(
        &self,
        tpm: &mut Tpm<P>,
        cc: Cc,
        params: &mut [u8],
        w: &mut Writer<'_>,
    ) -> Result<(), Rc> {
        // Password sessions only (the common case): no nonce, HMAC, audit or encryption to
        // produce, so the acknowledgements are all there is (what the general path below
        // computes for them, without first collecting authValues it would not use).
        if self.iter().all(|(_, s)| s.session_handle == Handle::Pw) {
            tpm.exclusive_audit = None;
            for _ in self.iter() {
                w.u16(0).map_err(size_err)?;
                w.u8(TpmaSession::CONTINUE_SESSION.bits())
                    .map_err(size_err)?;
                w.u16(0).map_err(size_err)?;
            }
            return Ok(());
        }
        // New nonces first: encryption and response HMACs use them.
        for (_, s) in self.iter() {
            if s.session_handle == Handle::Pw {
                continue;
            }
            let mut fresh = [0u8; 64];
            // As long as the session's first nonceTPM, which nonceCaller sized (Part 3, 11.1).
            let Some(size) = tpm
                .sessions
                .get(s.session_handle)
                .map(|x| x.nonce_tpm.as_bytes().len())
            else {
                continue;
            };
            let fresh = fresh.get_mut(..size).ok_or(Rc::Failure)?;
            tpm.random(fresh)?;
            if let Some(session) = tpm.sessions.get_mut(s.session_handle) {
                session.nonce_tpm = Digest::from_slice(fresh);
            }
        }
        // The entity's authValue after the command (a changed auth answers with the new value).
        let mut auth: [Option<AuthValue>; MAX_SESSIONS] = [None, None, None];
        for (i, slot) in auth.iter_mut().enumerate() {
            *slot = match self.associated[i] {
                Some(h) => entity_auth(tpm, h).or_else(|| self.auth[i].clone()),
                None => None,
            };
        }
        if let Some(i) = self.encrypt {
            if let Some(s) = self.list[i] {
                let session = tpm.sessions.get(s.session_handle).ok_or(Rc::Failure)?;
                if params.len() >= 2 {
                    let size = u16::from_be_bytes([params[0], params[1]]) as usize;
                    if let Some(data) = params.get_mut(2..2 + size) {
                        apply_cipher(
                            session,
                            auth[i].as_ref(),
                            session.nonce_tpm.as_bytes(),
                            s.nonce.0,
                            data,
                            true,
                        )?;
                    }
                }
            }
        }
        // rpHash per session hash algorithm, over the response parameters as sent.
        let mut rp_hashes: [Option<Digest>; 4] = [None; 4];
        let mut rp_hash = |alg: HashAlg| -> Digest {
            *rp_hashes[crate::pcr::bank_index(alg)].get_or_insert_with(|| {
                Hasher::digest(alg, &[&0u32.to_be_bytes(), &cc.0.to_be_bytes(), params])
            })
        };
        // Whether each session's HMAC key holds the entity's authValue, as the command was
        // authorized (before session audit unbinds a session).
        let mut include = [false; MAX_SESSIONS];
        let mut attributes = [TpmaSession::empty(); MAX_SESSIONS];
        for (i, s) in self.iter() {
            attributes[i] = s.attributes;
            let Some(session) = tpm.sessions.get(s.session_handle) else {
                continue;
            };
            include[i] = match self.associated[i] {
                Some(_) if session.kind == Se::Policy => session.policy.auth_value,
                Some(h) => session.bind != Some(bound_entity(tpm, h)),
                None => false,
            };
        }
        // Session audit (reference `UpdateAuditSessionStatus`): the first use, or a reset,
        // starts the digest at zero, unbinds the session and makes it the exclusive audit
        // session; a command with sessions but none auditing ends exclusivity.
        match self.audit.and_then(|i| Some((i, self.list[i]?))) {
            Some((i, s)) => {
                let h = s.session_handle;
                let session = tpm.sessions.get_mut(h).ok_or(Rc::Failure)?;
                let alg = session.hash;
                let cp = self.cp[crate::pcr::bank_index(alg)].ok_or(Rc::Failure)?;
                let rp = rp_hash(alg);
                let fresh =
                    session.audit.is_none() || s.attributes.contains(TpmaSession::AUDIT_RESET);
                let old = match session.audit {
                    Some(d) if !fresh => d,
                    _ => Digest::zero(alg),
                };
                if fresh {
                    session.bind = None;
                }
                session.audit = Some(Hasher::digest(
                    alg,
                    &[old.as_bytes(), cp.as_bytes(), rp.as_bytes()],
                ));
                if fresh {
                    tpm.exclusive_audit = Some(h);
                } else if tpm.exclusive_audit != Some(h) {
                    tpm.exclusive_audit = None;
                }
                attributes[i].set(TpmaSession::AUDIT_EXCLUSIVE, tpm.exclusive_audit == Some(h));
            }
            None => tpm.exclusive_audit = None,
        }
        for (i, s) in self.iter() {
            if s.session_handle == Handle::Pw {
                w.u16(0).map_err(size_err)?;
                w.u8(TpmaSession::CONTINUE_SESSION.bits())
                    .map_err(size_err)?;
                w.u16(0).map_err(size_err)?;
                continue;
            }
            let Some(session) = tpm.sessions.get(s.session_handle) else {
                return Err(Rc::Failure);
            };
            let rp = rp_hash(session.hash);
            let key_auth = if include[i] { auth[i].as_ref() } else { None };
            let mac = session_hmac(
                session,
                s.hmac.is_empty(),
                key_auth,
                rp.as_bytes(),
                session.nonce_tpm.as_bytes(),
                s.nonce.0,
                &[],
                attributes[i].bits(),
            );
            w.sized(session.nonce_tpm.as_bytes()).map_err(size_err)?;
            w.u8(attributes[i].bits()).map_err(size_err)?;
            w.sized(mac.as_ref().map_or(&[][..], |d| d.as_bytes()))
                .map_err(size_err)?;
        }
        // Sessions end after their last use; a policy session used for authorization starts over.
        for (i, s) in self.iter() {
            if s.session_handle == Handle::Pw {
                continue;
            }
            if !s.attributes.contains(TpmaSession::CONTINUE_SESSION) {
                tpm.sessions.remove(s.session_handle);
            } else if self.associated[i].is_some() {
                if let Some(session) = tpm.sessions.get_mut(s.session_handle) {
                    if session.kind == Se::Policy {
                        session.policy_digest = Digest::zero(session.hash);
                        session.policy = Default::default();
                    }
                }
            }
        }
        Ok(())
    }
}

/// Lets DA time heal, then refuses authValue use on a locked-out entity.
fn lockout_check<P: Platform>(tpm: &mut Tpm<P>, h: Handle, exempt: bool) -> Result<(), Rc> {
    let clock = tpm.clock_now();
    tpm.da.tick(clock);
    tpm.da.check(h, exempt)
}

fn size_err(_: WriteError) -> Rc {
    Rc::Size
}

/// Whether only a policy session may authorize `h` in `role` (reference
/// `IsPolicySessionRequired`), else `TPM_RC_AUTH_TYPE`: the DUP role; the ADMIN role of
/// permanent handles, NV indices and objects with `adminWithPolicy`; a PCR of the policy group
/// once `TPM2_PCR_SetAuthPolicy` gave it a policy.
fn policy_required<P: Platform>(tpm: &Tpm<P>, h: Handle, role: AuthRole) -> bool {
    match role {
        AuthRole::Dup => true,
        AuthRole::Admin => crate::entity::admin_needs_policy(tpm, h),
        _ => crate::pcr::in_auth_group(h) && tpm.pcr_policy.is_some(),
    }
}

/// nameHash (Part 3, 23.12): `H(Name1 || Name2 || Name3)`.
fn name_hash<P: Platform>(
    tpm: &Tpm<P>,
    alg: HashAlg,
    handles: &[Handle; 3],
    desc: &CommandDesc,
) -> Digest {
    let mut h = Hasher::new(alg);
    for handle in handles.iter().take(desc.handles.len()) {
        h.update(entity_name(tpm, *handle).as_bytes());
    }
    h.finish()
}

/// cpHash (Part 1, 18.7): `H(commandCode || Name1 || Name2 || Name3 || parameters)`.
pub(crate) fn cp_hash<P: Platform>(
    tpm: &Tpm<P>,
    alg: HashAlg,
    cc: Cc,
    handles: &[Handle; 3],
    desc: &CommandDesc,
    params: &[u8],
) -> Digest {
    let mut h = Hasher::new(alg);
    h.update(&cc.0.to_be_bytes());
    for handle in handles.iter().take(desc.handles.len()) {
        h.update(entity_name(tpm, *handle).as_bytes());
    }
    h.update(params);
    h.finish()
}

/// The session HMAC (Part 1, 19.6.5 / 19.6.6): key `sessionKey || authValue`. When the key is
/// empty and the caller sent an empty HMAC, the HMAC is empty both ways (reference
/// `ComputeCommandHMAC`/`ComputeResponseHMAC`: "a NULL string HMAC is allowed").
#[allow(
    clippy::too_many_arguments,
    reason = "the HMAC's inputs, as Part 1 lists them"
)]
fn session_hmac(
    s: &Session,
    caller_hmac_empty: bool,
    auth: Option<&AuthValue>,
    p_hash: &[u8],
    nonce_newer: &[u8],
    nonce_older: &[u8],
    extra: &[&[u8]],
    attributes: u8,
) -> Option<Digest> {
    let mut key = Zeroizing::new(alloc::vec::Vec::with_capacity(128));
    key.extend_from_slice(&s.session_key);
    if let Some(a) = auth {
        key.extend_from_slice(a.as_bytes());
    }
    if key.is_empty() && caller_hmac_empty {
        return None;
    }
    let mut mac = Hmac::new(s.hash, &key);
    mac.update(p_hash);
    mac.update(nonce_newer);
    mac.update(nonce_older);
    for e in extra {
        mac.update(e);
    }
    mac.update(&[attributes]);
    Some(mac.finish())
}

/// What a policy session is asked to authorize: the handle, in which role, for which command.
struct PolicyUse<'a> {
    h: Handle,
    role: AuthRole,
    cc: Cc,
    locality: u8,
    cp: &'a Digest,
    name_hash: &'a Digest,
    /// The parameter area as received (a templateHash covers the second parameter).
    params: &'a [u8],
}

/// Reference `CompareTemplateHash`: for `TPM2_Create`, `TPM2_CreatePrimary` and
/// `TPM2_CreateLoaded`, the digest (with the session's hash) of the contents of the second
/// parameter, the public template, compared with `want`; false for any other command or
/// parameters too short to hold the template.
fn template_matches(s: &Session, cc: Cc, params: &[u8], want: &Digest) -> bool {
    if !matches!(cc, Cc::Create | Cc::CreatePrimary | Cc::CreateLoaded) {
        return false;
    }
    let mut r = Reader::new(params);
    let template = (|| {
        let skip = usize::from(r.u16()?);
        r.bytes(skip)?;
        let size = usize::from(r.u16()?);
        r.bytes(size)
    })();
    match template {
        Ok(t) => Hasher::digest(s.hash, &[t]).as_bytes() == want.as_bytes(),
        Err(_) => false,
    }
}

/// Policy-session checks before use, in the order of the reference `CheckPolicyAuthSession`
/// (Part 1, 19.7; Part 3, 23.2): a policy authorizing `TPM2_PolicySecret` must include
/// PolicyAuthValue or PolicyPassword (`TPM_RC_MODE`); the PCRs checked by PolicyPCR are
/// unchanged; the digest is the entity's authPolicy; the session has not expired; the command
/// code, if set, is this command's (and one is set for the ADMIN and DUP roles); the locality;
/// physical presence; the cpHash, nameHash or templateHash; the NV index's `WRITTEN` state.
fn check_policy<P: Platform>(tpm: &Tpm<P>, s: &Session, u: &PolicyUse<'_>) -> Result<(), Rc> {
    let policy = crate::entity::entity_policy(tpm, u.h).ok_or(Rc::AuthUnavailable)?;
    if u.cc == Cc::PolicySecret && !s.policy.auth_value && !s.policy.password {
        return Err(Rc::Mode);
    }
    if s.policy
        .pcr_counter
        .is_some_and(|c| c != tpm.pcrs.update_counter)
    {
        return Err(Rc::PcrChanged);
    }
    if policy.as_bytes() != s.policy_digest.as_bytes() {
        return Err(Rc::PolicyFail);
    }
    if s.policy.timeout.is_some_and(|t| tpm.time_now() > t) {
        return Err(Rc::Expired);
    }
    match s.policy.command_code {
        Some(c) if c != u.cc => return Err(Rc::PolicyCc),
        None if matches!(u.role, AuthRole::Admin | AuthRole::Dup) => return Err(Rc::PolicyFail),
        _ => {}
    }
    if let Some(mask) = s.policy.locality {
        if u.locality > 4 || mask & (1 << u.locality) == 0 {
            return Err(Rc::Locality);
        }
    }
    if s.policy.physical_presence && !tpm.physical_presence {
        return Err(Rc::Pp);
    }
    if let Some(want) = &s.policy.bound_hash {
        let ok = if s.policy.cp_hash_defined {
            want.as_bytes() == u.cp.as_bytes()
        } else if s.policy.template_set {
            template_matches(s, u.cc, u.params, want)
        } else {
            want.as_bytes() == u.name_hash.as_bytes()
        };
        if !ok {
            return Err(Rc::PolicyFail);
        }
    }
    if let Some(written) = s.policy.nv_written {
        let index = tpm.nv.get(u.h).ok_or(Rc::PolicyFail)?;
        if index.is(tpm_proto::TpmaNv::WRITTEN) != written {
            return Err(Rc::PolicyFail);
        }
    }
    Ok(())
}

/// Parameter encryption (Part 1, 21): AES-CFB with `KDFa(hash, sessionKey || authValue, "CFB",
/// nonceNewer, nonceOlder, keyBits + 128)` as key and IV, or XOR obfuscation.
fn apply_cipher(
    s: &Session,
    auth: Option<&AuthValue>,
    nonce_newer: &[u8],
    nonce_older: &[u8],
    data: &mut [u8],
    encrypt: bool,
) -> Result<(), Rc> {
    let mut key = Zeroizing::new(alloc::vec::Vec::with_capacity(128));
    key.extend_from_slice(&s.session_key);
    if let Some(a) = auth {
        key.extend_from_slice(a.as_bytes());
    }
    match s.cipher {
        ParamCipher::None => Err(Rc::Symmetric),
        ParamCipher::Xor(hash) => {
            sym::xor_obfuscate(hash, &key, nonce_newer, nonce_older, data).map_err(Rc::from)
        }
        ParamCipher::AesCfb(bits) => {
            let kb = bits as usize / 8;
            let mut kiv = Zeroizing::new([0u8; 48]);
            let out = kiv.get_mut(..kb + 16).ok_or(Rc::Failure)?;
            kdf_a(
                s.hash,
                &key,
                b"CFB",
                nonce_newer,
                nonce_older,
                (bits as u32) + 128,
                out,
            )
            .map_err(Rc::from)?;
            let (k, iv) = out.split_at_mut(kb);
            if encrypt {
                sym::encrypt(k, sym::SymMode::Cfb, iv, data).map_err(Rc::from)
            } else {
                sym::decrypt(k, sym::SymMode::Cfb, iv, data).map_err(Rc::from)
            }
        }
    }
}
