"""The Linux kernel's HMAC-session sequence (CONFIG_TCG_TPM2_HMAC, drivers/char/tpm/
tpm2-sessions.c and tpm2-cmd.c), reproduced byte for byte from its behaviour with an independent
implementation (Python `cryptography`, the KDFs written from TPM 2.0 Part 1):

  boot (tpm2_auto_startup): SelfTest(0) -> TPM_RC_INITIALIZE -> Startup(CLEAR) -> SelfTest(0);
    GetCapability(TPM_PT_TOTAL_COMMANDS) then GetCapability(TPM_CAP_COMMANDS, TPM_CC_FIRST, n),
    whose TPMA_CC words the kernel trusts for handle counts (tpm2_find_cc, cHandles, rHandle);
    GetCapability(TPM_CAP_PCRS) for the allocated banks;
    tpm2_sessions_init: CreatePrimary(TPM_RH_NULL) of the ECC P-256 "H" storage template, the
    response parsed and checked exactly as tpm2_parse_create_primary does (the name is computed
    from the public area and compared with the returned one), ContextSave, FlushContext.
  each protected command (tpm2_start_auth_session): ContextLoad of the saved context,
    StartAuthSession(tpmKey = null key, bind = TPM_RH_NULL, 32-byte nonce, salt encrypted by
    ephemeral ECDH to the null key: salt = KDFe(SHA-256, Z, "SECRET", ephemeral.x, key.x),
    TPM_SE_HMAC, AES-128-CFB, SHA-256), sessionKey = KDFa(salt, "ATH", nonceTPM, nonceCaller),
    FlushContext(null key);
  tpm2_pcr_extend: PCR_Extend with the HMAC session (attributes continueSession, which the kernel
    forces), every allocated bank, response HMAC checked;
  tpm2_get_random: GetRandom(128) with attributes encrypt | continueSession in a loop until the
    bytes are in, each response HMAC checked before the random bytes are decrypted with
    AES-128-CFB under KDFa(sessionKey, "CFB", nonceTPM, nonceCaller, 256 bits);
  tpm2_end_auth_session: FlushContext(session).

The same code runs against the reference (swtpm/libtpms) and evtpm.
"""

import hashlib
import hmac
import os
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tpmclient import (
    ALG_AES,
    ALG_CFB,
    ALG_ECC,
    ALG_NULL,
    ALG_SHA256,
    CAP_COMMANDS,
    CAP_PCRS,
    CAP_TPM_PROPERTIES,
    CC,
    CC_FIRST,
    ECC_NIST_P256,
    HASHES,
    PT_TOTAL_COMMANDS,
    RH_NULL,
    RH_OWNER,
    SA_CONTINUE_SESSION,
    SA_DECRYPT,
    SA_ENCRYPT,
    SE_HMAC,
    ST_CREATION,
    ST_NO_SESSIONS,
    ST_SESSIONS,
    Reader,
    Tpm,
    aes_cfb,
    command,
    header,
    kdfa,
    kdfe,
    password_auth,
    tpm2b,
    u8,
    u16,
    u32,
)

TPM_RC_INITIALIZE = 0x100

# TPMA_OBJECT bits of the kernel's null key (TPM2_OA_NULL_KEY).
OA_FIXED_TPM = 0x00000002
OA_FIXED_PARENT = 0x00000010
OA_SENSITIVE_DATA_ORIGIN = 0x00000020
OA_USER_WITH_AUTH = 0x00000040
OA_NO_DA = 0x00000400
OA_RESTRICTED = 0x00010000
OA_DECRYPT = 0x00020000
OA_NULL_KEY = (
    OA_NO_DA
    | OA_FIXED_TPM
    | OA_FIXED_PARENT
    | OA_SENSITIVE_DATA_ORIGIN
    | OA_USER_WITH_AUTH
    | OA_DECRYPT
    | OA_RESTRICTED
)
AES_KEY_BITS = 128
EC_PT_SZ = 32

# TPMA_CC bit fields (Part 2, 8.9 TPMA_CC).
CC_ATTR_CHANDLES = 25
CC_ATTR_RHANDLE = 28

