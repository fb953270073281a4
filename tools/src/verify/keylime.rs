//! Keylime `ek_check_script` mode.
//!
//! Keylime (tenant `check_ek`, registrar in newer releases) runs the configured script with no
//! arguments and these environment variables: `AGENT_UUID`; `EK` (the EK as a PEM
//! SubjectPublicKeyInfo); `EK_TPM` (base64 of the EK's TPM2B_PUBLIC); `EK_CERT` (base64 DER of
//! the EK certificate, or empty when there is none); `PROVKEYS` (JSON of the provider's keys,
//! for vTPMs hosted by another TPM; not used here: the provider of an evtpm is the AMD secure
//! processor, attested through the report); `TPM_CERT_STORE` (Keylime's TPM CA directory).
//! Exit status 0 accepts the EK; anything else rejects it, and Keylime logs the output.
//!
//! The report comes from EK_CERT; the EK from EK_TPM (the exact TPMT_PUBLIC, so no template
//! reconstruction is needed), else from EK.

use super::{ek, pem, Evidence};
use alloc::string::String;

/// Reads the evidence Keylime passes; `get` looks up an environment variable.
pub fn evidence_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Evidence, String> {
    let mut ev = Evidence::default();
    let present = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    ev.ek = Some(match (present("EK_TPM"), present("EK")) {
        (Some(b64), _) => pem::base64_decode(&b64)
            .map_err(|e| alloc::format!("EK_TPM: {e}"))
            .and_then(|b| {
                let size = b
                    .get(..2)
                    .map(|s| usize::from(u16::from_be_bytes([s[0], s[1]])));
                if size != Some(b.len().saturating_sub(2)) {
                    return Err(String::from(
                        "EK_TPM is not a TPM2B_PUBLIC (size prefix mismatch)",
                    ));
                }
                ek::parse_tpmt_public(&b[2..], "EK_TPM")
            }),
        (None, Some(p)) => ek::from_file(p.as_bytes(), "EK"),
        (None, None) => Err("Keylime set neither EK_TPM nor EK".into()),
    });
    let cert = present("EK_CERT").filter(|v| v != "None" && v != "emulator");
    let Some(cert) = cert else {
        return Err(
            "EK_CERT is empty: an evtpm EK is accepted only with its EK certificate (it carries the SNP report)"
                .into(),
        );
    };
    ev.ek_cert = Some(pem::base64_decode(&cert).map_err(|e| alloc::format!("EK_CERT: {e}"))?);
    Ok(ev)
}
