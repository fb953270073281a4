#!/usr/bin/env bash
# Latency of evtpm vs swtpm vs the transport floor, the same command mixes in one run.
#
# Builds `evtpm` in release mode, then `evtpm bench-suite` starts `evtpm serve --swtpm`,
# `swtpm socket --tpm2 --flags not-need-init,startup-clear` (Debian package `swtpm`) and
# `evtpm bench-echo --swtpm` on free local ports and runs three mixes against each, one
# persistent connection per target and mix, the three targets interleaved command by command:
# issue 3's fast path, issue 4's keys mix (primaries from tpm2-tools templates, Create, Load,
# Sign, Quote, salted session, contexts, NV) and first-time primaries; the fast and keys mixes
# run a second time with each target warm (`--block N` rounds in a row, default 100). Prints a
# comparison table
# per mix (evtpm/swtpm ratios; evtpm above the echo floor; issue 4's targets and the Keylime +
# kernel sum) and one JSON line, and shuts the servers down. Every evtpm and swtpm response must
# be TPM_RC_SUCCESS: failures are counted, reported, and make the run exit non-zero.
#
# Engine-level latency (no transport) is `cargo bench -p vtpm` (benches engine and keys).
# Results: docs/benchmarks.md.
#
# BENCH_CPU=N runs the client and all three servers on CPU N only (taskset). On a VM a wake-up
# across vCPUs costs ~20 µs more than one on the same vCPU, and which servers land on the
# client's vCPU changes from run to run: unpinned medians flip between ~16 and ~38 µs per
# command. Pinned, every round trip is a same-CPU switch and runs agree to 0.1-0.3 µs.
#
# BENCH_SERVER_CPU=M (with BENCH_CPU=N, N != M) starts the three servers on CPU M and keeps the
# client on CPU N: every round trip wakes a server on the other CPU, as for a client and a TPM
# that each have a CPU of their own. That floor is about 50 µs here (the 45-50 µs issue 3 quotes
# for a loopback round trip to swtpm); the same-CPU floor of BENCH_CPU alone is about 14 µs.
#
# Usage: [BENCH_CPU=N [BENCH_SERVER_CPU=M]] scripts/bench.sh [--iterations N] [--warmup N] [--keys-iterations N]
#                         [--keys-warmup N] [--rsa-iterations N] [--swtpm-bin PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swtpm >/dev/null || { echo "swtpm not found (apt-get install swtpm)" >&2; exit 1; }
cargo build --release -p evtpm --bin evtpm
if [ -n "${BENCH_SERVER_CPU:-}" ]; then
    set -- --server-cpu "$BENCH_SERVER_CPU" "$@"
fi
if [ -n "${BENCH_CPU:-}" ]; then
    exec taskset -c "$BENCH_CPU" target/release/evtpm bench-suite "$@"
fi
exec target/release/evtpm bench-suite "$@"