# TPMA_CC words of libtpms 0.9 (swtpm 0.7.1, `GetCapability(TPM_CAP_COMMANDS)`), for the
# commands the kernel issues or looks up with tpm2_find_cc (handle counts used to locate names,
# the session area and the response parameters), and the rest of the common set.
LIBTPMS_TPMA_CC = {
    "CreatePrimary": 0x12000131,
    "ContextLoad": 0x10000161,
    "ContextSave": 0x02000162,
    "FlushContext": 0x00000165,
    "StartAuthSession": 0x14000176,
    "PCR_Extend": 0x02400182,
    "PCR_Read": 0x0000017E,
    "GetRandom": 0x0000017B,
    "GetCapability": 0x0000017A,
    "SelfTest": 0x00400143,
    "Startup": 0x00400144,
    "Shutdown": 0x00400145,
    "ReadPublic": 0x02000173,
    "Create": 0x02000153,
    "CreateLoaded": 0x12000191,
    "Load": 0x12000157,
    "Unseal": 0x0200015E,
    "Sign": 0x0200015D,
    "RSA_Decrypt": 0x02000159,
    "PolicyPCR": 0x0200017F,
    "PolicyGetDigest": 0x02000189,
    "PolicyPassword": 0x0200018C,
    "PolicyAuthValue": 0x0200016B,
    "PolicyCommandCode": 0x0200016C,
    "PolicyOR": 0x02000171,
    "PolicySecret": 0x04000151,
    "Hash": 0x0000017D,
    "HashSequenceStart": 0x10000186,
    "SequenceUpdate": 0x0200015C,
    "SequenceComplete": 0x0300013E,
    "EventSequenceComplete": 0x05400185,
    "NV_Read": 0x0400014E,
    "NV_ReadPublic": 0x02000169,
    "NV_DefineSpace": 0x0240012A,
    "NV_Write": 0x04400137,
    "EvictControl": 0x04400120,
    "Quote": 0x02000158,
    "Certify": 0x04000148,
    "ActivateCredential": 0x04000147,
    "MakeCredential": 0x02000168,
    "LoadExternal": 0x10000167,
    "VerifySignature": 0x02000177,
    "HierarchyChangeAuth": 0x02400129,
    "PCR_Reset": 0x0240013D,
}
# The commands the kernel sends (boot, sessions, PCR extend, random, trusted keys): all must be
# implemented.
KERNEL_COMMANDS = [
    "SelfTest",
    "Startup",
    "GetCapability",
    "PCR_Read",
    "CreatePrimary",
    "ContextSave",
    "ContextLoad",
    "FlushContext",
    "StartAuthSession",
    "ReadPublic",
    "PCR_Extend",
    "GetRandom",
    "Create",
    "Load",
    "Unseal",
    "PolicyPCR",
    "PolicyGetDigest",
    "PolicyPassword",
    "Shutdown",
]


def sha256(b):
    return hashlib.sha256(b).digest()


def hmac256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


