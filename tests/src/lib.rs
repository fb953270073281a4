//! Shared helpers for the integration tests in `tests/`.
//!
//! Every test runs against one or more *endpoints* (a TPM behind a TCP server), chosen with the
//! `EVTPM_ENDPOINTS` environment variable (see [`Endpoint`] and `tests/README.md`). Each test gets
//! its own fresh server on a free port ([`Server::start`]), talks to it with real clients
//! ([`tpm2`] runs tpm2-tools) or raw command bytes ([`Tpm`]), and the server is killed when the
//! [`Server`] is dropped. Nothing is shared between tests, so they run in parallel threads.

pub mod client;
pub mod cmd;
pub mod diff;
pub mod server;

pub use client::{Response, Tpm};
pub use server::{
    flush_transient, show, tpm2, tpm2_fails, tpm2_ok, tpm2_ok_flushed, tpm2_with_stdin, Server,
    TempDir,
};

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How a server carries TPM commands over TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// The Microsoft simulator protocol: data port P (`TPM_SEND_COMMAND` framing), platform port
    /// P+1 (power and NV signals).
    Mssim,
    /// swtpm's protocol: raw TPM commands on data port P, the control channel on P+1.
    Swtpm,
}

/// A TPM to test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The reference: Debian's `swtpm socket --tpm2` (libtpms). Every test passes against it.
    Swtpm,
    /// `evtpm serve --mssim 127.0.0.1:P`.
    EvtpmMssim,
    /// `evtpm serve --swtpm 127.0.0.1:P`.
    EvtpmSwtpm,
    /// The evtpm firmware booted under QEMU (`qemu-test` platform) behind
    /// `evtpm serve --mssim 127.0.0.1:P --firmware IMAGE`: every command reaches the engine
    /// through the SVSM dispatcher as `SVSM_VTPM_CMD` (image: `EVTPM_FIRMWARE`, else the
    /// `make firmware` output).
    EvtpmFirmware,
}

/// The endpoints tested when `EVTPM_ENDPOINTS` is unset.
pub const DEFAULT_ENDPOINTS: &str = "evtpm-mssim,evtpm-swtpm";

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Swtpm,
        Endpoint::EvtpmMssim,
        Endpoint::EvtpmSwtpm,
        Endpoint::EvtpmFirmware,
    ];

    /// The name used in `EVTPM_ENDPOINTS`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Swtpm => "swtpm",
            Endpoint::EvtpmMssim => "evtpm-mssim",
            Endpoint::EvtpmSwtpm => "evtpm-swtpm",
            Endpoint::EvtpmFirmware => "evtpm-firmware",
        }
    }

    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Endpoint::Swtpm | Endpoint::EvtpmSwtpm => Protocol::Swtpm,
            Endpoint::EvtpmMssim | Endpoint::EvtpmFirmware => Protocol::Mssim,
        }
    }

    /// The highest locality commands can be sent at. The SVSM vTPM protocol carries locality 0
    /// only (AMD 58019, table 16: "locality must be 0"), so the firmware endpoint has just that.
    pub fn max_locality(self) -> u8 {
        if self == Endpoint::EvtpmFirmware {
            0
        } else {
            4
        }
    }

    /// True for the evtpm engine (any transport), false for the reference.
    pub fn is_evtpm(self) -> bool {
        self != Endpoint::Swtpm
    }

    /// The endpoints named in `EVTPM_ENDPOINTS` (comma-separated), or [`DEFAULT_ENDPOINTS`].
    /// Panics on an unknown name so that a typo does not silently test nothing.
    pub fn from_env() -> Vec<Endpoint> {
        let list = std::env::var("EVTPM_ENDPOINTS").unwrap_or_else(|_| DEFAULT_ENDPOINTS.into());
        let eps: Vec<Endpoint> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Endpoint::from_name(s).unwrap_or_else(|| {
                    panic!(
                        "EVTPM_ENDPOINTS: unknown endpoint {s:?} (known: swtpm, evtpm-mssim, \
                         evtpm-swtpm, evtpm-firmware)"
                    )
                })
            })
            .collect();
        assert!(!eps.is_empty(), "EVTPM_ENDPOINTS names no endpoint");
        eps
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs `body` once per endpoint of [`Endpoint::from_env`]. A failure on one endpoint does not
/// hide the others: all run, then the test fails naming every endpoint that failed.
pub fn each_endpoint(body: impl Fn(Endpoint)) {
    let mut failed = Vec::new();
    for ep in Endpoint::from_env() {
        if catch_unwind(AssertUnwindSafe(|| body(ep))).is_err() {
            eprintln!("*** failed on endpoint {ep}");
            failed.push(ep.name());
        }
    }
    assert!(
        failed.is_empty(),
        "failed on endpoint(s): {}",
        failed.join(", ")
    );
}

/// Starts a fresh server for each endpoint, sends `TPM2_Startup(CLEAR)` and runs `body`.
pub fn each_started(body: impl Fn(&Server, &mut Tpm)) {
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let mut tpm = Tpm::connect(&server);
        tpm.startup_clear();
        body(&server, &mut tpm);
    });
}

/// Lower-case hex of `b`.
pub fn hexs(b: &[u8]) -> String {
    hex::encode(b)
}
