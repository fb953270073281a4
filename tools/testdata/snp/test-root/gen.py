#!/usr/bin/env python3
"""Generates the evtpm qemu-test SNP root: ARK -> ASK -> VCEK and the VCEK's P-384 key.

TEST KEYS, PUBLISHED ON PURPOSE. Everything here is derived from a fixed seed, so anyone can
re-create every private key: a report signed by this VCEK proves nothing about any hardware.
The qemu-test platform (no AMD secure processor) signs its reports with this VCEK so that the
whole attestation path can be exercised; `evtpm verify` refuses the chain unless given
`--allow-test-root`.

Deterministic: running it again writes byte-identical files (RSA primes and the EC scalar come
from a SHA-512 counter DRBG over SEED; the RSASSA-PSS salts are SHA-384 of the TBS certificate
instead of random). Requires Python 3 and `cryptography` (used to assemble the certificates).

Output (next to this script):
  ark.pem / ark.der     self-signed root, CN=ARK-evtpm-TEST, RSA-4096, RSASSA-PSS SHA-384 salt 48
  ask.pem / ask.der     CN=SEV-evtpm-TEST, signed by the ARK
  vcek.der              CN=SEV-VCEK, EC P-384, AMD VCEK extensions (Milan layout: hwID = 64-byte
                        CHIP_ID, blSPL/teeSPL/snpSPL/ucodeSPL = TEST_TCB), signed by the ASK
  TEST-ONLY-vcek-key.pem     the VCEK private key (PKCS#8), TEST ONLY
  TEST-ONLY-vcek-scalar.bin  the same key as the raw 48-byte big-endian P-384 scalar
  chip-id.bin                the 64-byte CHIP_ID the VCEK is bound to
"""

import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

SEED = b"evtpm qemu-test SNP root v1 -- PUBLISHED TEST KEY, NOT A SECRET"
HERE = os.path.dirname(os.path.abspath(__file__))

# Milan TCB_VERSION layout: BL, TEE, 4 reserved, SNP, UCODE (bytes in report order).
TEST_TCB = {"bl": 3, "tee": 0, "snp": 8, "ucode": 115}
CHIP_ID = hashlib.sha512(SEED + b" chip id").digest()

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


