//! NV commands (Part 3, section 31).
//!
//! Authorization has been checked by the dispatcher before a handler runs: for an index that
//! authorizes itself, that check already required `AUTHWRITE`/`AUTHREAD` (or the policy
//! equivalents); the handlers add the checks of the reference `NvWriteAccessChecks` and
//! `NvReadAccessChecks` for owner and platform authorization, the locks and `WRITTEN`.

use super::attest::{attest, signer};
use super::sign::scheme_hash;
use super::{Command, Response};
use crate::crypto::Hasher;
use crate::engine::{Platform, Tpm};
use crate::nv::NvIndex;
use crate::secret::AuthValue;
use tpm_proto::{
    nt, AllowNull, Handle, Rc, Tpm2bAuth, Tpm2bData, Tpm2bDigest, Tpm2bMaxNvBuffer, Tpm2bName,
    Tpm2bNvPublic, TpmaNv, TpmsNvCertifyInfo, TpmsNvDigestCertifyInfo, TpmtSigScheme, TpmuAttest,
    MAX_BUFFER, MAX_NV_INDEX_SIZE,
};
use zeroize::Zeroizing;

/// The index named by the command's `i`-th handle. The dispatcher has checked that it is
/// defined; `TPM_RC_HANDLE` is the answer should it not be.
fn index<'t, P: Platform>(tpm: &'t Tpm<P>, cmd: &Command<'_>, i: usize) -> Result<&'t NvIndex, Rc> {
    tpm.nv
        .get(cmd.handle(i))
        .ok_or(Rc::Handle.handle(i as u32 + 1))
}

fn index_mut<'t, P: Platform>(
    tpm: &'t mut Tpm<P>,
    cmd: &Command<'_>,
    i: usize,
) -> Result<&'t mut NvIndex, Rc> {
    tpm.nv
        .get_mut(cmd.handle(i))
        .ok_or(Rc::Handle.handle(i as u32 + 1))
}

/// Reference `NvWriteAccessChecks`: `TPM_RC_NV_LOCKED` if write-locked; owner or platform
/// authorization needs `OWNERWRITE`/`PPWRITE`; any other authorizing handle must be the index.
fn write_access(auth: Handle, index: &NvIndex) -> Result<(), Rc> {
    if index.is(TpmaNv::WRITELOCKED) {
        return Err(Rc::NvLocked);
    }
    let allowed = match auth {
        Handle::Owner => index.is(TpmaNv::OWNERWRITE),
        Handle::Platform => index.is(TpmaNv::PPWRITE),
        h => h == index.handle,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rc::NvAuthorization)
    }
}

/// Reference `NvReadAccessChecks`: as [`write_access`] for reading, then
/// `TPM_RC_NV_UNINITIALIZED` for an index never written.
pub(crate) fn read_access(auth: Handle, index: &NvIndex) -> Result<(), Rc> {
    if index.is(TpmaNv::READLOCKED) {
        return Err(Rc::NvLocked);
    }
    let allowed = match auth {
        Handle::Owner => index.is(TpmaNv::OWNERREAD),
        Handle::Platform => index.is(TpmaNv::PPREAD),
        h => h == index.handle,
    };
    if !allowed {
        return Err(Rc::NvAuthorization);
    }
    if !index.is(TpmaNv::WRITTEN) {
        return Err(Rc::NvUninitialized);
    }
    Ok(())
}

