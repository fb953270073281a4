//! Testing commands (Part 3, section 10) and TPM2_TestParms (Part 3, 12.? / 10.?).
//!
//! Every algorithm has known-answer tests that run at build time (`cargo test`), and the engine
//! has no failure mode to test into, so self-tests pass at once.

use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use tpm_proto::{AlgId, Rc};

/// `TPM2_SelfTest(fullTest)`.
pub(crate) fn self_test<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let full: u8 = cmd.param()?;
    if full > 1 {
        return Err(Rc::Value.param(1));
    }
    cmd.end()?;
    tpm.tested = true;
    Ok(())
}

/// Largest `TPML_ALG` (`MAX_ALG_LIST_SIZE`).
const MAX_ALG_LIST_SIZE: u32 = 64;

/// `TPM2_IncrementalSelfTest(toTest)`: returns the (empty) list of algorithms still to test.
pub(crate) fn incremental_self_test<P: Platform>(
    _tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let count: u32 = cmd.param()?;
    if count > MAX_ALG_LIST_SIZE {
        return Err(Rc::Size.param(1));
    }
    for _ in 0..count {
        let alg: AlgId = cmd.params.read().map_err(|rc| rc.param(1))?;
        if !super::capability::ALGORITHMS.iter().any(|(a, _)| *a == alg) {
            return Err(Rc::Value.param(1));
        }
    }
    cmd.end()?;
    rsp.u32(0)
}

/// `TPM2_GetTestResult`: no failure data, `TPM_RC_SUCCESS`.
pub(crate) fn get_test_result<P: Platform>(
    _tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    rsp.sized(&[])?;
    rsp.u32(Rc::Success.0)
}

/// `TPM2_TestParms(parameters)`: the algorithm parameters are checked while unmarshalling
/// `TPMT_PUBLIC_PARMS` against what this TPM implements (reference `TPM2_TestParms`).
pub(crate) fn test_parms<P: Platform>(
    _tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let _parms: tpm_proto::TpmtPublicParms = cmd.param()?;
    cmd.end()
}
