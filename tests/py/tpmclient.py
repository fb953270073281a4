"""A small TPM 2.0 client for the tests in this directory: command framing over the
MS-simulator TCP protocol (`TPM_SEND_COMMAND`) and swtpm's raw TCP protocol, TPM marshalling
helpers, and the TPM 2.0 Part 1 key derivation functions, written from the specification with
Python's `cryptography` (independent of any TSS).

Which TPM to talk to comes from the environment, set by the Rust driver in
tests/tests/python.rs (one server per endpoint):

  EVTPM_PY_TPM       "mssim:HOST:PORT" or "swtpm:HOST:PORT"
  EVTPM_PY_TCTI      the tpm2-tss TCTI string for the same server (for tpm2-tools)
  EVTPM_PY_ENDPOINT  the endpoint name (swtpm, evtpm-mssim, ...), for messages
"""

import hashlib
import hmac
import os
import socket
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 43 keeps CFB among the "decrepit" modes
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.modes import CFB

# ---- constants (TPM 2.0 Part 2) ---------------------------------------------------------------

ST_NO_SESSIONS = 0x8001
ST_SESSIONS = 0x8002
ST_CREATION = 0x8021

RS_PW = 0x40000009
RH_OWNER = 0x40000001
RH_NULL = 0x40000007
RH_ENDORSEMENT = 0x4000000B

ALG_RSA = 0x0001
ALG_SHA1 = 0x0004
ALG_HMAC = 0x0005
ALG_AES = 0x0006
ALG_SHA256 = 0x000B
ALG_SHA384 = 0x000C
ALG_SHA512 = 0x000D
ALG_NULL = 0x0010
ALG_ECC = 0x0023
ALG_CFB = 0x0043
ECC_NIST_P256 = 0x0003

SE_HMAC = 0x00
SE_POLICY = 0x01

SA_CONTINUE_SESSION = 0x01
SA_DECRYPT = 0x20
SA_ENCRYPT = 0x40

CAP_COMMANDS = 0x00000002
CAP_PCRS = 0x00000005
CAP_TPM_PROPERTIES = 0x00000006
PT_TOTAL_COMMANDS = 0x00000129
CC_FIRST = 0x0000011F

CC = {
    "NV_UndefineSpaceSpecial": 0x11F,
    "EvictControl": 0x120,
    "HierarchyControl": 0x121,
    "NV_UndefineSpace": 0x122,
    "Clear": 0x126,
    "HierarchyChangeAuth": 0x129,
    "NV_DefineSpace": 0x12A,
    "CreatePrimary": 0x131,
    "NV_Increment": 0x134,
    "NV_Extend": 0x136,
    "NV_Write": 0x137,
    "DictionaryAttackLockReset": 0x139,
    "PCR_Reset": 0x13D,
    "SequenceComplete": 0x13E,
    "SelfTest": 0x143,
    "Startup": 0x144,
    "Shutdown": 0x145,
    "StirRandom": 0x146,
    "ActivateCredential": 0x147,
    "Certify": 0x148,
    "NV_Read": 0x14E,
    "PolicySecret": 0x151,
    "Create": 0x153,
    "ECDH_ZGen": 0x154,
    "HMAC": 0x155,
    "Import": 0x156,
    "Load": 0x157,
    "Quote": 0x158,
    "RSA_Decrypt": 0x159,
    "HMAC_Start": 0x15B,
    "SequenceUpdate": 0x15C,
    "Sign": 0x15D,
    "Unseal": 0x15E,
    "PolicySigned": 0x160,
    "ContextLoad": 0x161,
    "ContextSave": 0x162,
    "ECDH_KeyGen": 0x163,
    "EncryptDecrypt": 0x164,
    "FlushContext": 0x165,
    "LoadExternal": 0x167,
    "MakeCredential": 0x168,
    "NV_ReadPublic": 0x169,
    "PolicyAuthValue": 0x16B,
    "PolicyCommandCode": 0x16C,
    "PolicyOR": 0x171,
    "ReadPublic": 0x173,
    "RSA_Encrypt": 0x174,
    "StartAuthSession": 0x176,
    "VerifySignature": 0x177,
    "GetCapability": 0x17A,
    "GetRandom": 0x17B,
    "Hash": 0x17D,
    "PCR_Read": 0x17E,
    "PolicyPCR": 0x17F,
    "PolicyRestart": 0x180,
    "ReadClock": 0x181,
    "PCR_Extend": 0x182,
    "EventSequenceComplete": 0x185,
    "HashSequenceStart": 0x186,
    "PolicyGetDigest": 0x189,
    "PolicyPassword": 0x18C,
    "CreateLoaded": 0x191,
}

HASHES = {
    ALG_SHA1: hashlib.sha1,
    ALG_SHA256: hashlib.sha256,
    ALG_SHA384: hashlib.sha384,
    ALG_SHA512: hashlib.sha512,
}


class TpmError(Exception):
    def __init__(self, cc, rc, response):
        super().__init__(f"command 0x{cc:x} failed: TPM_RC 0x{rc:03x} (response {response.hex()})")
        self.cc = cc
        self.rc = rc


# ---- marshalling ------------------------------------------------------------------------------


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def tpm2b(b):
    return u16(len(b)) + bytes(b)


class Reader:
    """A bounds-checked cursor over response bytes."""

    def __init__(self, data, offset=0):
        self.data = bytes(data)
        self.off = offset

    def take(self, n):
        if self.off + n > len(self.data):
            raise ValueError(f"short read: want {n} at {self.off} of {len(self.data)}")
        b = self.data[self.off : self.off + n]
        self.off += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def tpm2b(self):
        return self.take(self.u16())

    def rest(self):
        return self.take(len(self.data) - self.off)

    def done(self):
        return self.off == len(self.data)