/// `TPM2_NV_DefineSpace(authHandle, auth, publicInfo)`, with the consistency checks of the
/// reference `TPM2_NV_DefineSpace` in its order (Part 3, 31.3).
pub(crate) fn nv_define_space<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let auth: Tpm2bAuth<'_> = cmd.param()?;
    let info: Tpm2bNvPublic<'_> = cmd.param()?;
    cmd.end()?;
    let public = info.nv_public;
    let a = public.attributes;
    let name_size = public.name_alg.size();
    let bad_public = Rc::Attributes.param(2);
    let bad_size = Rc::Size.param(2);

    if !public.auth_policy.is_empty() && public.auth_policy.len() != name_size {
        return Err(bad_size);
    }
    let auth = AuthValue::new(auth.0).ok_or(Rc::Size.param(1))?;
    if auth.as_bytes().len() > name_size {
        return Err(Rc::Size.param(1));
    }
    let ty = a.nt();
    match ty {
        nt::ORDINARY | nt::COUNTER | nt::BITS | nt::EXTEND | nt::PIN_PASS | nt::PIN_FAIL => {}
        _ => return Err(bad_public),
    }
    let size_ok = match ty {
        nt::ORDINARY => public.data_size <= MAX_NV_INDEX_SIZE,
        nt::EXTEND => public.data_size as usize == name_size,
        _ => public.data_size == 8,
    };
    if !size_ok {
        return Err(bad_size);
    }
    match ty {
        nt::COUNTER if a.contains(TpmaNv::CLEAR_STCLEAR) => return Err(bad_public),
        nt::PIN_FAIL if !a.contains(TpmaNv::NO_DA) => return Err(bad_public),
        nt::PIN_FAIL | nt::PIN_PASS
            if a.intersects(TpmaNv::AUTHWRITE | TpmaNv::GLOBALLOCK | TpmaNv::WRITEDEFINE) =>
        {
            return Err(bad_public)
        }
        _ => {}
    }
    if a.intersects(TpmaNv::WRITTEN | TpmaNv::WRITELOCKED | TpmaNv::READLOCKED) {
        return Err(bad_public);
    }
    let read = TpmaNv::OWNERREAD | TpmaNv::PPREAD | TpmaNv::AUTHREAD | TpmaNv::POLICYREAD;
    let write = TpmaNv::OWNERWRITE | TpmaNv::PPWRITE | TpmaNv::AUTHWRITE | TpmaNv::POLICYWRITE;
    if !a.intersects(read) || !a.intersects(write) {
        return Err(bad_public);
    }
    if a.contains(TpmaNv::CLEAR_STCLEAR | TpmaNv::WRITEDEFINE) {
        return Err(bad_public);
    }
    let by_platform = cmd.handle(0) == Handle::Platform;
    if a.contains(TpmaNv::PLATFORMCREATE) != by_platform {
        return Err(Rc::Attributes.handle(1));
    }
    if a.contains(TpmaNv::POLICY_DELETE) && !by_platform {
        return Err(bad_public);
    }
    if public.data_size as usize > MAX_BUFFER && a.contains(TpmaNv::WRITEALL) {
        return Err(bad_size);
    }
    tpm.nv.define(NvIndex::new(&public, auth))
}

/// `TPM2_NV_UndefineSpace(authHandle, nvIndex)`: not for a `POLICY_DELETE` index; the owner may
/// not delete a platform-created one (Part 3, 31.4).
pub(crate) fn nv_undefine_space<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let i = index(tpm, cmd, 1)?;
    if i.is(TpmaNv::POLICY_DELETE) {
        return Err(Rc::Attributes.handle(2));
    }
    if cmd.handle(0) == Handle::Owner && i.is(TpmaNv::PLATFORMCREATE) {
        return Err(Rc::NvAuthorization);
    }
    tpm.nv.undefine(cmd.handle(1));
    Ok(())
}

/// `TPM2_NV_UndefineSpaceSpecial(nvIndex, platform)`: deletes a `POLICY_DELETE` index. The index
/// is authorized in the ADMIN role, which only a policy session satisfies (Part 3, 31.5).
pub(crate) fn nv_undefine_space_special<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    if !index(tpm, cmd, 0)?.is(TpmaNv::POLICY_DELETE) {
        return Err(Rc::Attributes.handle(1));
    }
    tpm.nv.undefine(cmd.handle(0));
    Ok(())
}

/// `TPM2_NV_ReadPublic(nvIndex)` → `nvPublic`, `nvName` (Part 3, 31.6). Needs no authorization.
pub(crate) fn nv_read_public<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let i = index(tpm, cmd, 0)?;
    rsp.put(&Tpm2bNvPublic {
        nv_public: i.public(),
    })?;
    rsp.sized(i.name().as_bytes())
}

/// `TPM2_NV_Write(authHandle, nvIndex, data, offset)`: ordinary (and PIN) indices only; with
/// `WRITEALL` the whole index at once (Part 3, 31.7).
pub(crate) fn nv_write<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxNvBuffer<'_> = cmd.param()?;
    let offset: u16 = cmd.param()?;
    cmd.end()?;
    let i = index_mut(tpm, cmd, 1)?;
    write_access(cmd.handle(0), i)?;
    if matches!(i.nt(), nt::COUNTER | nt::BITS | nt::EXTEND) {
        return Err(Rc::Attributes);
    }
    let (offset, size) = (offset as usize, i.data_size as usize);
    if offset > size {
        return Err(Rc::Value.param(2));
    }
    if data.len() > size - offset {
        return Err(Rc::NvRange);
    }
    if i.is(TpmaNv::WRITEALL) && data.len() < size {
        return Err(Rc::NvRange);
    }
    i.write(offset, data.0)
}

