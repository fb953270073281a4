#!/usr/bin/env python3
"""Seed corpora for the evtpm fuzz targets from real client traffic (driven by seeds.sh).

  seeds.py proxy WORKDIR LISTEN_BASE=TARGET_BASE ...
      A TCP proxy: for each pair, listens on LISTEN_BASE and LISTEN_BASE+1 and forwards to
      TARGET_BASE and TARGET_BASE+1, recording every byte the client sends on each connection to
      WORKDIR/conns/NNNNN-STEP-PORTKIND.bin, where STEP is the content of WORKDIR/step when the
      connection was accepted (seeds.sh writes the tool's name there) and PORTKIND names the
      listening port (given as LISTEN_BASE:KIND0:KIND1). Prints "ready" once listening.

  seeds.py convert WORKDIR OUTDIR
      Turns the recorded connections into one seed directory per fuzz target under OUTDIR.
"""
import hashlib
import os
import socket
import sys
import threading

# engine_sequence opcode that sends command bytes verbatim (fuzz/src/seq.rs OP_RAW).
OP_RAW = 22
# mssim TPM_SEND_COMMAND.
SEND_COMMAND = 8
# MemStream chunking byte of framed mode (fuzz/src/stream.rs FRAMED): u16 length, bytes; one
# record per read.
FRAMED = 0xFF

# swtpm control messages as QEMU's tpm_emulator backend sends them at start-up and shutdown
# (tpm2-tss's swtpm TCTI opens no control connection for these tools, so none are recorded):
# GET_CAPABILITY, SET_BUFFERSIZE(0), INIT(0), GET_TPMESTABLISHED, SET_LOCALITY(0), GET_INFO,
# GET_CONFIG, RESET_TPMESTABLISHED(3), CANCEL_TPM_CMD, HASH_START/DATA/END, STOP, SHUTDOWN.
QEMU_CTRL = [
    bytes.fromhex("00000001"),
    bytes.fromhex("00000011" "00000000"),
    bytes.fromhex("00000002" "00000000"),
    bytes.fromhex("00000004"),
    bytes.fromhex("00000005" "00"),
    bytes.fromhex("00000012" "0000000000000003" "00000000" "00000000"),
    bytes.fromhex("0000000f"),
    bytes.fromhex("0000000b" "03"),
    bytes.fromhex("00000009"),
    bytes.fromhex("00000006"),
    bytes.fromhex("00000007" "00000004" "61626364"),
    bytes.fromhex("00000008"),
    bytes.fromhex("0000000e"),
    bytes.fromhex("00000003"),
]


def proxy(workdir, specs):
    conns = os.path.join(workdir, "conns")
    os.makedirs(conns, exist_ok=True)
    seq = [0]
    lock = threading.Lock()

    def pump(src, dst, record):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                if record is not None:
                    record.write(b)
                    record.flush()
                dst.sendall(b)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(listener, target, kind):
        while True:
            client, _ = listener.accept()
            try:
                with open(os.path.join(workdir, "step")) as f:
                    step = f.read().strip() or "none"
            except OSError:
                step = "none"
            with lock:
                seq[0] += 1
                n = seq[0]
            try:
                upstream = socket.create_connection(("127.0.0.1", target))
            except OSError:
                client.close()
                continue
            record = open(os.path.join(conns, f"{n:05d}-{step}-{kind}.bin"), "wb")
            threading.Thread(target=pump, args=(client, upstream, record), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()

    for spec in specs:
        listen, target = spec.split("=")
        lport, k0, k1 = listen.split(":")
        for off, kind in ((0, k0), (1, k1)):
            l = socket.socket()
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("127.0.0.1", int(lport) + off))
            l.listen(16)
            threading.Thread(target=serve, args=(l, int(target) + off, kind), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def split_commands(stream):
    """Raw TPM commands back to back (the swtpm data channel) -> list of commands."""
    out, i = [], 0
    while i + 10 <= len(stream):
        n = int.from_bytes(stream[i + 2:i + 6], "big")
        if n < 10:
            break
        out.append(stream[i:i + n])
        i += n
    return out


def raw_ops(commands):
    out = bytearray()
    for c in commands:
        out += bytes([OP_RAW, 0]) + len(c).to_bytes(2, "big") + c + b"\0"
    return bytes(out)


def framed(messages):
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


def convert(workdir, outdir):
    conns = os.path.join(workdir, "conns")
    recs = []
    for name in sorted(os.listdir(conns)):
        seq, rest = name[:-4].split("-", 1)
        step, kind = rest.rsplit("-", 1)
        with open(os.path.join(conns, name), "rb") as f:
            data = f.read()
        if data:
            recs.append((int(seq), step, kind, data))

    seeds = {t: {} for t in ("engine_command", "engine_sequence", "mssim_framing", "swtpm_framing")}

    def add(target, name, data):
        # Named by step and content, so re-recording the same traffic gives the same files.
        if data not in seeds[target].values():
            seeds[target][f"{name}-{hashlib.sha1(data).hexdigest()[:8]}"] = data

    by_step, swtpm_cmds = {}, []
    for seq, step, kind, data in recs:
        if kind == "swtpm":
            cmds = split_commands(data)
            # Mode 3: the data channel of a TPM not started yet, for the tools' own Startup.
            add("swtpm_framing", f"{step}-data", bytes([0, 3 if step == "startup" else 0]) + data)
            swtpm_cmds.extend(cmds)
        elif kind == "ctrl":
            add("swtpm_framing", f"{step}-ctrl", b"\0\1" + data)
            cmds = []
        elif kind == "mssim":
            add("mssim_framing", f"{step}-cmd", b"\0\0" + data)
            # Also with the TPM not started (port byte bit 1) and in small chunks (odd byte 0).
            add("mssim_framing", f"{step}-cmd-nostart-chunked", b"\1\2" + data)
            cmds, i = [], 0
            while i + 9 <= len(data) and int.from_bytes(data[i:i + 4], "big") == SEND_COMMAND:
                n = int.from_bytes(data[i + 5:i + 9], "big")
                cmds.append(data[i + 9:i + 9 + n])
                i += 9 + n
        else:  # the mssim platform port
            add("mssim_framing", f"{step}-platform", b"\0\1" + data)
            cmds = []
        for c in cmds:
            add("engine_command", f"{step}-{c[6:10].hex()}", b"\0" + c)
        by_step.setdefault(step, []).extend(cmds)

    # The swtpm run over one data connection, a command per read (as QEMU sends them); QEMU's
    # control messages one per read; and both: control (its u16 length first) then data.
    data_session = framed(swtpm_cmds[:64])
    ctrl_session = framed(QEMU_CTRL)
    add("swtpm_framing", "session-data", bytes([FRAMED, 3]) + data_session)
    add("swtpm_framing", "qemu-ctrl", bytes([FRAMED, 1]) + ctrl_session)
    ctrl_start = framed(QEMU_CTRL[:5])
    add("swtpm_framing", "qemu-ctrl-then-data",
        bytes([FRAMED, 5]) + len(ctrl_start).to_bytes(2, "big") + ctrl_start + data_session)

    # Both transports carried the same tool runs; a sequence per step, and one of the whole run
    # (truncated to the operations engine_sequence executes).
    everything = []
    for step, cmds in by_step.items():
        add("engine_sequence", f"{step}", raw_ops(cmds))
        everything.extend(cmds)
    add("engine_sequence", "all", raw_ops(everything[:64]))

    for target, files in seeds.items():
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name + ".bin"), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "proxy":
        proxy(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "convert":
        convert(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