def command(tag, cc, handles=b"", auth=b"", params=b""):
    """A command: header, handle area, authorization area (with its u32 size) if tag is
    TPM_ST_SESSIONS, parameters."""
    body = handles
    if tag == ST_SESSIONS:
        body += u32(len(auth)) + auth
    body += params
    return u16(tag) + u32(10 + len(body)) + u32(cc) + body


def password_auth(password=b"", attrs=0):
    return u32(RS_PW) + tpm2b(b"") + u8(attrs) + tpm2b(password)


def header(resp):
    tag, size, rc = struct.unpack(">HII", resp[:10])
    return tag, size, rc


# ---- crypto (TPM 2.0 Part 1, 11.4) ------------------------------------------------------------


def kdfa(hash_alg, key, label, context_u, context_v, bits):
    """KDFa: SP 800-108 counter mode with HMAC; label includes its terminating zero."""
    h = HASHES[hash_alg]
    out = b""
    counter = 1
    label_b = label.encode() + b"\0"
    while len(out) * 8 < bits:
        out += hmac.new(
            key, u32(counter) + label_b + context_u + context_v + u32(bits), h
        ).digest()
        counter += 1
    out = out[: (bits + 7) // 8]
    return out


def kdfe(hash_alg, z, label, party_u, party_v, bits):
    """KDFe: SP 800-56A concatenation KDF; label includes its terminating zero."""
    h = HASHES[hash_alg]
    out = b""
    counter = 1
    while len(out) * 8 < bits:
        out += h(u32(counter) + z + label.encode() + b"\0" + party_u + party_v).digest()
        counter += 1
    return out[: (bits + 7) // 8]


def aes_cfb(key, iv, data, encrypt):
    c = Cipher(algorithms.AES(key), CFB(iv))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


# ---- transport --------------------------------------------------------------------------------


def endpoint_from_env():
    spec = os.environ.get("EVTPM_PY_TPM")
    if not spec:
        raise RuntimeError(
            "EVTPM_PY_TPM is not set: these tests are run by `cargo test -p evtpm-tests --test "
            "python`, which starts a TPM server per endpoint and sets EVTPM_PY_TPM=PROTOCOL:HOST:PORT "
            "(protocol mssim or swtpm) and EVTPM_PY_TCTI"
        )
    proto, host, port = spec.split(":")
    if proto not in ("mssim", "swtpm"):
        raise RuntimeError(f"EVTPM_PY_TPM: unknown protocol {proto!r}")
    return proto, host, int(port)


class Tpm:
    """One connection to a TPM server's data port."""

    TPM_SEND_COMMAND = 8

    def __init__(self, proto=None, host=None, port=None, timeout=30.0):
        if proto is None:
            proto, host, port = endpoint_from_env()
        self.proto = proto
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.log = []

    def close(self):
        self.sock.close()

    def _recv(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise ConnectionError("TPM server closed the connection")
            b += chunk
        return b

    def transact(self, cmd, locality=0):
        cmd = bytes(cmd)
        if self.proto == "mssim":
            self.sock.sendall(u32(self.TPM_SEND_COMMAND) + u8(locality) + u32(len(cmd)) + cmd)
            n = struct.unpack(">I", self._recv(4))[0]
            resp = self._recv(n)
            ack = struct.unpack(">I", self._recv(4))[0]
            if ack != 0:
                raise ConnectionError(f"mssim acknowledgement {ack}")
        else:
            self.sock.sendall(cmd)
            head = self._recv(10)
            size = struct.unpack(">I", head[2:6])[0]
            resp = head + self._recv(size - 10)
        self.log.append((cmd, resp))
        return resp

    def run(self, cmd):
        """Sends cmd; raises TpmError unless the response code is TPM_RC_SUCCESS."""
        resp = self.transact(cmd)
        tag, size, rc = header(resp)
        if size != len(resp):
            raise ValueError(f"response size field {size} != {len(resp)} bytes")
        if rc != 0:
            raise TpmError(struct.unpack(">I", cmd[6:10])[0], rc, resp)
        return resp

    # ---- a few plain commands ----

    def startup_clear(self):
        return header(self.transact(command(ST_NO_SESSIONS, CC["Startup"], params=u16(0))))[2]

    def self_test(self, full):
        return header(self.transact(command(ST_NO_SESSIONS, CC["SelfTest"], params=u8(full))))[2]

    def get_capability(self, cap, prop, count):
        resp = self.run(
            command(ST_NO_SESSIONS, CC["GetCapability"], params=u32(cap) + u32(prop) + u32(count))
        )
        r = Reader(resp, 10)
        more = r.u8()
        got_cap = r.u32()
        assert got_cap == cap
        return more, r

    def flush_context(self, handle):
        self.run(command(ST_NO_SESSIONS, CC["FlushContext"], params=u32(handle)))

    def read_public(self, handle):
        resp = self.run(command(ST_NO_SESSIONS, CC["ReadPublic"], handles=u32(handle)))
        r = Reader(resp, 10)
        public = r.tpm2b()
        name = r.tpm2b()
        qualified = r.tpm2b()
        assert r.done()
        return public, name, qualified

    def pcr_read(self, alg, pcr):
        sel = bytearray(3)
        sel[pcr // 8] |= 1 << (pcr % 8)
        resp = self.run(
            command(ST_NO_SESSIONS, CC["PCR_Read"], params=u32(1) + u16(alg) + u8(3) + bytes(sel))
        )
        r = Reader(resp, 10)
        r.u32()  # update counter
        n = r.u32()
        for _ in range(n):
            r.u16()
            r.take(r.u8())
        count = r.u32()
        assert count == 1, f"PCR_Read returned {count} digests"
        return r.tpm2b()
