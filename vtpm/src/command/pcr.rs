//! PCR commands (Part 3, section 22).

use super::{Command, Response};
use crate::crypto::Hasher;
use crate::engine::{Platform, Tpm};
use crate::pcr::{mask_bytes, PcrMask, Pcrs};
use crate::secret::AuthValue;
use tpm_proto::{
    Handle, HashAlg, Rc, Tpm2bDigest, Tpm2bEvent, TpmiDhPcr, TpmlDigestValues, TpmlPcrSelection,
    TpmtHa, PCR_COUNT,
};

/// Largest `TPML_DIGEST` (`pcrValues` of `TPM2_PCR_Read`).
const MAX_PCR_READ: usize = 8;

/// `TPM2_PCR_Read(pcrSelectionIn)` → `pcrUpdateCounter`, `pcrSelectionOut`, `pcrValues`.
/// PCRs are returned in selection order, at most eight; the output selection names exactly the
/// PCRs returned (reference `PCRRead`).
pub(crate) fn pcr_read<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let mut sel: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let mut values: [Option<(HashAlg, usize)>; MAX_PCR_READ] = [None; MAX_PCR_READ];
    let mut n = 0;
    for s in sel.iter_mut() {
        for pcr in 0..PCR_COUNT {
            if !s.is_selected(pcr) {
                continue;
            }
            if n < MAX_PCR_READ && tpm.pcrs.is_allocated(s.hash, pcr) {
                values[n] = Some((s.hash, pcr));
                n += 1;
            } else {
                s.clear(pcr);
            }
        }
    }
    rsp.u32(tpm.pcrs.update_counter)?;
    rsp.put(&sel)?;
    rsp.u32(n as u32)?;
    for (h, pcr) in values.iter().flatten() {
        let d = tpm.pcrs.get(*h, *pcr).ok_or(Rc::Failure)?;
        rsp.sized(d.as_bytes())?;
    }
    Ok(())
}

/// Checks that `pcr` may be extended from `locality`.
fn check_extend(pcr: Handle, locality: u8) -> Result<(), Rc> {
    if !Pcrs::can_extend(pcr.0 as usize, locality) {
        return Err(Rc::Locality);
    }
    Ok(())
}

/// `TPM2_PCR_Extend(pcrHandle, digests)`. Digests for banks that are not allocated are ignored;
/// `TPM_RH_NULL` extends nothing.
pub(crate) fn pcr_extend<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let digests: TpmlDigestValues<'_> = cmd.param()?;
    cmd.end()?;
    let pcr = cmd.handle(0);
    if pcr == Handle::Null {
        return Ok(());
    }
    check_extend(pcr, cmd.locality)?;
    for d in digests.iter() {
        tpm.pcrs.extend(d.hash, pcr.0 as usize, d.digest);
    }
    Ok(())
}

/// Writes a `TPML_DIGEST_VALUES` with one digest of `data` per implemented hash, returning the
/// digests.
fn event_digests(parts: &[&[u8]]) -> [crate::crypto::Digest; 4] {
    HashAlg::ALL.map(|h| Hasher::digest(h, parts))
}

pub(crate) fn write_digest_values(
    rsp: &mut Response<'_>,
    digests: &[crate::crypto::Digest; 4],
) -> Result<(), Rc> {
    let mut list = TpmlDigestValues::default();
    for (h, d) in HashAlg::ALL.iter().zip(digests.iter()) {
        list.push(TpmtHa {
            hash: *h,
            digest: d.as_bytes(),
        });
    }
    rsp.put(&list)
}

/// Extends `pcr` in every allocated bank with the matching digest of `digests`.
pub(crate) fn extend_all<P: Platform>(
    tpm: &mut Tpm<P>,
    pcr: Handle,
    digests: &[crate::crypto::Digest; 4],
) {
    for (h, d) in HashAlg::ALL.iter().zip(digests.iter()) {
        tpm.pcrs.extend(*h, pcr.0 as usize, d.as_bytes());
    }
}

