//! TPM2_ContextSave and TPM2_ContextLoad (Part 3, 28.2 and 28.3).

use super::{Command, Response};
use crate::context::{BlobKey, INTEGRITY_SIZE};
use crate::engine::{Platform, Tpm};
use crate::object::Object;
use tpm_proto::{ht, Handle, Rc, Tpm2bContextData};

/// Largest gap between the oldest saved session and the context counter
/// (`TPM_PT_CONTEXT_GAP_MAX`).
pub(crate) const CONTEXT_GAP_MAX: u64 = 0xFFFF;

fn proof<P: Platform>(tpm: &Tpm<P>, hierarchy: Handle) -> &[u8] {
    match hierarchy {
        Handle::Owner => &tpm.owner_h.proof[..],
        Handle::Endorsement => &tpm.endorsement_h.proof[..],
        Handle::Platform => &tpm.platform_h.proof[..],
        _ => &tpm.null_h.proof[..],
    }
}

/// `TPM2_ContextSave(saveHandle)` → `TPMS_CONTEXT`.
pub(crate) fn context_save<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let h = cmd.handle(0);
    let sequence = tpm.context_sequence;
    let (saved_handle, hierarchy) = match h.ht() {
        ht::HmacSession | ht::PolicySession => {
            if let Some(oldest) = tpm.sessions.oldest_saved() {
                if sequence.saturating_sub(oldest) >= CONTEXT_GAP_MAX {
                    return Err(Rc::ContextGap);
                }
            }
            (h, Handle::Null)
        }
        ht::Transient => {
            let o = tpm.objects.get(h).ok_or(Rc::reference_handle(0))?;
            (o.saved_handle(), o.hierarchy())
        }
        _ => return Err(Rc::Value.handle(1)),
    };

    // TPMS_CONTEXT: sequence, savedHandle, hierarchy, contextBlob.
    rsp.u64(sequence)?;
    rsp.u32(saved_handle.0)?;
    rsp.u32(hierarchy.0)?;
    let size_at = rsp.out.len();
    rsp.u16(0)?;
    let blob_at = rsp.out.len();
    rsp.out.reserve(2 + INTEGRITY_SIZE).map_err(|_| Rc::Size)?;
    if let Some(o) = tpm.objects.get(h) {
        o.marshal_context(&mut rsp.out).map_err(|_| Rc::Size)?;
    }
    let key = BlobKey {
        context_key: &tpm.context_key[..],
        proof: proof(tpm, hierarchy),
        sequence,
        saved_handle,
        hierarchy,
        restart: None,
    };
    let end = rsp.out.len();
    key.seal(&mut rsp.out.written_mut()[blob_at..end])?;
    let blob_len = (end - blob_at) as u16;
    rsp.out
        .patch(size_at, &blob_len.to_be_bytes())
        .map_err(|_| Rc::Size)?;

    if matches!(h.ht(), ht::HmacSession | ht::PolicySession) {
        tpm.sessions.save(h, sequence)?;
    }
    tpm.context_sequence += 1;
    Ok(())
}

/// `TPM2_ContextLoad(context)` → `loadedHandle`.
pub(crate) fn context_load<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let sequence: u64 = cmd.param()?;
    let saved_handle: Handle = cmd.param()?;
    let hierarchy: Handle = cmd.param()?;
    let blob: Tpm2bContextData<'_> = cmd.param()?;
    cmd.end()?;
    let session = matches!(saved_handle.ht(), ht::HmacSession | ht::PolicySession);
    if !session && !(0x8000_0000..=0x8000_0002).contains(&saved_handle.0) {
        return Err(Rc::Value.param(1));
    }
    if !matches!(
        hierarchy,
        Handle::Owner | Handle::Endorsement | Handle::Platform | Handle::Null
    ) {
        return Err(Rc::Value.param(1));
    }
    let mut copy = [0u8; tpm_proto::MAX_COMMAND_SIZE];
    let copy = copy.get_mut(..blob.len()).ok_or(Rc::Size.param(1))?;
    copy.copy_from_slice(blob.0);
    let key = BlobKey {
        context_key: &tpm.context_key[..],
        proof: proof(tpm, hierarchy),
        sequence,
        saved_handle,
        hierarchy,
        restart: None,
    };
    let plain = key.open(copy).map_err(|rc| rc.param(1))?;
    if session {
        tpm.sessions
            .load(saved_handle, sequence)
            .map_err(|rc| rc.param(1))?;
        rsp.handle = Some(saved_handle);
        return Ok(());
    }
    let object = Object::unmarshal_context(&mut tpm_proto::Reader::new(plain))
        .map_err(|_| Rc::Integrity.param(1))?;
    plain.fill(0);
    if object.saved_handle() != saved_handle || object.hierarchy() != hierarchy {
        return Err(Rc::Integrity.param(1));
    }
    rsp.handle = Some(tpm.objects.insert(object)?);
    Ok(())
}
