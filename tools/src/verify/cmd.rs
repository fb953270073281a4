//! The `evtpm verify` command line: reads files (or Keylime's environment), runs the checks,
//! prints verdicts. Exit status 0: every requested check passed; 1: a check failed; 2: the
//! command line or a named file could not be used.

use super::{ek, hex, keylime, pem, x509, Evidence, MinTcb, Policy};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const VERIFY_HELP: &str = "\
Checks (one verdict line each; exit 0 only if none FAILs):
  ek-cert      the EK certificate's key = its TPMT_PUBLIC (= the given EK)     [with --ek-cert]
  chain        VCEK -> ASK -> ARK or VLEK -> ASVK -> ARK, RSASSA-PSS SHA-384, validity at --at;
               the ARK must be a built-in AMD root (Milan, Genoa, Turin)
  signature    ECDSA P-384/SHA-384 over report bytes 0x000..0x29F by the VCEK/VLEK
  vcek         hwID = CHIP_ID (VCEK), SPL extensions = REPORTED_TCB, KEY_INFO signing key
  vmpl         VMPL = --expect-vmpl
  policy       debug (POLICY bit 19) off
  tcb          REPORTED_TCB >= --min-tcb, per component                        [if given]
  measurement  MEASUREMENT in --measurement/--allow                            [if given]
  binding      REPORT_DATA = SHA-512(nonce || EK TPMT_PUBLIC)                   [with an EK]

The nonce defaults to the boot nonce (64 zero bytes) for a report taken from an EK
certificate, else to empty. An EK given as a public key (PEM/DER) is turned into its
TPMT_PUBLIC with the TCG default EK template L-1 (RSA-2048) or L-2 (ECC P-256), as
tpm2_createek makes it; give the TPM2B_PUBLIC for any other EK.

--certs DIR looks for vcek.der|vlek.der, ask.pem|asvk.pem (or cert_chain.pem: ASK then ARK)
and ark.pem (.der, .pem and .crt are all tried, DER or PEM inside).

Keylime: set ek_check_script to a wrapper such as
  #!/bin/sh
  exec evtpm verify --ek-check-script --allow /etc/evtpm/measurements.txt --min-tcb snp=8
Keylime runs it without arguments and with AGENT_UUID, EK, EK_TPM, EK_CERT, PROVKEYS and
TPM_CERT_STORE set; the report comes from EK_CERT, the EK from EK_TPM (exact TPMT_PUBLIC),
AMD certificates from --certs, else TPM_CERT_STORE, else the EK certificate.

