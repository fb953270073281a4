"""A Keylime pull-mode agent played by the test: what Keylime's agent (rust-keylime) does on a
node, with every TPM operation done by the TPM under test through tpm2-tools.

* Registration (registrar REST API, plain HTTP as the agent uses it): the EK is the persistent
  RSA EK at 0x81010001 (its TPM2B_PUBLIC), the EK certificate is read from NV 0x01C00002, the
  AK is made under that EK by `tpm2_createak` (RSA-2048, RSASSA, SHA-256), and the agent's
  mTLS server certificate is self-signed. The registrar answers with a credential blob made
  for the EK and the AK's name; `tpm2_activatecredential` (EK policy session,
  PolicySecret(endorsement)) recovers the secret, and the agent activates with
  auth_tag = HMAC-SHA384(key = base64(secret), message = agent UUID), hex.
* The agent API (HTTPS, mTLS: the agent's self-signed server certificate, clients must present
  a certificate of the verifier's CA): `GET /version`; `GET /v{api}/quotes/identity` and
  `GET /v{api}/quotes/integrity` answered with `tpm2_quote` by the AK over the nonce, with
  PCR 16 holding SHA-256(NK public key PEM) extended into a reset PCR (the data PCR Keylime
  checks, config.TPM_DATA_PCR), in Keylime's quote format
  `r<b64 TPMS_ATTEST>:<b64 TPMT_SIGNATURE>:<b64 tpm2-tools PCR file>`; `POST /v{api}/keys/ukey`
  and `POST /v{api}/keys/vkey` (the halves U and V of the bootstrap key K, RSA-OAEP(SHA-1)
  encrypted to the NK by the tenant and by the verifier); K = U xor V must give the tenant's
  auth_tag = HMAC-SHA384(K, agent UUID), and K decrypts the tenant's payload (AES-256-GCM);
  `GET /v{api}/keys/verify?challenge=` answers HMAC-SHA384(K, challenge).

Nothing here imports Keylime: the agent side is written from the protocol, so that Keylime's
registrar, tenant and verifier check it independently.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

EK_HANDLE = "0x81010001"
EK_CERT_INDEX = "0x01C00002"
DATA_PCR = 16
# The agent API versions this agent implements (Keylime's v2 pull-mode agent API).
API_VERSIONS = ["2.2"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def b64(data):
    return base64.b64encode(data).decode()


def hmac_sha384_hex(key, message):
    return hmac.new(key, message.encode(), hashlib.sha384).hexdigest()


def self_signed_cert(uuid):
    """The agent's mTLS server certificate and key (PEM), self-signed as Keylime's agent makes
    it: the tenant and the verifier trust it because the registrar holds it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, uuid)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class TpmIdentity:
    """The EK (TPM2B_PUBLIC and PEM), its certificate and an AK of one TPM, through tpm2-tools
    (`tools`: conftest.Tools)."""

    def __init__(self, tools, tag, with_ak=True):
        self.tools = tools
        self.tag = tag
        self.lock = threading.Lock()
        ek_pub = tools.path(f"{tag}-ek.pub")
        ek_pem = tools.path(f"{tag}-ek.pem")
        ek_cert = tools.path(f"{tag}-ek.der")
        tools.run("readpublic", "-c", EK_HANDLE, "-o", ek_pub)
        tools.run("readpublic", "-c", EK_HANDLE, "-f", "pem", "-o", ek_pem)
        tools.run("nvread", EK_CERT_INDEX, "-C", "o", "-o", ek_cert)
        self.ek_tpm = read(ek_pub)
        self.ek_pem = read(ek_pem)
        self.ek_cert = read(ek_cert)
        self.ak_ctx = self.ak_tpm = None
        if with_ak:
            self.ak_ctx = tools.path(f"{tag}-ak.ctx")
            ak_pub = tools.path(f"{tag}-ak.pub")
            tools.run(
                "createak", "-C", EK_HANDLE, "-c", self.ak_ctx, "-G", "rsa", "-g", "sha256", "-s",
                "rsassa", "-u", ak_pub,
            )
            tools.run("flushcontext", "-t")
            self.ak_tpm = read(ak_pub)

    def activate_credential(self, blob):
        """TPM2_ActivateCredential of a registrar blob (tpm2-tools credential file) with the AK
        and the EK; returns the recovered secret."""
        with self.lock:
            cred = self.tools.path(f"{self.tag}-cred.bin")
            with open(cred, "wb") as f:
                f.write(blob)
            session = self.tools.path(f"{self.tag}-session.ctx")
            out = self.tools.path(f"{self.tag}-secret.bin")
            self.tools.run("startauthsession", "--policy-session", "-S", session)
            try:
                self.tools.run("policysecret", "-S", session, "-c", "e")
                self.tools.run(
                    "activatecredential", "-c", self.ak_ctx, "-C", EK_HANDLE, "-i", cred, "-o", out,
                    "-P", f"session:{session}",
                )
            finally:
                self.tools.run("flushcontext", session, check=False)
                self.tools.run("flushcontext", "-t")
            return read(out)

    def bind_data_pcr(self, data):
        """PCR 16 := extend(reset, SHA-256(data)): the value Keylime expects for the NK."""
        with self.lock:
            self.tools.run("pcrreset", str(DATA_PCR))
            self.tools.run("pcrextend", f"{DATA_PCR}:sha256={hashlib.sha256(data).hexdigest()}")

    def quote(self, nonce, pcrs):
        """tpm2_quote by the AK over `nonce` (qualifying data: its bytes) and the SHA-256 PCRs
        `pcrs`, in Keylime's quote string format."""
        with self.lock:
            msg, sig, pcr_file = (
                self.tools.path(f"{self.tag}-quote.{x}") for x in ("msg", "sig", "pcrs")
            )
            selection = "sha256:" + ",".join(str(p) for p in sorted(pcrs))
            try:
                self.tools.run(
                    "quote", "-c", self.ak_ctx, "-l", selection, "-q", nonce.encode().hex(),
                    "-m", msg, "-s", sig, "-o", pcr_file, "-g", "sha256",
                )
            finally:
                self.tools.run("flushcontext", "-t")
            return "r" + ":".join(b64(read(p)) for p in (msg, sig, pcr_file))


