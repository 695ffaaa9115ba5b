#!/usr/bin/env bash
# Runs every memplan test on a Debian 12 machine, installing what is missing.
# Stages (each runs even when an earlier one failed):
#   generator      pytest: validator, loader, planner, golden files, CLI, ELF check, diff
#   python-lint    flake8 and mypy over generator/
#   runtime        Catch2 + host examples under ASan and UBSan (CTest)
#   threads        the multi-threaded pool test under ThreadSanitizer
#   firmware       every example firmware for its core: link, ELF check, QEMU (CTest)
#   budgets        RAM budget report of the firmware against budgets/baseline.json
#   cost           instructions and interrupts-masked stretches per operation on each
#                  Cortex-M core under QEMU against budgets/cost-baseline.json; the
#                  counter's own tests (known code, gdb single-stepping); each choice
#                  of mbedTLS's tables counted (bench/cortex_m/table_variants.py); each
#                  operation's stack bounded and measured against budgets/stack-baseline.json
#                  (bench/cortex_m/operation_stacks.py)
#   integration    a product project outside the repo: add_subdirectory, installed
#                  package, Ninja and Makefiles, host and Cortex-M4, regeneration
#   cpp-lint       clang-tidy and cppcheck over runtime/ with the repository's configs
#   fuzz           libFuzzer targets for a bounded time each
#   coverage       line coverage of runtime/ (gcovr) and generator/ (coverage.py)
# The exit status is non-zero when any stage failed. Build trees go to
# $MEMPLAN_BUILD_DIR (default: build/ in the checkout). Select stages with
# MEMPLAN_STAGES="generator runtime" (default: all).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
jobs=${MEMPLAN_JOBS:-$(nproc)}
python=/usr/bin/python3
stages=${MEMPLAN_STAGES:-generator python-lint runtime threads firmware budgets cost integration cpp-lint fuzz coverage}

MEMPLAN_MBEDTLS_SOURCE_DIR=$(bash scripts/install-deps.sh | tail -n 1) || { echo "test: installing dependencies failed" >&2; exit 1; }
export MEMPLAN_MBEDTLS_SOURCE_DIR MEMPLAN_BUILD_DIR=$build_root

passed=()
failed=()
stage() {
  local name=$1
  shift
  case " $stages " in *" $name "*) ;; *) return 0 ;; esac
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
  cmake -S "$repo" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
}

generator_tests() {
  "$python" -m pytest -q -p no:cacheprovider tests/generator
}

python_lint() {
  "$python" -m flake8 generator/ tests/generator/ tests/integration/ tests/cost/ tests/firmware/ bench/cortex_m/ &&
    "$python" -m mypy --config-file generator/mypy.ini generator/memplan &&
    MYPYPATH=generator "$python" -m mypy --config-file generator/mypy.ini bench/cortex_m/count_instructions.py bench/cortex_m/cost_report.py bench/cortex_m/cross_check_gdb.py \
      bench/cortex_m/table_variants.py bench/cortex_m/operation_stacks.py tests/firmware/stack_high_water.py
}

