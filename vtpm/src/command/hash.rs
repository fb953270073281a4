//! Hash commands and hash/event sequences (Part 3, sections 15 and 17).

use super::pcr::{extend_all, write_digest_values};
use super::{Command, Response};
use crate::crypto::hmac::Hmac;
use crate::crypto::resumable::ResumableHash;
use crate::crypto::{Digest, Hasher};
use crate::engine::{Platform, Tpm};
use crate::object::{Object, Sequence, SequenceKind};
use crate::secret::AuthValue;
use tpm_proto::{Handle, HashAlg, Rc, St, Tpm2bAuth, Tpm2bMaxBuffer, TPM_GENERATED_VALUE};

/// Reads a `TPMI_RH_HIERARCHY+` parameter.
fn hierarchy_param(cmd: &mut Command<'_>) -> Result<Handle, Rc> {
    let h: Handle = cmd.param()?;
    match h {
        Handle::Owner | Handle::Platform | Handle::Endorsement | Handle::Null => Ok(h),
        _ => Err(Rc::Value.param(cmd.param_n)),
    }
}

/// True if a hash-check ticket may be produced for data starting with `first` (the data must not
/// start with `TPM_GENERATED_VALUE`, Part 3, 15.4).
fn ticket_safe(first: &[u8]) -> bool {
    first.len() < 4 || first[..4] != TPM_GENERATED_VALUE.to_be_bytes()
}

/// The digest of a `TPMT_TK_HASHCHECK` for `digest` (Part 2, 10.7.3): `HMAC(proof,
/// TPM_ST_HASHCHECK || digest)` in `alg`; `None` (the NULL ticket) for `TPM_RH_NULL`.
/// `TPM2_Sign` recomputes it to check a ticket.
pub(crate) fn hashcheck_digest<P: Platform>(
    tpm: &Tpm<P>,
    hierarchy: Handle,
    alg: HashAlg,
    digest: &[u8],
) -> Option<Digest> {
    let proof = match hierarchy {
        Handle::Owner => &tpm.owner_h.proof,
        Handle::Platform => &tpm.platform_h.proof,
        Handle::Endorsement => &tpm.endorsement_h.proof,
        _ => return None,
    };
    let mut mac = Hmac::new(alg, &proof[..]);
    mac.update(&St::Hashcheck.0.to_be_bytes());
    mac.update(digest);
    Some(mac.finish())
}

/// Writes `TPMT_TK_HASHCHECK` for `digest`, or the NULL ticket when the hierarchy is
/// `TPM_RH_NULL` or the data is not safe to ticket.
fn write_hashcheck<P: Platform>(
    tpm: &Tpm<P>,
    rsp: &mut Response<'_>,
    hierarchy: Handle,
    alg: HashAlg,
    digest: &Digest,
    safe: bool,
) -> Result<(), Rc> {
    rsp.u16(St::Hashcheck.0)?;
    match hashcheck_digest(tpm, hierarchy, alg, digest.as_bytes()) {
        Some(mac) if safe => {
            rsp.u32(hierarchy.0)?;
            rsp.sized(mac.as_bytes())
        }
        _ => {
            rsp.u32(Handle::Null.0)?;
            rsp.sized(&[])
        }
    }
}

/// `TPM2_Hash(data, hashAlg, hierarchy)` → `outHash`, `validation`.
pub(crate) fn hash<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    let alg = cmd.hash_param(false)?.ok_or(Rc::Hash.param(2))?;
    let hierarchy = hierarchy_param(cmd)?;
    cmd.end()?;
    let digest = Hasher::digest(alg, &[data.0]);
    rsp.sized(digest.as_bytes())?;
    write_hashcheck(tpm, rsp, hierarchy, alg, &digest, ticket_safe(data.0))
}

