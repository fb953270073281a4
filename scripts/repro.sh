#!/usr/bin/env bash
# Reproducible build check: the tracked source is copied to two directories at different
# paths, the firmware is built from scratch in each (`make firmware`: cargo --locked, paths
# remapped), and each image is packed with the same OVMF into an IGVM file. The two images,
# the two IGVM files and their launch MEASUREMENTs must be identical. Prints one line.
#
#   scripts/repro.sh EVTPM OVMF
set -euo pipefail

evtpm=$(realpath "${1:?usage: repro.sh EVTPM OVMF}")
ovmf=$(realpath "${2:?usage: repro.sh EVTPM OVMF}")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d -t evtpm-repro.XXXXXX)
trap 'rm -rf "$work"' EXIT

declare -A elf_sum igvm_sum digest size
for n in one two; do
    # Different depths and names, so that an embedded source path would show.
    if [[ $n == one ]]; then src=$work/one/evtpm; else src=$work/two/some/other/place/src; fi
    mkdir -p "$src"
    (cd "$root" && git ls-files -z | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
        tar --null -T - -cf -) | tar -xf - -C "$src"
    echo "repro: clean firmware build $n in $src" >&2
    make -s -C "$src" firmware >&2
    elf=$src/target/x86_64-unknown-none/firmware/svsm
    "$evtpm" igvm "$elf" --ovmf "$ovmf" -o "$work/$n.igvm" >/dev/null
    elf_sum[$n]=$(sha256sum <"$elf" | cut -d' ' -f1)
    size[$n]=$(stat -c %s "$elf")
    igvm_sum[$n]=$(sha256sum <"$work/$n.igvm" | cut -d' ' -f1)
    digest[$n]=$("$evtpm" measure --igvm "$work/$n.igvm" --vcpus 1)
done

fail=0
for what in elf_sum igvm_sum digest; do
    declare -n v=$what
    if [[ ${v[one]} != "${v[two]}" ]]; then
        echo "repro: $what differs: ${v[one]} vs ${v[two]}" >&2
        fail=1
    fi
done
if ((fail)); then
    cmp -l "$work/one/evtpm/target/x86_64-unknown-none/firmware/svsm" \
        "$work/two/some/other/place/src/target/x86_64-unknown-none/firmware/svsm" | head -n 5 >&2 || true
    exit 1
fi
echo "repro: identical in two clean builds: firmware ${size[one]} bytes sha256 ${elf_sum[one]}," \
    "IGVM sha256 ${igvm_sum[one]}, MEASUREMENT (1 vCPU) ${digest[one]}"
