//! Loaded objects: the transient object slots (Part 1, section 30). Sequence objects (hash, event
//! and HMAC sequences) occupy the same slots as keys.

use crate::crypto::Hasher;
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
    Hash(Hasher),
    /// `TPM2_HashSequenceStart` with `TPM_ALG_NULL`: one hash per implemented algorithm.
    Event([Hasher; HASH_COUNT]),
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
