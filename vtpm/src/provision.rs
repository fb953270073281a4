//! Manufacturer provisioning: what a TPM vendor or platform does once before a TPM ships, done
//! here at every boot by whoever hosts the engine (the firmware's vTPM service, or
//! `evtpm serve --ek`).
//!
//! * The endorsement keys, persistent at the handles the TCG reserves for them (*Registry of
//!   Reserved TPM 2.0 Handles and Localities*, 2.3.1: `0x81010001` RSA-2048 EK, `0x81010002`
//!   ECC NIST P-256 EK), derived from the EPS and the *EK Credential Profile* templates
//!   (L-1, L-2) exactly as `tpm2_createek` recreates them.
//! * The EK certificates at the low-range NV indices (*EK Credential Profile* 2.0, 2.2.1.4:
//!   `0x01C00002` RSA-2048, `0x01C0000A` ECC NIST P-256), defined so that nothing the guest
//!   can send changes or removes them: platform-created (survive `TPM2_Clear`), written and
//!   write-locked with `WRITEDEFINE` (`TPM2_NV_Write` is `TPM_RC_NV_LOCKED`), platform-writable
//!   only (`PPWRITE`), and `POLICY_DELETE` with a policy no session can reach, so that
//!   `TPM2_NV_UndefineSpace` is `TPM_RC_ATTRIBUTES` and `TPM2_NV_UndefineSpaceSpecial` and
//!   `TPM2_NV_ChangeAuth` never authorize. Reading needs no secret: `AUTHREAD` with an empty
//!   authValue, `OWNERREAD` and `PPREAD`, `NO_DA`.

use crate::crypto::Hasher;
use crate::engine::{Platform, Tpm};
use crate::nv::NvIndex;
use crate::object::primary::EkTemplate;
use crate::object::{LoadedKey, Parentage};
use crate::secret::AuthValue;
use alloc::vec::Vec;
use tpm_proto::{
    Handle, HashAlg, Rc, Tpm2bDigest, TpmaNv, TpmiRhNvIndex, TpmsNvPublic, MAX_NV_INDEX_SIZE,
};

/// The EK certificate index attributes: `PPWRITE | WRITEDEFINE | PPREAD | OWNERREAD |
/// AUTHREAD | NO_DA | POLICY_DELETE | PLATFORMCREATE` (the set the *EK Credential Profile*
/// 2.0, 2.2.1.5 recommends, plus `POLICY_DELETE`), ordinary type; `WRITTEN` and `WRITELOCKED`
/// are set when the certificate is written.
pub const EK_CERT_ATTRIBUTES: TpmaNv = TpmaNv::PPWRITE
    .union(TpmaNv::WRITEDEFINE)
    .union(TpmaNv::PPREAD)
    .union(TpmaNv::OWNERREAD)
    .union(TpmaNv::AUTHREAD)
    .union(TpmaNv::NO_DA)
    .union(TpmaNv::POLICY_DELETE)
    .union(TpmaNv::PLATFORMCREATE);

/// The string whose SHA-256 is the EK certificate indices' `authPolicy`. A policy digest is
/// the end of a hash chain of policy commands; reaching this value would need a SHA-256
/// preimage, so no session can satisfy it and the index can never be deleted or re-authorized.
pub const EK_CERT_POLICY_LABEL: &[u8] = b"evtpm: EK certificate indices are never deleted";

/// Largest certificate [`Tpm::provision_ek_certificate`] takes: `TPM_PT_NV_INDEX_MAX`.
pub const MAX_EK_CERT_SIZE: usize = MAX_NV_INDEX_SIZE as usize;

impl EkTemplate {
    /// The persistent handle the TCG reserves for this EK.
    pub fn persistent_handle(self) -> u32 {
        match self {
            EkTemplate::RsaL1 => 0x8101_0001,
            EkTemplate::EccL2 => 0x8101_0002,
        }
    }

    /// The low-range NV index of this EK's certificate.
    pub fn certificate_index(self) -> u32 {
        match self {
            EkTemplate::RsaL1 => 0x01C0_0002,
            EkTemplate::EccL2 => 0x01C0_000A,
        }
    }
}

impl<P: Platform> Tpm<P> {
    /// Makes the EK of `template` persistent at [`EkTemplate::persistent_handle`] and returns
    /// its `TPMT_PUBLIC`. `TPM_RC_NV_DEFINED` if the handle is taken, `TPM_RC_NV_SPACE` when no
    /// persistent slot is left.
    pub fn provision_ek(&mut self, template: EkTemplate) -> Result<Vec<u8>, Rc> {
        let c = self.derive_ek(template)?;
        let key = LoadedKey::new(
            &c.public,
            Some(c.sensitive),
            Parentage::Hierarchy(Handle::Endorsement),
        )?;
        self.objects
            .make_persistent(Handle(template.persistent_handle()), key)?;
        Ok(c.public)
    }

    /// Defines the certificate index of `template`'s EK holding `cert` (DER), written and
    /// write-locked (see the module documentation). `TPM_RC_SIZE` above
    /// [`MAX_EK_CERT_SIZE`], `TPM_RC_NV_DEFINED` if it exists, `TPM_RC_NV_SPACE` if it does
    /// not fit.
    pub fn provision_ek_certificate(
        &mut self,
        template: EkTemplate,
        cert: &[u8],
    ) -> Result<(), Rc> {
        if cert.is_empty() || cert.len() > MAX_EK_CERT_SIZE {
            return Err(Rc::Size);
        }
        let policy = Hasher::digest(HashAlg::Sha256, &[EK_CERT_POLICY_LABEL]);
        let public = TpmsNvPublic {
            nv_index: TpmiRhNvIndex(Handle(template.certificate_index())),
            name_alg: HashAlg::Sha256,
            attributes: EK_CERT_ATTRIBUTES,
            auth_policy: Tpm2bDigest(policy.as_bytes()),
            data_size: cert.len() as u16, // at most MAX_NV_INDEX_SIZE
        };
        let mut index = NvIndex::new(&public, AuthValue::empty());
        index.write(0, cert)?;
        index.attributes |= TpmaNv::WRITELOCKED;
        self.nv.define(index)
    }
}