/// `TPM2_NV_Increment(authHandle, nvIndex)`: a counter's first increment starts above every
/// deleted counter (Part 3, 31.8).
pub(crate) fn nv_increment<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let max = tpm.nv.max_count();
    let i = index_mut(tpm, cmd, 1)?;
    write_access(cmd.handle(0), i)?;
    if i.nt() != nt::COUNTER {
        return Err(Rc::Attributes.handle(2));
    }
    let v = if i.is(TpmaNv::WRITTEN) { i.u64() } else { max };
    i.write_u64(v.wrapping_add(1))
}

/// `TPM2_NV_Extend(authHandle, nvIndex, data)`: `H(old || data)` with the index's nameAlg, the
/// old value all zeros while unwritten (Part 3, 31.9).
pub(crate) fn nv_extend<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxNvBuffer<'_> = cmd.param()?;
    cmd.end()?;
    let i = index_mut(tpm, cmd, 1)?;
    write_access(cmd.handle(0), i)?;
    if i.nt() != nt::EXTEND {
        return Err(Rc::Attributes.handle(2));
    }
    let zeros = [0u8; tpm_proto::MAX_DIGEST_SIZE];
    let size = i.name_alg.size();
    let old = if i.is(TpmaNv::WRITTEN) {
        i.read(0, size)?
    } else {
        zeros.get(..size).ok_or(Rc::Failure)?
    };
    let new = Hasher::digest(i.name_alg, &[old, data.0]);
    i.write(0, new.as_bytes())
}

/// `TPM2_NV_SetBits(authHandle, nvIndex, bits)`: ORs `bits` into a bit field (Part 3, 31.10).
pub(crate) fn nv_set_bits<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let bits: u64 = cmd.param()?;
    cmd.end()?;
    let i = index_mut(tpm, cmd, 1)?;
    write_access(cmd.handle(0), i)?;
    if i.nt() != nt::BITS {
        return Err(Rc::Attributes.handle(2));
    }
    let old = if i.is(TpmaNv::WRITTEN) { i.u64() } else { 0 };
    i.write_u64(old | bits)
}

/// `TPM2_NV_WriteLock(authHandle, nvIndex)`: an already locked index is success; the index needs
/// `WRITEDEFINE` or `WRITE_STCLEAR` (Part 3, 31.11).
pub(crate) fn nv_write_lock<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let i = index_mut(tpm, cmd, 1)?;
    match write_access(cmd.handle(0), i) {
        Err(Rc::NvAuthorization) => return Err(Rc::NvAuthorization),
        Err(_) => return Ok(()),
        Ok(()) => {}
    }
    if !i
        .attributes
        .intersects(TpmaNv::WRITEDEFINE | TpmaNv::WRITE_STCLEAR)
    {
        return Err(Rc::Attributes.handle(2));
    }
    i.attributes |= TpmaNv::WRITELOCKED;
    Ok(())
}

/// `TPM2_NV_GlobalWriteLock(authHandle)`: write-locks every `GLOBALLOCK` index (Part 3, 31.12).
pub(crate) fn nv_global_write_lock<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    tpm.nv.global_write_lock();
    Ok(())
}

/// `TPM2_NV_Read(authHandle, nvIndex, size, offset)` → `data` (Part 3, 31.13).
pub(crate) fn nv_read<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let size: u16 = cmd.param()?;
    let offset: u16 = cmd.param()?;
    cmd.end()?;
    let i = index(tpm, cmd, 1)?;
    read_access(cmd.handle(0), i)?;
    let (size, offset, data_size) = (size as usize, offset as usize, i.data_size as usize);
    if size > MAX_BUFFER {
        return Err(Rc::Value.param(1));
    }
    if offset > data_size {
        return Err(Rc::Value.param(2));
    }
    if size > data_size - offset {
        return Err(Rc::NvRange);
    }
    rsp.sized(i.read(offset, size)?)
}

