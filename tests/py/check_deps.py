"""Exits 0 when everything tests/py needs is importable at the pinned versions (used by
`make deps-py` to skip pip, and by tests/tests/python.rs to fail with instructions)."""

import importlib.metadata
import sys
import types

PINNED = {"keylime": "7.14.3", "sev-snp-measure": "0.0.13"}

try:
    import gpg  # noqa: F401
except ImportError:
    sys.modules["gpg"] = types.ModuleType("gpg")

missing = []
for name, version in PINNED.items():
    try:
        got = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        got = None
    if got != version:
        missing.append(f"{name}=={version} (found {got})")
major = int(importlib.metadata.version("cryptography").split(".")[0])
if major >= 49:
    missing.append(f"cryptography<49 (found {importlib.metadata.version('cryptography')})")
for module in [
    "pytest",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "keylime.tpm.tpm_main",
    "keylime.tpm.tpm_util",
    "keylime.ima.ima",
    "keylime.policy.create_runtime_policy",
    "keylime.mba.elchecking.elchecker",
    "keylime.mba.elparsing.tpm2_tools_elparser",
    # test_keylime_e2e.py runs these as services and as the tenant command.
    "keylime.cmd.verifier",
    "keylime.cmd.registrar",
    "keylime.cmd.tenant",
    "alembic",
    "requests",
    # tools/tests/measure.rs runs its command-line tool.
    "sevsnpmeasure.cli",
]:
    try:
        __import__(module)
    except Exception as e:  # noqa: BLE001
        missing.append(f"{module}: {type(e).__name__}: {e}")
if missing:
    print("tests/py dependencies missing:\n  " + "\n  ".join(missing), file=sys.stderr)
    sys.exit(1)