class KernelChip:
    """The state struct tpm_chip keeps for sessions: the command attribute table, the banks, the
    null key's context, name and public point, and the current auth session."""

    def __init__(self, tpm):
        self.tpm = tpm
        self.cc_attrs = []
        self.banks = []
        self.null_key_context = None
        self.null_key_name = None
        self.null_ec_x = None
        self.null_ec_y = None
        self.auth = None

    # -- tpm2_auto_startup --

    def auto_startup(self):
        rc = self.tpm.self_test(0)
        assert rc in (0, TPM_RC_INITIALIZE), f"SelfTest(0) before Startup: 0x{rc:x}"
        if rc == TPM_RC_INITIALIZE:
            assert self.tpm.startup_clear() == 0
            assert self.tpm.self_test(0) == 0
        self.get_cc_attrs_tbl()
        self.get_pcr_allocation()
        self.sessions_init()

    def get_cc_attrs_tbl(self):
        _, r = self.tpm.get_capability(CAP_TPM_PROPERTIES, PT_TOTAL_COMMANDS, 1)
        assert r.u32() >= 1
        assert r.u32() == PT_TOTAL_COMMANDS
        nr_commands = r.u32()
        assert 0 < nr_commands <= 0xFFFFF
        # tpm_transmit_cmd(..., 9 + 4 * nr_commands): the response must hold them all, and the
        # count must equal TPM_PT_TOTAL_COMMANDS (else the kernel fails with -EFAULT).
        _, r = self.tpm.get_capability(CAP_COMMANDS, CC_FIRST, nr_commands)
        count = r.u32()
        assert count == nr_commands, f"TPM_CAP_COMMANDS gave {count}, TOTAL_COMMANDS {nr_commands}"
        attrs = [r.u32() for _ in range(count)]
        self.raw_cc_attrs = {a & 0xFFFF: a for a in attrs}
        for i, a in enumerate(attrs):
            cc = a & 0xFFFF
            if cc in (CC["ContextSave"], CC["FlushContext"]):
                a = (a & ~(0x7 << CC_ATTR_CHANDLES)) | (1 << CC_ATTR_CHANDLES)
            attrs[i] = a
        self.cc_attrs = attrs

    def find_cc(self, cc):
        mask = (1 << 29) | 0xFFFF
        for a in self.cc_attrs:
            if cc == a & mask:
                return a
        raise AssertionError(f"command 0x{cc:x} not in the TPM's TPM_CAP_COMMANDS list")

    def get_pcr_allocation(self):
        _, r = self.tpm.get_capability(CAP_PCRS, 0, 1)
        n = r.u32()
        for _ in range(n):
            alg = r.u16()
            sel = r.take(r.u8())
            if any(sel):
                assert alg in HASHES, f"allocated bank 0x{alg:x} has no known digest size"
                self.banks.append(alg)
        assert ALG_SHA256 in self.banks

    # -- tpm2_create_primary / tpm2_parse_create_primary --

    @staticmethod
    def null_template():
        t = u16(ALG_ECC) + u16(ALG_SHA256) + u32(OA_NULL_KEY) + u16(0)
        t += u16(ALG_AES) + u16(AES_KEY_BITS) + u16(ALG_CFB)
        t += u16(ALG_NULL) + u16(ECC_NIST_P256) + u16(ALG_NULL)
        t += u16(0) + u16(0)
        return t

    def create_primary(self, hierarchy):
        params = u16(4) + u16(0) + u16(0) + tpm2b(self.null_template()) + u16(0) + u32(0)
        cmd = command(
            ST_SESSIONS, CC["CreatePrimary"], handles=u32(hierarchy), auth=password_auth(),
            params=params,
        )
        resp = self.tpm.run(cmd)
        return self.parse_create_primary(resp, hierarchy)

    def parse_create_primary(self, resp, hierarchy):
        tag, total_len, _ = header(resp)
        assert tag == ST_SESSIONS
        r = Reader(resp, 10)
        handle = r.u32()
        param_len = r.u32() + 10
        assert param_len + 8 <= total_len
        length = r.u16()
        public = r.take(length)
        name = u16(ALG_SHA256) + sha256(public)
        p = Reader(public)
        assert p.u16() == ALG_ECC
        assert p.u16() == ALG_SHA256
        assert p.u32() == OA_NULL_KEY
        assert p.u16() == 0  # authPolicy
        assert p.u16() == ALG_AES
        assert p.u16() == AES_KEY_BITS
        assert p.u16() == ALG_CFB
        assert p.u16() == ALG_NULL  # scheme
        assert p.u16() == ECC_NIST_P256
        assert p.u16() == ALG_NULL  # kdf
        assert p.u16() == EC_PT_SZ
        x = p.take(EC_PT_SZ)
        assert p.u16() == EC_PT_SZ
        y = p.take(EC_PT_SZ)
        assert p.done(), "the public area must be consumed exactly"
        assert r.off <= param_len
        r.tpm2b()  # creation data
        assert r.off <= param_len
        creation_hash = r.tpm2b()
        assert len(creation_hash) == 32 and r.off <= param_len
        assert r.u16() == ST_CREATION
        assert r.u32() == hierarchy
        r.tpm2b()  # ticket digest
        assert r.off <= param_len
        nlen = r.u16()
        # param_len counts the 10-byte header; the parameters start after the handle and the
        # parameterSize field, 8 bytes further: the name must end them.
        assert r.off + nlen == param_len + 8, "the name must end the parameters"
        assert nlen == 34
        got_name = r.take(nlen)
        assert got_name == name, "NULL seed name comparison failed"
        # The response session: the password session, nonce empty, continueSession, empty hmac.
        assert r.rest() == u16(0) + u8(SA_CONTINUE_SESSION) + u16(0)
        return handle, name, x, y

    def context_save(self, handle):
        resp = self.tpm.run(command(ST_NO_SESSIONS, CC["ContextSave"], handles=u32(handle)))
        return resp[10:]

    def context_load(self, blob):
        resp = self.tpm.run(command(ST_NO_SESSIONS, CC["ContextLoad"], params=blob))
        r = Reader(resp, 10)
        h = r.u32()
        assert r.done()
        return h

    def sessions_init(self):
        handle, name, x, y = self.create_primary(RH_NULL)
        self.null_key_name, self.null_ec_x, self.null_ec_y = name, x, y
        self.null_key_context = self.context_save(handle)
        self.tpm.flush_context(handle)

    # -- tpm2_start_auth_session --

    def load_null(self):
        handle = self.context_load(self.null_key_context)
        # Not a kernel step: the loaded key is the one whose name the kernel remembers.
        _, name, _ = self.tpm.read_public(handle)
        assert name == self.null_key_name, "the context-loaded null key has another name"
        return handle

    def start_auth_session(self):
        if self.auth is not None:
            return
        null_key = self.load_null()
        our_nonce = os.urandom(32)
        # tpm_buf_append_salt: an ephemeral P-256 key; the encrypted salt is its public point,
        # the salt KDFe(Z, "SECRET", ephemeral.x, null_key.x).
        eph = ec.generate_private_key(ec.SECP256R1())
        nums = eph.public_key().public_numbers()
        ex, ey = nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big")
        tpm_pub = ec.EllipticCurvePublicNumbers(
            int.from_bytes(self.null_ec_x, "big"), int.from_bytes(self.null_ec_y, "big"),
            ec.SECP256R1(),
        ).public_key()
        z = eph.exchange(ec.ECDH(), tpm_pub)
        salt = kdfe(ALG_SHA256, z, "SECRET", ex, self.null_ec_x, 256)
        encrypted_salt = u16((EC_PT_SZ + 2) * 2) + tpm2b(ex) + tpm2b(ey)
        params = tpm2b(our_nonce) + encrypted_salt + u8(SE_HMAC)
        params += u16(ALG_AES) + u16(AES_KEY_BITS) + u16(ALG_CFB) + u16(ALG_SHA256)
        cmd = command(
            ST_NO_SESSIONS, CC["StartAuthSession"], handles=u32(null_key) + u32(RH_NULL),
            params=params,
        )
        resp = self.tpm.transact(cmd)
        self.tpm.flush_context(null_key)
        tag, tot_len, rc = header(resp)
        assert rc == 0, f"StartAuthSession: 0x{rc:x}"
        assert tot_len - 10 == 4 + 2 + 32
        r = Reader(resp, 10)
        handle = r.u32()
        assert handle >> 24 == 0x02, f"HMAC session handle 0x{handle:08x}"
        tpm_nonce = r.tpm2b()
        assert len(tpm_nonce) == 32
        session_key = kdfa(ALG_SHA256, salt, "ATH", tpm_nonce, our_nonce, 256)
        self.auth = {
            "handle": handle,
            "our_nonce": our_nonce,
            "tpm_nonce": tpm_nonce,
            "session_key": session_key,
            "passphrase": b"",
        }

    def end_auth_session(self):
        if self.auth is not None:
            self.tpm.flush_context(self.auth["handle"])
            self.auth = None

    # -- tpm_buf_append_hmac_session / tpm_buf_fill_hmac_session --

    def hmac_command(self, cc, handles, names, attrs, params):
        """Builds a one-session command the kernel's way. `names` are the handles' names for the
        cpHash (for PCRs and permanent handles the handle itself)."""
        auth = self.auth
        attrs |= SA_CONTINUE_SESSION
        auth["attrs"] = attrs
        auth["our_nonce"] = os.urandom(32)
        auth["cc"] = cc
        a = self.find_cc(cc)
        assert (a >> CC_ATTR_CHANDLES) & 7 == len(handles), "handle count from TPMA_CC"
        key = auth["session_key"] + auth["passphrase"]
        if attrs & SA_DECRYPT:
            k = kdfa(ALG_SHA256, key, "CFB", auth["our_nonce"], auth["tpm_nonce"], 256)
            size = struct.unpack(">H", params[:2])[0]
            params = params[:2] + aes_cfb(k[:16], k[16:], params[2 : 2 + size], True) + params[
                2 + size :
            ]
        cp_hash = sha256(u32(cc) + b"".join(names) + params)
        h = hmac256(
            key, cp_hash + auth["our_nonce"] + auth["tpm_nonce"] + u8(attrs)
        )
        session = u32(auth["handle"]) + tpm2b(auth["our_nonce"]) + u8(attrs) + tpm2b(h)
        return command(
            ST_SESSIONS, cc, handles=b"".join(u32(x) for x in handles), auth=session, params=params
        )

    # -- tpm_buf_check_hmac_response --

    def check_hmac_response(self, resp):
        auth = self.auth
        tag, size, rc = header(resp)
        assert size == len(resp)
        assert rc == 0, f"command 0x{auth['cc']:x}: TPM_RC 0x{rc:x}"
        assert tag == ST_SESSIONS, "HMAC response check has no sessions tag"
        a = self.find_cc(auth["cc"])
        handles = (a >> CC_ATTR_RHANDLE) & 1
        r = Reader(resp, 10 + 4 * handles)
        parm_len = r.u32()
        params = r.take(parm_len)
        tpm_nonce = r.tpm2b()
        assert len(tpm_nonce) == 32
        rattrs = r.u8()
        rhmac = r.tpm2b()
        assert r.done() and len(rhmac) == 32
        assert rattrs & SA_CONTINUE_SESSION
        auth["tpm_nonce"] = tpm_nonce
        key = auth["session_key"] + auth["passphrase"]
        rp_hash = sha256(u32(rc) + u32(auth["cc"]) + params)
        want = hmac256(key, rp_hash + tpm_nonce + auth["our_nonce"] + u8(auth["attrs"]))
        assert hmac.compare_digest(want, rhmac), "TPM: HMAC check failed"
        if auth["attrs"] & SA_ENCRYPT:
            k = kdfa(ALG_SHA256, key, "CFB", tpm_nonce, auth["our_nonce"], 256)
            n = struct.unpack(">H", params[:2])[0]
            params = params[:2] + aes_cfb(k[:16], k[16:], params[2 : 2 + n], False) + params[2 + n :]
        return resp[10 : 10 + 4 * handles], params

    # -- tpm2_pcr_extend / tpm2_get_random --

    def pcr_extend(self, pcr, digests):
        self.start_auth_session()
        params = u32(len(self.banks))
        for alg in self.banks:
            params += u16(alg) + digests[alg]
        cmd = self.hmac_command(CC["PCR_Extend"], [pcr], [u32(pcr)], 0, params)
        resp = self.tpm.transact(cmd)
        _, out = self.check_hmac_response(resp)
        assert out == b""

    def get_random(self, max_bytes):
        assert 0 < max_bytes <= 128  # TPM_MAX_RNG_DATA
        self.start_auth_session()
        got = b""
        retries = 5
        while True:
            want = max_bytes - len(got)
            cmd = self.hmac_command(
                CC["GetRandom"], [], [], SA_ENCRYPT | SA_CONTINUE_SESSION, u16(want)
            )
            resp = self.tpm.transact(cmd)
            _, params = self.check_hmac_response(resp)
            r = Reader(params)
            chunk = r.tpm2b()
            assert r.done()
            assert 0 < len(chunk) <= want
            got += chunk
            if retries == 0 or len(got) >= max_bytes:
                break
            retries -= 1
        return got


