#!/usr/bin/env bash
# Boots the SVSM image under plain QEMU (TCG, q35, PVH direct boot through -kernel) and checks that
# it prints its boot log on COM1, manufactures the engine, passes its self-test and leaves through
# isa-debug-exit with the success code.
#
#   scripts/qemu-smoke.sh [ELF]        (default: target/x86_64-unknown-none/firmware/svsm)
#
# Environment: QEMU (binary, default qemu-system-x86_64), QEMU_TIMEOUT (seconds, default 120).
set -euo pipefail

elf=${1:-target/x86_64-unknown-none/firmware/svsm}
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${QEMU_TIMEOUT:-120}
# isa-debug-exit: the firmware writes 0x10 on success, 0x11 on failure; QEMU exits (v << 1) | 1.
readonly EXIT_SUCCESS=33 EXIT_FAILURE=35

[[ -f $elf ]] || { echo "qemu-smoke: no firmware image at $elf (make firmware)" >&2; exit 1; }
command -v "$qemu" >/dev/null || { echo "qemu-smoke: $qemu not found (make deps)" >&2; exit 1; }

serial=$(mktemp -t evtpm-serial.XXXXXX)
trap 'rm -f "$serial"' EXIT

# -cpu max: the firmware needs RDRAND, which QEMU's default qemu64 model lacks.
start_ns=$(date +%s%N)
status=0
timeout -k 5 "$timeout_s" "$qemu" \
    -accel tcg -machine q35 -cpu max -m 256M \
    -nodefaults -display none -no-reboot -monitor none \
    -serial "file:$serial" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$elf" </dev/null || status=$?
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

echo "---- serial output ----"
tr -d '\r' <"$serial"
echo "-----------------------"

fail() { echo "qemu-smoke: FAIL: $*" >&2; exit 1; }
case $status in
    "$EXIT_SUCCESS") ;;
    "$EXIT_FAILURE") fail "the firmware reported failure (exit $status)" ;;
    124|137) fail "no exit within ${timeout_s}s" ;;
    *) fail "QEMU exited with $status (a triple fault with -no-reboot exits 0)" ;;
esac
for line in 'evtpm svsm .* booting' 'engine manufactured' 'TPM2_Startup(CLEAR): ' 'self-test passed'; do
    grep -q -- "$line" "$serial" || fail "serial output lacks \"$line\""
done
grep -q 'PANIC' "$serial" && fail "the firmware panicked"
echo "qemu-smoke: ok: booted, manufactured and self-tested in ${elapsed_ms} ms (TCG, QEMU start to exit)"

# A fatal exception reports itself and ends the run with the failure code, not a triple fault.
: >"$serial"
status=0
timeout -k 5 "$timeout_s" "$qemu" \
    -accel tcg -machine q35 -cpu max -m 256M \
    -nodefaults -display none -no-reboot -monitor none \
    -serial "file:$serial" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$elf" -append "evtpm.selftest=fault" </dev/null || status=$?
[[ $status == "$EXIT_FAILURE" ]] || { tr -d '\r' <"$serial"; fail "UD2 test: exit $status, want $EXIT_FAILURE"; }
grep -q 'EXCEPTION\] vector 6 (#UD invalid opcode) at RIP' "$serial" \
    || { tr -d '\r' <"$serial"; fail "UD2 test: no exception report"; }
echo "qemu-smoke: ok: a fatal #UD is reported ($(grep -o 'vector 6.*' "$serial" | tr -d '\r')) and ends the run"
