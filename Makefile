# evtpm: every target installs what it needs (idempotently) on a Debian 12 machine, then does
# its job. `make run` and `make test` are the two commands a newcomer needs.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory
.DEFAULT_GOAL := build

CARGO ?= cargo
FIRMWARE_TARGET := x86_64-unknown-none
FIRMWARE := target/$(FIRMWARE_TARGET)/firmware/svsm
CARGO_HOME_DIR := $(or $(CARGO_HOME),$(HOME)/.cargo)
FIRMWARE_RUSTFLAGS := --cfg aes_force_soft --cfg polyval_force_soft \
	--remap-path-prefix=$(CARGO_HOME_DIR)=/cargo --remap-path-prefix=$(CURDIR)=/evtpm
# The guest firmware packed into `make igvm` (an OVMF built with SVSM support; Debian's OVMF
# has none and serves only to build and measure a file).
OVMF ?= /usr/share/OVMF/OVMF_CODE_4M.fd
IGVM ?= target/evtpm.igvm
EVTPM := target/debug/evtpm
MSSIM_HOST ?= 127.0.0.1
MSSIM_PORT ?= 2321
# Extra arguments for `make bench` (e.g. BENCH_ARGS="--iterations 5000"); BENCH_CPU=N pins the
# client and every server to CPU N (scripts/bench.sh says why).
BENCH_ARGS ?=
# Seconds per fuzz target for `make fuzz`, and the memory limit of each (state must not grow).
SECONDS ?= 60
FUZZ_RSS_MB ?= 512
# `make fuzz` options: a subset of the targets, a run count instead of a time limit (e.g.
# RUNS=10000000), and the sanitizer (`none` for targets whose code is all forbid(unsafe_code),
# where ASan can find nothing Rust's own checks miss and costs a factor of 6).
TARGETS ?=
RUNS ?=
FUZZ_SANITIZER ?= address

APT_PACKAGES := swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon \
	libtss2-dev qemu-system-x86 ovmf busybox-static python3-pip
# The Python real-client tests (tests/py: Keylime's code, the kernel's HMAC sessions).
PY_REQUIREMENTS := tests/py/requirements.txt
# Not root (a developer's machine): apt-get goes through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps deps-apt deps-rust deps-py deps-fuzz build firmware test test-linux lint qemu-smoke run bench soak conformance \
	fuzz clean igvm qemu-patches-check repro

help:
	@echo "make run           build the firmware, boot it in QEMU, serve its vTPM on $(MSSIM_HOST):$(MSSIM_PORT), attest it, use it"
	@echo "make test          everything CI checks: fmt, clippy, firmware + QEMU boot, cargo test"
	@echo "make deps          apt packages, the Rust firmware target, rustfmt and clippy, the"
	@echo "                   Python test packages (tests/py/requirements.txt)"
	@echo "make build         host binaries (target/debug/evtpm)"
	@echo "make firmware      the SVSM image ($(FIRMWARE))"
	@echo "make qemu-smoke    boot the SVSM image under QEMU (TCG) and check its serial output"
	@echo "make igvm OVMF=F   the firmware and an SVSM-enabled OVMF as an IGVM file ($(IGVM)) for an SNP"
	@echo "                   host, with its launch MEASUREMENT (README: On a real SNP host)"
	@echo "make qemu-patches-check  qemu-patches/ apply cleanly to the pinned QEMU release"
	@echo "make repro         two clean firmware builds: bit-identical images and MEASUREMENT"
	@echo "make soak          10^6 mixed commands from 4 clients against evtpm serve; memory must stay flat"
	@echo "make bench         scripts/bench.sh: per-command latency of the fast-path and key mixes,"
	@echo "                   evtpm serve vs swtpm vs echo floor"
	@echo "make conformance   tpm2-pytss's own test suite against evtpm serve"
	@echo "make fuzz SECONDS=N  every cargo-fuzz target for N seconds (default $(SECONDS))"
	@echo "make clean         remove build outputs"

## ---- dependencies -------------------------------------------------------------------------

deps: deps-apt deps-rust deps-py

