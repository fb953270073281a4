//! `evtpm verify`'s parsers on hostile bytes (reports, certificates, EK certificates, EKs,
//! PEM), and the whole verification over a fuzzed report and EK certificate: every outcome is
//! an error or a verdict, never a panic. The first byte picks the parser; one input in 64 goes
//! to the whole verification, and about one certificate in five to its self-signature check: their
//! signature verifications (P-384 above all, ~1.5 ms) cost fifty parses and would otherwise
//! leave the parsers a small share of the executions.
#![no_main]

use evtpm::verify::{self, ek, ek_cert, pem, report::SnpReport, x509};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let which_byte = which;
    let which = if which >= 252 { 5 } else { which % 5 };
    match which {
        0 => {
            let _ = SnpReport::parse(rest);
        }
        1 => {
            if let Ok(c) = x509::Certificate::parse(rest) {
                let _ = (c.subject_cn(), c.issuer_cn(), c.check_validity(0));
                if which_byte >= 200 {
                    let _ = c.verify_signed_by(&c.public_key);
                }
                let _ = x509::parse_spki(c.spki.value);
            }
        }
        2 => {
            let _ = ek_cert::parse(rest);
        }
        3 => {
            let _ = ek::from_file(rest, "fuzz");
        }
        4 => {
            let _ = pem::decode_all(&String::from_utf8_lossy(rest), "CERTIFICATE");
        }
        _ => {
            // A report (the first 1184 bytes) and an EK certificate (the rest), verified in
            // full with the test root allowed, so that fuzzed certificates reach the chain code.
            let (report, cert) = rest.split_at(rest.len().min(1184));
            let evidence = verify::Evidence {
                report: Some((report.to_vec(), "fuzz".into())),
                ek_cert: (!cert.is_empty()).then(|| cert.to_vec()),
                ..Default::default()
            };
            let policy = verify::Policy {
                allow_test_root: true,
                ..Default::default()
            };
            let _ = verify::run(&evidence, &policy);
        }
    }
});
