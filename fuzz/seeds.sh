#!/usr/bin/env bash
# Records the traffic tpm2-tools sends to `evtpm serve` and turns it into the seed corpora under
# fuzz/seeds/<target>/. A TCP proxy (seeds.py) sits between the tools and the server, so the
# product needs no recording mode. Each tool runs twice: over the swtpm TCTI (data and control
# ports) and over the mssim TCTI (command and platform ports).
#
#   fuzz/seeds.sh            # from the repository root; needs tpm2-tools and python3
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/fuzz/seeds"
work=$(mktemp -d -t evtpm-seeds.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

command -v tpm2_startup >/dev/null || { echo "seeds: tpm2-tools not installed" >&2; exit 1; }
(cd "$root" && cargo build -q -p evtpm 2>"$work/build.log") || { cat "$work/build.log" >&2; exit 1; }

# The server, first on free ports (its readiness line names them), then again on the same ports
# so that each TCTI's run starts from a freshly manufactured TPM.
server=
start_server() {
    "$root/target/debug/evtpm" serve --mssim "127.0.0.1:$1" --swtpm "127.0.0.1:$2" \
        >"$work/serve.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 100); do grep -q '^listening on' "$work/serve.log" && return; sleep 0.1; done
    cat "$work/serve.log" >&2
    exit 1
}
start_server 0 0
line=$(grep '^listening on' "$work/serve.log")
port_of() { sed -nE "s/.* $1=127\.0\.0\.1:([0-9]+).*/\1/p" <<<"$line"; }
mssim=$(port_of mssim) swtpm=$(port_of swtpm)

# The proxy on two more free pairs of ports.
free_pair() {
    python3 -c 'import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    try:
        b = socket.socket(); b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass'
}
pm=$(free_pair) ps=$(free_pair)
[[ $pm != "$ps" && $pm != $((ps + 1)) && $ps != $((pm + 1)) ]] || ps=$(free_pair)
python3 "$root/fuzz/seeds.py" proxy "$work" "$pm:mssim:platform=$mssim" "$ps:swtpm:ctrl=$swtpm" \
    >"$work/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$work/proxy.log" && break; sleep 0.1; done

head -c 32 /dev/zero | tr '\0' 'e' >"$work/small"
head -c 3000 /dev/zero | tr '\0' 'x' >"$work/large"

run() {
    local step=$1
    shift
    echo "$step" >"$work/step"
    if ! "$@" >>"$work/tools.log" 2>&1; then echo "  ($step failed; its traffic is kept)"; fi
}

tools() {
    run startup tpm2_startup -c
    run getcap-fixed tpm2_getcap properties-fixed
    run getcap-variable tpm2_getcap properties-variable
    run getcap-algs tpm2_getcap algorithms
    run getcap-commands tpm2_getcap commands
    run getcap-pcrs tpm2_getcap pcrs
    run getcap-handles tpm2_getcap handles-transient
    run pcrread tpm2_pcrread sha1:0,1,2+sha256:0,16,23+sha384:16
    run pcrread-all tpm2_pcrread
    run pcrextend tpm2_pcrextend "16:sha256=$(printf evtpm | sha256sum | cut -d' ' -f1)"
    run pcrextend-banks tpm2_pcrextend \
        "23:sha1=$(printf a | sha1sum | cut -d' ' -f1),sha256=$(printf a | sha256sum | cut -d' ' -f1)"
    run pcrevent tpm2_pcrevent 16 "$work/small"
    run pcrevent-large tpm2_pcrevent 16 "$work/large"
    run pcrreset tpm2_pcrreset 16
    run hash tpm2_hash -g sha256 --hex "$work/small"
    run hash-sha1 tpm2_hash -g sha1 -C o --hex "$work/small"
    run hash-large tpm2_hash -g sha256 --hex "$work/large"
    run getrandom tpm2_getrandom --hex 16
    run stirrandom tpm2_stirrandom "$work/small"
    run readclock tpm2_readclock
    run testparms-rsa tpm2_testparms rsa2048
    run testparms-ecc tpm2_testparms ecc256
    run testparms-aes tpm2_testparms aes128cfb
    run selftest tpm2_selftest --fulltest
    run gettestresult tpm2_gettestresult
    run changeauth tpm2_changeauth -c owner evtpm
    run changeauth-back tpm2_changeauth -c owner -p evtpm
    run clearcontrol tpm2_clearcontrol -C p s
    run clearcontrol-back tpm2_clearcontrol -C p c
    run clear tpm2_clear -c p
    run flushcontext tpm2_flushcontext -t
    run shutdown tpm2_shutdown -c
}

echo "seeds: swtpm TCTI"
TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$ps" tools
kill "$server"
wait "$server" 2>/dev/null || true
start_server "$mssim" "$swtpm"
echo "seeds: mssim TCTI"
TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$pm" tools
sleep 0.5 # let the proxy flush the last connections

rm -rf "$out"
python3 "$root/fuzz/seeds.py" convert "$work" "$out"
