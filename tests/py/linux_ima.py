#!/usr/bin/env python3
"""Host-side checks of a test-linux guest's serial log (scripts/test-linux.sh, tests/linux/init).

The guest printed, between `===` markers: its kernel, the TPM sysfs attributes, 32 bytes read
from /dev/hwrng, PCRs 0-10 of every bank as the kernel's TPM driver read them from evtpm, and
its IMA log (ascii and binary). Checked here, independently of the kernel and of evtpm:

* the ascii and binary logs list the same entries (PCR, SHA-1 template digest, template, name);
* for every bank, replaying the binary log (each entry's template data hashed with the bank's
  algorithm, SHA-1 padded where the kernel had no implementation of it, all ones for a
  violation) from zero gives the PCR 10 the guest read from evtpm;
* boot_aggregate (the first entry) is IMA's definition over the SHA-256 bank: SHA-256 of PCRs
  0-9 as read;
* Keylime's IMA verification (PyPI keylime, `ima.process_measurement_list`) accepts the log
  against PCR 10 with a runtime policy generated from the log by Keylime itself, and rejects the
  log with one file digest changed;
* /dev/hwrng (the kernel's tpm-rng, i.e. TPM2_GetRandom to evtpm) gave 32 bytes, where the
  kernel registered it (`--require-hwrng`: this Debian 6.1 kernel does through tpm_tis, not
  through tpm_crb).

Usage: linux_ima.py SERIAL_LOG  (exit 0 when every check passes; prints one summary line).
"""

import argparse
import hashlib
import logging
import os
import re
import struct
import sys
import tempfile
import types

try:  # keylime imports `gpg` (python-gpgme, no wheel on PyPI); only signed policies use it.
    import gpg  # noqa: F401
except ImportError:
    sys.modules["gpg"] = types.ModuleType("gpg")

BANKS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}