class Agent:
    """One registered agent and its HTTPS server (start() / stop())."""

    def __init__(self, identity, uuid, trusted_client_ca, ek_cert=None):
        self.tpm = identity
        self.uuid = uuid
        # What the agent ships as its EK certificate (default: the one in the TPM's NV).
        self.ek_cert = identity.ek_cert if ek_cert is None else ek_cert
        self.cert_pem, self.key_pem = self_signed_cert(uuid)
        self.nk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.nk_pem = (
            self.nk.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.trusted_client_ca = trusted_client_ca
        # What the tenant and the verifier asked and delivered.
        self.requests = []
        self.u = None
        self.v = None
        self.auth_tag = None
        self.payload = None
        self.k = None
        self.recovered_payload = None
        # Requests the agent could not serve, and a K that did not match the auth tag.
        self.errors = []
        self.server = None
        self.port = None
        self.tpm.bind_data_pcr(self.nk_pem.encode())

    # ---- registration -------------------------------------------------------------------------

    @staticmethod
    def _http(host, port, method, path, body=None):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            data = None if body is None else json.dumps(body)
            headers = {} if body is None else {"Content-Type": "application/json"}
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read().decode(errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            return r.status, parsed, text
        finally:
            conn.close()

    @staticmethod
    def registrar_api_version(port):
        status, body, text = Agent._http("127.0.0.1", port, "GET", "/version")
        assert status == 200, f"registrar /version: {status} {text}"
        versions = body["results"].get("supported_versions") or [body["results"]["current_version"]]
        v2 = [v for v in versions if v.startswith("2.")]
        assert v2, f"registrar offers no v2 API: {versions}"
        return max(v2, key=lambda v: tuple(int(x) for x in v.split(".")))

    def register(self, registrar_port):
        """POST /v{api}/agents/{uuid} as the agent does; returns (status, body, text)."""
        api = self.registrar_api_version(registrar_port)
        return self._http(
            "127.0.0.1", registrar_port, "POST", f"/v{api}/agents/{self.uuid}",
            {
                "ekcert": b64(self.ek_cert),
                "ek_tpm": b64(self.tpm.ek_tpm),
                "aik_tpm": b64(self.tpm.ak_tpm),
                "mtls_cert": self.cert_pem.decode(),
                "ip": "127.0.0.1",
                "port": self.port,
            },
        )

    def activate(self, registrar_port, blob_b64):
        """TPM2_ActivateCredential, then PUT /v{api}/agents/{uuid}/activate with the auth tag."""
        api = self.registrar_api_version(registrar_port)
        secret = self.tpm.activate_credential(base64.b64decode(blob_b64))
        tag = hmac_sha384_hex(base64.b64encode(secret), self.uuid)
        return self._http(
            "127.0.0.1", registrar_port, "PUT", f"/v{api}/agents/{self.uuid}/activate",
            {"auth_tag": tag},
        )

    # ---- the agent API ------------------------------------------------------------------------

    def start(self, workdir):
        cert = os.path.join(workdir, f"agent-{self.uuid}.crt")
        key = os.path.join(workdir, f"agent-{self.uuid}.key")
        with open(cert, "wb") as f:
            f.write(self.cert_pem)
        with open(key, "wb") as f:
            f.write(self.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        # mTLS: only the tenant's and the verifier's client certificates (the verifier's CA).
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(self.trusted_client_ca)
        agent = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_GET(self):  # noqa: N802
                agent.handle(self, "GET")

            def do_POST(self):  # noqa: N802
                agent.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _reply(self, h, code, status, results):
        body = json.dumps({"code": code, "status": status, "results": results}).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(length)) if length else None
        parts = url.path.strip("/").split("/")
        self.requests.append((method, url.path))
        if method == "GET" and parts == ["version"]:
            return self._reply(h, 200, "Success", {"supported_versions": API_VERSIONS})
        if len(parts) != 3 or parts[0][1:] not in API_VERSIONS:
            return self._reply(h, 400, "API version not supported", {})
        route = (method, parts[1], parts[2])
        try:
            if route == ("GET", "quotes", "identity"):
                return self._reply(h, 200, "Success", self._quote(query["nonce"], [DATA_PCR], True))
            if route == ("GET", "quotes", "integrity"):
                mask = int(query.get("mask", "0x0"), 0)
                pcrs = [p for p in range(24) if mask >> p & 1] + [DATA_PCR]
                with_pubkey = query.get("partial") == "0"
                results = self._quote(query["nonce"], sorted(set(pcrs)), with_pubkey)
                results.update({"ima_measurement_list": None, "mb_measurement_list": None,
                                "ima_measurement_list_entry": 0, "boottime": 0})
                return self._reply(h, 200, "Success", results)
            if route == ("POST", "keys", "ukey"):
                self.u = self._decrypt_half(body["encrypted_key"])
                self.auth_tag = body["auth_tag"]
                self.payload = body.get("payload")
                self._combine()
                return self._reply(h, 200, "Success", {})
            if route == ("POST", "keys", "vkey"):
                self.v = self._decrypt_half(body["encrypted_key"])
                self._combine()
                return self._reply(h, 200, "Success", {})
            if route == ("GET", "keys", "verify"):
                if self.k is None:
                    return self._reply(h, 400, "Bootstrap key not yet available.", {})
                mac = hmac_sha384_hex(self.k, query["challenge"])
                return self._reply(h, 200, "Success", {"hmac": mac})
        except Exception as e:  # noqa: BLE001 -- the error goes to the client and the test
            self.errors.append(f"{route}: {type(e).__name__}: {e}")
            return self._reply(h, 500, f"{type(e).__name__}: {e}", {})
        return self._reply(h, 404, "Not found", {})

    def _quote(self, nonce, pcrs, with_pubkey):
        results = {
            "quote": self.tpm.quote(nonce, pcrs),
            "hash_alg": "sha256",
            "enc_alg": "rsa",
            "sign_alg": "rsassa",
        }
        if with_pubkey:
            results["pubkey"] = self.nk_pem
        return results

    def _decrypt_half(self, encrypted_b64):
        return self.nk.decrypt(
            base64.b64decode(encrypted_b64),
            padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
        )

    def _combine(self):
        """K = U xor V once both halves are here; K must reproduce the tenant's auth tag and
        decrypt its payload (base64(iv[16] || ciphertext || tag[16]), AES-256-GCM)."""
        if self.u is None or self.v is None:
            return
        k = bytes(a ^ b for a, b in zip(self.u, self.v))
        if not hmac.compare_digest(hmac_sha384_hex(k, self.uuid), self.auth_tag):
            self.errors.append("U xor V does not reproduce the tenant's auth_tag")
            return
        self.k = k
        if self.payload is not None:
            blob = base64.b64decode(self.payload)
            iv, ciphertext = blob[:16], blob[16:]
            self.recovered_payload = AESGCM(k).decrypt(iv, ciphertext, None)
