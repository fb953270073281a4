//! The evtpm EK certificate: an X.509 v3 certificate for the EK that carries the SNP
//! attestation report binding it. **Format status: a first version; the OIDs are placeholders.**
//!
//! ```text
//! issuer     O=evtpm, CN=evtpm EK binding     (self-signed issuer, fixed PUBLISHED key)
//! subject    O=evtpm, CN=evtpm EK
//! validity   2025-01-01T00:00:00Z .. 9999-12-31T23:59:59Z (RFC 5280 "no expiry": the
//!            firmware has no trusted clock; the report, not the dates, carries freshness)
//! serial     16 bytes of SHA-256(TPMT_PUBLIC ‖ report), positive
//! SPKI       the EK (rsaEncryption, or id-ecPublicKey P-256/P-384) rebuilt from TPMT_PUBLIC
//! extensions basicConstraints cA=FALSE (critical), keyUsage keyEncipherment (RSA) or
//!            keyAgreement (ECC) (critical), and, non-critical, under the evtpm arc
//!            2.25.167379264351598331392086617470116322212 (a UUID OID, X.667; placeholder
//!            until evtpm has a Private Enterprise Number):
//!              .1  OCTET STRING  the 1184-byte ATTESTATION_REPORT            (required)
//!              .2  OCTET STRING  the EK TPMT_PUBLIC the report binds         (left out for the
//!                                default templates L-1/L-2: rebuilt from the subject key)
//!              .3  Certificate   the VCEK/VLEK                               (optional)
//!              .4  Certificate   the ASK/ASVK                                (optional)
//!              .5  Certificate   the ARK                                     (optional)
//! signature  ecdsa-with-SHA384 by the issuer key, deterministic (RFC 6979)
//! ```
//!
//! **Where the trust comes from: the embedded report, not the certificate signature.** The
//! issuer's private key is derived from a published string ([`ISSUER_KEY_SEED`]), so anyone
//! can sign such a certificate: the signature only makes the certificate well-formed and lets
//! tools that insist on a known issuer (Keylime's `require_ek_cert` with the issuer certificate
//! from [`issuer_cert`] in its `tpm_cert_store`) accept it. A verifier must check the report:
//! its chain to an AMD root, its signature, and REPORT_DATA = SHA-512(nonce ‖ TPMT_PUBLIC)
//! for the EK in the subject key (`evtpm verify --ek-cert`).
//!
//! The builder uses only `core`/`alloc`, `sha2` and `p384`: the firmware builds the certificate
//! at boot with this code, and `evtpm verify` reads it with the same crate.

use crate::der::{self, Reader, Writer};
use crate::ek::{self, EkKey};
use crate::oid;
use crate::x509::{Certificate, PublicKey};
use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256, Sha384};

/// SHA-384 of this string is the issuer's P-384 private scalar. PUBLISHED ON PURPOSE.
pub const ISSUER_KEY_SEED: &[u8] = b"evtpm EK binding issuer key v1 (published, not a secret)";

const ISSUER_CN: &str = "evtpm EK binding";
const SUBJECT_CN: &str = "evtpm EK";
const NOT_BEFORE_UTC: &[u8] = b"250101000000Z";
const NOT_AFTER_GEN: &[u8] = b"99991231235959Z";

/// What goes in besides the report: optional AMD certificates (DER), and whether the
/// TPMT_PUBLIC extension is left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Endorsements<'a> {
    pub vcek: Option<&'a [u8]>,
    pub ask: Option<&'a [u8]>,
    pub ark: Option<&'a [u8]>,
    /// Leave out extension `.2` (the EK's TPMT_PUBLIC). Only for an EK made from a default
    /// template (L-1, L-2), which a verifier rebuilds from the subject key
    /// ([`crate::ek::from_spki`]); the firmware does so to keep the RSA EK certificate within
    /// `TPM_PT_NV_INDEX_MAX` (2048 bytes).
    pub omit_tpmt_public: bool,
}

fn issuer_key() -> Result<p384::ecdsa::SigningKey, String> {
    p384::ecdsa::SigningKey::from_slice(&Sha384::digest(ISSUER_KEY_SEED))
        .map_err(|_| String::from("issuer key seed is not a valid P-384 scalar"))
}

fn name(w: &mut Writer, cn: &str) {
    w.sequence(|w| {
        for (o, v) in [(oid::ORGANIZATION, "evtpm"), (oid::COMMON_NAME, cn)] {
            w.constructed(der::SET, |w| {
                w.sequence(|w| {
                    w.oid(o).tlv(der::UTF8_STRING, v.as_bytes());
                });
            });
        }
    });
}

fn extension(w: &mut Writer, o: &[u8], critical: bool, value: &[u8]) {
    w.sequence(|w| {
        w.oid(o);
        if critical {
            w.tlv(der::BOOLEAN, &[0xFF]);
        }
        w.tlv(der::OCTET_STRING, value);
    });
}

fn ecdsa_sha384_alg(w: &mut Writer) {
    w.sequence(|w| {
        w.oid(oid::ECDSA_SHA384);
    });
}

