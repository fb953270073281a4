//! Saved contexts (Part 2, section 14; tables 2:207–2:210).

use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{Tpm2bDigest, TpmiDhSaved, TpmiRhHierarchy, MAX_DIGEST_SIZE};

/// `MAX_CONTEXT_SIZE`: the largest encrypted context (2680 in libtpms, which sized it for
/// RSA-3072 objects). The engine's context blobs must fit.
pub const MAX_CONTEXT_SIZE: usize = 2680;

tpm2b!(/// `TPM2B_CONTEXT_SENSITIVE` (table 2:207): the encrypted part of a context.
    Tpm2bContextSensitive, max = MAX_CONTEXT_SIZE);
tpm2b!(/// `TPM2B_CONTEXT_DATA` (table 2:209): a marshalled `TPMS_CONTEXT_DATA`,
    /// `sizeof(TPMS_CONTEXT_DATA)` at most.
    Tpm2bContextData, max = 2 + MAX_DIGEST_SIZE + 2 + MAX_CONTEXT_SIZE);

/// `TPMS_CONTEXT_DATA` (table 2:208): the integrity HMAC and the encrypted context.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmsContextData<'a> {
    pub integrity: Tpm2bDigest<'a>,
    pub encrypted: Tpm2bContextSensitive<'a>,
}

impl<'a> Unmarshal<'a> for TpmsContextData<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsContextData {
            integrity: r.read()?,
            encrypted: r.read()?,
        })
    }
}

impl Marshal for TpmsContextData<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.integrity)?;
        w.write(&self.encrypted)
    }
}

/// `TPMS_CONTEXT` (table 2:210): what `TPM2_ContextSave` returns and `TPM2_ContextLoad` takes.
/// The hierarchy may be `TPM_RH_NULL` (sessions and objects of the null hierarchy).
///
/// libtpms additionally tolerates padding after this structure when a Windows client pads
/// `TPM2_ContextLoad` to `TPM_PT_MAX_OBJECT_CONTEXT`; that is the engine's business, not the
/// parser's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsContext<'a> {
    pub sequence: u64,
    pub saved_handle: TpmiDhSaved,
    pub hierarchy: TpmiRhHierarchy,
    pub context_blob: Tpm2bContextData<'a>,
}

impl<'a> Unmarshal<'a> for TpmsContext<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsContext {
            sequence: r.read()?,
            saved_handle: r.read()?,
            hierarchy: TpmiRhHierarchy::unmarshal_nullable(r, true)?,
            context_blob: r.read()?,
        })
    }
}

impl Marshal for TpmsContext<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u64(self.sequence)?;
        w.write(&self.saved_handle)?;
        w.write(&self.hierarchy)?;
        w.write(&self.context_blob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::Handle;

    fn context(saved: u32, hierarchy: Handle, blob_size: u16) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[7] = 1;
        b[8..12].copy_from_slice(&saved.to_be_bytes());
        b[12..16].copy_from_slice(&hierarchy.0.to_be_bytes());
        b[16..18].copy_from_slice(&blob_size.to_be_bytes());
        b
    }

    #[test]
    fn context_checks_handle_hierarchy_and_blob_size() {
        let ok = context(0x8000_0001, Handle::Null, 2);
        let c = TpmsContext::from_bytes(&ok).unwrap();
        assert_eq!(c.sequence, 1);
        assert_eq!(c.context_blob.0, &[0, 0]);
        assert_eq!(
            TpmsContext::from_bytes(&context(0x8000_0003, Handle::Null, 2)),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmsContext::from_bytes(&context(0x8000_0000, Handle::Lockout, 2)),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmsContext::from_bytes(&context(0x0200_0000, Handle::Owner, 3)),
            Err(Rc::Insufficient)
        );
        assert_eq!(
            TpmsContext::unmarshal(&mut Reader::new(&context(0x0200_0000, Handle::Owner, 2749))),
            Err(Rc::Size)
        );
    }
}
