//! The vTPM service: the engine, manufactured before any guest code runs, with its endorsement
//! keys derived at the same moment and their `TPMT_PUBLIC` cached. The EK public areas are what
//! the attestation protocol reports as the vTPM service manifest (AMD 58019, the vTPM service
//! attestation: the manifest is the EK's `TPMT_PUBLIC`), so they are computed here, directly from
//! the endorsement seed and the TCG EK Credential Profile templates — never by a `CreatePrimary`
//! sent on the guest's behalf later. `TPM2_Startup` is left to the guest, as on real hardware.

use crate::protocol::attest::Attestation;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use evidence::{ek, ek_cert, report, BOOT_NONCE};
use vtpm::{EkTemplate, Platform, Tpm};

/// Where SEV-SNP attestation reports come from: the PSP through an SNP guest request
/// (`MSG_REPORT_REQ`, SNP ABI 7.3) on SNP hardware
/// ([`crate::sev::guest_request::report::SnpReports`]); on the qemu-test platform, the software
/// PSP [`crate::platform::test_psp::TestPsp`], which signs with the published test key.
pub trait ReportSource {
    /// An `ATTESTATION_REPORT` (1184 bytes) for VMPL0 carrying `report_data`.
    fn report(&mut self, report_data: &[u8; 64]) -> Result<Vec<u8>, ServiceError>;
}

/// Why the service could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// The engine refused a provisioning step.
    Tpm(tpm_proto::Rc),
    /// No report could be had.
    Report(&'static str),
    /// The EK certificate could not be built.
    Certificate(String),
}

impl From<tpm_proto::Rc> for ServiceError {
    fn from(rc: tpm_proto::Rc) -> Self {
        ServiceError::Tpm(rc)
    }
}

/// The engine, the EK public areas, and where its reports come from.
pub struct VtpmService<P: Platform> {
    pub tpm: Tpm<P>,
    pub attestation: EkAttestation,
}

/// The attestation side of the vTPM service: the EK public areas and the report source. It is
/// kept apart from the engine so that the SVSM can lock each on its own
/// ([`crate::protocol::Svsm`]).
pub struct EkAttestation {
    /// `TPMT_PUBLIC` of the RSA-2048 EK (template L-1): the vTPM service manifest.
    pub ek_rsa: Vec<u8>,
    /// `TPMT_PUBLIC` of the ECC P-256 EK (template L-2).
    pub ek_ecc: Vec<u8>,
    reports: Box<dyn ReportSource + Send>,
}

impl core::fmt::Debug for EkAttestation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EkAttestation").finish_non_exhaustive()
    }
}

impl<P: Platform> core::fmt::Debug for VtpmService<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VtpmService").finish_non_exhaustive()
    }
}

impl<P: Platform> VtpmService<P> {
    /// Provisions the freshly manufactured engine as a TPM manufacturer would, with the SNP
    /// report as the endorsement: both EKs persistent at their TCG handles, and for each an
    /// EK certificate ([`evidence::ek_cert`]) carrying a report whose REPORT_DATA is
    /// SHA-512([`BOOT_NONCE`] ‖ the EK's `TPMT_PUBLIC`), at its TCG NV index
    /// (see [`vtpm::provision`]).
    ///
    /// `reports` stays with the service: the attestation protocol asks it for reports later.
    pub fn new(
        mut tpm: Tpm<P>,
        mut reports: Box<dyn ReportSource + Send>,
    ) -> Result<Self, ServiceError> {
        let ek_rsa = tpm.provision_ek(EkTemplate::RsaL1)?;
        let ek_ecc = tpm.provision_ek(EkTemplate::EccL2)?;
        for (template, public) in [(EkTemplate::RsaL1, &ek_rsa), (EkTemplate::EccL2, &ek_ecc)] {
            let cert = ek_certificate(public, reports.as_mut())?;
            tpm.provision_ek_certificate(template, &cert)?;
        }
        Ok(VtpmService {
            tpm,
            attestation: EkAttestation {
                ek_rsa,
                ek_ecc,
                reports,
            },
        })
    }
}

