//! Command dispatch: header, handles, authorization area, parameters, response.

use crate::engine::{Platform, Tpm};

pub(crate) fn execute<P: Platform>(
    _tpm: &mut Tpm<P>,
    _locality: u8,
    _command: &[u8],
    response: &mut [u8],
) -> usize {
    // Placeholder until the dispatcher lands: TPM_RC_COMMAND_CODE.
    let rsp = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x43];
    if response.len() < rsp.len() {
        return 0;
    }
    response[..10].copy_from_slice(&rsp);
    10
}
