#!/usr/bin/env bash
# memplan's main job, on a fresh Debian 12 machine (installs what is missing):
#   1. generate the layouts of the four shipped profiles (medium's report below),
#   2. build the medium product for the host and run it,
#   3. build its firmware for Cortex-M4 (mps2-an386), check the linked image
#      against the profile, and run it under QEMU,
#   4. print the medium profile's RAM budget report, planned and measured (every
#      byte of each region by origin, the main stack's bound and high water),
#      and draw it (build/medium.budget.svg).
# Build trees go to $MEMPLAN_BUILD_DIR (default: build/ in the checkout).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
python=/usr/bin/python3
jobs=${MEMPLAN_JOBS:-$(nproc)}
step() { printf '\n== %s ==\n' "$*"; }

step "dependencies"
MEMPLAN_MBEDTLS_SOURCE_DIR=$(bash "$repo/scripts/install-deps.sh" | tail -n 1)
export MEMPLAN_MBEDTLS_SOURCE_DIR
memplan() { PYTHONPATH="$repo/generator" "$python" -m memplan "$@"; }

step "generate the four shipped profiles"
memplan check "$repo"/profiles/{micro,small,medium,large}.yaml
memplan generate "$repo"/profiles/{micro,small,medium,large}.yaml --out "$build_root/layouts" --verbose
echo "layouts in $build_root/layouts/<profile>/ (layout.hpp, layout.ld, budget.json, budget.md, budget.svg)"

step "build and run the medium product on the host"
cmake -S "$repo" -B "$build_root/host" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEMPLAN_BUILD_TESTS=OFF \
  -DMEMPLAN_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build_root/host" -j "$jobs" --target host_example_medium
"$build_root/host/examples/host_example_medium"

step "build the medium firmware for Cortex-M4 and check the image against the profile"
cmake -S "$repo" -B "$build_root/firmware-cortex-m4f" -G Ninja -DMEMPLAN_BUILD_TESTS=OFF -DMEMPLAN_BUILD_EXAMPLES=ON \
  --toolchain "$repo/cmake/toolchains/cortex-m4f.cmake" >/dev/null
cmake --build "$build_root/firmware-cortex-m4f" -j "$jobs"
elf=$build_root/firmware-cortex-m4f/examples/firmware_medium.elf

step "run the firmware under QEMU (mps2-an386)"
qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$elf" 2>&1 | tee "$build_root/firmware-medium.log"
high_water=$(sed -n 's/^ *stack main: high water \([0-9][0-9]*\)$/\1/p' "$build_root/firmware-medium.log")

step "RAM budget report: medium (planned by the generator)"
memplan report "$repo/profiles/medium.yaml" --format md

step "RAM budget report: medium (measured in the linked Cortex-M4 image: every byte by origin, the main stack's worst case and high water)"
# The objects GCC wrote call-graph files beside (the firmware's, the runtime's and mbedTLS's) and the link's map.
objects=$build_root/firmware-cortex-m4f
memplan check-elf "$elf" --profile "$repo/profiles/medium.yaml" --format md --map "$objects/examples/firmware_medium.map" \
  --callgraph "$objects/examples/CMakeFiles/firmware_medium.dir" "$objects/runtime/CMakeFiles/memplan_runtime.dir" \
              "$objects/CMakeFiles/memplan_mbedcrypto.dir" \
  --stack-measured "main=$high_water" --picture "$build_root/medium.budget.svg"
echo "picture: $build_root/medium.budget.svg"
