"""Keylime's own services (PyPI `keylime`), run as an operator would run them, but confined to a
scratch directory: the verifier and the registrar as subprocesses on free loopback ports, with
sqlite databases, the TLS material Keylime generates itself (`tls_dir = generate`), and the
tenant as a command. Nothing is read from or written to /etc/keylime or /var/lib/keylime:
`KEYLIME_DIR` sets Keylime's work directory and the `KEYLIME_<COMPONENT>_CONFIG` variables name
the configuration files (keylime/config.py reads a file named by such a variable instead of
any installed one).

One thing lands outside the scratch directory: keylime 7.14.3 (keylime/shared_data.py) puts
the socket of its multiprocessing manager in /run/keylime whenever it can create that directory
with mode 0700 (as root), with no option to move it; the socket is removed when the service
stops.

Used by test_keylime_e2e.py.
"""

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

# Each file sets the options of its component's configuration template (keylime 7.14.3 reads
# most of them without a fallback and stops at the first one missing).

CA_CONF = """\
[ca]
version = 2.6
password = evtpm-test-ca
cert_country = US
cert_ca_name = evtpm test Keylime CA
cert_state = MA
cert_locality = Lexington
cert_organization = evtpm tests
cert_org_unit = 53
cert_ca_lifetime = 3650
cert_lifetime = 365
cert_bits = 2048
cert_crl_dist = http://127.0.0.1:38080/crl
"""

# INFO on stderr: the tenant's log is where ek_check_script's output shows
# (cert_utils.verify_ek_script logs it, "ek_check output: ..." or "External check script
# failed to validate EK: ...").
LOGGING_CONF = """\
[loggers]
keys = root,keylime

[handlers]
keys = stderr

[formatters]
keys = plain

[formatter_plain]
format = %(asctime)s %(name)s %(levelname)s %(message)s

[handler_stderr]
class = StreamHandler
level = INFO
formatter = plain
args = (sys.stderr,)

[logger_root]
level = INFO
handlers = stderr

[logger_keylime]
level = INFO
qualname = keylime
handlers =
"""

VERIFIER_CONF = """\
[verifier]
version = 2.6
uuid = evtpm-test-verifier
ip = 127.0.0.1
port = {verifier_port}
registrar_ip = 127.0.0.1
registrar_port = {registrar_tls_port}
enable_agent_mtls = True
# Keylime makes its CA, a server and a client certificate in $KEYLIME_DIR/cv_ca.
tls_dir = generate
server_key = default
server_key_password =
server_cert = default
cert_subject_alternative_names =
trusted_client_ca = default
client_key = default
client_key_password =
client_cert = default
trusted_server_ca = default
authorization_provider = simple
# $KEYLIME_DIR/cv_data.sqlite
database_url = sqlite
database_pool_sz_ovfl = 5,10
auto_migrate_db = True
num_workers = 1
max_workers = 1
exponential_backoff = False
retry_interval = 1
max_retries = 3
quote_interval = {quote_interval}
max_upload_size = 104857600
request_timeout = 20
measured_boot_policy_name = accept-all
measured_boot_imports = []
measured_boot_evaluate = once
severity_labels = ["info", "notice", "warning", "error", "critical", "alert", "emergency"]
severity_policy = [{{"event_id": ".*", "severity_label": "emergency"}}]
ignore_tomtou_errors = False
durable_attestation_import =
persistent_store_url =
transparency_log_url =
time_stamp_authority_url =
time_stamp_authority_certs_path =
persistent_store_format = json
persistent_store_encoding =
transparency_log_sign_algo = sha256
signed_attributes =
require_allow_list_signatures = False
mode = pull
shutdown_drain_timeout = 2

[revocations]
enabled_revocation_notifications = []
webhook_url =
"""

# The registrar shares the verifier's TLS material (tls_dir = default: $KEYLIME_DIR/cv_ca), as
# the tenant does, so the tenant's trusted_server_ca (the verifier's CA) covers both servers.
REGISTRAR_CONF = """\
[registrar]
version = 2.6
ip = 127.0.0.1
port = {registrar_port}
tls_port = {registrar_tls_port}
tls_dir = default
server_key = default
server_key_password =
server_cert = default
cert_subject_alternative_names =
trusted_client_ca = default
authorization_provider = simple
# $KEYLIME_DIR/reg_data.sqlite
database_url = sqlite
database_pool_sz_ovfl = 5,10
max_workers = 1
auto_migrate_db = True
durable_attestation_import =
persistent_store_url =
transparency_log_url =
time_stamp_authority_url =
time_stamp_authority_certs_path =
persistent_store_format = json
persistent_store_encoding =
transparency_log_sign_algo = sha256
signed_attributes =
# Agents register with an EK (not an IAK/IDevID).
tpm_identity = ek_cert
malformed_cert_action = warn
"""

# The operator configuration of README.md "Keylime": no CA store check of the EK certificate
# (its issuer key is public), the EK judged by evtpm verify as ek_check_script.
TENANT_CONF = """\
[tenant]
version = 2.6
verifier_ip = 127.0.0.1
verifier_port = {verifier_port}
registrar_ip = 127.0.0.1
registrar_port = {registrar_tls_port}
tls_dir = default
enable_agent_mtls = True
client_key = default
client_key_password =
client_cert = default
trusted_server_ca = default
tpm_cert_store = {tpm_cert_store}
max_payload_size = 1048576
accept_tpm_hash_algs = ["sha512", "sha384", "sha256"]
accept_tpm_encryption_algs = ["ecc", "rsa"]
accept_tpm_signing_algs = ["ecschnorr", "rsassa", "ecdsa"]
exponential_backoff = False
retry_interval = 1
max_retries = {tenant_max_retries}
request_timeout = 20
require_ek_cert = False
ek_check_script = {ek_check_script}
mb_refstate =
"""

