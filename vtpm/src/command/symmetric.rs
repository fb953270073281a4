//! Symmetric encryption (Part 3, sections 15.2 and 15.3): `TPM2_EncryptDecrypt` and
//! `TPM2_EncryptDecrypt2` (reference `EncryptDecryptShared`).

use super::load::key_at;
use super::{Command, Response};
use crate::crypto::{sym, SymMode};
use crate::engine::{Platform, Tpm};
use crate::object::KeyMaterial;
use alloc::vec::Vec;
use tpm_proto::{
    AllowNull, Rc, Tpm2bIv, Tpm2bMaxBuffer, TpmaObject as A, TpmiAlgSymMode, TpmtSymDefObject,
    TpmuPublicParms,
};

/// Parameter numbers of `decrypt`, `mode`, `ivIn` and `inData` in the command.
struct Numbers {
    mode: u32,
    iv: u32,
    data: u32,
}

fn mode_of(m: TpmiAlgSymMode) -> SymMode {
    match m {
        TpmiAlgSymMode::Cfb => SymMode::Cfb,
        TpmiAlgSymMode::Ctr => SymMode::Ctr,
        TpmiAlgSymMode::Ofb => SymMode::Ofb,
        TpmiAlgSymMode::Cbc => SymMode::Cbc,
        TpmiAlgSymMode::Ecb => SymMode::Ecb,
    }
}

#[allow(clippy::too_many_arguments, reason = "the command's parameters")]
fn encrypt_decrypt<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &Command<'_>,
    rsp: &mut Response<'_>,
    decrypt: bool,
    mode_in: Option<TpmiAlgSymMode>,
    iv_in: Tpm2bIv<'_>,
    data: Tpm2bMaxBuffer<'_>,
    n: Numbers,
) -> Result<(), Rc> {
    let k = key_at(tpm, cmd.handle(0), 1)?;
    let TpmuPublicParms::SymCipher(p) = &k.parameters else {
        return Err(Rc::Key.handle(1));
    };
    let ok = !k.has(A::RESTRICTED) && k.has(if decrypt { A::DECRYPT } else { A::SIGN_ENCRYPT });
    if !ok {
        return Err(Rc::Attributes.handle(1));
    }
    let TpmtSymDefObject::Aes { mode: key_mode, .. } = p.sym else {
        return Err(Rc::Key.handle(1));
    };
    let mode = match (key_mode, mode_in) {
        (Some(k), Some(i)) if k != i => return Err(Rc::Mode.param(n.mode)),
        (Some(k), _) => k,
        (None, Some(i)) => i,
        (None, None) => return Err(Rc::Mode.param(n.mode)),
    };
    let mode = mode_of(mode);
    let iv_ok = if mode == SymMode::Ecb {
        iv_in.is_empty()
    } else {
        iv_in.len() == sym::BLOCK
    };
    if !iv_ok {
        return Err(Rc::Size.param(n.iv));
    }
    if matches!(mode, SymMode::Cbc | SymMode::Ecb) && !data.len().is_multiple_of(sym::BLOCK) {
        return Err(Rc::Size.param(n.data));
    }
    let Some(KeyMaterial::Sym(key)) = k.sensitive.as_ref().map(|s| &s.key) else {
        return Err(Rc::Key.handle(1));
    };
    let mut iv = iv_in.0.to_vec();
    let mut out = zeroize::Zeroizing::new(data.0.to_vec());
    if mode == SymMode::Ecb {
        iv = Vec::new();
    }
    let mut chain = [0u8; sym::BLOCK];
    let r = if mode == SymMode::Ecb {
        if decrypt {
            sym::decrypt(key, mode, &mut [], &mut out)
        } else {
            sym::encrypt(key, mode, &mut [], &mut out)
        }
    } else {
        chain.copy_from_slice(&iv);
        if decrypt {
            sym::decrypt(key, mode, &mut chain, &mut out)
        } else {
            sym::encrypt(key, mode, &mut chain, &mut out)
        }
    };
    r?;
    if mode != SymMode::Ecb {
        iv = chain.to_vec();
    }
    rsp.sized(&out)?;
    rsp.sized(&iv)
}

/// `TPM2_EncryptDecrypt(keyHandle; decrypt, mode, ivIn, inData)` → `outData`, `ivOut`.
pub(crate) fn encrypt_decrypt1<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let decrypt: bool = cmd.param()?;
    let AllowNull(mode): AllowNull<Option<TpmiAlgSymMode>> = cmd.param()?;
    let iv: Tpm2bIv<'_> = cmd.param()?;
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    cmd.end()?;
    let n = Numbers {
        mode: 2,
        iv: 3,
        data: 4,
    };
    encrypt_decrypt(tpm, cmd, rsp, decrypt, mode, iv, data, n)
}

/// `TPM2_EncryptDecrypt2(keyHandle; inData, decrypt, mode, ivIn)` → `outData`, `ivOut`.
pub(crate) fn encrypt_decrypt2<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    let decrypt: bool = cmd.param()?;
    let AllowNull(mode): AllowNull<Option<TpmiAlgSymMode>> = cmd.param()?;
    let iv: Tpm2bIv<'_> = cmd.param()?;
    cmd.end()?;
    let n = Numbers {
        mode: 3,
        iv: 4,
        data: 1,
    };
    encrypt_decrypt(tpm, cmd, rsp, decrypt, mode, iv, data, n)
}
