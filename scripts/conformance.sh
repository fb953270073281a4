#!/usr/bin/env bash
# Runs tpm2-pytss's own test suite (590 cases: ESAPI, FAPI, marshalling, policy) against
# `evtpm serve`, as ../shared/conformance/README.md describes, and prints the counts.
# Reference on this kind of machine: swtpm 0.7.1 passes 570 (20 skipped).
#   scripts/conformance.sh [EVTPM_BINARY]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
evtpm=${1:-$here/target/debug/evtpm}
version=3.0.0
work=${CONFORMANCE_DIR:-$here/target/conformance}
mkdir -p "$work"
python3 -c "import tpm2_pytss" 2>/dev/null || pip install -q "tpm2-pytss==$version" pytest
src="$work/tpm2_pytss-$version"
if [[ ! -d $src ]]; then
	pip download -q --no-deps --no-binary tpm2-pytss "tpm2-pytss==$version" -d "$work"
	tar -xzf "$work/tpm2_pytss-$version.tar.gz" -C "$work"
fi
conftest=$here/tests/conformance/pytss_conftest.py
cp "$conftest" "$src/test/conftest.py"
port=$((20000 + RANDOM % 20000))
log=$(mktemp -t evtpm-conformance.XXXXXX)
"$evtpm" serve --mssim "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
cd "$src"
set +e
TPM_EXTERNAL_TCTI="mssim:host=127.0.0.1,port=$port" python3 -m pytest test -q -p no:cacheprovider \
	| tee "$work/last-run.log" | tail -n 1
set -e
echo "conformance: full log in $work/last-run.log"
