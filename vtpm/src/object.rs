//! Loaded objects: the transient object slots (Part 1, section 30). Sequence objects (hash, event
//! and HMAC sequences) occupy the same slots as keys.

use crate::crypto::resumable::ResumableHash;
use crate::secret::AuthValue;
use alloc::vec::Vec;
use tpm_proto::{Handle, Rc, HASH_COUNT};

/// A hash or event sequence (Part 1, 32.4).
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "slots are allocated once; boxing would add an allocation per sequence"
)]
pub(crate) enum SequenceKind {
    /// `TPM2_HashSequenceStart` with a hash algorithm.
    Hash(ResumableHash),
    /// `TPM2_HashSequenceStart` with `TPM_ALG_NULL`: one hash per implemented algorithm.
    Event([ResumableHash; HASH_COUNT]),
}

#[derive(Debug)]
pub(crate) struct Sequence {
    pub kind: SequenceKind,
    pub auth: AuthValue,
    /// No data has been added yet (the first block decides whether a ticket is safe).
    pub first_block: bool,
    /// The data did not start with `TPM_GENERATED_VALUE`, so a hash-check ticket may be issued.
    pub ticket_safe: bool,
}

#[derive(Debug)]
pub(crate) enum Object {
    Sequence(Sequence),
}

/// The fixed set of transient object slots. Handle `TRANSIENT_FIRST + i` names slot `i`.
#[derive(Debug)]
pub(crate) struct Objects {
    slots: Vec<Option<Object>>,
}

impl Objects {
    pub fn new(max: usize) -> Objects {
        let mut slots = Vec::new();
        slots.resize_with(max, || None);
        Objects { slots }
    }

    fn index(h: Handle) -> Option<usize> {
        if h.ht() != tpm_proto::ht::Transient {
            return None;
        }
        Some((h.0 - Handle::TransientFirst.0) as usize)
    }

    /// Loads an object into a free slot; `TPM_RC_OBJECT_MEMORY` when all are in use.
    pub fn insert(&mut self, o: Object) -> Result<Handle, Rc> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(Rc::ObjectMemory)?;
        self.slots[i] = Some(o);
        Ok(Handle(Handle::TransientFirst.0 + i as u32))
    }

    pub fn get(&self, h: Handle) -> Option<&Object> {
        self.slots.get(Self::index(h)?)?.as_ref()
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut Object> {
        self.slots.get_mut(Self::index(h)?)?.as_mut()
    }

    pub fn remove(&mut self, h: Handle) -> Option<Object> {
        self.slots.get_mut(Self::index(h)?)?.take()
    }

    pub fn flush_all(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Handles of the loaded objects, ascending.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| Handle(Handle::TransientFirst.0 + i as u32))
    }

    pub fn loaded(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

/// Context-blob encoding of an object's state (inside the encrypted part of a `TPMS_CONTEXT`,
/// see `context.rs`). Only this engine reads it back, after the blob's integrity is verified.
impl Object {
    const SEQ_HASH: u8 = 1;
    const SEQ_EVENT: u8 = 2;

    pub fn marshal_context(
        &self,
        w: &mut tpm_proto::Writer<'_>,
    ) -> Result<(), tpm_proto::WriteError> {
        use tpm_proto::Marshal;
        match self {
            Object::Sequence(s) => {
                match &s.kind {
                    SequenceKind::Hash(h) => {
                        w.u8(Self::SEQ_HASH)?;
                        h.marshal(w)?;
                    }
                    SequenceKind::Event(hs) => {
                        w.u8(Self::SEQ_EVENT)?;
                        hs.iter().try_for_each(|h| h.marshal(w))?;
                    }
                }
                w.sized(s.auth.as_bytes())?;
                w.u8(s.first_block as u8)?;
                w.u8(s.ticket_safe as u8)
            }
        }
    }

    pub fn unmarshal_context(r: &mut tpm_proto::Reader<'_>) -> Result<Object, Rc> {
        let kind = match r.u8()? {
            Self::SEQ_HASH => SequenceKind::Hash(ResumableHash::unmarshal(r)?),
            Self::SEQ_EVENT => SequenceKind::Event([
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
            ]),
            _ => return Err(Rc::Value),
        };
        let auth: tpm_proto::Tpm2bAuth<'_> = r.read()?;
        let auth = AuthValue::new(auth.0).ok_or(Rc::Size)?;
        let first_block = r.u8()? != 0;
        let ticket_safe = r.u8()? != 0;
        Ok(Object::Sequence(Sequence {
            kind,
            auth,
            first_block,
            ticket_safe,
        }))
    }

    /// The `savedHandle` of this object's context (Part 2, 14.?: `TPMI_DH_SAVED` —
    /// 0x80000000 ordinary, 0x80000001 stClear, 0x80000002 sequence).
    pub fn saved_handle(&self) -> Handle {
        match self {
            Object::Sequence(_) => Handle(0x8000_0002),
        }
    }

    /// The hierarchy the object belongs to (`TPM_RH_NULL` for sequences).
    pub fn hierarchy(&self) -> Handle {
        match self {
            Object::Sequence(_) => Handle::Null,
        }
    }
}
