#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# ($MEMPLAN_FUZZ_SECONDS, default 120) from its committed seed corpus. Any
# finding (crash, sanitizer report, model violation) fails the run; the
# crashing input is left in $MEMPLAN_BUILD_DIR/fuzz/findings.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_root=${MEMPLAN_BUILD_DIR:-$repo/build}
dir=$build_root/fuzz
seconds=${MEMPLAN_FUZZ_SECONDS:-120}
mkdir -p "$dir/findings" "$dir/corpus"

CC=clang CXX=clang++ cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMEMPLAN_BUILD_FUZZERS=ON -DMEMPLAN_BUILD_TESTS=OFF >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" --target runtime_fuzzer

for target in runtime_fuzzer; do
  seeds=$repo/tests/fuzz/corpus/${target%_fuzzer}
  work=$dir/corpus/${target%_fuzzer}
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s from $(ls "$seeds" | wc -l) seeds"
  # New inputs go to the work corpus; the committed seeds stay read-only.
  "$dir/tests/fuzz/$target" "$work" "$seeds" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$dir/findings/$target-" -print_final_stats=1 2>&1 |
    grep -E "^(#[0-9]+\s+(INITED|DONE)|stat::|memplan fuzz finding|==[0-9]+==ERROR|SUMMARY|Done )" || true
  if ls "$dir/findings/$target-"* >/dev/null 2>&1; then
    echo "fuzz: $target found a problem: $(ls "$dir/findings/$target-"*)"
    exit 1
  fi
done
