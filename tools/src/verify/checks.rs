//! The checks behind [`super::run`], one function each.

use super::chain::{self, Chain, ChainInput, LeafKind};
use super::ek::EkPublic;
use super::ek_cert::{self, EkCert};
use super::report::{self, policy, SigningKey, SnpReport};
use super::tcb::{Product, Tcb};
use super::x509::{Certificate, PublicKey};
use super::{ek, hex, oid, Check, Evidence, Outcome, Policy, Summary, BOOT_NONCE};
use alloc::string::String;
use alloc::vec::Vec;

const ALL_AFTER_REPORT: [&str; 8] = [
    "chain",
    "signature",
    "vcek",
    "vmpl",
    "policy",
    "tcb",
    "measurement",
    "binding",
];

pub fn run(evidence: &Evidence, policy: &Policy) -> Outcome {
    let mut checks = Vec::new();

    // The EK certificate supplies the report, the EK and possibly the AMD certificates.
    let mut cert: Option<EkCert> = None;
    let mut report_raw = evidence.report.clone();
    let mut ek: Option<Result<EkPublic, String>> = evidence.ek.clone();
    if let Some(der) = &evidence.ek_cert {
        match ek_cert::parse(der) {
            Ok(c) => {
                let (check, cert_ek) = check_ek_cert(&c, evidence.ek.as_ref());
                checks.push(check);
                if ek.is_none() {
                    ek = Some(cert_ek);
                }
                if report_raw.is_none() {
                    report_raw = Some((c.report.clone(), "EK certificate".into()));
                }
                cert = Some(c);
            }
            Err(e) => checks.push(Check::fail(
                "ek-cert",
                alloc::format!("EK certificate: {e}"),
            )),
        }
    }
    let from_cert = evidence.report.is_none() && cert.is_some();
    let nonce = policy.nonce.clone().unwrap_or_else(|| {
        if from_cert {
            BOOT_NONCE.to_vec()
        } else {
            Vec::new()
        }
    });

    let Some((raw, source)) = report_raw else {
        let why = if evidence.ek_cert.is_some() {
            "no report: the EK certificate could not be read"
        } else {
            "no report given (--report or --ek-cert)"
        };
        checks.push(Check::fail("report", why));
        checks.extend(ALL_AFTER_REPORT.map(|n| Check::fail(n, "no report")));
        return Outcome {
            summary: None,
            checks,
        };
    };
    let r = match SnpReport::parse(&raw) {
        Ok(r) => r,
        Err(e) => {
            checks.push(Check::fail("report", alloc::format!("{source}: {e}")));
            checks.extend(ALL_AFTER_REPORT.map(|n| Check::fail(n, "no valid report")));
            return Outcome {
                summary: None,
                checks,
            };
        }
    };

    let pick = |given: &Option<Vec<u8>>, embedded: Option<&Vec<u8>>| -> Option<Vec<u8>> {
        given.clone().or_else(|| embedded.cloned())
    };
    let mut vcek = pick(&evidence.vcek, cert.as_ref().and_then(|c| c.vcek.as_ref()));
    let mut ask = pick(&evidence.ask, cert.as_ref().and_then(|c| c.ask.as_ref()));
    let mut ark = pick(&evidence.ark, cert.as_ref().and_then(|c| c.ark.as_ref()));
    // A qemu-test report names the test VCEK's CHIP_ID; with --allow-test-root the built-in
    // test chain stands in for the certificates AMD's KDS would serve.
    let test_chip = { r.chip_id } == *super::test_root::CHIP_ID;
    if vcek.is_none() && test_chip && policy.allow_test_root {
        vcek = Some(super::test_root::VCEK_DER.to_vec());
        ask = ask.or_else(|| Some(super::test_root::ASK_DER.to_vec()));
        ark = ark.or_else(|| Some(super::test_root::ARK_DER.to_vec()));
    }

    // 1. Chain.
    let chain: Option<Chain> = match &vcek {
        None if test_chip => {
            checks.push(Check::fail(
                "chain",
                "the report names the qemu-test CHIP_ID: it is signed with the published TEST key, which proves nothing (--allow-test-root accepts it, for tests only)",
            ));
            None
        }
        None => {
            checks.push(Check::fail(
                "chain",
                "no VCEK/VLEK given (--vcek or --certs; AMD's KDS serves it for this CHIP_ID and REPORTED_TCB)",
            ));
            None
        }
        Some(leaf) => match chain::verify(&ChainInput {
            leaf,
            intermediate: ask.as_deref(),
            root: ark.as_deref(),
            at: policy.at,
            allow_test_root: policy.allow_test_root,
        }) {
            Ok(c) => {
                checks.push(Check::pass("chain", c.summary.clone()));
                Some(c)
            }
            Err(e) => {
                checks.push(Check::fail("chain", e));
                None
            }
        },
    };
    let leaf = vcek.as_deref().map(Certificate::parse);
    let leaf = match leaf {
        Some(Ok(c)) => Some(c),
        _ => None,
    };

    // The product (TCB layout, CHIP_ID length): the chain's root, else the certificate's
    // productName, else the report's CPUID.
    let product = chain
        .as_ref()
        .map(Chain::product)
        .or_else(|| leaf.as_ref().and_then(product_name))
        .or_else(|| r.cpuid().and_then(|(f, m, _)| Product::from_cpuid(f, m)));

    // 2. Signature.
    checks.push(check_signature(&r, &raw, leaf.as_ref()));
    // 3. The signing certificate matches the report.
    checks.push(check_vcek(&r, leaf.as_ref(), product));
    // 4. VMPL.
    let vmpl = r.vmpl;
    checks.push(if vmpl == policy.expect_vmpl {
        Check::pass("vmpl", alloc::format!("VMPL {vmpl}"))
    } else {
        Check::fail(
            "vmpl",
            alloc::format!("VMPL {vmpl}, expected {}", policy.expect_vmpl),
        )
    });
    // 5. Policy.
    checks.push(check_policy(r.policy));
    // 6. Minimum TCB.
    let turin = product.is_some_and(Product::turin_layout);
    let reported = Tcb::decode(r.reported_tcb, turin);
    checks.push(match &policy.min_tcb {
        None => Check::skip(
            "tcb",
            alloc::format!("no --min-tcb (REPORTED_TCB {reported})"),
        ),
        Some(min) => {
            let short = min.shortfalls(&reported, turin);
            if short.is_empty() {
                Check::pass(
                    "tcb",
                    alloc::format!("REPORTED_TCB {reported} meets the minimum"),
                )
            } else {
                Check::fail(
                    "tcb",
                    alloc::format!("REPORTED_TCB {reported}: {}", short.join(", ")),
                )
            }
        }
    });
    // 7. Measurement.
    let m = hex::encode(&r.measurement);
    checks.push(match &policy.measurements {
        None => Check::skip(
            "measurement",
            alloc::format!("no allow-list (MEASUREMENT {m})"),
        ),
        Some(list) if list.contains(&r.measurement) => {
            Check::pass("measurement", alloc::format!("{m} is allowed"))
        }
        Some(list) => Check::fail(
            "measurement",
            alloc::format!("{m} is not in the allow-list ({} entries)", list.len()),
        ),
    });
    // 8. EK binding.
    checks.push(match &ek {
        None => Check::skip("binding", "no --ek given"),
        Some(Err(e)) => Check::fail("binding", alloc::format!("EK: {e}")),
        Some(Ok(ek)) => check_binding(&r, ek, &nonce),
    });

    Outcome {
        summary: Some(summary(&r, source, product)),
        checks,
    }
}