runtime_tests() {
  local dir=$build_root/asan
  mkdir -p "$build_root"
  # Benchmarks are built (not run) so that they keep compiling; bench/run.sh runs them.
  configure_and_build "$dir" -DCMAKE_BUILD_TYPE=Debug -DMEMPLAN_SANITIZE=ON -DMEMPLAN_BUILD_EXAMPLES=ON -DMEMPLAN_BUILD_BENCHMARKS=ON &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

thread_tests() {
  local dir=$build_root/tsan
  mkdir -p "$build_root"
  cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMPLAN_SANITIZE_THREAD=ON >"$dir.configure.log" 2>&1 &&
    cmake --build "$dir" -j "$jobs" --target pool_thread_tests &&
    TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$dir" --output-on-failure -R '^pool_thread_tests\.'
}

firmware_tests() {
  local core status=0
  mkdir -p "$build_root"
  cmake --list-presets >/dev/null || status=1  # CMakePresets.json stays valid
  # M33 has no shipped profile: its build checks that the runtime and mbedTLS compile warning-free there.
  for core in cortex-m0 cortex-m3 cortex-m4f cortex-m7 cortex-m33; do
    printf -- '--- %s ---\n' "$core"
    configure_and_build "$build_root/firmware-$core" -DMEMPLAN_BUILD_EXAMPLES=ON -DMEMPLAN_BUILD_TESTS=OFF -DMEMPLAN_BUILD_COST=ON \
      --toolchain "$repo/cmake/toolchains/$core.cmake" &&
      ctest --test-dir "$build_root/firmware-$core" --output-on-failure || status=1
  done
  return $status
}

budget_report() {
  bash scripts/budget-report.sh
}

cost_report() {
  bash scripts/cost-report.sh && "$python" -m pytest -q -p no:cacheprovider tests/cost &&
    "$python" bench/cortex_m/table_variants.py --build-root "$build_root" &&
    "$python" bench/cortex_m/operation_stacks.py --build-root "$build_root"
}

cpp_lint() {
  local dir=$build_root/asan
  [ -f "$dir/compile_commands.json" ] || configure_and_build "$dir" -DCMAKE_BUILD_TYPE=Debug -DMEMPLAN_SANITIZE=ON -DMEMPLAN_BUILD_EXAMPLES=ON || return 1
  local sources
  sources=$(ls runtime/src/*.cpp runtime/src/port/host/*.cpp tests/runtime/test_generated_layout.cpp)
  clang-tidy -p "$dir" --quiet $sources 2>&1 | grep -v "warnings generated" ; local tidy=${PIPESTATUS[0]}
  cppcheck --std=c++17 --enable=warning,performance,portability --error-exitcode=1 --inline-suppr --quiet \
    --suppress=missingIncludeSystem -I runtime/include runtime/src runtime/include ; local check=$?
  [ "$tidy" -eq 0 ] && [ "$check" -eq 0 ]
}

integration_tests() {
  "$python" -m pytest -q -p no:cacheprovider tests/integration
}

coverage_report() {
  local dir=$build_root/coverage
  mkdir -p "$build_root"
  configure_and_build "$dir" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=--coverage -fprofile-update=atomic" "-DCMAKE_C_FLAGS=--coverage -fprofile-update=atomic" \
    -DCMAKE_EXE_LINKER_FLAGS=--coverage -DMEMPLAN_BUILD_EXAMPLES=ON >/dev/null || return 1
  find "$dir" -name '*.gcda' -delete
  ctest --test-dir "$dir" -j "$jobs" >/dev/null || { echo "coverage: tests failed"; return 1; }
  echo "runtime/ (gcovr, lines of the handwritten runtime exercised by the Catch2 tests and host examples):"
  gcovr --root "$repo" --filter "$repo/runtime/" --object-directory "$dir" --gcov-ignore-parse-errors --txt - 2>/dev/null |
    grep -E "^(runtime/|TOTAL|lines:|branches:)"
  echo "generator/ (coverage.py over the pytest suite):"
  rm -f "$build_root/.coverage"
  COVERAGE_FILE=$build_root/.coverage "$python" -m coverage run --source=generator/memplan -m pytest -q -p no:cacheprovider \
    tests/generator >/dev/null || { echo "coverage: pytest failed"; return 1; }
  COVERAGE_FILE=$build_root/.coverage "$python" -m coverage report
}

fuzz_tests() {
  if [ ! -f tests/fuzz/run.sh ]; then echo "no fuzz targets yet"; return 0; fi
  bash tests/fuzz/run.sh
}

stage generator generator_tests
stage python-lint python_lint
stage runtime runtime_tests
stage threads thread_tests
stage firmware firmware_tests
stage budgets budget_report
stage cost cost_report
stage integration integration_tests
stage cpp-lint cpp_lint
stage fuzz fuzz_tests
stage coverage coverage_report

printf '\n=== summary ===\n'
for s in "${passed[@]}"; do printf 'ok      %s\n' "$s"; done
for s in "${failed[@]}"; do printf 'FAILED  %s\n' "$s"; done
printf 'stages: %d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
[ "${#failed[@]}" -eq 0 ]
