#!/usr/bin/env bash
# RAM budget report of the example firmware, one Markdown table per product:
# region, budget, used, free, every byte of each region by origin (from the
# link's map), the main stack's bound and its high water measured under QEMU,
# and the change since budgets/baseline.json; a picture per product
# ($MEMPLAN_BUILD_DIR/budgets/<product>.svg).
#
#   scripts/budget-report.sh                    report (fails if an image breaks its profile)
#   scripts/budget-report.sh --update-baseline  also make the current images the baseline
#
# Expects the firmware built by scripts/test.sh or scripts/quickstart.sh in
# $MEMPLAN_BUILD_DIR/firmware-<core> (it builds what is missing). Budget
# growth fails the report past $MEMPLAN_BUDGET_FAIL_OVER bytes per region
# (default: never; the ELF check already fails on a broken budget). On
# GitHub Actions the tables also go to the job summary.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
python=/usr/bin/python3
memplan() { PYTHONPATH="$repo/generator" "$python" -m memplan "$@"; }

declare -A core_of=([micro]=cortex-m0 [small]=cortex-m3 [medium]=cortex-m4f [large]=cortex-m7)
declare -A machine_of=([cortex-m0]=microbit [cortex-m3]=mps2-an385 [cortex-m4f]=mps2-an386 [cortex-m7]=mps2-an500)
current=$build_root/budgets/current.json
mkdir -p "$build_root/budgets"

products=()
for product in micro small medium large; do
  core=${core_of[$product]}
  dir=$build_root/firmware-$core
  elf=$dir/examples/firmware_$product.elf
  if [ ! -f "$elf" ]; then
    cmake -S "$repo" -B "$dir" -G Ninja -DMEMPLAN_BUILD_EXAMPLES=ON -DMEMPLAN_BUILD_TESTS=OFF \
      --toolchain "$repo/cmake/toolchains/$core.cmake" >/dev/null
    cmake --build "$dir" >/dev/null
  fi
  # The firmware prints its painted main stack's high water after its workload (SysTick preempting seal and open).
  run=$(qemu-system-arm -M "${machine_of[$core]}" -nographic -monitor none -serial none \
          -semihosting-config enable=on,target=native -kernel "$elf" 2>&1) || { echo "$run"; echo "budget-report: $elf failed under QEMU"; exit 1; }
  # Each stack's: `stack main: high water N`, `stack <thread entry>: high water N`.
  measured=()
  while read -r name bytes; do measured+=(--stack-measured "$name=$bytes"); done \
    < <(sed -n 's/^ *stack \([A-Za-z_][A-Za-z0-9_.$]*\): high water \([0-9][0-9]*\)$/\1 \2/p' <<<"$run")
  [ ${#measured[@]} -gt 0 ] || { echo "$run"; echo "budget-report: $elf printed no stack high water"; exit 1; }
  memplan check-elf "$elf" --profile "$repo/profiles/$product.yaml" --format json --map "$dir/examples/firmware_$product.map" \
    --callgraph "$dir/examples/CMakeFiles/firmware_$product.dir" "$dir/runtime/CMakeFiles/memplan_runtime.dir" \
                "$dir/CMakeFiles/memplan_mbedcrypto.dir" \
    "${measured[@]}" --picture "$build_root/budgets/$product.svg" >"$build_root/budgets/$product.json"
  products+=("$product")
done

"$python" - "$current" "${products[@]/#/$build_root/budgets/}" <<'PY'
import json, sys
out, paths = sys.argv[1], sys.argv[2:]
reports = {}
for path in paths:
    with open(path + ".json", encoding="utf-8") as handle:
        report = json.load(handle)
    reports[report["profile"]] = report
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"products": reports}, handle, indent=2, sort_keys=True)
    handle.write("\n")
PY

if [ "${1:-}" = "--update-baseline" ]; then
  cp "$current" "$repo/budgets/baseline.json"
  echo "budget-report: budgets/baseline.json updated; commit it with the change that moved the budgets"
fi

fail_over=()
[ -n "${MEMPLAN_BUDGET_FAIL_OVER:-}" ] && fail_over=(--fail-over "$MEMPLAN_BUDGET_FAIL_OVER")
report=$build_root/budgets/report.md
status=0
memplan diff "$repo/budgets/baseline.json" "$current" --format md "${fail_over[@]}" >"$report" || status=$?
{ echo "### RAM budgets of the example firmware (change since budgets/baseline.json)"; echo; cat "$report"; } | tee "$report.full"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$report.full" >>"$GITHUB_STEP_SUMMARY"; fi
exit $status
