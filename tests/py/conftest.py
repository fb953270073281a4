"""Shared fixtures for the Python real-client tests (run by tests/tests/python.rs)."""

import os
import subprocess
import sys
import types

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# keylime.signing imports the `gpg` binding (python-gpgme) at module level; it is used only to
# check GPG-signed runtime policies, which these tests do not use, and it has no wheel on PyPI
# (it builds against libgpgme headers). A stand-in module lets keylime.ima and keylime.tpm
# import; any use of it would fail loudly (no attributes).
try:
    import gpg  # noqa: F401
except ImportError:
    sys.modules["gpg"] = types.ModuleType("gpg")


def endpoint_name():
    return os.environ.get("EVTPM_PY_ENDPOINT", "unknown")


class Tools:
    """Runs tpm2-tools against the endpoint's TCTI in a scratch directory."""

    def __init__(self, tcti, workdir):
        self.tcti = tcti
        self.dir = workdir

    def path(self, name):
        return str(self.dir / name)

    def run(self, *args, check=True, stdin=None):
        env = dict(os.environ)
        env["TPM2TOOLS_TCTI"] = self.tcti
        env.pop("TPM2TOOLS_ENABLE_ERRATA", None)
        p = subprocess.run(
            ["tpm2", *args], env=env, input=stdin, capture_output=True, timeout=120,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"{endpoint_name()}: tpm2 {' '.join(args)} failed ({p.returncode}):\n"
                f"{p.stdout.decode(errors='replace')}\n{p.stderr.decode(errors='replace')}"
            )
        return p


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    tcti = os.environ.get("EVTPM_PY_TCTI")
    if not tcti:
        raise RuntimeError(
            "EVTPM_PY_TCTI is not set: run these tests through `cargo test -p evtpm-tests --test "
            "python` (it starts the TPM servers)"
        )
    t = Tools(tcti, tmp_path_factory.mktemp("tpm2"))
    # A fresh server has not been started; tolerate an already started one (TPM_RC_INITIALIZE).
    p = t.run("startup", "-c", check=False)
    if p.returncode != 0 and b"0x100" not in p.stderr + p.stdout:
        raise AssertionError(f"tpm2 startup -c: {p.stderr.decode(errors='replace')}")
    return t
