"""Keylime end to end (issue 6): Keylime's own registrar, verifier and tenant (PyPI `keylime`,
run as services on loopback with sqlite, see keylime_stack.py) accept an agent whose EK is an
evtpm's through `ek_check_script` = `evtpm verify --ek-check-script ...` (README.md, "Keylime"),
and reject it for a wrong measurement and for a foreign EK.

No Keylime agent can be installed here (rust-keylime is not packaged), so the agent is played by
keylime_agent.py: it registers at the registrar's REST API with what an agent sends (EK, EK
certificate and AK read or made by tpm2-tools from `evtpm serve --ek`), activates the AK
credential with the TPM, and answers the tenant's and the verifier's quote and key requests over
mTLS with quotes from the same TPM. Each scenario has its own freshly provisioned evtpm
(tests/tests/python.rs starts them and passes their TCTIs in EVTPM_PY_EK_TCTIS):

* accepted: the tenant's `add` checks the identity quote, runs the script (which passes every
  check), delivers U; the verifier checks integrity quotes and delivers V; the agent derives K
  and decrypts the tenant's payload, and the tenant's `--verify` confirms K.
* wrong measurement: the script's allow-list holds another MEASUREMENT: the tenant refuses the
  agent, sends no key, and the verifier never hears of it.
* foreign EK: (1) an agent that ships another evtpm's EK certificate with its own EK is refused
  by the registrar (the certificate's key is not the EK); (2) an agent that re-wraps that
  evtpm's genuine report into a certificate for its own EK, signed with the published issuer
  key (anyone can), passes the registrar and the AK activation, and the script refuses the
  binding: REPORT_DATA names the other TPM's EK.
"""

import datetime
import hashlib
import os
import uuid as uuid_mod

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import Tools
from keylime_agent import Agent, TpmIdentity, b64
from keylime_stack import KeylimeStack

QEMU_TEST_MEASUREMENT = hashlib.sha384(
    b"evtpm qemu-test platform: no launch measurement"
).hexdigest()
OTHER_MEASUREMENTS = [hashlib.sha384(f"firmware image {n}".encode()).hexdigest() for n in (1, 2)]
# evidence/src/ek_cert.rs: SHA-384 of this published string is the EK certificate issuer's
# P-384 private scalar. The issuer signature proves nothing; this test signs with it as any
# attacker can.
ISSUER_KEY_SEED = b"evtpm EK binding issuer key v1 (published, not a secret)"

ROLES = ["accepted", "wrong-measurement", "foreign", "donor"]


@pytest.fixture(scope="module")
def tpms(tmp_path_factory):
    """One tpm2-tools runner per role, each on its own freshly provisioned evtpm."""
    tctis = [t for t in os.environ.get("EVTPM_PY_EK_TCTIS", "").split(";") if t]
    if not tctis:
        pytest.skip(
            "EVTPM_PY_EK_TCTIS is not set: these tests need evtpm servers provisioned with EKs "
            "(`cargo test -p evtpm-tests --test python` starts them with `evtpm serve --ek`)"
        )
    assert len(tctis) >= len(ROLES), f"need {len(ROLES)} provisioned TPMs, got {tctis}"
    out = {}
    for role, tcti in zip(ROLES, tctis):
        t = Tools(tcti, tmp_path_factory.mktemp(f"tpm-{role}"))
        t.run("startup", "-c")
        out[role] = t
    return out