/// Wraps a TBS certificate into a certificate signed by the issuer key.
fn sign(tbs: Vec<u8>) -> Result<Vec<u8>, String> {
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    let sig: p384::ecdsa::Signature = issuer_key()?
        .sign_prehash(&Sha384::digest(&tbs))
        .map_err(|_| String::from("ECDSA signing failed"))?;
    let (r, s) = sig.split_bytes();
    let mut sig_der = Writer::new();
    sig_der.sequence(|w| {
        w.uint(&r).uint(&s);
    });
    let sig_der = sig_der.into_vec();
    let mut w = Writer::new();
    w.sequence(|w| {
        w.raw(&tbs);
        ecdsa_sha384_alg(w);
        w.bit_string(&sig_der);
    });
    Ok(w.into_vec())
}

fn validity(w: &mut Writer) {
    w.sequence(|w| {
        w.tlv(der::UTC_TIME, NOT_BEFORE_UTC)
            .tlv(der::GENERALIZED_TIME, NOT_AFTER_GEN);
    });
}

/// Builds an EK certificate for `ek_tpmt_public` (the EK's TPMT_PUBLIC, no size prefix)
/// carrying `report` (1184 bytes) and any `endorsements`. Deterministic: the same inputs give
/// the same bytes.
pub fn build(
    ek_tpmt_public: &[u8],
    report: &[u8],
    endorsements: &Endorsements<'_>,
) -> Result<Vec<u8>, String> {
    if report.len() != crate::report::offset::SIZE {
        return Err(alloc::format!(
            "report is {} bytes, want 1184",
            report.len()
        ));
    }
    let ek = ek::parse_tpmt_public(ek_tpmt_public, "builder")?;
    let spki = ek::spki_der(&ek.key)?;
    let mut h = Sha256::new();
    h.update(ek_tpmt_public);
    h.update(report);
    let mut serial: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([1; 16]);
    serial[0] = (serial[0] & 0x7F).max(1);
    let key_usage: &[u8] = match ek.key {
        EkKey::Rsa { .. } => &[0x03, 0x02, 0x05, 0x20], // keyEncipherment
        EkKey::Ecc { .. } => &[0x03, 0x02, 0x03, 0x08], // keyAgreement
    };
    let wrap = |bytes: &[u8]| {
        let mut w = Writer::new();
        w.tlv(der::OCTET_STRING, bytes);
        w.into_vec()
    };
    let mut tbs = Writer::new();
    tbs.sequence(|w| {
        w.constructed(der::context(0), |w| {
            w.uint(&[2]);
        });
        w.uint(&serial);
        ecdsa_sha384_alg(w);
        name(w, ISSUER_CN);
        validity(w);
        name(w, SUBJECT_CN);
        w.raw(&spki);
        w.constructed(der::context(3), |w| {
            w.sequence(|w| {
                extension(w, oid::BASIC_CONSTRAINTS, true, &[0x30, 0x00]);
                extension(w, oid::KEY_USAGE, true, key_usage);
                extension(w, &oid::EVTPM_SNP_REPORT, false, &wrap(report));
                if !endorsements.omit_tpmt_public {
                    extension(w, &oid::EVTPM_EK_TPMT_PUBLIC, false, &wrap(ek_tpmt_public));
                }
                for (o, c) in [
                    (&oid::EVTPM_VCEK, endorsements.vcek),
                    (&oid::EVTPM_ASK, endorsements.ask),
                    (&oid::EVTPM_ARK, endorsements.ark),
                ] {
                    if let Some(c) = c {
                        extension(w, o, false, c);
                    }
                }
            });
        });
    });
    sign(tbs.into_vec())
}

/// The self-signed issuer certificate (DER) of every evtpm EK certificate: put it into a
/// verifier's trust store when that verifier insists on a known EK issuer. It adds no trust.
pub fn issuer_cert() -> Result<Vec<u8>, String> {
    let key = issuer_key()?;
    let point = key.verifying_key().to_encoded_point(false);
    let mut tbs = Writer::new();
    tbs.sequence(|w| {
        w.constructed(der::context(0), |w| {
            w.uint(&[2]);
        });
        w.uint(&[1]);
        ecdsa_sha384_alg(w);
        name(w, ISSUER_CN);
        validity(w);
        name(w, ISSUER_CN);
        w.sequence(|w| {
            w.sequence(|w| {
                w.oid(oid::EC_PUBLIC_KEY).oid(oid::SECP384R1);
            });
            w.bit_string(point.as_bytes());
        });
        w.constructed(der::context(3), |w| {
            w.sequence(|w| {
                extension(
                    w,
                    oid::BASIC_CONSTRAINTS,
                    true,
                    &[0x30, 0x03, 0x01, 0x01, 0xFF],
                );
                extension(w, oid::KEY_USAGE, true, &[0x03, 0x02, 0x02, 0x04]); // keyCertSign
            });
        });
    });
    sign(tbs.into_vec())
}