/// `TPM2_HashSequenceStart(auth, hashAlg)`: `TPM_ALG_NULL` starts an event sequence.
pub(crate) fn hash_sequence_start<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let auth: Tpm2bAuth<'_> = cmd.param()?;
    let alg = cmd.hash_param(true)?;
    cmd.end()?;
    let kind = match alg {
        Some(h) => SequenceKind::Hash(ResumableHash::new(h)),
        None => SequenceKind::Event(HashAlg::ALL.map(ResumableHash::new)),
    };
    let auth = AuthValue::new(auth.0).ok_or(Rc::Size.param(1))?;
    let seq = Sequence {
        kind,
        auth,
        first_block: true,
        ticket_safe: true,
    };
    rsp.handle = Some(tpm.objects.insert(Object::Sequence(seq))?);
    Ok(())
}

fn sequence_mut<P: Platform>(tpm: &mut Tpm<P>, h: Handle, n: u32) -> Result<&mut Sequence, Rc> {
    match tpm.objects.get_mut(h) {
        Some(Object::Sequence(s)) => Ok(s),
        _ => Err(Rc::Mode.handle(n)),
    }
}

impl Sequence {
    fn update(&mut self, data: &[u8]) {
        if self.first_block {
            self.ticket_safe = ticket_safe(data);
            self.first_block = false;
        }
        match &mut self.kind {
            SequenceKind::Hash(h) => h.update(data),
            SequenceKind::Event(hs) => hs.iter_mut().for_each(|h| h.update(data)),
            SequenceKind::Hmac { inner, .. } => inner.update(data),
        }
    }
}

/// `TPM2_SequenceUpdate(sequenceHandle, buffer)`.
pub(crate) fn sequence_update<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    cmd.end()?;
    sequence_mut(tpm, cmd.handle(0), 1)?.update(data.0);
    Ok(())
}

/// `TPM2_SequenceComplete(sequenceHandle, buffer, hierarchy)` → `result`, `validation`; the
/// sequence object is flushed.
pub(crate) fn sequence_complete<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    let hierarchy = hierarchy_param(cmd)?;
    cmd.end()?;
    let h = cmd.handle(0);
    let seq = sequence_mut(tpm, h, 1)?;
    if matches!(seq.kind, SequenceKind::Event(_)) {
        return Err(Rc::Mode.handle(1));
    }
    seq.update(data.0);
    // Finished in its slot and then dropped there: a sequence object is large, and moving it
    // out first would copy all of it.
    let ticket_safe = seq.ticket_safe;
    let (alg, digest, hierarchy, ticket_safe) = match &mut seq.kind {
        SequenceKind::Hash(hasher) => (
            hasher.alg(),
            hasher.finish_in_place(),
            hierarchy,
            ticket_safe,
        ),
        // An HMAC sequence (`TPM2_HMAC_Start`) gets the NULL ticket.
        SequenceKind::Hmac { inner, outer_key } => {
            let alg = inner.alg();
            let digest = crate::object::hmac_finish(inner, outer_key);
            (alg, digest, Handle::Null, false)
        }
        SequenceKind::Event(_) => return Err(Rc::Failure),
    };
    tpm.objects.discard(h);
    rsp.sized(digest.as_bytes())?;
    write_hashcheck(tpm, rsp, hierarchy, alg, &digest, ticket_safe)
}

/// `TPM2_EventSequenceComplete(pcrHandle, sequenceHandle, buffer)` → the digests in every
/// implemented hash, extended into `pcrHandle` unless it is `TPM_RH_NULL`.
pub(crate) fn event_sequence_complete<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    cmd.end()?;
    let pcr = cmd.handle(0);
    let h = cmd.handle(1);
    let seq = sequence_mut(tpm, h, 2)?;
    if !matches!(seq.kind, SequenceKind::Event(_)) {
        return Err(Rc::Mode.handle(2));
    }
    if pcr != Handle::Null && !crate::pcr::Pcrs::can_extend(pcr.0 as usize, cmd.locality) {
        return Err(Rc::Locality);
    }
    seq.update(data.0);
    let SequenceKind::Event(hs) = &mut seq.kind else {
        return Err(Rc::Failure);
    };
    let digests = hs.each_mut().map(ResumableHash::finish_in_place);
    tpm.objects.discard(h);
    if pcr != Handle::Null {
        extend_all(tpm, pcr, &digests);
    }
    write_digest_values(rsp, &digests)
}
