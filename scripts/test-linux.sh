#!/usr/bin/env bash
# `make test-linux`: a real Debian kernel measures into evtpm.
#
# Fetches Debian's generic kernel package (TPM TIS/CRB, IMA and the TPM hwrng built in) without
# installing it, builds an initramfs from busybox-static and tests/linux/init, and boots it
# under QEMU (TCG) with evtpm as the TPM backend (`-tpmdev emulator` on `evtpm serve --ctrl`):
#
#   1. the engine on the host, tpm-crb;
#   2. the engine on the host, tpm-tis;
#   3. the engine inside the firmware (`evtpm serve --firmware`), tpm-tis and tpm-crb.
#
# The kernel's TPM driver probes evtpm, IMA measures (ima_policy=tcb ima_hash=sha256, plus rules
# the guest adds for its initramfs), and the guest prints its IMA log, PCRs and /dev/hwrng bytes;
# tests/py/linux_ima.py checks them on the host (PCR 10 replay in every bank, boot_aggregate,
# Keylime's IMA verification).
#
# Usage: scripts/test-linux.sh EVTPM FIRMWARE
set -euo pipefail
evtpm=$1 firmware=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/target/linux
mkdir -p "$cache"

# The kernel: the package linux-image-amd64 depends on, from Debian's archive.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $pkg ]] || { echo "test-linux: no linux-image-amd64 in the apt sources" >&2; exit 1; }
if [[ ! -d $cache/$pkg ]]; then
    rm -rf "$cache/dl" && mkdir -p "$cache/dl"
    (cd "$cache/dl" && apt-get download "$pkg" >/dev/null 2>&1) \
        || (cd "$cache/dl" && apt-get download "$pkg")
    dpkg-deb -x "$cache"/dl/"$pkg"_*.deb "$cache/$pkg.tmp"
    mv "$cache/$pkg.tmp" "$cache/$pkg"
    rm -rf "$cache/dl"
fi
kernel=$(ls "$cache/$pkg"/boot/vmlinuz-* | head -1)
echo "test-linux: kernel $pkg ($(basename "$kernel"))"

work=$(mktemp -d -t evtpm-linux.XXXXXX)
server=
cleanup() {
    [[ -n $server ]] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
python3 "$root/scripts/mkinitramfs.py" "$root/tests/linux/init" /bin/busybox "$work/initrd.gz"

run() {
    local name=$1 device=$2 check=$3
    shift 3
    local sock=$work/$name.sock log=$work/$name.serve.log serial=$work/$name.serial
    "$evtpm" serve --ctrl "unix:$sock" "$@" >"$log" 2>&1 &
    server=$!
    for _ in $(seq 600); do
        grep -q "listening on" "$log" && break
        kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "test-linux: $name: server exited" >&2; exit 1; }
        sleep 0.1
    done
    local start=$(date +%s%N) status=0
    timeout -k 5 300 qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m 512M \
        -nodefaults -display none -no-reboot -monitor none -serial "file:$serial" \
        -kernel "$kernel" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 ima_policy=tcb ima_hash=sha256 panic=-1 quiet" \
        -chardev "socket,id=chrtpm,path=$sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
        -device "$device,tpmdev=tpm0" </dev/null || status=$?
    local ms=$((($(date +%s%N) - start) / 1000000))
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
    if ((status != 0)) || ! grep -q "^=== done" "$serial"; then
        echo "test-linux: $name: QEMU exited with $status; guest log:" >&2
        tr -d '\r' <"$serial" | tail -40 >&2
        echo "--- server log:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    echo "test-linux: $name: booted, measured and powered off in $ms ms (TCG, QEMU start to exit)"
    python3 "$root/tests/py/linux_ima.py" $check "$serial" | sed "s/^/test-linux: $name: /"
    ((PIPESTATUS[0] == 0)) || exit 1
}

# tpm_tis registers the TPM as /dev/hwrng in this kernel; tpm_crb does not.
run host-crb tpm-crb ""
run host-tis tpm-tis --require-hwrng
run firmware-tis tpm-tis --require-hwrng --firmware "$firmware"
run firmware-crb tpm-crb "" --firmware "$firmware"
echo "test-linux: ok"