@pytest.fixture(scope="module")
def evtpm_bin():
    path = os.environ.get("EVTPM_BIN")
    assert path and os.path.isfile(path), f"EVTPM_BIN must name the evtpm binary (got {path!r})"
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = KeylimeStack(tmp_path_factory.mktemp("keylime"))
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def agents(stack, tmp_path):
    """Agents made by the test, their servers stopped at the end."""
    made = []

    def make(identity, ek_cert=None):
        trusted_client_ca = os.path.join(stack.cv_ca, "cacert.crt")
        a = Agent(identity, str(uuid_mod.uuid4()), trusted_client_ca, ek_cert)
        a.start(str(tmp_path))
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def ek_check_wrapper(directory, evtpm_bin, policy, name):
    """The operator's wrapper of README.md "Keylime" (Keylime runs the script without
    arguments): `evtpm verify --ek-check-script` with the test root and `policy` (arguments)."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            f"#!/bin/sh\nexec {evtpm_bin} verify --ek-check-script --allow-test-root {policy}\n"
        )
    os.chmod(path, 0o755)
    return path


def write_payload(directory, data):
    path = os.path.join(directory, "payload")
    with open(path, "wb") as f:
        f.write(data)
    return path


def register_and_activate(stack, agent):
    status, body, text = agent.register(stack.registrar_port)
    assert status == 200, (
        f"registrar refused the agent: {status} {text}\n{stack.log('registrar')[-3000:]}"
    )
    status, _, text = agent.activate(stack.registrar_port, body["results"]["blob"])
    assert status == 200, f"registrar refused the activation: {status} {text}"


def tenant_add(stack, agent, script, payload_file):
    """`keylime_tenant -c add -u UUID -f PAYLOAD --verify`: the identity quote and the EK check,
    U to the agent, the agent to the verifier, then K confirmed with the agent (--verify)."""
    p = stack.tenant(
        "-c", "add", "-u", agent.uuid, "-f", payload_file, "--verify", ek_check_script=script
    )
    return p, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def assert_refused(stack, agent, p, log):
    """The tenant failed, withheld the bootstrap key and never added the agent to the verifier."""
    assert p.returncode != 0, f"the tenant accepted the agent:\n{log}"
    assert f"TPM Quote from Agent {agent.uuid}" in log and "is invalid for nonce" in log, log
    assert agent.u is None, "the tenant delivered U to a refused agent"
    assert ("POST", "/v2.2/keys/ukey") not in agent.requests, agent.requests
    status, body = stack.admin_get("verifier", f"/v2.2/agents/{agent.uuid}")
    assert status == 404, f"the verifier has the refused agent: {status} {body}"


def test_tenant_accepts_an_evtpm_agent_through_ek_check_script(
    stack, tpms, agents, evtpm_bin, tmp_path
):
    identity = TpmIdentity(tpms["accepted"], "accepted")
    agent = agents(identity)
    register_and_activate(stack, agent)

    # The registrar holds the EK certificate exactly as read from NV 0x01C00002 (this is what
    # the tenant hands the script as EK_CERT).
    status, body = stack.admin_get("registrar", f"/v2.2/agents/{agent.uuid}")
    assert status == 200, body
    assert body["results"]["ekcert"] == b64(identity.ek_cert)
    assert body["results"]["ek_tpm"] == b64(identity.ek_tpm)

    script = ek_check_wrapper(
        str(tmp_path), evtpm_bin, f"--measurement {QEMU_TEST_MEASUREMENT}", "evtpm-ek-check"
    )
    payload = os.urandom(48).hex().encode()
    p, log = tenant_add(stack, agent, script, write_payload(str(tmp_path), payload))
    assert p.returncode == 0, (
        f"the tenant refused the agent:\n{log}\n--- verifier\n{stack.log('verifier')[-4000:]}"
    )

    # The script ran on this agent's EK and every check passed.
    assert f"Checking EK for Agent {agent.uuid}" in log, log
    assert "ek_check output:" in log, log
    for check in ["ek-cert", "chain", "signature", "vcek", "vmpl", "policy", "measurement"]:
        assert f"PASS {check}:" in log, f"{check}:\n{log}"
    binding = "PASS binding: REPORT_DATA = SHA-512(nonce ‖ TPMT_PUBLIC) for the RSA-2048 EK"
    assert binding in log, log
    assert "OK: every requested check passed" in log, log
    assert f"Quote from Agent {agent.uuid}" in log and "validated" in log, log
    assert f"Successful key derivation for Agent {agent.uuid}" in log, log

    # The agent got U from the tenant and V from the verifier (which sends V only after an
    # integrity quote it accepted), and K = U xor V opened the tenant's payload.
    assert agent.errors == [], agent.errors
    assert agent.recovered_payload == payload
    assert ("GET", "/v2.2/quotes/identity") in agent.requests, agent.requests
    assert ("GET", "/v2.2/quotes/integrity") in agent.requests, agent.requests

    status, body = stack.admin_get("verifier", f"/v2.2/agents/{agent.uuid}")
    assert status == 200, body
    r = body["results"]
    assert r["attestation_count"] >= 1 and r["attestation_status"] == "PASS", r
    assert r["severity_level"] is None and r["last_event_id"] is None, r
    assert (r["hash_alg"], r["enc_alg"], r["sign_alg"]) == ("sha256", "rsa", "rsassa"), r


def test_tenant_rejects_an_evtpm_agent_with_another_measurement(
    stack, tpms, agents, evtpm_bin, tmp_path
):
    agent = agents(TpmIdentity(tpms["wrong-measurement"], "wrong-measurement"))
    # The registrar does not judge the EK: registration and activation succeed.
    register_and_activate(stack, agent)

    # The allow-list file of README.md "Keylime", naming only other firmware images.
    allowed = tmp_path / "evtpm-measurements.txt"
    allowed.write_text("# accepted launch measurements\n" + "\n".join(OTHER_MEASUREMENTS) + "\n")
    script = ek_check_wrapper(str(tmp_path), evtpm_bin, f"--allow {allowed}", "evtpm-ek-check")
    p, log = tenant_add(stack, agent, script, write_payload(str(tmp_path), b"not for this agent"))
    assert "External check script failed to validate EK" in log, log
    assert (
        f"FAIL measurement: {QEMU_TEST_MEASUREMENT} is not in the allow-list (2 entries)" in log
    ), log
    # Everything else about the EK holds; only the measurement is refused.
    assert "PASS binding:" in log and "PASS chain:" in log, log
    assert_refused(stack, agent, p, log)


def rewrap_report(donor_cert_der, ek_pem):
    """A certificate for `ek_pem` carrying the donor certificate's report (and its other
    extensions), signed by the published issuer key: what anyone can make."""
    donor = x509.load_der_x509_certificate(donor_cert_der)
    issuer_key = ec.derive_private_key(
        int.from_bytes(hashlib.sha384(ISSUER_KEY_SEED).digest(), "big"), ec.SECP384R1()
    )
    utc = datetime.timezone.utc
    builder = (
        x509.CertificateBuilder()
        .subject_name(donor.subject)
        .issuer_name(donor.issuer)
        .public_key(serialization.load_pem_public_key(ek_pem))
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=utc))
        .not_valid_after(datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=utc))
    )
    for ext in donor.extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(issuer_key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)


def test_tenant_rejects_a_foreign_ek(stack, tpms, agents, evtpm_bin, tmp_path):
    attacker = TpmIdentity(tpms["foreign"], "foreign")
    donor = TpmIdentity(tpms["donor"], "donor", with_ak=False)
    assert attacker.ek_tpm != donor.ek_tpm, "two fresh evtpm instances share an EK"

    # (1) The other evtpm's genuine certificate with this TPM's EK: the registrar compares the
    # certificate's key with ek_tpm and refuses.
    naive = agents(attacker, ek_cert=donor.ek_cert)
    status, _, text = naive.register(stack.registrar_port)
    assert status == 400, f"the registrar accepted another key's EK certificate: {status} {text}"
    registrar_log = stack.log("registrar")
    assert "must contain the same public key found in ekcert" in registrar_log, registrar_log

    # (2) The other evtpm's genuine report, re-wrapped into a certificate for this TPM's EK.
    agent = agents(attacker, ek_cert=rewrap_report(donor.ek_cert, attacker.ek_pem))
    # The registrar finds the certificate's key equal to the EK, and the AK activates: this
    # TPM does hold that EK.
    register_and_activate(stack, agent)

    script = ek_check_wrapper(
        str(tmp_path), evtpm_bin, f"--measurement {QEMU_TEST_MEASUREMENT}", "evtpm-ek-check"
    )
    p, log = tenant_add(stack, agent, script, write_payload(str(tmp_path), b"not for this agent"))
    assert "External check script failed to validate EK" in log, log
    # The certificate names the EK and carries the issuer's signature, and the report is genuine
    # (signature, measurement); the binding is what fails: REPORT_DATA is SHA-512(nonce || the
    # donor's EK).
    assert "PASS ek-cert: key = RSA-2048 = the given EK; signed by the evtpm EK binding" in log, log
    assert "PASS signature:" in log and "PASS measurement:" in log, log
    assert "FAIL binding: REPORT_DATA" in log and "REJECTED: failed binding" in log, log
    assert_refused(stack, agent, p, log)
