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
