//! TPM2_GetRandom and TPM2_StirRandom (Part 3, section 16).

use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use tpm_proto::{Rc, Tpm2bMaxBuffer, MAX_DIGEST_SIZE};

/// `TPM2_GetRandom(bytesRequested)`: at most `sizeof(TPMU_HA)` (64) bytes.
pub(crate) fn get_random<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let requested: u16 = cmd.param()?;
    cmd.end()?;
    let n = (requested as usize).min(MAX_DIGEST_SIZE);
    let mut buf = [0u8; MAX_DIGEST_SIZE];
    tpm.random(&mut buf[..n])?;
    rsp.sized(&buf[..n])
}

/// `sizeof(TPM2B_SENSITIVE_DATA.buffer)` (`MAX_SYM_DATA`).
const MAX_SYM_DATA: usize = 128;

/// `TPM2_StirRandom(inData)`: mixes caller data into the DRBG as additional input.
pub(crate) fn stir_random<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let data: Tpm2bMaxBuffer<'_> = cmd.param()?;
    if data.len() > MAX_SYM_DATA {
        return Err(Rc::Size.param(1));
    }
    cmd.end()?;
    // As the reference implementation's DRBG_AdditionalData: an HMAC_DRBG update with the
    // caller's data as additional input. No platform entropy is drawn here (that would cost a
    // system call per command on the host); the DRBG reseeds from the platform on its interval.
    tpm.drbg.add_input(data.0);
    Ok(())
}