Examples:
  evtpm verify --report report.bin --certs ./kds-cache --measurement 9ac48f…
  evtpm verify --ek-cert ek.der --ek ek.pub --allow allowed.txt --json";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The ATTESTATION_REPORT: 1184 bytes, raw (versions 2, 3, 5).
    #[arg(long, value_name = "FILE", conflicts_with = "ek_cert")]
    pub report: Option<PathBuf>,
    /// An evtpm EK certificate (DER or PEM): the report comes from its SNP-report extension,
    /// the EK from its key (or its TPMT_PUBLIC extension).
    #[arg(long, value_name = "FILE")]
    pub ek_cert: Option<PathBuf>,
    /// The EK: PEM/DER public key (SubjectPublicKeyInfo), TPM2B_PUBLIC or TPMT_PUBLIC.
    #[arg(long, value_name = "FILE")]
    pub ek: Option<PathBuf>,
    /// The attestation nonce, hex [default: boot nonce for --ek-cert, else empty].
    #[arg(long, value_name = "HEX")]
    pub nonce: Option<String>,
    /// The VCEK or VLEK certificate (DER or PEM).
    #[arg(long, value_name = "FILE")]
    pub vcek: Option<PathBuf>,
    /// The ASK or ASVK certificate (DER or PEM; a PEM bundle ASK+ARK also gives the ARK).
    #[arg(long, value_name = "FILE")]
    pub ask: Option<PathBuf>,
    /// The ARK certificate; must be a built-in AMD root [default: the built-in roots].
    #[arg(long, value_name = "FILE")]
    pub ark: Option<PathBuf>,
    /// A certificate cache directory (see below); --vcek/--ask/--ark take precedence.
    #[arg(long, value_name = "DIR")]
    pub certs: Option<PathBuf>,
    /// An allowed MEASUREMENT (96 hex digits); repeatable.
    #[arg(long = "measurement", value_name = "HEX")]
    pub measurements: Vec<String>,
    /// A file of allowed MEASUREMENTs: one per line, `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,
    /// The VMPL the report must come from.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub expect_vmpl: u32,
    /// Minimum REPORTED_TCB: `bl=3,tee=0,snp=8,ucode=115` (and `fmc=N` on Turin) and/or a raw
    /// TCB_VERSION (16 hex digits in report byte order, or 0x-prefixed u64 value).
    #[arg(long, value_name = "SPEC")]
    pub min_tcb: Option<String>,
    /// Check certificate validity at this time instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339-TIME")]
    pub at: Option<String>,
    /// Accept the evtpm qemu-test root (published TEST keys). Never in production.
    #[arg(long)]
    pub allow_test_root: bool,
    /// Print one JSON object instead of verdict lines.
    #[arg(long)]
    pub json: bool,
    /// Keylime ek_check_script mode: take the EK and EK certificate from the environment.
    #[arg(long)]
    pub ek_check_script: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The certificates in a file (DER or PEM).
