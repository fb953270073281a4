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

# Runs one tool as step $1 (its traffic is recorded under that name); with flush_after set, a
# FlushContext of every transient object follows, recorded under the same step.
flush_after=
run() {
    local step=$1
    shift
    echo "$step" >"$work/step"
    if ! "$@" >>"$work/tools.log" 2>&1; then echo "  ($step failed; its traffic is kept)"; fi
    if [[ -n $flush_after ]]; then tpm2_flushcontext -t >>"$work/tools.log" 2>&1 || true; fi
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
    # Issue 4's commands: keys, signatures, sessions, policies, NV, audit, two-phase ECC and
    # ECDAA, as tpm2-tools' manual pages run them. Without a resource manager every tool leaves
    # what it loaded in the TPM: each is followed by a FlushContext of the transient objects.
    k=$work/keys
    mkdir -p "$k"
    flush_after=1
    run createprimary tpm2_createprimary -C o -G ecc -c "$k/prim.ctx"
    run createprimary-rsa tpm2_createprimary -C e -G rsa -c "$k/ek.ctx"
    run create-sign tpm2_create -C "$k/prim.ctx" -G ecc:ecdsa -u "$k/s.pub" -r "$k/s.priv" -c "$k/s.ctx"
    run sign tpm2_sign -c "$k/s.ctx" -g sha256 -o "$k/sig" "$work/small"
    run verifysignature tpm2_verifysignature -c "$k/s.ctx" -g sha256 -m "$work/small" -s "$k/sig"
    run quote tpm2_quote -c "$k/s.ctx" -l sha256:0,1,16 -q 0011 -m "$k/msg" -s "$k/qsig"
    run readpublic tpm2_readpublic -c "$k/s.ctx" -o "$k/s.pub2"
    run create-seal tpm2_create -C "$k/prim.ctx" -i "$work/small" -u "$k/seal.pub" -r "$k/seal.priv" -c "$k/seal.ctx"
    run unseal tpm2_unseal -c "$k/seal.ctx"
    run startauthsession-salted tpm2_startauthsession --hmac-session -c "$k/prim.ctx" -S "$k/salted.ctx"
    run getrandom-salted tpm2_getrandom -S "$k/salted.ctx" --hex 16
    run startauthsession-policy tpm2_startauthsession --policy-session -S "$k/policy.ctx"
    run policypcr tpm2_policypcr -S "$k/policy.ctx" -l sha256:0,16
    run nvdefine tpm2_nvdefine -C o -s 32 0x1500016
    run nvwrite tpm2_nvwrite -C o -i "$work/small" 0x1500016
    run nvread tpm2_nvread -C o -s 32 0x1500016
    run nvundefine tpm2_nvundefine -C o 0x1500016
    run evictcontrol tpm2_evictcontrol -C o -c "$k/prim.ctx" 0x81000010
    run setcommandauditstatus tpm2_setcommandauditstatus -g sha256 TPM2_CC_GetRandom
    run getrandom-audited tpm2_getrandom --hex 8
    run getcommandauditdigest tpm2_getcommandauditdigest -c "$k/s.ctx" -g sha256 -m "$k/att" -s "$k/asig"
    run startauthsession-audit tpm2_startauthsession -S "$k/audit.ctx" --audit-session
    run getrandom-audit-session tpm2_getrandom 8 -S "$k/audit.ctx" --hex
    run getsessionauditdigest tpm2_getsessionauditdigest -c "$k/s.ctx" -g sha256 -m "$k/satt" -s "$k/ssig" -S "$k/audit.ctx"
    run create-ecdh tpm2_create -C "$k/prim.ctx" -G ecc256:ecdh -u "$k/x.pub" -r "$k/x.priv" -c "$k/x.ctx"
    run ecephemeral tpm2_ecephemeral -u "$k/q" -t "$k/ctr" ecc256
    run ecdhkeygen tpm2_ecdhkeygen -c "$k/x.ctx" -u "$k/peer.pub" -o "$k/peer.z"
    run zgen2phase tpm2_zgen2phase -c "$k/x.ctx" --static-public "$k/peer.pub" --ephemeral-public "$k/q" -t 0 --output-Z1 "$k/z1" --output-Z2 "$k/z2"
    run create-ecdaa tpm2_create -C "$k/prim.ctx" -G ecc256:ecdaa -u "$k/d.pub" -r "$k/d.priv" -c "$k/d.ctx"
    run commit tpm2_commit -c "$k/d.ctx" -u "$k/E" -t "$k/dctr"
    run sign-ecdaa tpm2_sign -c "$k/d.ctx" -g sha256 -s ecdaa --commit-index 1 -o "$k/dsig" "$work/small"
    flush_after=
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

# Only the corpora recorded here are replaced (verify_parsers' seeds come from elsewhere).
for target in engine_command engine_sequence mssim_framing swtpm_framing; do
    rm -rf "${out:?}/$target"
done
python3 "$root/fuzz/seeds.py" convert "$work" "$out"
