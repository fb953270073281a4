//! `evtpm verify`'s parsers on hostile bytes: attestation reports, X.509 certificates (with the
//! subject, issuer, validity and SubjectPublicKeyInfo accessors), EK certificates, EK public
//! areas and PEM. Every outcome is a value or an error, never a panic. The first byte picks the
//! parser.
//!
//! Signature verification is not fuzzed here: a P-384 or RSA-4096 verification costs a hundred
//! parses, and libFuzzer, which keeps and mutates the inputs that reach new code, ended up
//! spending nearly all executions on them (~450/s). The verification over tampered reports,
//! chains and certificates is tested field by field in `tools/tests/verify*.rs`.
#![no_main]

use evtpm::verify::{ek, ek_cert, pem, report::SnpReport, x509};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let _ = SnpReport::parse(rest);
        }
        1 => {
            if let Ok(c) = x509::Certificate::parse(rest) {
                let _ = (c.subject_cn(), c.issuer_cn(), c.check_validity(0));
                let _ = x509::parse_spki(c.spki.value);
            }
        }
        2 => {
            let _ = ek_cert::parse(rest);
        }
        3 => {
            let _ = ek::from_file(rest, "fuzz");
        }
        _ => {
            let _ = pem::decode_all(&String::from_utf8_lossy(rest), "CERTIFICATE");
        }
    }
});