fn read_certs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    x509::certs_from_file(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

fn first_cert(path: &Path) -> Result<Vec<u8>, String> {
    read_certs(path)?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no certificate", path.display()))
}

/// The first of `DIR/<stem>.{der,pem,crt}` that exists.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["der", "pem", "crt"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

/// Fills the certificates `evidence` lacks from a cache directory. `vlek`: the report says
/// a VLEK signed it.
pub fn certs_from_dir(evidence: &mut Evidence, dir: &Path, vlek: bool) -> Result<(), String> {
    let (leaf, inter) = if vlek {
        (["vlek", "vcek"], ["asvk", "ask"])
    } else {
        (["vcek", "vlek"], ["ask", "asvk"])
    };
    if evidence.vcek.is_none() {
        if let Some(p) = leaf.iter().find_map(|s| find(dir, s)) {
            evidence.vcek = Some(first_cert(&p)?);
        }
    }
    if evidence.ask.is_none() {
        if let Some(p) = inter.iter().find_map(|s| find(dir, s)) {
            evidence.ask = Some(first_cert(&p)?);
        } else if let Some(p) = find(dir, "cert_chain") {
            let mut certs = read_certs(&p)?.into_iter();
            evidence.ask = certs.next();
            if evidence.ark.is_none() {
                evidence.ark = certs.next();
            }
        }
    }
    if evidence.ark.is_none() {
        if let Some(p) = find(dir, "ark") {
            evidence.ark = Some(first_cert(&p)?);
        }
    }
    Ok(())
}

/// KEY_INFO.SIGNING_KEY = 1 in raw report bytes (no other parsing).
pub fn says_vlek(report: &[u8]) -> bool {
    report
        .get(super::report::offset::KEY_INFO)
        .is_some_and(|b| (b >> 2) & 7 == 1)
}

fn parse_measurement(s: &str, whence: &str) -> Result<[u8; 48], String> {
    let b = hex::decode(s).map_err(|e| format!("{whence}: {e}"))?;
    b.try_into().map_err(|b: Vec<u8>| {
        format!(
            "{whence}: {} bytes, a MEASUREMENT has 48 (96 hex digits)",
            b.len()
        )
    })
}

fn policy(a: &VerifyArgs) -> Result<Policy, String> {
    let nonce = match &a.nonce {
        Some(n) => Some(hex::decode(n).map_err(|e| format!("--nonce: {e}"))?),
        None => None,
    };
    let mut list = Vec::new();
    for m in &a.measurements {
        list.push(parse_measurement(m, "--measurement")?);
    }
    if let Some(path) = &a.allow {
        let data = read(path)?;
        let text = String::from_utf8(data).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                list.push(parse_measurement(
                    line,
                    &format!("{}:{}", path.display(), i + 1),
                )?);
            }
        }
    }
    let measurements = (!a.measurements.is_empty() || a.allow.is_some()).then_some(list);
    let at = match &a.at {
        Some(t) => super::time::parse_rfc3339(t).map_err(|e| format!("--at: {e}"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
    };
    let min_tcb = a.min_tcb.as_deref().map(MinTcb::parse).transpose()?;
    Ok(Policy {
        nonce,
        measurements,
        expect_vmpl: a.expect_vmpl,
        min_tcb,
        at,
        allow_test_root: a.allow_test_root,
    })
}

/// Reads an EK certificate file: DER, or PEM `CERTIFICATE`.
fn read_ek_cert(path: &Path) -> Result<Vec<u8>, String> {
    let data = read(path)?;
    if data.starts_with(b"-----BEGIN") {
        let text = String::from_utf8(data).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        return pem::decode_all(&text, "CERTIFICATE")?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no CERTIFICATE", path.display()));
    }
    Ok(data)
}

fn evidence(a: &VerifyArgs) -> Result<Evidence, String> {
    let mut ev = if a.ek_check_script {
        keylime::evidence_from_env(&|k| std::env::var(k).ok())?
    } else {
        if a.report.is_none() && a.ek_cert.is_none() {
            return Err("give --report FILE or --ek-cert FILE (or --ek-check-script)".into());
        }
        Evidence::default()
    };
    if let Some(p) = &a.report {
        ev.report = Some((read(p)?, p.display().to_string()));
    }
    if let Some(p) = &a.ek_cert {
        ev.ek_cert = Some(read_ek_cert(p)?);
    }
    if let Some(p) = &a.ek {
        let data = read(p)?;
        ev.ek = Some(ek::from_file(&data, &p.display().to_string()));
    }
    if let Some(p) = &a.vcek {
        ev.vcek = Some(first_cert(p)?);
    }
    if let Some(p) = &a.ask {
        let mut certs = read_certs(p)?.into_iter();
        ev.ask = certs.next();
        if a.ark.is_none() {
            ev.ark = certs.next();
        }
    }
    if let Some(p) = &a.ark {
        ev.ark = Some(first_cert(p)?);
    }
    // The report, wherever it comes from, says whether a VCEK or a VLEK signed it.
    let vlek = match (&ev.report, &ev.ek_cert) {
        (Some((r, _)), _) => says_vlek(r),
        (None, Some(c)) => super::ek_cert::parse(c).is_ok_and(|c| says_vlek(&c.report)),
        _ => false,
    };
    if let Some(dir) = &a.certs {
        if !dir.is_dir() {
            return Err(format!("--certs {}: not a directory", dir.display()));
        }
        certs_from_dir(&mut ev, dir, vlek)?;
    }
    if a.ek_check_script {
        if let Some(store) = std::env::var_os("TPM_CERT_STORE").filter(|s| !s.is_empty()) {
            let store = PathBuf::from(store);
            if store.is_dir() {
                certs_from_dir(&mut ev, &store, vlek)?;
            }
        }
    }
    Ok(ev)
}

/// Runs `evtpm verify`.
pub fn run(a: &VerifyArgs) -> ExitCode {
    let prepared = policy(a).and_then(|p| Ok((p, evidence(a)?)));
    let (policy, evidence) = match prepared {
        Ok(x) => x,
        Err(e) => {
            eprintln!("evtpm verify: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = super::run(&evidence, &policy);
    if a.json {
        println!("{}", outcome.json());
    } else {
        print!("{}", outcome.text());
    }
    if outcome.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
