#!/usr/bin/env bash
# The main job (`make run`): boot the evtpm firmware under QEMU (qemu-test platform: TCG, no SEV,
# reports signed by the software PSP with the published TEST key), serve its vTPM to tpm2-tools
# through the SVSM vTPM protocol, attest it, and use it.
#
#   1. `evtpm serve --firmware IMAGE --mssim HOST:PORT`: QEMU boots the SVSM; the firmware
#      manufactures the TPM, provisions the EKs and EK certificates, and every TPM command from
#      here on reaches the engine as SVSM_VTPM_CMD.
#   2. tpm2-tools: startup, capabilities, PCRs, random, hash, clock.
#   3. Attestation of the served TPM: the EK certificate from NV 0x01C00002 and the EK from
#      0x81010001, checked by `evtpm verify` (chain to the test root, signature, VMPL 0, policy,
#      MEASUREMENT, REPORT_DATA binding the EK); without --allow-test-root it is rejected.
#   4. A session salted with that EK (RSA-OAEP), used by tpm2_getrandom: only the TPM holding
#      the attested EK can answer it.
#   5. The attestation protocol with a fresh nonce (`evtpm attest`, a second boot), checked with
#      `evtpm verify --nonce`.
#
# Usage: scripts/run.sh EVTPM FIRMWARE HOST PORT
set -euo pipefail
evtpm=$1 firmware=$2 host=$3 port=$4
export TPM2TOOLS_TCTI="mssim:host=$host,port=$port"
work=$(mktemp -d -t evtpm-run.XXXXXX)
log=$work/serve.log
"$evtpm" serve --firmware "$firmware" --mssim "$host:$port" --firmware-log "$work/com1.log" \
    >"$log" 2>&1 &
server=$!
cleanup() {
    status=$?
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if ((status != 0)); then
        echo "run: failed; server log:" >&2
        cat "$log" >&2
        [[ -f $work/com1.log ]] && { echo "--- firmware COM1:" >&2; tail -20 "$work/com1.log" >&2; }
    fi
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 600); do
    kill -0 "$server" 2>/dev/null || { echo "run: evtpm serve exited" >&2; exit 1; }
    grep -q "listening on" "$log" && break
    sleep 0.1
done
grep -q "listening on" "$log" || { echo "run: the firmware did not come up in 60 s" >&2; exit 1; }
echo "--- firmware:"
grep -E "provisioned|EK|ready" "$work/com1.log" | sed 's/^/    /' || true

step() { echo; echo "\$ $*"; "$@"; }
step tpm2_startup -c
step tpm2_getcap properties-fixed | sed -n '1,12p'   # sed reads to the end: no SIGPIPE under pipefail
step tpm2_pcrextend "16:sha256=$(printf 'evtpm' | sha256sum | cut -d' ' -f1)"
step tpm2_pcrread sha256:16
step tpm2_getrandom --hex 16; echo
printf 'hello evtpm' | step tpm2_hash -g sha256 --hex; echo
step tpm2_readclock

# The qemu-test MEASUREMENT: SHA-384 of a label saying nothing was measured.
measurement=$(printf 'evtpm qemu-test platform: no launch measurement' | sha384sum | cut -d' ' -f1)
step tpm2_getcap handles-persistent
step tpm2_nvread 0x01C00002 -C o -o "$work/ek-cert.der"
step tpm2_readpublic -c 0x81010001 -f pem -o "$work/ek.pem" >/dev/null
step "$evtpm" verify --ek-cert "$work/ek-cert.der" --ek "$work/ek.pem" \
    --measurement "$measurement" --allow-test-root
echo
echo "\$ $evtpm verify --ek-cert ek-cert.der --ek ek.pem   # production roots only: must reject"
if "$evtpm" verify --ek-cert "$work/ek-cert.der" --ek "$work/ek.pem" | grep -E "^FAIL|^REJECTED"; then
    :
fi
if "$evtpm" verify --ek-cert "$work/ek-cert.der" --ek "$work/ek.pem" >/dev/null; then
    echo "run: a TEST-key report was accepted without --allow-test-root" >&2
    exit 1
fi

step tpm2_startauthsession --hmac-session -c 0x81010001 -S "$work/session.ctx"
step tpm2_getrandom -S "$work/session.ctx" --hex 16; echo
step tpm2_flushcontext "$work/session.ctx"

nonce=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
step "$evtpm" attest --firmware "$firmware" --nonce "$nonce" \
    --report "$work/report.bin" --manifest "$work/manifest.bin"
step "$evtpm" verify --report "$work/report.bin" --ek "$work/manifest.bin" --nonce "$nonce" \
    --measurement "$measurement" --allow-test-root

echo; echo "run: ok"