fn product_name(c: &Certificate<'_>) -> Option<Product> {
    let x = c.extension(oid::AMD_PRODUCT_NAME)?;
    let s = super::der::single(x.value, super::der::IA5_STRING).ok()?;
    Product::from_cert_name(core::str::from_utf8(s).ok()?)
}

/// The EK certificate's own consistency: its key equals its TPMT_PUBLIC extension and the
/// given EK (e.g. Keylime's EK_TPM). Returns the EK the certificate names.
fn check_ek_cert(
    c: &EkCert,
    given: Option<&Result<EkPublic, String>>,
) -> (Check, Result<EkPublic, String>) {
    let spki_key = match super::x509::parse_spki(&c.spki) {
        Ok(k) => k,
        Err(e) => {
            let e = alloc::format!("EK certificate key: {e}");
            return (Check::fail("ek-cert", e.clone()), Err(e));
        }
    };
    let cert_ek = match &c.tpmt_public {
        Some(t) => ek::parse_tpmt_public(t, "EK certificate TPMT_PUBLIC extension"),
        None => ek::from_spki(&c.spki, "EK certificate key"),
    };
    let cert_ek = match cert_ek {
        Ok(e) => e,
        Err(e) => {
            let e = alloc::format!("EK certificate: {e}");
            return (Check::fail("ek-cert", e.clone()), Err(e));
        }
    };
    if !cert_ek.key.matches(&spki_key) {
        let e = String::from("the certificate's key differs from its TPMT_PUBLIC extension");
        return (Check::fail("ek-cert", e.clone()), Err(e));
    }
    if let Some(Ok(g)) = given {
        if !g.key.matches(&spki_key) {
            return (
                Check::fail(
                    "ek-cert",
                    alloc::format!("the certificate's key is not the EK ({})", g.source),
                ),
                Ok(cert_ek),
            );
        }
    }
    let sig = match &c.issuer_signature {
        Ok(()) => "signed by the evtpm EK binding issuer (informational: its key is public)",
        Err(_) => "NOT signed by the evtpm EK binding issuer (informational)",
    };
    let embedded: Vec<&str> = [
        (c.vcek.is_some(), "VCEK"),
        (c.ask.is_some(), "ASK"),
        (c.ark.is_some(), "ARK"),
    ]
    .iter()
    .filter(|(p, _)| *p)
    .map(|(_, n)| *n)
    .collect();
    let detail = alloc::format!(
        "key = {}{}; {sig}{}",
        cert_ek.key.describe(),
        if given.is_some() {
            " = the given EK"
        } else {
            ""
        },
        if embedded.is_empty() {
            String::new()
        } else {
            alloc::format!("; carries {}", embedded.join(", "))
        }
    );
    (Check::pass("ek-cert", detail), Ok(cert_ek))
}

