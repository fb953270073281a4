//! Authorization sessions (Part 1, section 19): HMAC, policy and trial sessions, held in a fixed
//! number of slots. Handle `HMAC_SESSION_FIRST + i` / `POLICY_SESSION_FIRST + i` names slot `i`.

use crate::crypto::Digest;
use crate::entity::Name;
use alloc::vec::Vec;
use tpm_proto::{Handle, HashAlg, Rc, Se};

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
    /// `Time` when the session started (policy expirations count from it).
    pub start_time: u64,
    /// The last nonce the TPM returned (nonceOlder for the next command).
    pub nonce_tpm: Digest,
    /// `sessionKey` (Part 1, 19.6.8); empty for an unbound, unsalted session.
    pub session_key: crate::secret::SecretBytes,
    pub cipher: ParamCipher,
    /// For a bound session: the bound entity's Name; its authValue is folded into the key.
    pub bind: Option<Name>,
    /// `policyDigest` of a policy or trial session.
    pub policy_digest: Digest,
    /// Policy assertions that change how authorization is checked.
    pub policy: PolicyState,
    /// The session audit digest once the session has been used for audit (`isAudit`); an HMAC
    /// session only.
    pub audit: Option<Digest>,
}

/// What policy commands have asserted on a policy session (Part 1, 19.7).
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyState {
    /// `TPM2_PolicyAuthValue`: the entity's authValue goes into the HMAC.
    pub auth_value: bool,
    /// `TPM2_PolicyPassword`: the entity's authValue is compared as a password.
    pub password: bool,
    /// `TPM2_PolicyCommandCode`.
    pub command_code: Option<tpm_proto::Cc>,
    /// The hash the authorized command must match: a cpHash (`TPM2_PolicyCpHash`, or the cpHashA
    /// of PolicySigned, PolicySecret or PolicyTicket), a nameHash (`TPM2_PolicyNameHash`,
    /// `TPM2_PolicyDuplicationSelect`) or a templateHash (`TPM2_PolicyTemplate`). The reference
    /// keeps them in one slot (`u1`), so a second of another kind is `TPM_RC_CPHASH` (Part 3,
    /// 23.2.1).
    pub bound_hash: Option<Digest>,
    /// `isCpHashDefined`: [`PolicyState::bound_hash`] is a cpHash.
    pub cp_hash_defined: bool,
    /// `isTemplateSet`: [`PolicyState::bound_hash`] is a templateHash.
    pub template_set: bool,
    /// `TPM2_PolicyLocality`.
    pub locality: Option<u8>,
    /// `TPM2_PolicyPhysicalPresence`.
    pub physical_presence: bool,
    /// `TPM2_PolicyNvWritten`.
    pub nv_written: Option<bool>,
    /// `TPM2_PolicyPCR`: `pcrUpdateCounter` when the PCRs were checked; any PCR change since
    /// makes the session fail with `TPM_RC_PCR_CHANGED`.
    pub pcr_counter: Option<u32>,
    /// `TPM2_PolicySecret` with an expiration: `Time` after which the session is expired.
    pub timeout: Option<u64>,
}

/// A session slot: loaded, or saved by `TPM2_ContextSave` (the session's state stays in the TPM;
/// the context blob only names it, so a saved session can be loaded back exactly once per save,
/// Part 1, 30.4).
#[derive(Debug)]
enum Slot {
    Loaded(Session),
    Saved { session: Session, sequence: u64 },
}

impl Slot {
    fn session(&self) -> &Session {
        match self {
            Slot::Loaded(s) | Slot::Saved { session: s, .. } => s,
        }
    }
}

/// The session slots.
#[derive(Debug)]
pub(crate) struct Sessions {
    slots: Vec<Option<Slot>>,
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

    /// The slot named by `h`, whatever its state, if the handle's type matches the session's.
    fn slot(&self, h: Handle) -> Option<&Slot> {
        let i = Self::index(h)?;
        let slot = self.slots.get(i)?.as_ref()?;
        (Self::handle_of(i, slot.session().kind) == h).then_some(slot)
    }

    /// Starts a session in a free slot; `TPM_RC_SESSION_MEMORY` when all are in use.
    pub fn insert(&mut self, s: Session) -> Result<Handle, Rc> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(Rc::SessionMemory)?;
        let h = Self::handle_of(i, s.kind);
        self.slots[i] = Some(Slot::Loaded(s));
        Ok(h)
    }

    /// The loaded session named by `h`.
    pub fn get(&self, h: Handle) -> Option<&Session> {
        match self.slot(h)? {
            Slot::Loaded(s) => Some(s),
            Slot::Saved { .. } => None,
        }
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Session> {
        self.slot(h)?;
        match self.slots.get_mut(Self::index(h)?)?.as_mut()? {
            Slot::Loaded(s) => Some(s),
            Slot::Saved { .. } => None,
        }
    }

    /// Flushes a loaded or saved session.
    pub fn remove(&mut self, h: Handle) -> Option<Session> {
        self.slot(h)?;
        match self.slots.get_mut(Self::index(h)?)?.take()? {
            Slot::Loaded(s) | Slot::Saved { session: s, .. } => Some(s),
        }
    }

    /// Marks a loaded session saved under context `sequence`.
    pub fn save(&mut self, h: Handle, sequence: u64) -> Result<(), Rc> {
        self.get(h).ok_or(Rc::Handle.handle(1))?;
        let i = Self::index(h).ok_or(Rc::Handle.handle(1))?;
        let slot = self.slots.get_mut(i).ok_or(Rc::Handle.handle(1))?;
        if let Some(Slot::Loaded(s)) = slot.take() {
            *slot = Some(Slot::Saved {
                session: s,
                sequence,
            });
        }
        Ok(())
    }

    /// Loads back the session saved as `h` under `sequence`; any other blob is `TPM_RC_HANDLE`.
    pub fn load(&mut self, h: Handle, sequence: u64) -> Result<(), Rc> {
        match self.slot(h) {
            Some(Slot::Saved { sequence: s, .. }) if *s == sequence => {}
            _ => return Err(Rc::Handle),
        }
        let i = Self::index(h).ok_or(Rc::Handle)?;
        let slot = self.slots.get_mut(i).ok_or(Rc::Handle)?;
        if let Some(Slot::Saved { session, .. }) = slot.take() {
            *slot = Some(Slot::Loaded(session));
        }
        Ok(())
    }

    /// The oldest context sequence number of a saved session.
    pub fn oldest_saved(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Some(Slot::Saved { sequence, .. }) => Some(*sequence),
                _ => None,
            })
            .min()
    }

    /// Flushes loaded sessions; saved ones survive (`_TPM_Init` before a Resume or Restart).
    pub fn flush_loaded(&mut self) {
        for s in self.slots.iter_mut() {
            if matches!(s, Some(Slot::Loaded(_))) {
                *s = None;
            }
        }
    }

    pub fn flush_all(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Handles of loaded (`saved == false`) or saved sessions, ascending by handle.
    pub fn handles(&self, saved: bool) -> impl Iterator<Item = Handle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(i, s)| match s {
                Some(Slot::Loaded(x)) if !saved => Some(Self::handle_of(i, x.kind)),
                Some(Slot::Saved { session, .. }) if saved => {
                    Some(Self::handle_of(i, session.kind))
                }
                _ => None,
            })
    }

    /// Loaded sessions.
    pub fn loaded(&self) -> usize {
        self.handles(false).count()
    }

    /// Loaded and saved sessions.
    pub fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}