def fail(msg):
    print(f"linux_ima: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_serial(text):
    lines = [line.rstrip("\r") for line in text.splitlines()]
    pcrs, ascii_log, binary_hex, facts = {}, [], [], {}
    section = None
    for line in lines:
        if line == "=== ima ascii begin":
            section = "ascii"
            continue
        if line == "=== ima binary begin":
            section = "binary"
            continue
        if line in ("=== ima ascii end", "=== ima binary end"):
            section = None
            continue
        if section == "ascii":
            # Kept as printed: an ima-sig entry without a signature ends in a space, which
            # Keylime's parser reads as the empty signature field.
            if line.strip():
                ascii_log.append(line)
            continue
        if section == "binary":
            binary_hex.append(line.strip())
            continue
        m = re.match(r"=== pcr (\w+) (\d+) ([0-9A-Fa-f]+)$", line)
        if m:
            pcrs.setdefault(m.group(1), {})[int(m.group(2))] = bytes.fromhex(m.group(3))
            continue
        m = re.match(r"=== (evtpm test-linux: kernel|hwrng bytes:|hwrng:|tpm:) ?(.*)$", line)
        if m:
            facts[m.group(1)] = m.group(2).strip()
    if "=== done" not in lines:
        fail("the guest did not finish (no '=== done' line)")
    return pcrs, ascii_log, bytes.fromhex("".join(binary_hex)), facts


def parse_binary(data):
    """binary_runtime_measurements: u32 PCR, 20-byte SHA-1 template digest, u32 name length,
    the template name, u32 template data length, the template data (all little-endian)."""
    entries, at = [], 0
    while at < len(data):
        pcr, = struct.unpack_from("<I", data, at)
        digest = data[at + 4:at + 24]
        nlen, = struct.unpack_from("<I", data, at + 24)
        name = data[at + 28:at + 28 + nlen].decode()
        dlen, = struct.unpack_from("<I", data, at + 28 + nlen)
        tdata = data[at + 32 + nlen:at + 32 + nlen + dlen]
        if len(tdata) != dlen:
            fail("binary log truncated")
        entries.append((pcr, digest, name, tdata))
        at += 32 + nlen + dlen
    return entries


def template_fields(tdata):
    """The length-prefixed fields of ima-ng/ima-sig template data."""
    fields, at = [], 0
    while at < len(tdata):
        n, = struct.unpack_from("<I", tdata, at)
        fields.append(tdata[at + 4:at + 4 + n])
        at += 4 + n
    return fields


def replay(entries, bank, unavailable):
    size = BANKS[bank]().digest_size
    pcr = bytes(size)
    for _, digest, _, tdata in entries:
        if digest == bytes(20):  # a violation: extended as all ones
            value = b"\xff" * size
        elif bank in unavailable:  # the kernel's padded SHA-1
            value = hashlib.sha1(tdata).digest().ljust(size, b"\0")
        else:
            value = BANKS[bank](tdata).digest()
        pcr = BANKS[bank](pcr + value).digest()
    return pcr


def keylime_checks(ascii_log, pcr10_sha256):
    import argparse as ap

    from keylime.common.algorithms import Hash
    from keylime.ima import ima
    from keylime.policy import create_runtime_policy as crp

    text = "".join(line + "\n" for line in ascii_log)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ascii_runtime_measurements")
        with open(path, "w") as f:
            f.write(text)
        parser = ap.ArgumentParser()
        crp.get_arg_parser(parser.add_subparsers(), ap.ArgumentParser(add_help=False))
        args = parser.parse_args(["runtime", "--ima-measurement-list", path])
        # It prints the policy on file descriptor 1: keep that out of this tool's output.
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                policy = crp.create_runtime_policy(args)
                sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    if policy is None:
        fail("keylime could not create a runtime policy from the log")

    def verify(lines):
        _, failure = ima.process_measurement_list(
            None, lines, policy, pcrval=pcr10_sha256.hex(), hash_alg=Hash.SHA256
        )
        return failure

    failure = verify([line + "\n" for line in ascii_log])
    if failure:
        fail(f"keylime rejected the guest's IMA log: {failure.get_event_ids()}")
    # One file's digest changed (the entry made consistent again): PCR 10 no longer replays
    # and the digest is not in the policy.
    tampered = list(ascii_log)
    i = next(k for k, line in enumerate(tampered) if line.split()[4:5] == ["/init"])
    digest = hashlib.sha256(b"trojaned init").digest()
    fields = [b"sha256:\0" + digest, b"/init\0", b""]
    template = b"".join(struct.pack("<I", len(f)) + f for f in fields)
    cols = tampered[i].split(" ")
    cols[1] = hashlib.sha1(template).hexdigest()
    cols[3] = "sha256:" + digest.hex()
    tampered[i] = " ".join(cols)
    failure = verify([line + "\n" for line in tampered])
    if not failure:
        fail("keylime accepted a tampered IMA log")
    return sorted(set(failure.get_event_ids()))


def main():
    logging.disable(logging.CRITICAL)  # Keylime logs the expected rejection at ERROR
    p = argparse.ArgumentParser()
    p.add_argument("serial")
    p.add_argument(
        "--require-hwrng",
        action="store_true",
        help="fail unless the kernel registered the TPM as /dev/hwrng and reading it worked",
    )
    args = p.parse_args()
    text = open(args.serial, encoding="utf-8", errors="replace").read()
    pcrs, ascii_log, binary, facts = parse_serial(text)
    entries = parse_binary(binary)
    if len(entries) < 5:
        fail(f"only {len(entries)} IMA entries")
    if len(entries) != len(ascii_log):
        fail(f"ascii log has {len(ascii_log)} entries, binary {len(entries)}")
    for (pcr, digest, name, tdata), line in zip(entries, ascii_log):
        cols = line.split()
        if int(cols[0]) != pcr or cols[1] != digest.hex() or cols[2] != name:
            fail(f"ascii and binary logs disagree: {line!r} vs {pcr} {digest.hex()} {name}")
        if digest != bytes(20) and hashlib.sha1(tdata).digest() != digest:
            fail(f"template digest is not SHA-1 of the template data: {line!r}")
    unavailable = {b for b in BANKS if f"ima: Can not allocate {b}" in text}
    for bank, values in sorted(pcrs.items()):
        if 10 not in values:
            fail(f"no PCR 10 in the {bank} bank")
        want = replay(entries, bank, unavailable)
        if want != values[10]:
            fail(f"{bank} PCR 10 is {values[10].hex()}, the log replays to {want.hex()}")
    if "sha256" not in pcrs:
        fail("no SHA-256 bank")
    first = entries[0]
    fields = template_fields(first[3])
    if fields[1].rstrip(b"\0") != b"boot_aggregate":
        fail("the first entry is not boot_aggregate")
    algo, _, digest = fields[0].partition(b":\0")
    aggregate = hashlib.sha256(b"".join(pcrs["sha256"][i] for i in range(10))).digest()
    if algo != b"sha256" or digest != aggregate:
        fail(f"boot_aggregate {algo.decode()}:{digest.hex()} != SHA-256(PCR0..9) {aggregate.hex()}")
    rng = bytes.fromhex(facts.get("hwrng bytes:", ""))
    tpm_rng = facts.get("hwrng:", "").startswith("tpm-rng")
    if args.require_hwrng and not tpm_rng:
        fail(f"the kernel registered no TPM hwrng ({facts.get('hwrng:')})")
    if tpm_rng and (len(rng) != 32 or len(set(rng)) < 8):
        fail(f"/dev/hwrng (tpm-rng) gave {rng.hex()!r}")
    rejected = keylime_checks(ascii_log, pcrs["sha256"][10])
    print(
        f"linux_ima: ok: kernel {facts.get('evtpm test-linux: kernel')}, "
        f"{'/dev/hwrng = ' + facts.get('hwrng:', '').split()[0] + ' gave 32 bytes' if tpm_rng else 'no TPM hwrng registered'}, "
        f"{len(entries)} IMA entries; PCR 10 replayed in {', '.join(sorted(pcrs))}"
        f"{' (padded SHA-1 for ' + ', '.join(sorted(unavailable)) + ')' if unavailable else ''}; "
        f"boot_aggregate = SHA-256(PCR0..9); keylime accepts the log, rejects a tampered one ({', '.join(rejected)})"
    )


if __name__ == "__main__":
    main()
