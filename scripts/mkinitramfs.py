#!/usr/bin/env python3
"""Writes a gzip'd newc cpio initramfs: /init (the given script), /bin/busybox (static) and the
directories they need. Usage: mkinitramfs.py INIT BUSYBOX OUT"""
import gzip
import os
import sys


def entry(name: str, mode: int, data: bytes = b"", ino: int = 0, rdev=(0, 0)) -> bytes:
    # newc: "070701", 13 fields of 8 hex digits (ino, mode, uid, gid, nlink, mtime, filesize,
    # devmajor, devminor, rdevmajor, rdevminor, namesize, check), the name (NUL-terminated)
    # padded to 4 bytes, the data padded to 4 bytes.
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08x" % f for f in fields) + name.encode() + b"\0"
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def main() -> None:
    init, busybox, out = sys.argv[1:4]
    files = [
        ("dev", 0o040755, b""),
        ("bin", 0o040755, b""),
        ("proc", 0o040755, b""),
        ("sys", 0o040755, b""),
        ("init", 0o100755, open(init, "rb").read()),
        ("bin/busybox", 0o100755, open(busybox, "rb").read()),
        ("bin/sh", 0o120777, b"busybox"),
    ]
    archive = b"".join(entry(n, m, d, i + 1) for i, (n, m, d) in enumerate(files))
    # /dev/console (character device 5:1): the kernel opens it as init's stdin/stdout/stderr.
    archive += entry("dev/console", 0o020600, b"", len(files) + 1, (5, 1))
    archive += entry("TRAILER!!!", 0)
    with gzip.open(out, "wb", compresslevel=6) as f:
        f.write(archive)
    os.chmod(out, 0o644)


if __name__ == "__main__":
    main()
