//! The attestation protocol (protocol 1; SVSM spec chapter 7, table 10: `SVSM_ATTEST_SERVICES`
//! 0, `SVSM_ATTEST_SINGLE_SERVICE` 1).
//!
//! Not served yet: the dispatch slot is here so the protocol number is reserved and every call
//! answers `SVSM_ERR_UNSUPPORTED_CALL` (and `SVSM_CORE_QUERY_PROTOCOL` reports the protocol
//! unsupported) until the attestation service lands.

use super::{Registers, SvsmError, SvsmResult};

pub const SVSM_ATTEST_SERVICES: u32 = 0;
pub const SVSM_ATTEST_SINGLE_SERVICE: u32 = 1;

/// Runs attestation call `call`.
pub fn handle(call: u32, _regs: &mut Registers) -> SvsmResult {
    match call {
        SVSM_ATTEST_SERVICES | SVSM_ATTEST_SINGLE_SERVICE => Err(SvsmError::UnsupportedCall),
        _ => Err(SvsmError::UnsupportedCall),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn attestation_calls_are_not_served_yet() {
        let mut s = svsm();
        for c in [SVSM_ATTEST_SERVICES, SVSM_ATTEST_SINGLE_SERVICE, 2] {
            let r = call(
                &mut s,
                super::super::SVSM_ATTEST_PROTOCOL,
                c,
                [0x50_0000, 0, 0, 0],
            );
            assert_eq!(r.rax, SvsmError::UnsupportedCall.code());
            assert_eq!(r.rcx, 0x50_0000);
        }
    }
}
