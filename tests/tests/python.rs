//! The Python real-client tests in `tests/py`, run with pytest against a fresh server per
//! endpoint (the same Python code must pass against the reference, `EVTPM_ENDPOINTS=swtpm`):
//!
//! * `test_kernel_hmac.py`: the Linux kernel's HMAC/encrypted-session sequence
//!   (`CONFIG_TCG_TPM2_HMAC`), reimplemented from its bytes with Python `cryptography`.
//! * `test_keylime.py`: Keylime's own registrar and verifier code (PyPI `keylime` 7.14.3):
//!   credential activation for an EK/AK the TPM holds, quote and IMA log verification.
//! * `test_keylime_e2e.py` (evtpm endpoints only: it needs `evtpm serve --ek`, four servers per
//!   endpoint): Keylime's registrar, verifier and tenant running as services (loopback, sqlite,
//!   TLS material Keylime generates, all under a temp dir) with `ek_check_script` = `evtpm
//!   verify --ek-check-script`, and an agent played by the test with the TPM work done through
//!   tpm2-tools: the tenant accepts the evtpm EK and the verifier attests the agent (the
//!   bootstrap key reaches it), and the tenant rejects a wrong measurement and a foreign EK.
//!
//! Needs python3 with the packages of `tests/py/requirements.txt` (`make deps-py`, part of
//! `make test`).

use evtpm_tests::server::{evtpm_bin, run_with_timeout};
use evtpm_tests::{each_endpoint, Endpoint, Protocol, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

/// A whole pytest file against one server (the Keylime file creates RSA keys: slow in a debug
/// build of the engine).
const PYTEST_TIMEOUT: Duration = Duration::from_secs(600);

fn py_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py")
}

fn check_deps() {
    let out = run_with_timeout(
        {
            let mut c = Command::new("python3");
            c.arg(py_dir().join("check_deps.py"));
            c
        },
        b"",
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "the Python test dependencies are missing: run `make deps-py` (or `python3 -m pip install \
         -r tests/py/requirements.txt`).\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `python3 -m pytest FILE` in `tests/py` with the environment every run gets.
fn pytest_command(file: &str, ep: Endpoint) -> Command {
    let mut cmd = Command::new("python3");
    cmd.current_dir(py_dir())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", file])
        .env("EVTPM_PY_ENDPOINT", ep.name())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("TPM2TOOLS_ENABLE_ERRATA");
    cmd
}

fn run_pytest(ep: Endpoint, file: &str, cmd: Command) {
    let out = run_with_timeout(cmd, b"", PYTEST_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // pytest's own summary, visible with --nocapture.
    println!("{ep}: pytest {file}:\n{stdout}");
    assert!(
        out.status.success(),
        "{ep}: pytest {file} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(" passed"),
        "{ep}: pytest {file} ran no test:\n{stdout}\n{stderr}"
    );
}

fn pytest(file: &str) {
    check_deps();
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let proto = match server.protocol() {
            Protocol::Mssim => "mssim",
            Protocol::Swtpm => "swtpm",
        };
        let mut cmd = pytest_command(file, ep);
        cmd.env(
            "EVTPM_PY_TPM",
            format!("{proto}:127.0.0.1:{}", server.port()),
        )
        .env("EVTPM_PY_TCTI", server.tcti());
        run_pytest(ep, file, cmd);
    });
}

/// A pytest file against `count` fresh servers provisioned as the firmware is at boot (EKs and
/// EK certificates: `evtpm serve --ek`; the firmware provisions itself), started in parallel.
/// Their TCTIs go in `EVTPM_PY_EK_TCTIS` (separated by `;`), the `evtpm` binary (for `evtpm
/// verify`) in `EVTPM_BIN`. swtpm has no such provisioning and is skipped.
fn pytest_provisioned(file: &str, count: usize) {
    check_deps();
    each_endpoint(|ep| {
        if !ep.is_evtpm() {
            eprintln!("{ep}: no EK provisioning, {file} skipped");
            return;
        }
        let servers: Vec<Server> = thread::scope(|s| {
            let starting: Vec<_> = (0..count)
                .map(|_| s.spawn(move || Server::start_provisioned(ep)))
                .collect();
            starting
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let tctis: Vec<String> = servers.iter().map(Server::tcti).collect();
        let mut cmd = pytest_command(file, ep);
        cmd.env("EVTPM_PY_EK_TCTIS", tctis.join(";"))
            .env("EVTPM_BIN", evtpm_bin());
        run_pytest(ep, file, cmd);
    });
}

#[test]
fn linux_kernel_hmac_session_sequence() {
    pytest("test_kernel_hmac.py");
}

#[test]
fn keylime_registrar_and_verifier() {
    pytest("test_keylime.py");
}

#[test]
fn keylime_services_accept_an_evtpm_ek_and_reject_a_wrong_measurement_or_a_foreign_ek() {
    // Roles in test_keylime_e2e.py: accepted, wrong-measurement, foreign, donor.
    pytest_provisioned("test_keylime_e2e.py", 4);
}
