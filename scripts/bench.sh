#!/usr/bin/env bash
# Latency of evtpm vs swtpm vs the transport floor, the same command mix in one run.
#
# Builds `evtpm` in release mode, then `evtpm bench-suite` starts `evtpm serve --swtpm`,
# `swtpm socket --tpm2 --flags not-need-init,startup-clear` (Debian package `swtpm`) and
# `evtpm bench-echo --swtpm` on free local ports, benchmarks each over one persistent
# connection (the same command mix, the three targets interleaved command by command), prints a
# comparison table (evtpm/swtpm ratio, evtpm above the echo floor) and one JSON line, and shuts
# them down. Every evtpm and swtpm response must be TPM_RC_SUCCESS: failures are counted,
# reported, and make the run exit non-zero.
#
# Engine-level latency (no transport) is `cargo bench -p vtpm`. Results: docs/benchmarks.md.
#
# Usage: scripts/bench.sh [--iterations N] [--warmup N] [--swtpm-bin PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swtpm >/dev/null || { echo "swtpm not found (apt-get install swtpm)" >&2; exit 1; }
cargo build --release -p evtpm --bin evtpm
exec target/release/evtpm bench-suite "$@"
