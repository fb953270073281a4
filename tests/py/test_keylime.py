"""Keylime's own Python code (PyPI `keylime`) against a TPM that tpm2-tools drives, as the Keylime
registrar, agent and verifier use it:

* registrar: `Tpm.encrypt_aik_with_ek` (`tpm_util.makecredential`: RSA-OAEP or ECDH seed, the
  outer wrap of the challenge to the AK's name) builds the credential for an EK and an AK that the
  TPM holds; the agent's `tpm2_activatecredential` (EK policy session: PolicySecret(endorsement))
  must recover the challenge, and Keylime's HMAC response check must accept it. A credential
  bound to another AK name must not activate.
* verifier: PCR 10 is extended with the template hashes of an IMA log (ima-ng entries built by
  this test from the template format), `tpm2_quote` signs it with the AK over a nonce, and
  `Tpm.check_quote` (`tpm_util.checkquote`: signature, nonce, PCR digest; then `ima.
  process_measurement_list`: log replay against PCR 10 and the runtime policy made by
  `keylime.policy.create_runtime_policy` from the same log) must accept it; a tampered quote, a
  wrong nonce, a tampered log and a policy without one of the files must be rejected.

Both for an RSA-2048 EK/AK (RSASSA) and an ECC P-256 EK/AK (ECDSA).
"""

import argparse
import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import serialization

from keylime import crypto
from keylime.mba import mba
from keylime.common.algorithms import Hash
from keylime.policy import create_runtime_policy as crp
from keylime.tpm import tpm2_objects, tpm_util
from keylime.tpm.tpm_main import Tpm as KeylimeTpm

ALGS = {
    "rsa": {"key": "rsa", "scheme": "rsassa"},
    "ecc": {"key": "ecc", "scheme": "ecdsa"},
}


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def keys(tools):
    """EK and AK per algorithm: (ek ctx, ek TPM2B_PUBLIC, ak ctx, ak TPM2B_PUBLIC, ak name)."""
    out = {}
    for alg, a in ALGS.items():
        ek, ekpub = tools.path(f"ek-{alg}.ctx"), tools.path(f"ek-{alg}.pub")
        ak, akpub, akname = (tools.path(f"ak-{alg}.{x}") for x in ("ctx", "pub", "name"))
        tools.run("createek", "-c", ek, "-G", a["key"], "-u", ekpub)
        tools.run(
            "createak", "-C", ek, "-c", ak, "-G", a["key"], "-g", "sha256", "-s", a["scheme"],
            "-u", akpub, "-n", akname,
        )
        # The tools leave the objects loaded; the context files reload them (libtpms has three
        # transient slots).
        tools.run("flushcontext", "-t")
        out[alg] = (ek, read(ekpub), ak, read(akpub), read(akname))
    return out


def activate(tools, ek, ak, cred_blob, tag):
    cred = tools.path(f"cred-{tag}.bin")
    with open(cred, "wb") as f:
        f.write(cred_blob)
    session = tools.path(f"session-{tag}.ctx")
    tools.run("startauthsession", "--policy-session", "-S", session)
    tools.run("policysecret", "-S", session, "-c", "e")
    out = tools.path(f"secret-{tag}.out")
    p = tools.run(
        "activatecredential", "-c", ak, "-C", ek, "-i", cred, "-o", out, "-P",
        f"session:{session}", check=False,
    )
    tools.run("flushcontext", session, check=False)
    tools.run("flushcontext", "-t")
    return (read(out) if p.returncode == 0 else None), p


