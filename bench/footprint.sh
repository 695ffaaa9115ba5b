#!/usr/bin/env bash
# Code size of memplan::BasicPool<CortexMInterruptLock> on Cortex-M, built the
# way firmware builds it: arm-none-eabi-g++ -Os -fno-exceptions -fno-rtti
# -ffunction-sections, for bench/footprint_pool.cpp.
#
# Prints, per core: arm-none-eabi-size of the object, the pool's members by
# size (arm-none-eabi-nm --size-sort -S), and the text each hot path really
# pulls in: the object linked with --gc-sections from that function as entry
# point, so out-of-line helpers it calls (classify, owns, secure_wipe) count
# and nothing else does. libc's memset is left unresolved and not counted.
#
#   MEMPLAN_FOOTPRINT_CPUS      cores to build for (default "cortex-m4 cortex-m0 cortex-m7")
#   MEMPLAN_MBEDTLS_SOURCE_DIR  mbedTLS 3.6 source (default ~/.cache/memplan/mbedtls-3.6.6)
#   MEMPLAN_BUILD_DIR           objects go to $MEMPLAN_BUILD_DIR/footprint (default /tmp/memplan-footprint)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mbedtls=${MEMPLAN_MBEDTLS_SOURCE_DIR:-$HOME/.cache/memplan/mbedtls-3.6.6}
if [[ -n "${MEMPLAN_BUILD_DIR:-}" ]]; then out="$MEMPLAN_BUILD_DIR/footprint"; else out=/tmp/memplan-footprint; fi
cpus=${MEMPLAN_FOOTPRINT_CPUS:-cortex-m4 cortex-m0 cortex-m7}
mkdir -p "$out"

cxx=arm-none-eabi-g++
flags=(-std=c++17 -mthumb -Os -fno-exceptions -fno-rtti -ffunction-sections
       -Wall -Wextra -Werror -Wconversion -Wsign-conversion -Wshadow
       -I "$repo/runtime/include" -isystem "$mbedtls/include"
       "-DMBEDTLS_CONFIG_FILE=\"$repo/cmake/mbedtls/memplan_mbedtls_config.h\"")

# Text bytes reachable from the given (mangled) symbols.
closure_text() {
  local cpu=$1 object=$2 entry=$3
  shift 3
  local keep=()
  for symbol in "$@"; do keep+=("-Wl,--undefined=$symbol"); done
  "$cxx" -mcpu="$cpu" -mthumb -nostdlib -nostartfiles -Wl,--gc-sections "-Wl,--entry=$entry" "${keep[@]}" \
    -Wl,--unresolved-symbols=ignore-all -o "$out/closure.elf" "$object"
  arm-none-eabi-size -A "$out/closure.elf" | awk '$1 == ".text" { print $2 }'
}

summary=("| core | allocate() | release(void*) with helpers | both | whole BasicPool (all members) | object .text |"
         "|:---|---:|---:|---:|---:|---:|")
"$cxx" --version | head -n 1
for cpu in $cpus; do
  object="$out/footprint_pool.$cpu.o"
  "$cxx" -mcpu="$cpu" "${flags[@]}" -c "$repo/bench/footprint_pool.cpp" -o "$object"
  echo
  echo "== $cpu"
  arm-none-eabi-size "$object"
  echo "-- BasicPool<CortexMInterruptLock> members and helpers (arm-none-eabi-nm --size-sort -S, in decimal bytes):"
  arm-none-eabi-nm --size-sort -S -C "$object" | grep -E ' [TtWw] ' | grep -E 'memplan::|footprint_' |
    while read -r _address size _type name; do printf '%6d  %s\n' "$((16#$size))" "$name"; done
  allocate=$(arm-none-eabi-nm "$object" | awk '$3 ~ /BasicPool.*CortexMInterruptLock.*8allocateEv$/ { print $3 }')
  release=$(arm-none-eabi-nm "$object" | awk '$3 ~ /BasicPool.*CortexMInterruptLock.*7releaseEPv$/ { print $3 }')
  allocate_bytes=$(closure_text "$cpu" "$object" "$allocate")
  release_bytes=$(closure_text "$cpu" "$object" "$release")
  both_bytes=$(closure_text "$cpu" "$object" "$allocate" "$release")
  members=$(arm-none-eabi-nm "$object" | awk '$2 ~ /^[TtWw]$/ && $3 ~ /BasicPool.*CortexMInterruptLock/ { print $3 }')
  # The members alone: the class's own symbols (and their helpers), not the call-site wrappers.
  # shellcheck disable=SC2086
  whole_bytes=$(closure_text "$cpu" "$object" $members)
  object_text=$(arm-none-eabi-size "$object" | awk 'NR == 2 { print $1 }')
  echo "-- text reachable from allocate(): $allocate_bytes B; release(void*): $release_bytes B; both: $both_bytes B"
  echo "-- calls out of the object (not counted): $(arm-none-eabi-nm -u "$object" | awk '{ print $2 }' | tr '\n' ' ')"
  echo "-- calls made by allocate/release and their helpers:"
  arm-none-eabi-objdump -dr -C "$object" |
    awk '/^[0-9a-f]+ <.*>:$/ { caller = $0 } /R_ARM_THM_CALL/ && caller ~ /allocate|release|classify|owns|secure_wipe/ {
      callee = $0; sub(/.*R_ARM_THM_CALL[ \t]+/, "", callee)
      name = caller; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name); print "   " name " -> " callee }' | sort -u
  summary+=("| $cpu | $allocate_bytes | $release_bytes | $both_bytes | $whole_bytes | $object_text |")
done
rm -f "$out/closure.elf"

echo
printf '%s\n' "${summary[@]}"
