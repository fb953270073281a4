//! Authorization sessions (Part 1, section 19): HMAC, policy and trial sessions, held in a fixed
//! number of slots. Handle `HMAC_SESSION_FIRST + i` / `POLICY_SESSION_FIRST + i` names slot `i`.

use crate::crypto::Digest;
use crate::entity::Name;
use alloc::vec::Vec;
use tpm_proto::{Handle, HashAlg, Rc, Se};
use zeroize::Zeroizing;

/// Symmetric algorithm for parameter encryption (`TPMT_SYM_DEF` of `TPM2_StartAuthSession`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamCipher {
    None,
    /// AES in CFB mode with this key size in bits.
    AesCfb(u16),
    /// XOR obfuscation with this hash.
    Xor(HashAlg),
}

/// One session's state.
#[derive(Debug)]
pub(crate) struct Session {
    pub kind: Se,
    pub hash: HashAlg,
    /// The last nonce the TPM returned (nonceOlder for the next command).
    pub nonce_tpm: Digest,
    /// `sessionKey` (Part 1, 19.6.8); empty for an unbound, unsalted session.
    pub session_key: Zeroizing<Vec<u8>>,
    pub cipher: ParamCipher,
    /// For a bound session: the bound entity's Name; its authValue is folded into the key.
    pub bind: Option<Name>,
    /// `policyDigest` of a policy or trial session.
    pub policy_digest: Digest,
    /// Policy assertions that change how authorization is checked.
    pub policy: PolicyState,
}

/// What policy commands have asserted on a policy session (Part 1, 19.7).
#[derive(Debug, Clone, Default)]
#[allow(dead_code, reason = "set by the policy commands as they land")]
pub(crate) struct PolicyState {
    /// `TPM2_PolicyAuthValue`: the entity's authValue goes into the HMAC.
    pub auth_value: bool,
    /// `TPM2_PolicyPassword`: the entity's authValue is compared as a password.
    pub password: bool,
    /// `TPM2_PolicyCommandCode`.
    pub command_code: Option<tpm_proto::Cc>,
    /// `TPM2_PolicyCpHash` / `TPM2_PolicyNameHash`.
    pub cp_hash: Option<Digest>,
    pub name_hash: Option<Digest>,
    /// `TPM2_PolicyLocality`.
    pub locality: Option<u8>,
    /// `TPM2_PolicyPhysicalPresence`.
    pub physical_presence: bool,
    /// `TPM2_PolicyNvWritten`.
    pub nv_written: Option<bool>,
}

/// The session slots.
#[derive(Debug)]
pub(crate) struct Sessions {
    slots: Vec<Option<Session>>,
}

impl Sessions {
    pub fn new(max: usize) -> Sessions {
        let mut slots = Vec::new();
        slots.resize_with(max, || None);
        Sessions { slots }
    }

    fn index(h: Handle) -> Option<usize> {
        let base = match h.ht() {
            tpm_proto::ht::HmacSession => Handle::HmacSessionFirst.0,
            tpm_proto::ht::PolicySession => Handle::PolicySessionFirst.0,
            _ => return None,
        };
        Some((h.0 - base) as usize)
    }

    fn handle_of(i: usize, kind: Se) -> Handle {
        let base = if kind == Se::Hmac {
            Handle::HmacSessionFirst
        } else {
            Handle::PolicySessionFirst
        };
        Handle(base.0 + i as u32)
    }

    /// Starts a session in a free slot; `TPM_RC_SESSION_MEMORY` when all are in use.
    pub fn insert(&mut self, s: Session) -> Result<Handle, Rc> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(Rc::SessionMemory)?;
        let h = Self::handle_of(i, s.kind);
        self.slots[i] = Some(s);
        Ok(h)
    }

    /// The session named by `h`, if loaded and of the type its handle says.
    pub fn get(&self, h: Handle) -> Option<&Session> {
        let s = self.slots.get(Self::index(h)?)?.as_ref()?;
        (Self::handle_of(Self::index(h)?, s.kind) == h).then_some(s)
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Session> {
        let i = Self::index(h)?;
        let s = self.slots.get_mut(i)?.as_mut()?;
        (Self::handle_of(i, s.kind) == h).then_some(s)
    }

    pub fn remove(&mut self, h: Handle) -> Option<Session> {
        self.get(h)?;
        self.slots.get_mut(Self::index(h)?)?.take()
    }

    pub fn flush_all(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Handles of loaded sessions, ascending by handle.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| Self::handle_of(i, s.kind)))
    }

    pub fn loaded(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}