@pytest.fixture
def chip():
    tpm = Tpm()
    c = KernelChip(tpm)
    c.auto_startup()
    yield c
    c.end_auth_session()
    tpm.close()


def test_command_attributes_match_libtpms(chip):
    """The kernel locates names, sessions and response parameters from TPMA_CC's cHandles and
    rHandle: every command the kernel uses must be there, with the words libtpms gives."""
    raw = chip.raw_cc_attrs  # as the TPM reported them, before the kernel's override
    missing = [n for n in KERNEL_COMMANDS if CC[n] not in raw]
    assert not missing, f"commands the kernel uses are missing: {missing}"
    wrong = []
    for name, want in LIBTPMS_TPMA_CC.items():
        got = raw.get(CC[name])
        if got is None:
            continue
        if got != want:
            wrong.append(f"{name}: 0x{got:08x}, libtpms 0x{want:08x}")
    assert not wrong, "TPMA_CC differs from libtpms: " + "; ".join(wrong)
    # Sorted, no duplicates (the kernel searches linearly, but a TPM lists them in order).
    ccs = [a & 0x2000FFFF for a in chip.cc_attrs]
    assert ccs == sorted(ccs) and len(set(ccs)) == len(ccs)


def test_null_primary_is_deterministic(chip):
    """tpm2_load_null's fallback: a re-created null primary must have the remembered name."""
    handle, name, x, y = chip.create_primary(RH_NULL)
    assert name == chip.null_key_name
    assert (x, y) == (chip.null_ec_x, chip.null_ec_y)
    chip.tpm.flush_context(handle)
    # And the saved context loads (twice: the kernel loads it for every session).
    for _ in range(2):
        h = chip.load_null()
        chip.tpm.flush_context(h)