@pytest.mark.parametrize("alg", sorted(ALGS))
def test_registrar_credential_activates(tools, keys, alg):
    ek, ek_tpm, ak, ak_tpm, ak_name = keys[alg]
    # The registrar's view of the AK: its name as Keylime computes it equals the TPM's.
    assert tpm2_objects.get_tpm2b_public_name(ak_tpm) == ak_name.hex()
    attrs = tpm2_objects.get_tpm2b_public_object_attributes(ak_tpm)
    want = (
        tpm2_objects.OA_FIXEDTPM | tpm2_objects.OA_FIXEDPARENT | tpm2_objects.OA_RESTRICTED
        | tpm2_objects.OA_SIGN_ENCRYPT | tpm2_objects.OA_SENSITIVEDATAORIGIN
    )
    assert attrs & want == want, tpm2_objects.object_attributes_description(attrs)

    agent_id = f"evtpm-{alg}"
    keyblob, key = KeylimeTpm.encrypt_aik_with_ek(agent_id, ek_tpm, ak_tpm)
    secret, p = activate(tools, ek, ak, base64.b64decode(keyblob), f"ok-{alg}")
    assert secret is not None, p.stderr.decode(errors="replace")
    assert secret == base64.b64decode(key)
    # The agent answers HMAC(base64(secret), agent id); the registrar compares with its key.
    response = crypto.do_hmac(base64.b64encode(secret), agent_id)
    assert response == crypto.do_hmac(key.encode(), agent_id)


@pytest.mark.parametrize("alg", sorted(ALGS))
def test_credential_for_another_name_does_not_activate(tools, keys, alg):
    ek, ek_tpm, ak, ak_tpm, ak_name = keys[alg]
    other = bytearray(ak_name)
    other[-1] ^= 1
    blob = tpm_util.makecredential(ek_tpm, b"not for this AK", bytes(other))
    secret, p = activate(tools, ek, ak, blob, f"bad-{alg}")
    assert secret is None, "a credential for another name activated"
    # TPM_RC_INTEGRITY (0x9F) on parameter 1 (credentialBlob): 0x1DF.
    assert b"0x1df" in p.stderr.lower(), p.stderr


# ---- IMA ----------------------------------------------------------------------------------------


def ima_ng_entry(path, data):
    """One ascii_runtime_measurements line of template ima-ng and its template data."""
    file_digest = hashlib.sha256(data).digest()
    d_ng = b"sha256:\0" + file_digest
    n_ng = path.encode() + b"\0"
    template = struct.pack("<I", len(d_ng)) + d_ng + struct.pack("<I", len(n_ng)) + n_ng
    line = f"10 {hashlib.sha1(template).hexdigest()} ima-ng sha256:{file_digest.hex()} {path}"
    return line, template


FILES = [
    ("boot_aggregate", b"evtpm boot aggregate"),
    ("/usr/bin/bash", b"#!bash"),
    ("/usr/lib/systemd/systemd", b"systemd"),
    ("/etc/keylime/agent.conf", b"[agent]"),
    ("/usr/bin/keylime_agent", b"agent binary"),
]


def extend_log(tools, entries):
    for _, template in entries:
        tools.run(
            "pcrextend",
            "10:sha1={},sha256={}".format(
                hashlib.sha1(template).hexdigest(), hashlib.sha256(template).hexdigest()
            ),
        )


def runtime_policy_from_log(tools, log_text, tag):
    path = tools.path(f"ascii_runtime_measurements-{tag}")
    with open(path, "w") as f:
        f.write(log_text)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    crp.get_arg_parser(sub, argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["runtime", "--ima-measurement-list", path])
    policy = crp.create_runtime_policy(args)
    assert policy is not None, "keylime could not create a runtime policy from the log"
    return policy


def quote(tools, ak, nonce, tag):
    msg, sig, pcrs = (tools.path(f"quote-{tag}.{x}") for x in ("msg", "sig", "pcrs"))
    tools.run(
        "quote", "-c", ak, "-l", "sha256:10", "-q", nonce.encode().hex(), "-m", msg, "-s", sig,
        "-o", pcrs, "-g", "sha256",
    )
    tools.run("flushcontext", "-t")
    return read(msg), read(sig), read(pcrs)


def quote_string(msg, sig, pcrs):
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    return f"r{b(msg)}:{b(sig)}:{b(pcrs)}"


