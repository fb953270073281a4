//! TPM2_ReadClock (Part 3, 29.1).

use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use tpm_proto::Rc;

/// `TPM2_ReadClock` → `TPMS_TIME_INFO`. `safe` is always YES: `Clock` lives in memory for the
/// life of this ephemeral TPM and never goes backwards, so no value greater than the current
/// one can have been reported (Part 1, 36.6).
pub(crate) fn read_clock<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    write_time_info(tpm, rsp)
}

/// Writes `TPMS_TIME_INFO` (`time`, then `TPMS_CLOCK_INFO`).
pub(crate) fn write_time_info<P: Platform>(tpm: &Tpm<P>, rsp: &mut Response<'_>) -> Result<(), Rc> {
    rsp.u64(tpm.time_now())?;
    write_clock_info(tpm, rsp)
}

/// Writes `TPMS_CLOCK_INFO`.
pub(crate) fn write_clock_info<P: Platform>(
    tpm: &Tpm<P>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    rsp.u64(tpm.clock_now())?;
    rsp.u32(tpm.clock.reset_count)?;
    rsp.u32(tpm.clock.restart_count)?;
    rsp.u8(1)
}

/// `TPM2_ClockSet(auth, newTime)` (Part 3, 29.2): `Clock` may only move forward.
pub(crate) fn clock_set<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let new_time: u64 = cmd.param()?;
    cmd.end()?;
    // The top 16 bits are reserved for the TPM's own use (reference `MAX_CLOCK_SET`).
    if new_time > 0xFFFF_0000_0000_0000 || new_time < tpm.clock_now() {
        return Err(Rc::Value.param(1));
    }
    tpm.clock.clock_base = new_time;
    tpm.clock.base_ms = tpm.platform.monotonic_ms();
    Ok(())
}

/// `TPM2_ClockRateAdjust(auth, rateAdjust)` (Part 3, 29.3): accepted within the
/// `TPM_CLOCK_ADJUST` range; this TPM's `Clock` follows the platform's monotonic clock exactly.
pub(crate) fn clock_rate_adjust<P: Platform>(
    _tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let adjust = cmd.param::<u8>()? as i8;
    cmd.end()?;
    if !(-3..=3).contains(&adjust) {
        return Err(Rc::Value.param(1));
    }
    Ok(())
}