def test_pcr_extend_and_get_random_with_hmac_session(chip):
    tpm = chip.tpm
    pcr = 16
    old = {alg: tpm.pcr_read(alg, pcr) for alg in chip.banks}
    digests = {alg: HASHES[alg](b"evtpm kernel hmac %d" % alg).digest() for alg in chip.banks}
    chip.pcr_extend(pcr, digests)
    for alg in chip.banks:
        assert tpm.pcr_read(alg, pcr) == HASHES[alg](old[alg] + digests[alg]).digest()
    # The session continues: a second extend and several GetRandom calls reuse it, rolling
    # the nonces.
    handle = chip.auth["handle"]
    chip.pcr_extend(10, digests)
    assert chip.auth["handle"] == handle
    seen = set()
    for _ in range(4):
        rnd = chip.get_random(128)
        assert len(rnd) == 128
        assert rnd not in seen
        seen.add(rnd)
    assert chip.auth["handle"] == handle
    chip.end_auth_session()
    # A second session (the kernel starts one per protected operation after the first write to
    # /dev/tpmrm0 flushed it): a fresh ContextLoad of the null key and a fresh salt.
    chip.pcr_extend(pcr, digests)
    assert len(chip.get_random(32)) == 32
    chip.end_auth_session()


def test_parameter_encryption_round_trip(chip):
    """Not a kernel command, but the kernel's own encryption code path in both directions on a
    command whose output is known: Hash(data) with decrypt (the data goes encrypted, as the
    kernel's trusted-key Create sends its sensitive data) and encrypt (outHash comes back
    encrypted, as GetRandom's bytes do). It shows the decryption the GetRandom test applies is
    the right one: the random bytes themselves cannot be checked."""
    chip.start_auth_session()
    data = b"the kernel encrypts the first parameter" * 3
    params = tpm2b(data) + u16(ALG_SHA256) + u32(RH_OWNER)
    cmd = chip.hmac_command(CC["Hash"], [], [], SA_DECRYPT | SA_ENCRYPT, params)
    resp = chip.tpm.transact(cmd)
    _, out = chip.check_hmac_response(resp)
    r = Reader(out)
    assert r.tpm2b() == sha256(data)
    chip.end_auth_session()


def test_tampered_command_hmac_is_refused(chip):
    """The TPM checks the kernel's command HMAC: a flipped parameter bit is refused with
    TPM_RC_BAD_AUTH (session 1: a PCR is not subject to dictionary-attack protection, so not
    TPM_RC_AUTH_FAIL), and the PCR is unchanged."""
    tpm = chip.tpm
    pcr = 16
    before = tpm.pcr_read(ALG_SHA256, pcr)
    chip.start_auth_session()
    params = u32(len(chip.banks))
    for alg in chip.banks:
        params += u16(alg) + HASHES[alg](b"x").digest()
    cmd = bytearray(chip.hmac_command(CC["PCR_Extend"], [pcr], [u32(pcr)], 0, params))
    cmd[-1] ^= 1
    _, _, rc = header(tpm.transact(bytes(cmd)))
    assert rc == 0x9A2, f"tampered PCR_Extend: 0x{rc:x}"  # TPM_RC_BAD_AUTH + session 1
    assert tpm.pcr_read(ALG_SHA256, pcr) == before
