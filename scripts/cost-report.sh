#!/usr/bin/env bash
# Cost per operation on Cortex-M: builds the cost firmware (bench/cortex_m) for
# each core, counts every operation's instructions and longest interrupts-masked
# stretch under QEMU (count_instructions.py, exact and repeatable), and compares
# the counts with budgets/cost-baseline.json: a count that grew fails.
#
#   scripts/cost-report.sh                    report (exit 1 when a count grew)
#   scripts/cost-report.sh --update-baseline  also make the current counts the baseline
#
# Uses the firmware build trees $MEMPLAN_BUILD_DIR/firmware-<core> of
# scripts/test.sh (configured with MEMPLAN_BUILD_COST=ON here if needed). On
# GitHub Actions the report also goes to the job summary.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
python=/usr/bin/python3
cores=${MEMPLAN_COST_CORES:-cortex-m0 cortex-m3 cortex-m4f cortex-m7}
out=$build_root/cost
mkdir -p "$out"
rm -f "$out"/*.json

# The toolchain file names the core's QEMU machine and the profile's target.core.
toolchain_value() { sed -n "s/^set($2 \\([^)]*\\)).*/\\1/p" "$repo/cmake/toolchains/$1.cmake"; }

jobs=()
for core in $cores; do
  dir=$build_root/firmware-$core
  cmake -S "$repo" -B "$dir" -G Ninja -DMEMPLAN_BUILD_EXAMPLES=ON -DMEMPLAN_BUILD_TESTS=OFF -DMEMPLAN_BUILD_COST=ON \
    --toolchain "$repo/cmake/toolchains/$core.cmake" >"$dir.cost-configure.log" 2>&1 || { cat "$dir.cost-configure.log"; exit 1; }
  cmake --build "$dir" --target cost_Os cost_O2 >/dev/null || { cmake --build "$dir" --target cost_Os cost_O2; exit 1; }
  machine=$(toolchain_value "$core" MEMPLAN_QEMU_MACHINE)
  target_core=$(toolchain_value "$core" MEMPLAN_TARGET_CORE)
  for level in Os O2; do
    jobs+=("$dir/bench/cortex_m/cost_$level.elf $machine $target_core $level")
  done
done

# Two images at a time: each run is one QEMU process and one parser.
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 sh -c \
  "\"$python\" \"$repo/bench/cortex_m/count_instructions.py\" \"\$0\" --machine \"\$1\" --core \"\$2\" --level \"\$3\" \
     --json \"$out/\$2-\$3.json\" >/dev/null"

status=0
"$python" "$repo/bench/cortex_m/cost_report.py" "$repo/budgets/cost-baseline.json" "$out"/*.json --write "$out/current.json" \
  >"$out/report.md" || status=$?
cat "$out/report.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$out/report.md" >>"$GITHUB_STEP_SUMMARY"; fi
if [ "${1:-}" = "--update-baseline" ]; then
  cp "$out/current.json" "$repo/budgets/cost-baseline.json"
  echo "cost-report: budgets/cost-baseline.json updated; commit it with the change that moved the counts"
  status=0
fi
exit $status
