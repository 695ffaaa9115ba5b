#!/usr/bin/python3
"""Markdown tables from the JSON of bench/pool_bench and bench/session_bench.

    summarize.py pool_bench.json session_bench.json [--time cpu|real]

Input: the programs' --benchmark_format=json (or --benchmark_out) output,
ideally with --benchmark_repetitions; the median aggregate is used when
present, else the single run. It reports; it never fails on a number (the
target table says "met" or "missed", the exit code stays 0).
"""

import argparse
import json
import statistics
import sys

BLOCK_SIZES = (64, 256, 1024, 4096)
FULL_PERCENTS = (0, 50, 99)
MESSAGE_SIZES = (64, 256, 1024, 4096)
AAD_SIZES = (0, 16)
# "Equal" on a shared 2-core VM: medians within this fraction of each other.
NOISE_BAND = 0.05


# User counters of the side-by-side benchmarks (see pool_bench.cpp, session_bench.cpp).
COUNTER_KEYS = (
    "full0_ns", "full50_ns", "full99_ns", "copy0_ns", "copy1_ns", "copy2_ns", "worst_over_best",
    "bare_ns", "bare_memset_ns", "pool_ns", "pool_checked_ns", "secure_wipe_ns", "plain_memset_ns",
    "raw_ns", "memplan_ns", "overhead_pct",
)


