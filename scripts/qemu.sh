#!/usr/bin/env bash
# The host QEMU for an SNP launch of evtpm's IGVM file: QEMU 10.2.2 (qemu-patches/SOURCE) with
# qemu-patches/*.patch.
#
#   scripts/qemu.sh fetch   download the pinned tarball into target/qemu/ and check its SHA-256
#   scripts/qemu.sh check   apply every patch, in order, to a fresh copy of the source (no build)
#   scripts/qemu.sh build   apply them and build qemu-system-x86_64 with IGVM support into
#                           target/qemu/install (needs QEMU's build dependencies, and libigvm:
#                           IGVM_PREFIX=dir of an installed libigvm, else it is built from
#                           github.com/microsoft/igvm (IGVM_REF: a tag or branch; default: its
#                           default branch) with cargo-c, which needs network access)
#
# QEMU_SOURCE=dir uses an already unpacked QEMU 10.2.2 tree (e.g. upstream's v10.2.2 tag)
# instead of the tarball.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../qemu-patches/SOURCE
source "$root/qemu-patches/SOURCE"
cache=$root/target/qemu
IGVM_REF=${IGVM_REF:-}
mkdir -p "$cache"

fetch() {
    local t=$cache/$TARBALL
    if [[ -f $t ]] && echo "$SHA256  $t" | sha256sum -c --status; then
        return
    fi
    local u
    for u in $URLS; do
        echo "qemu: fetching $u" >&2
        if curl -fsSL --retry 3 -o "$t.part" "$u"; then
            if echo "$SHA256  $t.part" | sha256sum -c --status; then
                mv "$t.part" "$t"
                return
            fi
            echo "qemu: $u: SHA-256 mismatch, not used" >&2
        fi
    done
    rm -f "$t.part"
    echo "qemu: could not fetch $TARBALL with SHA-256 $SHA256" >&2
    exit 1
}

# Unpacks a pristine tree into $1 (replacing it) and applies the patches there.
patched_tree() {
    local dest=$1
    rm -rf "$dest"
    mkdir -p "$dest"
    if [[ -n ${QEMU_SOURCE:-} ]]; then
        grep -qx "$VERSION" "$QEMU_SOURCE/VERSION" ||
            { echo "qemu: $QEMU_SOURCE is not QEMU $VERSION" >&2; exit 1; }
        cp -a "$QEMU_SOURCE/." "$dest/"
    else
        fetch
        tar -xJf "$cache/$TARBALL" -C "$dest" --strip-components=1
    fi
    local p n=0
    for p in "$root"/qemu-patches/*.patch; do
        if ! out=$(patch -d "$dest" -p1 --forward --batch --no-backup-if-mismatch <"$p" 2>&1); then
            echo "$out" >&2
            echo "qemu: $(basename "$p") does not apply to QEMU $VERSION" >&2
            exit 1
        fi
        # `patch` accepts fuzz and offsets; a pinned release must take the patches exactly.
        if grep -qE 'with fuzz|offset' <<<"$out"; then
            echo "$out" >&2
            echo "qemu: $(basename "$p") applies only with fuzz or offsets: refresh it" >&2
            exit 1
        fi
        n=$((n + 1))
    done
    echo "qemu: $n patches apply cleanly to QEMU $VERSION" >&2
}

igvm_prefix() {
    if [[ -n ${IGVM_PREFIX:-} ]]; then
        echo "$IGVM_PREFIX"
        return
    fi
    local src=$cache/igvm prefix=$cache/igvm-install
    if [[ ! -f $prefix/include/igvm/igvm.h ]]; then
        command -v cargo-cinstall >/dev/null || cargo install --locked cargo-c >&2
        rm -rf "$src"
        git clone -q --depth 1 ${IGVM_REF:+--branch "$IGVM_REF"} https://github.com/microsoft/igvm "$src" >&2
        PREFIX=$prefix make -C "$src" -f igvm_c/Makefile install >&2
    fi
    echo "$prefix"
}

case ${1:-} in
fetch)
    fetch
    echo "$cache/$TARBALL"
    ;;
check)
    tmp=$(mktemp -d -t evtpm-qemu.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    patched_tree "$tmp/qemu"
    ;;
build)
    src=$cache/qemu-$VERSION
    patched_tree "$src"
    prefix=$(igvm_prefix)
    pc=$(dirname "$(find "$prefix" -name igvm.pc | head -n1)")
    cd "$src"
    PKG_CONFIG_PATH="$pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" ./configure \
        --prefix="$cache/install" --target-list=x86_64-softmmu \
        --enable-kvm --enable-igvm --disable-docs --disable-werror
    make -j"$(nproc)"
    make install
    echo "qemu: $cache/install/bin/qemu-system-x86_64"
    ;;
*)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