deps-apt:
	@missing=()
	for p in $(APT_PACKAGES); do
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing+=("$$p")
	done
	if (( $${#missing[@]} )); then
		echo "deps: installing $${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		$(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -q
		$(SUDO) apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
			"$${missing[@]}" </dev/null
	fi

deps-rust:
	@command -v $(CARGO) >/dev/null || { echo "deps: cargo not found (install rustup)" >&2; exit 1; }
	installed_targets=$$(rustup target list --installed)
	grep -qx '$(FIRMWARE_TARGET)' <<<"$$installed_targets" || rustup target add $(FIRMWARE_TARGET)
	installed_components=$$(rustup component list --installed)
	for c in rustfmt clippy; do
		grep -q "^$$c" <<<"$$installed_components" || rustup component add "$$c"
	done

# pip only when tests/py/check_deps.py finds something missing or at another version. Debian's
# own python3 refuses `pip install` outside a venv (PEP 668) unless told otherwise.
deps-py: deps-apt
	@if ! python3 tests/py/check_deps.py >/dev/null 2>&1; then
		echo "deps: installing the Python test packages ($(PY_REQUIREMENTS))"
		python3 -m pip install -q --disable-pip-version-check -r $(PY_REQUIREMENTS) \
			|| python3 -m pip install -q --disable-pip-version-check --break-system-packages \
				-r $(PY_REQUIREMENTS)
		python3 tests/py/check_deps.py
	fi

deps-fuzz: deps-rust
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-fuzz

## ---- build ----------------------------------------------------------------------------------

build: deps-rust
	$(CARGO) build --workspace

firmware: deps-rust
	# The flags of .cargo/config.toml, plus path remapping: the image must not depend on where
	# the source or cargo's registry is (scripts/repro.sh checks two builds are bit-identical).
	export CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS="$(FIRMWARE_RUSTFLAGS)"
	$(CARGO) build --locked -p svsm --target $(FIRMWARE_TARGET) --profile firmware
	echo "firmware: $(FIRMWARE) ($$(stat -c %s $(FIRMWARE)) bytes)"

qemu-smoke: deps firmware
	scripts/qemu-smoke.sh $(FIRMWARE)

## ---- checks ---------------------------------------------------------------------------------

lint: deps-rust
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p svsm --target $(FIRMWARE_TARGET) -- -D warnings

# cargo test runs last so that its summary closes the log; the tests crate drives
# target/debug/evtpm, which `build` makes first, and tools/tests/firmware.rs boots the image
# that `qemu-smoke` (through `firmware`) makes. The real-client suite runs twice: against the
# engine on the host (both TCTIs), then against the engine inside the firmware under QEMU.
# The short CI versions of the hardening runs: every fuzz target for CI_FUZZ_SECONDS, a
# 10^5-command soak.
CI_FUZZ_SECONDS ?= 20
test: deps lint build qemu-smoke test-linux qemu-patches-check repro
	$(MAKE) fuzz SECONDS=$(CI_FUZZ_SECONDS)
	$(EVTPM) soak --clients 4 --commands 100000
	EVTPM_FIRMWARE=$(CURDIR)/$(FIRMWARE) EVTPM_ENDPOINTS=evtpm-firmware $(CARGO) test -p evtpm-tests
	EVTPM_FIRMWARE=$(CURDIR)/$(FIRMWARE) $(CARGO) test --workspace

# A Debian kernel's TPM driver and IMA against evtpm under QEMU: scripts/test-linux.sh.
test-linux: deps build firmware
	scripts/test-linux.sh $(EVTPM) $(FIRMWARE)

## ---- demo -----------------------------------------------------------------------------------

run: deps build firmware
	scripts/run.sh $(EVTPM) $(FIRMWARE) $(MSSIM_HOST) $(MSSIM_PORT)

## ---- a real SNP host: IGVM image, QEMU, reproducibility --------------------------------------

# The firmware and $(OVMF) as an IGVM file for QEMU's igvm-cfg (tools/src/igvm.rs); prints its
# launch MEASUREMENT. `evtpm launch --igvm $(IGVM)` prints the host's QEMU command line.
igvm: build firmware
	$(EVTPM) igvm $(FIRMWARE) --ovmf $(OVMF) -o $(IGVM)

# qemu-patches/ apply cleanly to the pinned QEMU release (no build); `scripts/qemu.sh build`
# builds the patched QEMU on the SNP host.
qemu-patches-check:
	scripts/qemu.sh check

# Two clean builds of the firmware from two copies of the source in different directories:
# bit-identical images, IGVM files and MEASUREMENTs.
repro: deps build
	scripts/repro.sh $(EVTPM) $(OVMF)

## ---- benchmarks and fuzzing -----------------------------------------------------------------

# 10^6 mixed commands from several clients against evtpm serve (release build); memory must
# stay flat. `make test` runs a 10^5-command version with the debug build.
SOAK_COMMANDS ?= 1000000
SOAK_CLIENTS ?= 4
soak: deps
	$(CARGO) build --release -p evtpm --bin evtpm
	target/release/evtpm soak --clients $(SOAK_CLIENTS) --commands $(SOAK_COMMANDS)

conformance: deps build
	scripts/conformance.sh $(EVTPM)

bench: deps build
	@test -f scripts/bench.sh || { echo "bench: scripts/bench.sh is missing" >&2; exit 1; }
	bash scripts/bench.sh $(BENCH_ARGS)

fuzz: deps-fuzz
	@test -d fuzz || { echo "fuzz: no fuzz/ crate" >&2; exit 1; }
	cd fuzz
	export RUSTC_BOOTSTRAP=1
	# ASan's default 256 MB quarantine of freed memory would count against the RSS limit, which
	# is there to catch state that grows; the targets are safe Rust, so a small one will do.
	export ASAN_OPTIONS=$${ASAN_OPTIONS:-quarantine_size_mb=16}
	targets="$(TARGETS)"
	[[ -n "$$targets" ]] || targets=$$($(CARGO) fuzz list)
	[[ -n "$$targets" ]] || { echo "fuzz: cargo fuzz list found no targets" >&2; exit 1; }
	logs=$$(mktemp -d -t evtpm-fuzz.XXXXXX)
	trap 'rm -rf "$$logs"' EXIT
	summary=() failed=0
	for t in $$targets; do
		limit=(-max_total_time=$(SECONDS)) what="$(SECONDS) s"
		if [[ -n "$(RUNS)" ]]; then limit=(-runs=$(RUNS)) what="$(RUNS) runs"; fi
		echo "==> fuzz $$t for $$what (sanitizer $(FUZZ_SANITIZER))"
		note=
		# New inputs go to corpus/<t> (ignored); the committed seeds/<t> are read as well.
		corpora=("$$PWD/corpus/$$t")
		mkdir -p "$${corpora[0]}"
		if [[ -d seeds/$$t ]]; then corpora+=("$$PWD/seeds/$$t"); fi
		if ! $(CARGO) fuzz run --sanitizer $(FUZZ_SANITIZER) "$$t" "$${corpora[@]}" -- "$${limit[@]}" \
			-rss_limit_mb=$(FUZZ_RSS_MB) 2>&1 | tee "$$logs/$$t"; then
			failed=1 note=" (FAILED)"
		fi
		crashes=$$(grep -c 'Test unit written to' "$$logs/$$t" || true)
		execs=$$(grep -oE '^Done [0-9]+ runs' "$$logs/$$t" | grep -oE '[0-9]+' || true)
		[[ -n "$$execs" ]] || execs=$$(grep -oE '^#[0-9]+' "$$logs/$$t" | tail -n1 | tr -d '#' || true)
		summary+=("$$t: $${execs:-0} executions, $$crashes crashes$$note")
	done
	echo; echo "fuzz summary ($${what} per target, sanitizer $(FUZZ_SANITIZER)):"
	printf '  %s\n' "$${summary[@]}"
	exit "$$failed"

clean:
	$(CARGO) clean
	if [[ -d fuzz ]]; then rm -rf fuzz/target; fi