# Runs one keylime.cmd module as `python3 -m` would. keylime.signing imports the `gpg` binding
# (python-gpgme: no wheel on PyPI) at module level for GPG-signed runtime policies, which these
# tests do not use; as in conftest.py, a stand-in module without attributes lets the import
# succeed and would fail loudly if used.
LAUNCHER = (
    "import runpy, sys, types\n"
    "try:\n"
    "    import gpg\n"
    "except ImportError:\n"
    "    sys.modules['gpg'] = types.ModuleType('gpg')\n"
    "module = sys.argv[1]\n"
    "sys.argv = [module] + sys.argv[2:]\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, log_path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"exited with {proc.returncode} before listening:\n{read_text(log_path)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"not listening on {port} after {timeout} s:\n{read_text(log_path)}")


def signal_group(proc, sig):
    """Sends `sig` to the process group of `proc`, a child started with start_new_session."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class KeylimeStack:
    """A verifier and a registrar under `root` (a scratch directory), and the tenant command."""

    def __init__(self, root, quote_interval=1, tenant_max_retries=10):
        self.root = str(root)
        self.work_dir = os.path.join(self.root, "keylime")
        self.etc = os.path.join(self.root, "etc")
        self.tpm_cert_store = os.path.join(self.root, "tpm_cert_store")
        for d in (self.work_dir, self.etc, self.tpm_cert_store):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.verifier_port = free_port()
        self.registrar_port = free_port()
        self.registrar_tls_port = free_port()
        self.values = {
            "verifier_port": self.verifier_port,
            "registrar_port": self.registrar_port,
            "registrar_tls_port": self.registrar_tls_port,
            "quote_interval": quote_interval,
            "tpm_cert_store": self.tpm_cert_store,
            "tenant_max_retries": tenant_max_retries,
        }
        # The tenant's configuration is written per run (tenant()): it names the ek_check_script.
        self.config = {}
        for name, text in [
            ("ca", CA_CONF),
            ("logging", LOGGING_CONF),
            ("verifier", VERIFIER_CONF),
            ("registrar", REGISTRAR_CONF),
        ]:
            path = os.path.join(self.etc, f"{name}.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.format(**self.values))
            self.config[name] = path
        self.procs = {}
        self.logs = {}
        self.tenant_runs = 0

    @property
    def cv_ca(self):
        """The TLS material the verifier generates (its CA signs the tenant's and the verifier's
        client certificates, which an agent must trust)."""
        return os.path.join(self.work_dir, "cv_ca")

    def env(self):
        env = dict(os.environ)
        env["KEYLIME_DIR"] = self.work_dir
        for name, path in self.config.items():
            env[f"KEYLIME_{name.upper()}_CONFIG"] = path
        env.pop("KEYLIME_TEST", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def _spawn(self, name, module, port):
        log_path = os.path.join(self.root, f"{name}.log")
        log = open(log_path, "wb")  # pylint: disable=consider-using-with
        # Its own session, so that stop() reaches the worker processes Keylime forks (the
        # parent ignores SIGTERM and waits for them).
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-c", LAUNCHER, module],
            env=self.env(),
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        self.logs[name] = log_path
        wait_for_port(port, proc, log_path, timeout=60)

    def start(self):
        # The verifier first: it generates cv_ca, which the registrar's TLS uses.
        self._spawn("verifier", "keylime.cmd.verifier", self.verifier_port)
        self._spawn("registrar", "keylime.cmd.registrar", self.registrar_tls_port)
        wait_for_port(self.registrar_port, self.procs["registrar"], self.logs["registrar"], 30)

    def log(self, name):
        return read_text(self.logs[name])

    def stop(self):
        """SIGTERM to each service's process group (the parent and the workers it forked), as
        a service manager stops them; SIGKILL to whatever is left after 15 s."""
        for proc in self.procs.values():
            signal_group(proc, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=15)

    def admin_get(self, server, path):
        """GET `path` from the verifier or the registrar over their TLS port with the admin
        client certificate the tenant uses; returns (HTTP status, parsed JSON body)."""
        port = {"verifier": self.verifier_port, "registrar": self.registrar_tls_port}[server]
        ctx = ssl.create_default_context(cafile=os.path.join(self.cv_ca, "cacert.crt"))
        ctx.load_cert_chain(
            os.path.join(self.cv_ca, "client-cert.crt"),
            os.path.join(self.cv_ca, "client-private.pem"),
        )
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            conn.close()

    def tenant(self, *args, ek_check_script, timeout=120):
        """`keylime_tenant ARGS` (keylime.cmd.tenant) with tenant.conf's ek_check_script set to
        `ek_check_script`; returns the CompletedProcess (the log is on stderr)."""
        self.tenant_runs += 1
        conf = os.path.join(self.etc, f"tenant-{self.tenant_runs}.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(TENANT_CONF.format(**self.values, ek_check_script=ek_check_script))
        env = self.env()
        env["KEYLIME_TENANT_CONFIG"] = conf
        return subprocess.run(
            [sys.executable, "-c", LAUNCHER, "keylime.cmd.tenant", *args],
            env=env,
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
