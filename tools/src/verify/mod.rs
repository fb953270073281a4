//! `evtpm verify`: checks an SEV-SNP attestation report and the EK binding it carries.
//!
//! Each check yields one verdict ([`Check`]): PASS, FAIL or SKIP (not requested). A report
//! is accepted only when no requested check fails. Hostile input (reports, certificates,
//! EKs) never panics: every parse error becomes a FAIL line.
//!
//! Checks, in order: `ek-cert` (only with an EK certificate), `chain`, `signature`, `vcek`
//! (the signing certificate matches the report), `vmpl`, `policy`, `tcb`, `measurement`,
//! `binding`. See [`run`].

pub mod chain;
mod checks;
pub mod cmd;
pub mod keylime;
mod output;

// The formats the firmware writes as well as reads live in the no_std `evidence` crate.
pub use evidence::{der, ek, ek_cert, hex, oid, pem, report, tcb, test_root, time, x509};

pub use tcb::{MinTcb, Product};

use alloc::string::String;
use alloc::vec::Vec;

pub use evidence::BOOT_NONCE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not requested (no input for it).
    Skip,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One verdict line.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
        }
    }
    fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Pass, detail)
    }
    fn fail(name: &'static str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, detail)
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Skip, detail)
    }
}

/// What is being verified (bytes, already read from files or the environment).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The raw report and where it came from.
    pub report: Option<(Vec<u8>, String)>,
    /// An evtpm EK certificate (DER): supplies the report, the EK and possibly certificates.
    pub ek_cert: Option<Vec<u8>>,
    /// The EK, or why the given EK could not be read.
    pub ek: Option<Result<ek::EkPublic, String>>,
    /// VCEK or VLEK, ASK or ASVK, ARK (DER).
    pub vcek: Option<Vec<u8>>,
    pub ask: Option<Vec<u8>>,
    pub ark: Option<Vec<u8>>,
}

/// What the report must satisfy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `None`: the default, [`BOOT_NONCE`] for a report from an EK certificate, else empty.
    pub nonce: Option<Vec<u8>>,
    /// Allowed MEASUREMENTs; `None` skips the check.
    pub measurements: Option<Vec<[u8; 48]>>,
    pub expect_vmpl: u32,
    pub min_tcb: Option<MinTcb>,
    /// Unix seconds at which certificates must be valid.
    pub at: i64,
    pub allow_test_root: bool,
}

/// Facts about the report, for the header line and `--json`.
#[derive(Debug, Clone)]
pub struct Summary {
    pub source: String,
    pub version: u32,
    pub product: Option<Product>,
    pub vmpl: u32,
    pub policy: u64,
    pub signing_key: String,
    pub measurement: String,
    pub report_data: String,
    pub host_data: String,
    pub chip_id: String,
    pub reported_tcb: String,
    pub current_tcb: String,
    /// CPUID family/model/stepping (version 3 and later).
    pub cpuid: Option<(u8, u8, u8)>,
    /// LAUNCH_MIT_VECTOR and CURRENT_MIT_VECTOR (version 5 and later).
    pub mit_vectors: Option<(u64, u64)>,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct Outcome {
    pub summary: Option<Summary>,
    pub checks: Vec<Check>,
}

impl Outcome {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name)
            .collect()
    }

    pub fn text(&self) -> String {
        output::text(self)
    }

    pub fn json(&self) -> String {
        output::json(self)
    }
}

/// Runs every check on `evidence` under `policy`.
pub fn run(evidence: &Evidence, policy: &Policy) -> Outcome {
    checks::run(evidence, policy)
}