def check(ak_tpm, nonce, q, log_text, policy):
    # The verifier loads the measured-boot modules at start (without the configured custom
    # policies: there is no verifier configuration here); check_pcrs calls into them.
    if not mba._mba_imports:  # pylint: disable=protected-access
        mba.load_imports(skip_custom_policies=True)
    return KeylimeTpm().check_quote(
        None, nonce, None, q, ak_tpm, tpm_policy={}, ima_measurement_list=log_text,
        runtime_policy=policy, hash_alg=Hash.SHA256,
    )


def test_quotes_over_an_ima_log_verify(tools, keys):
    """One log, both AKs (the module's TPM has one PCR 10)."""
    entries = [ima_ng_entry(p, d) for p, d in FILES]
    log_text = "".join(line + "\n" for line, _ in entries)
    extend_log(tools, entries)
    for alg in sorted(ALGS):
        _, _, ak, ak_tpm, _ = keys[alg]
        policy = runtime_policy_from_log(tools, log_text, alg)
        assert set(policy["digests"]) >= {p for p, _ in FILES[1:]}
        nonce = f"evtpmnonce{alg}0123456789"
        msg, sig, pcrs = quote(tools, ak, nonce, alg)
        q = quote_string(msg, sig, pcrs)

        failure = check(ak_tpm, nonce, q, log_text, policy)
        assert not failure, f"{alg}: keylime rejected the quote: {failure.get_event_ids()}"

        # Tampering with the quote: Keylime's quote verification (tpm_util.checkquote, which
        # check_quote calls first) must refuse each. (check_quote itself is not asserted here:
        # keylime 7.14.3 reports the refusal as str(exception), and cryptography's
        # InvalidSignature has an empty message, so check_quote goes on as if the quote held no
        # PCRs -- a Keylime quirk, not a TPM matter.)
        pem = tpm2_objects.pubkey_from_tpm2b_public(ak_tpm).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pcrs_dict = tpm_util.checkquote(pem, nonce, sig, msg, pcrs, "sha256")
        assert set(pcrs_dict) == {10}
        bad_msg = bytearray(msg)
        bad_msg[-5] ^= 1
        bad_sig = bytearray(sig)
        bad_sig[-3] ^= 1
        bad_pcrs = bytearray(pcrs)
        # tpm2-tools' PCR file ends with one TPML_DIGEST of 8 TPM2B slots of 2 + 64 bytes; the
        # quoted PCR 10 is the first slot.
        bad_pcrs[len(pcrs) - 8 * 66 + 2] ^= 1
        for what, args in [
            ("a tampered TPMS_ATTEST", (nonce, sig, bytes(bad_msg), pcrs)),
            ("a tampered signature", (nonce, bytes(bad_sig), msg, pcrs)),
            ("another nonce", (nonce + "x", sig, msg, pcrs)),
            ("PCR values that are not the quoted ones", (nonce, sig, msg, bytes(bad_pcrs))),
        ]:
            with pytest.raises(Exception):
                tpm_util.checkquote(pem, *args, "sha256")
                pytest.fail(f"{alg}: keylime accepted {what}")

        # A log whose file contents changed (entry rebuilt consistently): the replay no longer
        # gives PCR 10, and the digest is not in the policy.
        tampered = [ima_ng_entry(p, d) for p, d in FILES]
        tampered[2] = ima_ng_entry(FILES[2][0], b"trojaned systemd")
        tampered_text = "".join(line + "\n" for line, _ in tampered)
        failure = check(ak_tpm, nonce, q, tampered_text, policy)
        assert failure, f"{alg}: keylime accepted a tampered IMA log"
        assert set(failure.get_event_ids()) == {
            "ima.validation.ima-ng.runtime_policy_hash",
            "ima.pcr_mismatch",
        }, failure.get_event_ids()

        # The right log against a policy that lacks one file's digest.
        strict = runtime_policy_from_log(tools, log_text, alg + "-strict")
        del strict["digests"][FILES[4][0]]
        failure = check(ak_tpm, nonce, q, log_text, strict)
        assert failure, f"{alg}: keylime accepted a file missing from the runtime policy"
        assert failure.get_event_ids() == ["ima.validation.ima-ng.not_in_allowlist"]