/// `TPM2_NV_ReadLock(authHandle, nvIndex)`: an already locked or unwritten index is fine; the
/// index needs `READ_STCLEAR` (Part 3, 31.14).
pub(crate) fn nv_read_lock<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    let i = index_mut(tpm, cmd, 1)?;
    match read_access(cmd.handle(0), i) {
        Err(Rc::NvAuthorization) => return Err(Rc::NvAuthorization),
        Err(Rc::NvLocked) => return Ok(()),
        _ => {}
    }
    if !i.is(TpmaNv::READ_STCLEAR) {
        return Err(Rc::Attributes.handle(2));
    }
    i.attributes |= TpmaNv::READLOCKED;
    Ok(())
}

/// `TPM2_NV_ChangeAuth(nvIndex, newAuth)`: at most the nameAlg's digest size after trailing
/// zeros are removed (Part 3, 31.15). The index is authorized in the ADMIN role, which only a
/// policy session (with `TPM2_PolicyCommandCode(NV_ChangeAuth)`) satisfies.
pub(crate) fn nv_change_auth<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let new: Tpm2bAuth<'_> = cmd.param()?;
    cmd.end()?;
    let i = index_mut(tpm, cmd, 0)?;
    let auth = AuthValue::new(new.0).ok_or(Rc::Size.param(1))?;
    if auth.as_bytes().len() > i.name_alg.size() {
        return Err(Rc::Size.param(1));
    }
    i.auth = auth;
    Ok(())
}

/// `TPM2_NV_Certify(signHandle, authHandle, nvIndex; qualifyingData, inScheme, size, offset)` →
/// `certifyInfo`, `signature` (Part 3, 31.16). The checks are those of the reference, in its
/// order: the signing key (`TPM_RC_KEY` on handle 1) and scheme (`TPM_RC_SCHEME` on parameter 2),
/// the read access checks, `offset + size` inside the index (`TPM_RC_NV_RANGE`), then `size` at
/// most `MAX_NV_BUFFER_SIZE` (`TPM_RC_VALUE` on parameter 3).
///
/// A non-zero `size` or `offset` certifies `size` octets from `offset` (`TPM_ST_ATTEST_NV`,
/// `TPMS_NV_CERTIFY_INFO`); both zero certifies the digest of the whole index data, taken with the
/// hash of the selected signing scheme (`TPM_ST_ATTEST_NV_DIGEST`, `TPMS_NV_DIGEST_CERTIFY_INFO`,
/// rev 1.59). With `signHandle` `TPM_RH_NULL` the scheme is NULL, so that digest is empty, as in
/// the reference.
pub(crate) fn nv_certify<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let qualifying_data: Tpm2bData<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtSigScheme> = cmd.param()?;
    let size: u16 = cmd.param()?;
    let offset: u16 = cmd.param()?;
    cmd.end()?;
    let sign_h = cmd.handle(0);
    let scheme = signer(tpm, sign_h, 1, in_scheme, 2)?;
    let i = index(tpm, cmd, 2)?;
    read_access(cmd.handle(1), i)?;
    let (start, len) = (usize::from(offset), usize::from(size));
    if start + len > usize::from(i.data_size) {
        return Err(Rc::NvRange);
    }
    if len > MAX_BUFFER {
        return Err(Rc::Value.param(3));
    }
    let name = i.name();
    let index_name = Tpm2bName(name.as_bytes());
    if len != 0 || start != 0 {
        let mut buf = Zeroizing::new([0u8; MAX_BUFFER]);
        let contents = buf.get_mut(..len).ok_or(Rc::Failure)?;
        contents.copy_from_slice(i.read(start, len)?);
        let attested = TpmuAttest::Nv(TpmsNvCertifyInfo {
            index_name,
            offset,
            nv_contents: Tpm2bMaxNvBuffer(contents),
        });
        attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
    } else {
        let digest = match scheme_hash(&scheme) {
            Some(hash) => Some(Hasher::digest(
                hash,
                &[i.read(0, usize::from(i.data_size))?],
            )),
            None => None,
        };
        let attested = TpmuAttest::NvDigest(TpmsNvDigestCertifyInfo {
            index_name,
            nv_digest: Tpm2bDigest(digest.as_ref().map_or(&[], |d| d.as_bytes())),
        });
        attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
    }
}