def load_medians(paths, time_key):
    """run_name -> {"ns": median time, counter: median value}: the median aggregate
    when the run had repetitions, else the median of the plain runs."""
    medians, plain = {}, {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if not isinstance(document, dict) or "benchmarks" not in document:
            raise SystemExit(f"summarize.py: {path}: not Google Benchmark JSON output")
        for entry in document["benchmarks"]:
            if entry.get("error_occurred"):
                continue
            name = entry.get("run_name", entry["name"])
            values = {"ns": to_ns(entry[time_key], entry.get("time_unit", "ns"))}
            values.update({key: entry[key] for key in COUNTER_KEYS if key in entry})
            if entry.get("run_type") == "aggregate":
                if entry.get("aggregate_name") == "median":
                    medians[name] = values
            else:
                plain.setdefault(name, []).append(values)
    for name, runs in plain.items():
        if name not in medians:
            medians[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    return medians


def to_ns(value, unit):
    return value * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def ns(value):
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def ratio(numerator, denominator, digits=2):
    if numerator is None or denominator is None or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.{digits}f}x"


def percent(value):
    return "n/a" if value is None else f"{value * 100:+.1f}%"


def table(header, rows, text_columns=1):
    """A Markdown table: the first `text_columns` left-aligned, numbers right-aligned.
    Rows with no measurement at all (filtered runs) are left out."""
    rows = [row for row in rows if any(cell != "n/a" for cell in row[text_columns:])]
    align = [":---" if i < text_columns else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


class Results:
    def __init__(self, medians):
        self.medians = medians

    def value(self, name, key="ns"):
        return self.medians.get(name, {}).get(key)

    def pair(self, subject, block, full):
        return self.value(f"pool_pair/{subject}/block:{block}/full:{full}")

    def fullness(self, subject, block, full):
        """ns per pair at `full`% from the side-by-side run."""
        return self.value(f"pool_fullness/{subject}/block:{block}", f"full{full}_ns")

    def fullness_control(self, block):
        """The three equally full (99%) pools of the control run, side by side."""
        return [self.value(f"pool_fullness/memplan_nolock_control/block:{block}", f"copy{i}_ns") for i in range(3)]

    def wipe(self, kind, block):
        return self.value(f"wipe/{kind}/block:{block}")

    def session(self, operation, subject, size, aad):
        return self.value(f"session/{operation}/{subject}/bytes:{size}/aad:{aad}")

    def side_by_side(self, operation, size, aad, key):
        return self.value(f"session_side_by_side/{operation}/memplan_nolock/bytes:{size}/aad:{aad}", key)

    def reference(self, block, key):
        """From the side-by-side run at 50% full: bare_ns, bare_memset_ns, pool_ns, secure_wipe_ns, plain_memset_ns."""
        return self.value(f"pool_side_by_side/block:{block}", key)

    def reference_without_wipe(self, block):
        pool, wipe = self.reference(block, "pool_ns"), self.reference(block, "secure_wipe_ns")
        return None if pool is None or wipe is None else pool - wipe

    def pool_without_wipe(self, block, full):
        """The pool pair minus one secure_wipe of the block (the runtime has no switch to skip it)."""
        pool, wipe = self.pair("memplan_nolock", block, full), self.wipe("secure_wipe", block)
        return None if pool is None or wipe is None else pool - wipe

    def wipe_share(self, block, full):
        pool, wipe = self.pair("memplan_nolock", block, full), self.wipe("secure_wipe", block)
        return None if pool is None or wipe is None or pool <= 0 else wipe / pool

    def overhead(self, operation, subject, size, aad):
        raw, runtime = self.session(operation, "raw_mbedtls", size, aad), self.session(operation, subject, size, aad)
        return None if raw is None or runtime is None else (runtime - raw) / raw

    def side_by_side_overhead(self, operation, size, aad):
        value = self.side_by_side(operation, size, aad, "overhead_pct")
        return None if value is None else value / 100.0

    def has(self, prefix):
        return any(name.startswith(prefix) for name in self.medians)


# The no-wipe estimate is a difference of two noisy medians: only read it
# where the wipe is less than this share of the pair.
WIPE_SHARE_LIMIT = 0.75


def pool_tables(results, full):
    out = []
    if results.has("pool_side_by_side/"):
        out.append("### Pool pair against the bare free list, side by side (NoLock, 50% full, ns per operation)\n")
        out.append(
            "All five timed in alternating batches of 256 in one benchmark. `pool - wipe` is the pool pair minus\n"
            "`secure_wipe` alone (the runtime has no switch to skip the wipe); `bare + memset` is the reference\n"
            "list with a plain memset of the block on release.\n")
        rows = []
        for block in BLOCK_SIZES:
            bare, bare_memset = results.reference(block, "bare_ns"), results.reference(block, "bare_memset_ns")
            pool, wipe = results.reference(block, "pool_ns"), results.reference(block, "secure_wipe_ns")
            memset = results.reference(block, "plain_memset_ns")
            without = results.reference_without_wipe(block)
            rows.append([f"{block} B", ns(bare), ns(pool), ns(wipe), ns(memset), ns(without), ratio(without, bare),
                         ns(bare_memset), ratio(pool, bare_memset), ratio(wipe, memset)])
        out.append(table(["block", "bare list", "pool pair", "secure_wipe alone", "plain memset alone",
                          "pool - wipe", "(pool - wipe) / bare", "bare + memset", "pool / (bare + memset)",
                          "secure_wipe / memset"], rows))
        out.append("\n\n")
    out.append(f"### Pool pair against the bare free list, separate cases (NoLock, {full}% full, ns per pair)\n")
    rows = []
    for block in BLOCK_SIZES:
        bare = results.pair("bare_free_list", block, full)
        bare_memset = results.pair("bare_free_list_memset", block, full)
        pool = results.pair("memplan_nolock", block, full)
        without = results.pool_without_wipe(block, full)
        rows.append([f"{block} B", ns(bare), ns(pool), ns(results.wipe("secure_wipe", block)), ns(without),
                     ratio(without, bare), ns(bare_memset), ratio(pool, bare_memset)])
    out.append(table(["block", "bare list", "pool pair", "secure_wipe alone", "pool - wipe",
                      "(pool - wipe) / bare", "bare + memset", "pool / (bare + memset)"], rows))

    out.append("\n\n### Wipe cost against a plain memset, separate cases (ns per block)\n")
    rows = []
    for block in BLOCK_SIZES:
        memset = results.wipe("plain_memset", block)
        wipe = results.wipe("secure_wipe", block)
        bare = results.pair("bare_free_list", block, full)
        bare_memset = results.pair("bare_free_list_memset", block, full)
        in_pair = None if bare is None or bare_memset is None else bare_memset - bare
        rows.append([f"{block} B", ns(memset), ns(wipe), ratio(wipe, memset), ns(in_pair)])
    out.append(table(["block", "plain memset", "secure_wipe", "secure_wipe / memset",
                      "memset inside a bare pair"], rows))

    out.append(f"\n\n### Against malloc/free and the lock ({full}% full, ns per pair)\n")
    rows = []
    for block in BLOCK_SIZES:
        nolock = results.pair("memplan_nolock", block, full)
        mutex = results.pair("memplan_mutex", block, full)
        lock_cost = None if nolock is None or mutex is None else mutex - nolock
        rows.append([f"{block} B", ns(nolock), ns(mutex), ns(lock_cost),
                     ns(results.pair("pools_handle_nolock", block, full)),
                     ns(results.pair("pools_handle_mutex", block, full)),
                     ns(results.pair("malloc_free", block, full))])
    out.append(table(["block", "BasicPool<NoLock>", "Pool (std::mutex)", "lock cost", "Pools+Buffer NoLock",
                      "Pools+Buffer mutex", "malloc/free (no wipe)"], rows))

    out.append("\n\n### Fullness, side by side: ns per pair with 0%, 50% and 99% of 256 blocks in use\n")
    out.append("The three pools are timed in alternating batches in one benchmark (same load for all three).\n"
               "Controls: the bare free list cannot depend on fullness; the last rows time three identical\n"
               "99%-full pools (columns are the three copies), so their spread is placement and noise.\n")
    rows = []
    for subject in ("memplan_nolock", "memplan_mutex", "bare_free_list"):
        for block in BLOCK_SIZES:
            values = [results.fullness(subject, block, full_percent) for full_percent in FULL_PERCENTS]
            rows.append([subject, f"{block} B"] + [ns(value) for value in values] + [spread(values)])
    for block in BLOCK_SIZES:
        values = results.fullness_control(block)
        rows.append(["control: three 99%-full pools", f"{block} B"] + [ns(value) for value in values] +
                    [spread(values)])
    out.append(table(["subject", "block"] + [f"{p}% full" for p in FULL_PERCENTS] + ["max / min"], rows, 2))

    out.append("\n\n### Fullness, separate cases (each fullness its own benchmark, seconds apart)\n")
    rows = []
    for subject in ("memplan_nolock", "memplan_mutex", "pools_handle_nolock", "bare_free_list", "malloc_free"):
        for block in BLOCK_SIZES:
            values = [results.pair(subject, block, full_percent) for full_percent in FULL_PERCENTS]
            rows.append([subject, f"{block} B"] + [ns(value) for value in values] + [spread(values)])
    out.append(table(["subject", "block"] + [f"{p}% full" for p in FULL_PERCENTS] + ["max / min"], rows, 2))
    return out


def spread(values):
    known = [value for value in values if value is not None]
    return ratio(max(known), min(known), 3) if known else "n/a"


def session_tables(results):
    out = []
    if results.has("session_side_by_side/"):
        out.append("### Session overhead, side by side (raw and runtime in alternating batches, NoLock)\n")
        out.append("overhead = (runtime - raw) / raw; medians over batches, then over repetitions.\n")
        rows = []
        for operation in ("seal", "open"):
            for size in MESSAGE_SIZES:
                for aad in AAD_SIZES:
                    raw = results.side_by_side(operation, size, aad, "raw_ns")
                    runtime = results.side_by_side(operation, size, aad, "memplan_ns")
                    rows.append([operation, f"{size} B", f"{aad} B", ns(raw), ns(runtime),
                                 ns(None if raw is None or runtime is None else runtime - raw),
                                 percent(results.side_by_side_overhead(operation, size, aad))])
        out.append(table(["op", "plaintext", "AAD", "raw mbedTLS", "memplan NoLock", "difference", "overhead"],
                         rows, 3))
        out.append("\n")
    if results.has("session/"):
        out.append("### Session, separate cases (ns per message)\n")
        out.append("overhead = (runtime - raw) / raw, each path its own benchmark in the same run.\n")
        rows = []
        for operation in ("seal", "open"):
            for size in MESSAGE_SIZES:
                for aad in AAD_SIZES:
                    raw = results.session(operation, "raw_mbedtls", size, aad)
                    nolock = results.session(operation, "memplan_nolock", size, aad)
                    mutex = results.session(operation, "memplan_mutex", size, aad)
                    rows.append([operation, f"{size} B", f"{aad} B", ns(raw), ns(nolock),
                                 percent(results.overhead(operation, "memplan_nolock", size, aad)), ns(mutex),
                                 percent(results.overhead(operation, "memplan_mutex", size, aad))])
        out.append(table(["op", "plaintext", "AAD", "raw mbedTLS", "memplan NoLock", "overhead NoLock",
                          "memplan mutex", "overhead mutex"], rows, 3))
    return out


def verdict(met):
    return "n/a" if met is None else ("met" if met else "MISSED")


def target_table(results, full):
    rows = []
    side_by_side = results.has("pool_side_by_side/")
    how = "side by side" if side_by_side else "separate cases"
    for block in BLOCK_SIZES:
        if side_by_side:
            without, bare = results.reference_without_wipe(block), results.reference(block, "bare_ns")
            pool, wipe = results.reference(block, "pool_ns"), results.reference(block, "secure_wipe_ns")
            share = None if pool is None or wipe is None or pool <= 0 else wipe / pool
        else:
            without, bare = results.pool_without_wipe(block, full), results.pair("bare_free_list", block, full)
            share = results.wipe_share(block, full)
        if without is None or bare is None:
            reading = "n/a"
        elif share is not None and share >= WIPE_SHARE_LIMIT:
            reading = f"inconclusive (the wipe is {share:.0%} of the pair)"
        else:
            reading = verdict(without <= 1.2 * bare)
        rows.append([f"pool pair without wipe <= 1.2x bare list ({block} B, {how})", ratio(without, bare), reading])
    for block in BLOCK_SIZES:
        if side_by_side:
            wipe, memset = results.reference(block, "secure_wipe_ns"), results.reference(block, "plain_memset_ns")
        else:
            wipe, memset = results.wipe("secure_wipe", block), results.wipe("plain_memset", block)
        met = None if wipe is None or memset is None else wipe <= memset * (1 + NOISE_BAND)
        rows.append([f"wipe <= plain memset ({block} B, {how})", ratio(wipe, memset), verdict(met)])
    for block in BLOCK_SIZES:
        values = [results.fullness("memplan_nolock", block, p) for p in FULL_PERCENTS]
        met = None if None in values else max(values) <= min(values) * (1 + NOISE_BAND)
        control = results.fullness_control(block)
        reading = verdict(met)
        if met is False and None not in control:
            reading += f" (control, three equally full pools: {spread(control)})"
        rows.append([f"worst = best over 0/50/99% full, side by side ({block} B)", spread(values), reading])
    for size, limit in ((1024, 0.03), (64, 0.10)):
        for operation in ("seal", "open"):
            for aad in AAD_SIZES:
                value = results.side_by_side_overhead(operation, size, aad)
                how = "side by side"
                if value is None:
                    value, how = results.overhead(operation, "memplan_nolock", size, aad), "separate cases"
                met = None if value is None else value < limit
                rows.append([f"session {operation} overhead < {limit:.0%} at {size} B, AAD {aad} B ({how})",
                             percent(value), verdict(met)])
    return ["### Targets\n",
            f"\"Equal\" and \"no more than\" allow {NOISE_BAND:.0%} for noise (medians on a shared machine).\n",
            table(["target", "measured", "reading"], rows)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="JSON output of pool_bench and/or session_bench")
    parser.add_argument("--time", choices=("cpu", "real"), default="cpu",
                        help="time of the per-case tables (default cpu: less sensitive to preemption)")
    parser.add_argument("--full", type=int, choices=FULL_PERCENTS, default=50,
                        help="pool fullness used by the comparison tables (default 50)")
    args = parser.parse_args(argv)
    results = Results(load_medians(args.json, f"{args.time}_time"))
    if not results.medians:
        print("summarize.py: no benchmark results in the input", file=sys.stderr)
        return 1
    sections = []
    if results.has("pool_") or results.has("wipe/"):
        sections += pool_tables(results, args.full) + ["\n"]
    if results.has("session"):
        sections += session_tables(results) + ["\n"]
    sections += target_table(results, args.full)
    print("\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
