#!/usr/bin/env bash
# Builds the Release benchmark tree and runs bench/pool_bench and
# bench/session_bench: prints their tables (medians of the repetitions),
# keeps their JSON beside the build, then prints bench/summarize.py's
# Markdown. Extra arguments go to both programs (e.g. --benchmark_filter=64).
#
#   MEMPLAN_BUILD_DIR           build under $MEMPLAN_BUILD_DIR/bench (default /tmp/memplan-bench)
#   MEMPLAN_BENCH_REPETITIONS   repetitions per case (default 5)
#   MEMPLAN_BENCH_MIN_TIME      seconds per repetition (default 0.2; Google Benchmark 1.7
#                               takes a plain number, not "0.2s")
#   MEMPLAN_BENCH_CPU           pin the programs to this CPU with taskset (default: not pinned)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${MEMPLAN_BUILD_DIR:-}" ]]; then
  build_dir="$MEMPLAN_BUILD_DIR/bench"
else
  build_dir=/tmp/memplan-bench
fi
repetitions=${MEMPLAN_BENCH_REPETITIONS:-5}
min_time=${MEMPLAN_BENCH_MIN_TIME:-0.2}

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S "$repo" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DMEMPLAN_BUILD_BENCHMARKS=ON -DMEMPLAN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" --target pool_bench session_bench

runner=()
if [[ -n "${MEMPLAN_BENCH_CPU:-}" ]]; then runner=(taskset -c "$MEMPLAN_BENCH_CPU"); fi

outputs=()
for program in pool_bench session_bench; do
  output="$build_dir/$program.json"
  # Random interleaving spreads each case's repetitions over the whole run,
  # so a burst of load from another process hits every case a little
  # instead of one case a lot.
  "${runner[@]}" "$build_dir/bench/$program" \
    --benchmark_repetitions="$repetitions" \
    --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$min_time" \
    --benchmark_out="$output" --benchmark_out_format=json \
    "$@"
  outputs+=("$output")
done

echo
/usr/bin/python3 "$repo/bench/summarize.py" "${outputs[@]}"
echo
echo "JSON: ${outputs[*]}"
