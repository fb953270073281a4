//! The Python real-client tests in `tests/py`, run with pytest against a fresh server per
//! endpoint (the same Python code must pass against the reference, `EVTPM_ENDPOINTS=swtpm`):
//!
//! * `test_kernel_hmac.py`: the Linux kernel's HMAC/encrypted-session sequence
//!   (`CONFIG_TCG_TPM2_HMAC`), reimplemented from its bytes with Python `cryptography`.
//! * `test_keylime.py`: Keylime's own registrar and verifier code (PyPI `keylime` 7.14.3):
//!   credential activation for an EK/AK the TPM holds, quote and IMA log verification.
//!
//! Needs python3 with the packages of `tests/py/requirements.txt` (`make deps-py`, part of
//! `make test`).

use evtpm_tests::server::run_with_timeout;
use evtpm_tests::{each_endpoint, Protocol, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
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

fn pytest(file: &str) {
    check_deps();
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let proto = match server.protocol() {
            Protocol::Mssim => "mssim",
            Protocol::Swtpm => "swtpm",
        };
        let mut cmd = Command::new("python3");
        cmd.current_dir(py_dir())
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", file])
            .env(
                "EVTPM_PY_TPM",
                format!("{proto}:127.0.0.1:{}", server.port()),
            )
            .env("EVTPM_PY_TCTI", server.tcti())
            .env("EVTPM_PY_ENDPOINT", ep.name())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("TPM2TOOLS_ENABLE_ERRATA");
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