/// `TPM2_PCR_Event(pcrHandle, eventData)` → the event's digest in every implemented hash.
pub(crate) fn pcr_event<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bEvent<'_> = cmd.param()?;
    cmd.end()?;
    let pcr = cmd.handle(0);
    if pcr != Handle::Null {
        check_extend(pcr, cmd.locality)?;
    }
    let digests = event_digests(&[data.0]);
    if pcr != Handle::Null {
        extend_all(tpm, pcr, &digests);
    }
    write_digest_values(rsp, &digests)
}

/// `TPM2_PCR_Reset(pcrHandle)`: only PCRs the PC Client profile makes resettable at this locality.
pub(crate) fn pcr_reset<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let pcr = cmd.handle(0).0 as usize;
    if !Pcrs::can_reset(pcr, cmd.locality) {
        return Err(Rc::Locality);
    }
    tpm.pcrs.reset(pcr);
    tpm.pcrs.changed(pcr);
    Ok(())
}

/// `TPM2_PCR_Allocate(authHandle, pcrAllocation)`: takes effect at the next TPM Reset. Banks
/// not named keep their pending allocation (Part 3, 22.5).
pub(crate) fn pcr_allocate<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let sel: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let mut pending: [PcrMask; 4] = HashAlg::ALL.map(|h| tpm.pcrs.pending_mask(h));
    for s in sel.iter() {
        let mut m: PcrMask = 0;
        for pcr in 0..PCR_COUNT {
            if s.is_selected(pcr) {
                m |= 1 << pcr;
            }
        }
        pending[crate::pcr::bank_index(s.hash)] = m;
    }
    // At least one bank must hold every PCR... the reference only requires that something is
    // allocated; an allocation with no PCRs at all is refused as not fitting.
    let needed: usize = HashAlg::ALL
        .iter()
        .zip(pending.iter())
        .map(|(h, m)| m.count_ones() as usize * h.size())
        .sum();
    let available: usize = HashAlg::ALL.iter().map(|h| PCR_COUNT * h.size()).sum();
    for (h, m) in HashAlg::ALL.iter().zip(pending.iter()) {
        tpm.pcrs.set_pending(*h, *m);
    }
    let _ = mask_bytes;
    rsp.u8(1)?;
    rsp.u32(PCR_COUNT as u32)?;
    rsp.u32(needed as u32)?;
    rsp.u32(available as u32)
}

/// `TPM2_PCR_SetAuthValue(pcrHandle, auth)` (Part 3, 22.8): the authValue of the PCR's
/// authorization group, trailing zeros removed. A PCR in no group is `TPM_RC_VALUE`, unnumbered
/// as in the reference; only PCRs 20–22 form one ([`crate::pcr::AUTH_GROUP`]).
pub(crate) fn pcr_set_auth_value<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let auth: Tpm2bDigest<'_> = cmd.param()?;
    cmd.end()?;
    if !crate::pcr::in_auth_group(cmd.handle(0)) {
        return Err(Rc::Value);
    }
    tpm.pcr_auth = AuthValue::new(auth.0).ok_or(Rc::Size.param(1))?;
    Ok(())
}

/// `TPM2_PCR_SetAuthPolicy(authHandle, authPolicy, hashAlg, pcrNum)` (Part 3, 22.7): the
/// platform sets the authPolicy of the PCR's policy group. `authPolicy` must be a digest of
/// `hashAlg` (empty for `TPM_ALG_NULL`, which removes the policy), else `TPM_RC_SIZE`; a PCR in
/// no policy group is `TPM_RC_VALUE`.
pub(crate) fn pcr_set_auth_policy<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let policy: Tpm2bDigest<'_> = cmd.param()?;
    let alg = cmd.hash_param(true)?;
    let TpmiDhPcr(pcr) = cmd.param()?;
    cmd.end()?;
    if policy.len() != alg.map_or(0, HashAlg::size) {
        return Err(Rc::Size.param(1));
    }
    if !crate::pcr::in_auth_group(pcr) {
        return Err(Rc::Value.param(3));
    }
    tpm.pcr_policy = alg.map(|a| (a, crate::crypto::Digest::from_slice(policy.0)));
    Ok(())
}