fn check_signature(r: &SnpReport, raw: &[u8], leaf: Option<&Certificate<'_>>) -> Check {
    let algo = r.signature_algo;
    if algo != report::SIG_ALGO_ECDSA_P384_SHA384 {
        return Check::fail(
            "signature",
            alloc::format!("SIGNATURE_ALGO {algo}, want 1 (ECDSA P-384 SHA-384)"),
        );
    }
    match r.signing_key() {
        SigningKey::None => {
            return Check::fail(
                "signature",
                "KEY_INFO says the report is unsigned (SIGNING_KEY 7)",
            )
        }
        SigningKey::Reserved(n) => {
            return Check::fail(
                "signature",
                alloc::format!("KEY_INFO SIGNING_KEY {n} is reserved"),
            )
        }
        SigningKey::Vcek | SigningKey::Vlek => {}
    }
    let Some(leaf) = leaf else {
        return Check::fail(
            "signature",
            "no usable VCEK/VLEK certificate to check it with",
        );
    };
    let PublicKey::EcP384(point) = leaf.public_key else {
        return Check::fail("signature", "the VCEK/VLEK key is not EC P-384");
    };
    let Some((rb, sb)) = r.signature_be() else {
        return Check::fail("signature", "R or S exceeds 48 bytes");
    };
    let Ok(sig) = p384::ecdsa::Signature::from_scalars(rb, sb) else {
        return Check::fail("signature", "R or S is not a valid P-384 scalar");
    };
    let Some(body) = report::signed_bytes(raw) else {
        return Check::fail("signature", "report too short");
    };
    use sha2::{Digest, Sha384};
    let version = r.version;
    match super::x509::verify_p384_prehash(point, &Sha384::digest(body), &sig) {
        Ok(()) => Check::pass(
            "signature",
            alloc::format!(
                "ECDSA P-384/SHA-384 by the {}, report version {version}",
                leaf.subject_cn().trim_start_matches("SEV-")
            ),
        ),
        Err(e) => Check::fail("signature", e),
    }
}

fn ext_int(c: &Certificate<'_>, o: &[u8]) -> Result<u8, String> {
    let x = c
        .extension(o)
        .ok_or_else(|| alloc::format!("extension {} missing", oid::dotted(o)))?;
    let v = super::der::single(x.value, super::der::INTEGER)
        .and_then(super::der::uint_u64)
        .map_err(|e| alloc::format!("extension {}: {e}", oid::dotted(o)))?;
    u8::try_from(v).map_err(|_| alloc::format!("extension {}: {v} > 255", oid::dotted(o)))
}