/// The EK certificate of the EK whose `TPMT_PUBLIC` is `public`, with a fresh boot-time report.
pub fn ek_certificate(
    public: &[u8],
    reports: &mut dyn ReportSource,
) -> Result<Vec<u8>, ServiceError> {
    let report = reports.report(&ek::binding_digest(&BOOT_NONCE, public))?;
    if report.len() != report::offset::SIZE {
        return Err(ServiceError::Report("report of the wrong size"));
    }
    let contents = ek_cert::Endorsements {
        omit_tpmt_public: true, // default templates: verifiers rebuild it from the key
        ..ek_cert::Endorsements::default()
    };
    let cert = ek_cert::build(public, &report, &contents).map_err(ServiceError::Certificate)?;
    if cert.len() > vtpm::provision::MAX_EK_CERT_SIZE {
        return Err(ServiceError::Certificate(alloc::format!(
            "{} bytes, above TPM_PT_NV_INDEX_MAX",
            cert.len()
        )));
    }
    Ok(cert)
}

impl Attestation for EkAttestation {
    fn vtpm_manifest(&self) -> &[u8] {
        &self.ek_rsa
    }

    fn report(&mut self, report_data: &[u8; 64]) -> Result<Vec<u8>, crate::protocol::SvsmError> {
        // A PSP that cannot answer leaves the call incomplete; the guest may retry.
        self.reports
            .report(report_data)
            .map_err(|_| crate::protocol::SvsmError::InvalidRequest)
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
    fn eks_are_provisioned_with_certificates_and_the_engine_is_not_started() {
        let tpm = Tpm::manufacture(vtpm::Config::default(), Counter(0)).expect("manufacture");
        let psp = Box::new(crate::platform::test_psp::TestPsp::new([7; 32]));
        let mut s = VtpmService::new(tpm, psp).expect("provisioning");
        // TPMT_PUBLIC: type RSA (0x0001) / ECC (0x0023), nameAlg SHA-256.
        assert_eq!(&s.attestation.ek_rsa[..4], &[0x00, 0x01, 0x00, 0x0B]);
        assert_eq!(&s.attestation.ek_ecc[..4], &[0x00, 0x23, 0x00, 0x0B]);
        // Startup is the guest's: a GetRandom before it is TPM_RC_INITIALIZE.
        let mut rsp = [0u8; 64];
        let n = s
            .tpm
            .execute(0, &[0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x7B, 0, 8], &mut rsp);
        assert_eq!(&rsp[6..10], &[0, 0, 1, 0]);
        assert_eq!(n, 10);
    }

    #[test]
    fn the_certificate_carries_a_test_signed_report_binding_the_ek() {
        let mut tpm = Tpm::manufacture(vtpm::Config::default(), Counter(0)).expect("manufacture");
        let public = tpm.ek_public(EkTemplate::RsaL1).unwrap();
        let mut psp = crate::platform::test_psp::TestPsp::new([7; 32]);
        let cert = ek_certificate(&public, &mut psp).unwrap();
        assert!(
            cert.len() <= vtpm::provision::MAX_EK_CERT_SIZE,
            "{}",
            cert.len()
        );
        let c = ek_cert::parse(&cert).unwrap();
        assert!(c.tpmt_public.is_none(), "default template: left out");
        let rd = &c.report[report::offset::REPORT_DATA..][..64];
        assert_eq!(rd, &ek::binding_digest(&BOOT_NONCE, &public)[..]);
        let rebuilt = ek::from_spki(&c.spki, "test").unwrap();
        assert_eq!(
            rebuilt.tpmt, public,
            "the verifier rebuilds the same TPMT_PUBLIC"
        );
    }

    /// A report source that fails: provisioning fails and says why.
    struct NoPsp;
    impl ReportSource for NoPsp {
        fn report(&mut self, _: &[u8; 64]) -> Result<Vec<u8>, ServiceError> {
            Err(ServiceError::Report("no PSP"))
        }
    }

    #[test]
    fn no_report_no_service() {
        let tpm = Tpm::manufacture(vtpm::Config::default(), Counter(0)).expect("manufacture");
        assert_eq!(
            VtpmService::new(tpm, Box::new(NoPsp)).unwrap_err(),
            ServiceError::Report("no PSP")
        );
    }
}