class Drbg:
    def __init__(self, label):
        self.key = hashlib.sha512(SEED + b" / " + label).digest()
        self.counter = 0

    def bytes(self, n):
        out = b""
        while len(out) < n:
            out += hashlib.sha512(self.key + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        return out[:n]

    def int_bits(self, bits):
        return int.from_bytes(self.bytes(bits // 8), "big")


SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


def is_probable_prime(n, drbg):
    if any(n % p == 0 for p in SMALL_PRIMES):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(40):
        a = 2 + drbg.int_bits(n.bit_length()) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(drbg, bits, e):
    while True:
        p = drbg.int_bits(bits) | (3 << (bits - 2)) | 1
        if p % e != 1 and is_probable_prime(p, drbg):
            return p


def rsa_key(label, bits=4096):
    drbg = Drbg(label)
    e = 65537
    while True:
        p = prime(drbg, bits // 2, e)
        q = prime(drbg, bits // 2, e)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    nums = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
    )
    return nums.private_key()


def ec_key(label):
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973
    scalar = 1 + Drbg(label).int_bits(512) % (n - 1)
    return ec.derive_private_key(scalar, ec.SECP384R1())


def name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "evtpm qemu-test"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST ONLY - NOT AMD - PUBLISHED KEY"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def mgf1(seed, length):
    out = b""
    c = 0
    while len(out) < length:
        out += hashlib.sha384(seed + c.to_bytes(4, "big")).digest()
        c += 1
    return out[:length]


def pss_sign(key, message):
    """RSASSA-PSS (RFC 8017 9.1.1) with SHA-384, MGF1-SHA-384, a 48-byte salt = SHA-384(message)."""
    nums = key.private_numbers()
    n, d = nums.public_numbers.n, nums.d
    em_bits = n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha384(message).digest()
    salt = hashlib.sha384(b"evtpm test salt" + message).digest()
    h = hashlib.sha384(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - 48 - 48 - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, mgf1(h, len(db))))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    em = masked + h + b"\xbc"
    s = pow(int.from_bytes(em, "big"), d, n)
    return s.to_bytes((n.bit_length() + 7) // 8, "big")


def der_len(data, i):
    """(length, offset of the content) of the DER TLV at data[i]."""
    first = data[i + 1]
    if first < 0x80:
        return first, i + 2
    k = first & 0x7F
    return int.from_bytes(data[i + 2 : i + 2 + k], "big"), i + 2 + k


def resign(cert_der, issuer_key):
    """Replaces the (randomly salted) signature with the deterministic one over the same TBS."""
    _, body = der_len(cert_der, 0)
    tbs_len, tbs_body = der_len(cert_der, body)
    tbs = cert_der[body : tbs_body + tbs_len]
    sig = pss_sign(issuer_key, tbs)
    assert cert_der.endswith(b"\x00" + cert_der[-len(sig) :])
    return cert_der[: -len(sig)] + sig


def build(subject, issuer, public_key, issuer_key, serial, extensions):
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
    )
    for ext, critical in extensions:
        b = b.add_extension(ext, critical)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    cert = b.sign(issuer_key, hashes.SHA384(), rsa_padding=pss)
    der = resign(cert.public_bytes(serialization.Encoding.DER), issuer_key)
    parsed = x509.load_der_x509_certificate(der)
    issuer_key.public_key().verify(
        parsed.signature, parsed.tbs_certificate_bytes, pss, hashes.SHA384()
    )
    return der


def amd_ext(suffix, value):
    oid = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1." + suffix)
    return x509.UnrecognizedExtension(oid, value), False


def der_int(v):
    body = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return b"\x02" + bytes([len(body)]) + body


def write(name_, data):
    with open(os.path.join(HERE, name_), "wb") as f:
        f.write(data)


def pem(der):
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def main():
    ark_key = rsa_key(b"ARK")
    ask_key = rsa_key(b"ASK")
    vcek_key = ec_key(b"VCEK")
    ca = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            True,
        ),
    ]
    ark = build(name("ARK-evtpm-TEST"), name("ARK-evtpm-TEST"), ark_key.public_key(), ark_key, 1, ca)
    ask = build(name("SEV-evtpm-TEST"), name("ARK-evtpm-TEST"), ask_key.public_key(), ark_key, 2, ca)
    product = b"evtpm-TEST"
    vcek = build(
        name("SEV-VCEK"),
        name("SEV-evtpm-TEST"),
        vcek_key.public_key(),
        ask_key,
        3,
        [
            amd_ext("1", der_int(1)),
            amd_ext("2", b"\x16" + bytes([len(product)]) + product),
            amd_ext("3.1", der_int(TEST_TCB["bl"])),
            amd_ext("3.2", der_int(TEST_TCB["tee"])),
            amd_ext("3.4", der_int(0)),
            amd_ext("3.5", der_int(0)),
            amd_ext("3.6", der_int(0)),
            amd_ext("3.7", der_int(0)),
            amd_ext("3.3", der_int(TEST_TCB["snp"])),
            amd_ext("3.8", der_int(TEST_TCB["ucode"])),
            amd_ext("4", CHIP_ID),
        ],
    )
    write("ark.der", ark)
    write("ark.pem", pem(ark))
    write("ask.der", ask)
    write("ask.pem", pem(ask))
    write("vcek.der", vcek)
    write("chip-id.bin", CHIP_ID)
    write(
        "TEST-ONLY-vcek-key.pem",
        vcek_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write("TEST-ONLY-vcek-scalar.bin", vcek_key.private_numbers().private_value.to_bytes(48, "big"))


if __name__ == "__main__":
    main()