fn check_vcek(r: &SnpReport, leaf: Option<&Certificate<'_>>, product: Option<Product>) -> Check {
    let Some(leaf) = leaf else {
        return Check::fail("vcek", "no usable VCEK/VLEK certificate");
    };
    let kind = match leaf.subject_cn().as_str() {
        "SEV-VLEK" => LeafKind::Vlek,
        _ => LeafKind::Vcek,
    };
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    match (r.signing_key(), kind) {
        (SigningKey::Vcek, LeafKind::Vcek) | (SigningKey::Vlek, LeafKind::Vlek) => {
            facts.push(alloc::format!("KEY_INFO signing key {}", kind.name()))
        }
        (k, _) => problems.push(alloc::format!(
            "KEY_INFO signing key {k:?} but the certificate is a {}",
            kind.name()
        )),
    }
    let (layout, turin) = match product {
        Some(p) => (p.name(), p.turin_layout()),
        None => ("unknown product, Milan layout assumed", false),
    };
    if kind == LeafKind::Vcek {
        let want_len = if turin { 8 } else { 64 };
        match leaf.extension(oid::AMD_HW_ID) {
            None => problems.push("hwID extension missing".into()),
            Some(x) if x.value.len() != want_len => problems.push(alloc::format!(
                "hwID is {} bytes, want {want_len} ({layout})",
                x.value.len()
            )),
            Some(x) => {
                let tail_zero = r.chip_id[want_len..].iter().all(|&b| b == 0);
                if x.value == &r.chip_id[..want_len] && tail_zero {
                    facts.push("hwID = CHIP_ID".into());
                } else {
                    problems.push(alloc::format!(
                        "hwID {}… != CHIP_ID {}… (a different chip's VCEK)",
                        hex::encode(&x.value[..8]),
                        hex::encode(&r.chip_id[..8])
                    ));
                }
            }
        }
    } else if let Some(x) = leaf.extension(oid::AMD_CSP_ID) {
        let csp = super::der::single(x.value, super::der::IA5_STRING).unwrap_or(x.value);
        facts.push(alloc::format!("csp_id {:?}", String::from_utf8_lossy(csp)));
    }
    let reported = Tcb::decode(r.reported_tcb, turin);
    let mut comps = alloc::vec![
        ("bl", oid::AMD_BL_SPL, reported.bl),
        ("tee", oid::AMD_TEE_SPL, reported.tee),
        ("snp", oid::AMD_SNP_SPL, reported.snp),
        ("ucode", oid::AMD_UCODE_SPL, reported.ucode),
    ];
    if let Some(fmc) = reported.fmc {
        comps.insert(0, ("fmc", oid::AMD_FMC_SPL, fmc));
    }
    let mut tcb_ok = true;
    for (name, o, have) in comps {
        match ext_int(leaf, o) {
            Ok(v) if v == have => {}
            Ok(v) => {
                tcb_ok = false;
                problems.push(alloc::format!(
                    "certificate {name}SPL {v} != REPORTED_TCB {name} {have}"
                ));
            }
            Err(e) => {
                tcb_ok = false;
                problems.push(e);
            }
        }
    }
    if tcb_ok {
        facts.push(alloc::format!("TCB {reported} = REPORTED_TCB ({layout})"));
    }
    if problems.is_empty() {
        Check::pass("vcek", facts.join(", "))
    } else {
        Check::fail("vcek", problems.join("; "))
    }
}

fn check_policy(p: u64) -> Check {
    let yn = |bit: u64| {
        if p & bit != 0 {
            "allowed"
        } else {
            "not allowed"
        }
    };
    let info = alloc::format!(
        "POLICY {p:#x}: ABI >= {}.{}, SMT {}, migration agent {}, single socket {}",
        (p >> 8) & 0xFF,
        p & 0xFF,
        yn(policy::SMT),
        yn(policy::MIGRATE_MA),
        if p & policy::SINGLE_SOCKET != 0 {
            "required"
        } else {
            "not required"
        }
    );
    if p & policy::DEBUG != 0 {
        Check::fail("policy", alloc::format!("debug allowed (bit 19); {info}"))
    } else {
        Check::pass("policy", alloc::format!("debug off; {info}"))
    }
}

fn check_binding(r: &SnpReport, ek: &EkPublic, nonce: &[u8]) -> Check {
    let want = ek::binding_digest(nonce, &ek.tpmt);
    let nonce_desc = if nonce == BOOT_NONCE {
        String::from("the boot nonce (64 zero bytes)")
    } else if nonce.is_empty() {
        String::from("an empty nonce")
    } else {
        alloc::format!("a {}-byte nonce", nonce.len())
    };
    if want == r.report_data {
        Check::pass(
            "binding",
            alloc::format!(
                "REPORT_DATA = SHA-512(nonce ‖ TPMT_PUBLIC) for the {}, with {nonce_desc}",
                ek.describe()
            ),
        )
    } else {
        Check::fail(
            "binding",
            alloc::format!(
                "REPORT_DATA {}… != SHA-512(nonce ‖ TPMT_PUBLIC) {}… for the {}, with {nonce_desc}",
                hex::encode(&r.report_data[..8]),
                hex::encode(&want[..8]),
                ek.describe()
            ),
        )
    }
}

fn summary(r: &SnpReport, source: String, product: Option<Product>) -> Summary {
    let turin = product.is_some_and(Product::turin_layout);
    Summary {
        source,
        version: r.version,
        product,
        vmpl: r.vmpl,
        policy: r.policy,
        signing_key: alloc::format!("{:?}", r.signing_key()).to_uppercase(),
        measurement: hex::encode(&r.measurement),
        report_data: hex::encode(&r.report_data),
        host_data: hex::encode(&r.host_data),
        chip_id: hex::encode(&r.chip_id),
        reported_tcb: alloc::format!(
            "{} ({})",
            hex::encode(&r.reported_tcb),
            Tcb::decode(r.reported_tcb, turin)
        ),
        current_tcb: alloc::format!(
            "{} ({})",
            hex::encode(&r.current_tcb),
            Tcb::decode(r.current_tcb, turin)
        ),
        cpuid: r.cpuid(),
        mit_vectors: (r.version >= 5).then_some((r.launch_mit_vector, r.current_mit_vector)),
    }
}
