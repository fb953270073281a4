//! The vTPM service: the engine, manufactured before any guest code runs, with its endorsement
//! keys derived at the same moment and their `TPMT_PUBLIC` cached. The EK public areas are what
//! the attestation protocol reports as the vTPM service manifest (AMD 58019, the vTPM service
//! attestation: the manifest is the EK's `TPMT_PUBLIC`), so they are computed here, directly from
//! the endorsement seed and the TCG EK Credential Profile templates — never by a `CreatePrimary`
//! sent on the guest's behalf later. `TPM2_Startup` is left to the guest, as on real hardware.

use crate::platform::qemu_test::Signals;
use crate::protocol::vtpm::Engine;
use alloc::vec::Vec;
use vtpm::{EkTemplate, Platform, Tpm};

/// The engine and the cached EK public areas.
#[derive(Debug)]
pub struct VtpmService<P: Platform> {
    pub tpm: Tpm<P>,
    /// `TPMT_PUBLIC` of the RSA-2048 EK (template L-1).
    pub ek_rsa: Vec<u8>,
    /// `TPMT_PUBLIC` of the ECC P-256 EK (template L-2).
    pub ek_ecc: Vec<u8>,
}

impl<P: Platform> VtpmService<P> {
    /// Derives both EKs from the freshly manufactured engine.
    pub fn new(mut tpm: Tpm<P>) -> Result<VtpmService<P>, tpm_proto::Rc> {
        let ek_rsa = tpm.ek_public(EkTemplate::RsaL1)?;
        let ek_ecc = tpm.ek_public(EkTemplate::EccL2)?;
        Ok(VtpmService {
            tpm,
            ek_rsa,
            ek_ecc,
        })
    }
}

impl<P: Platform> Engine for VtpmService<P> {
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        self.tpm.execute(locality, command, response)
    }
}

impl<P: Platform> Signals for VtpmService<P> {
    fn power_on(&mut self) {
        self.tpm.power_on()
    }

    fn power_off(&mut self) {
        self.tpm.power_off()
    }

    fn set_cancel(&mut self, on: bool) {
        self.tpm.set_cancel(on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Counter(u8);
    impl Platform for Counter {
        fn entropy(&mut self, buf: &mut [u8]) -> Result<(), vtpm::PlatformError> {
            for b in buf {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
        fn monotonic_ms(&self) -> u64 {
            0
        }
    }

    #[test]
    fn eks_are_cached_at_construction_and_the_engine_is_not_started() {
        let tpm = Tpm::manufacture(vtpm::Config::default(), Counter(0)).expect("manufacture");
        let mut s = VtpmService::new(tpm).expect("EKs");
        // TPMT_PUBLIC: type RSA (0x0001) / ECC (0x0023), nameAlg SHA-256.
        assert_eq!(&s.ek_rsa[..4], &[0x00, 0x01, 0x00, 0x0B]);
        assert_eq!(&s.ek_ecc[..4], &[0x00, 0x23, 0x00, 0x0B]);
        // Startup is the guest's: a GetRandom before it is TPM_RC_INITIALIZE.
        let mut rsp = [0u8; 64];
        let n = s.execute(0, &[0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x7B, 0, 8], &mut rsp);
        assert_eq!(&rsp[6..10], &[0, 0, 1, 0]);
        assert_eq!(n, 10);
    }
}