/// What an EK certificate carries.
#[derive(Debug, Clone)]
pub struct EkCert {
    pub report: Vec<u8>,
    /// The TPMT_PUBLIC extension, when present.
    pub tpmt_public: Option<Vec<u8>>,
    /// The SubjectPublicKeyInfo's contents.
    pub spki: Vec<u8>,
    pub vcek: Option<Vec<u8>>,
    pub ask: Option<Vec<u8>>,
    pub ark: Option<Vec<u8>>,
    /// Whether the evtpm issuer key signed it (informational: the key is public).
    pub issuer_signature: Result<(), String>,
}

fn octets(value: &[u8]) -> Result<Vec<u8>, String> {
    der::single(value, der::OCTET_STRING)
        .map(<[u8]>::to_vec)
        .map_err(|e| alloc::format!("{e}"))
}

/// Reads an evtpm EK certificate (DER).
pub fn parse(der_bytes: &[u8]) -> Result<EkCert, String> {
    let c = Certificate::parse(der_bytes)?;
    let report = c
        .extension(&oid::EVTPM_SNP_REPORT)
        .ok_or("no SNP report extension (evtpm arc .1): not an evtpm EK certificate")?;
    let report = octets(report.value).map_err(|e| alloc::format!("report extension: {e}"))?;
    let tpmt_public = match c.extension(&oid::EVTPM_EK_TPMT_PUBLIC) {
        Some(x) => Some(octets(x.value).map_err(|e| alloc::format!("TPMT_PUBLIC extension: {e}"))?),
        None => None,
    };
    let cert_ext = |o: &[u8]| -> Result<Option<Vec<u8>>, String> {
        match c.extension(o) {
            Some(x) => {
                let mut r = Reader::new(x.value);
                r.expect(der::SEQUENCE)
                    .and_then(|_| r.finish())
                    .map_err(|e| alloc::format!("embedded certificate {}: {e}", oid::dotted(o)))?;
                Ok(Some(x.value.to_vec()))
            }
            None => Ok(None),
        }
    };
    let issuer_signature = issuer_key().and_then(|k| {
        let point = k.verifying_key().to_encoded_point(false);
        c.verify_signed_by(&PublicKey::EcP384(point.as_bytes()))
    });
    Ok(EkCert {
        report,
        tpmt_public,
        spki: c.spki.value.to_vec(),
        vcek: cert_ext(&oid::EVTPM_VCEK)?,
        ask: cert_ext(&oid::EVTPM_ASK)?,
        ark: cert_ext(&oid::EVTPM_ARK)?,
        issuer_signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_certificates_parse_back_and_verify_under_the_issuer() {
        let tpmt = ek::template_l1(&[0xA5; 256]);
        let report = [7u8; 1184];
        let e = Endorsements {
            vcek: Some(crate::test_root::VCEK_DER),
            ..Endorsements::default()
        };
        let cert = build(&tpmt, &report, &e).unwrap();
        assert_eq!(build(&tpmt, &report, &e).unwrap(), cert, "deterministic");
        let p = parse(&cert).unwrap();
        assert_eq!(p.report, report);
        assert_eq!(p.tpmt_public.as_deref(), Some(&tpmt[..]));
        assert_eq!(p.vcek.as_deref(), Some(crate::test_root::VCEK_DER));
        assert!(p.ask.is_none());
        p.issuer_signature.unwrap();
        assert_eq!(ek::from_spki(&p.spki, "x").unwrap().tpmt, tpmt);

        let issuer = issuer_cert().unwrap();
        let ic = Certificate::parse(&issuer).unwrap();
        ic.verify_signed_by(&ic.public_key).unwrap();
        let c = Certificate::parse(&cert).unwrap();
        assert_eq!(c.issuer.raw, ic.subject.raw);
        c.verify_signed_by(&ic.public_key).unwrap();
        assert!(build(&tpmt, &report[..100], &e).is_err());
        assert!(build(&tpmt[..10], &report, &e).is_err());
    }

    /// Regenerates `tools/testdata/snp/ek-binding-issuer.pem`:
    /// `cargo test -p evtpm --lib write_issuer_pem -- --ignored`.
    #[test]
    #[ignore]
    fn write_issuer_pem() {
        let pem = crate::pem::encode("CERTIFICATE", &issuer_cert().unwrap());
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/snp/ek-binding-issuer.pem"
        );
        std::fs::write(path, pem).unwrap();
    }

    #[test]
    fn committed_issuer_pem_is_the_generated_one() {
        let pem = crate::pem::encode("CERTIFICATE", &issuer_cert().unwrap());
        let committed = include_str!("../../tools/testdata/snp/ek-binding-issuer.pem");
        assert_eq!(committed, pem);
    }

    #[test]
    fn certificates_without_the_report_are_refused() {
        let issuer = issuer_cert().unwrap();
        assert!(parse(&issuer).unwrap_err().contains("no SNP report"));
        assert!(parse(b"\x30\x03\x02\x01\x00").is_err());
    }
}
