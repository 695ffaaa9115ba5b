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


def load_medians(paths, time_key):
    """run_name -> median time in ns (the median aggregate, or the median of the plain runs)."""
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
            value = to_ns(entry[time_key], entry.get("time_unit", "ns"))
            if entry.get("run_type") == "aggregate":
                if entry.get("aggregate_name") == "median":
                    medians[name] = value
            else:
                plain.setdefault(name, []).append(value)
    for name, values in plain.items():
        medians.setdefault(name, statistics.median(values))
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

    def pair(self, subject, block, full):
        return self.medians.get(f"pool_pair/{subject}/block:{block}/full:{full}")

    def wipe(self, kind, block):
        return self.medians.get(f"wipe/{kind}/block:{block}")

    def session(self, operation, subject, size, aad):
        return self.medians.get(f"session/{operation}/{subject}/bytes:{size}/aad:{aad}")

    def pool_without_wipe(self, block, full):
        """The pool pair minus one secure_wipe of the block (the runtime has no switch to skip it)."""
        pool, wipe = self.pair("memplan_nolock", block, full), self.wipe("secure_wipe", block)
        return None if pool is None or wipe is None else pool - wipe

    def overhead(self, operation, subject, size, aad):
        raw, runtime = self.session(operation, "raw_mbedtls", size, aad), self.session(operation, subject, size, aad)
        return None if raw is None or runtime is None else (runtime - raw) / raw

    def has_pool(self):
        return any(name.startswith(("pool_pair/", "wipe/")) for name in self.medians)

    def has_session(self):
        return any(name.startswith("session/") for name in self.medians)


def pool_tables(results, full):
    out = []
    out.append(f"### Pool pair against the bare free list (NoLock, {full}% full, ns per allocate+release)\n")
    out.append(
        "`pool - wipe` is the pool pair minus `secure_wipe` of one block measured alone: the runtime has no\n"
        "switch to skip the wipe. `bare + memset` is the reference list that also memsets the block on release.\n"
    )
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

    out.append("\n\n### Wipe cost against a plain memset (ns per block)\n")
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

    out.append("\n\n### Fullness: ns per pair at 0%, 50% and 99% of 256 blocks in use\n")
    rows = []
    for subject in ("memplan_nolock", "memplan_mutex", "pools_handle_nolock", "bare_free_list", "malloc_free"):
        for block in BLOCK_SIZES:
            values = [results.pair(subject, block, full_percent) for full_percent in FULL_PERCENTS]
            known = [value for value in values if value is not None]
            spread = ratio(max(known), min(known)) if known else "n/a"
            rows.append([subject, f"{block} B"] + [ns(value) for value in values] + [spread])
    out.append(table(["subject", "block"] + [f"{p}% full" for p in FULL_PERCENTS] + ["max / min"], rows, 2))
    return out


def session_tables(results):
    out = ["### Session overhead against raw mbedTLS (AES-256-GCM, 16 B tag, ns per message)\n"]
    out.append("overhead = (runtime - raw) / raw, medians of the same run.\n")
    rows = []
    for operation in ("seal", "open"):
        for size in MESSAGE_SIZES:
            for aad in AAD_SIZES:
                raw = results.session(operation, "raw_mbedtls", size, aad)
                nolock = results.session(operation, "memplan_nolock", size, aad)
                mutex = results.session(operation, "memplan_mutex", size, aad)
                rows.append([operation, f"{size} B", f"{aad} B", ns(raw), ns(nolock),
                             ns(None if raw is None or nolock is None else nolock - raw),
                             percent(results.overhead(operation, "memplan_nolock", size, aad)), ns(mutex),
                             percent(results.overhead(operation, "memplan_mutex", size, aad))])
    out.append(table(["op", "plaintext", "AAD", "raw mbedTLS", "memplan NoLock", "difference",
                      "overhead NoLock", "memplan mutex", "overhead mutex"], rows, 3))
    return out


def verdict(met):
    return "n/a" if met is None else ("met" if met else "MISSED")


def target_table(results, full):
    rows = []
    if results.has_pool():
        for block in BLOCK_SIZES:
            without, bare = results.pool_without_wipe(block, full), results.pair("bare_free_list", block, full)
            met = None if without is None or bare is None else without <= 1.2 * bare
            rows.append([f"pool pair without wipe <= 1.2x bare list ({block} B)", ratio(without, bare), verdict(met)])
        for block in BLOCK_SIZES:
            wipe, memset = results.wipe("secure_wipe", block), results.wipe("plain_memset", block)
            met = None if wipe is None or memset is None else wipe <= memset * (1 + NOISE_BAND)
            rows.append([f"wipe <= plain memset ({block} B)", ratio(wipe, memset), verdict(met)])
        for block in BLOCK_SIZES:
            values = [results.pair("memplan_nolock", block, p) for p in FULL_PERCENTS]
            met = None if None in values else max(values) <= min(values) * (1 + NOISE_BAND)
            rows.append([f"worst = best over 0/50/99% full ({block} B)",
                         ratio(max(values), min(values)) if None not in values else "n/a", verdict(met)])
    if results.has_session():
        for size, limit in ((1024, 0.03), (64, 0.10)):
            for operation in ("seal", "open"):
                for aad in AAD_SIZES:
                    value = results.overhead(operation, "memplan_nolock", size, aad)
                    met = None if value is None else value < limit
                    rows.append([f"session {operation} overhead < {limit:.0%} at {size} B, AAD {aad} B",
                                 percent(value), verdict(met)])
    return ["### Targets\n",
            f"\"Equal\" and \"no more than\" allow {NOISE_BAND:.0%} for noise (medians on a shared machine).\n",
            table(["target", "measured", "reading"], rows)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="JSON output of pool_bench and/or session_bench")
    parser.add_argument("--time", choices=("cpu", "real"), default="cpu",
                        help="which time to report (default cpu: less sensitive to preemption)")
    parser.add_argument("--full", type=int, choices=FULL_PERCENTS, default=50,
                        help="pool fullness used by the comparison tables (default 50)")
    args = parser.parse_args(argv)
    results = Results(load_medians(args.json, f"{args.time}_time"))
    if not results.medians:
        print("summarize.py: no benchmark results in the input", file=sys.stderr)
        return 1
    sections = []
    if results.has_pool():
        sections += pool_tables(results, args.full)
    if results.has_session():
        sections += ["\n"] + session_tables(results)
    sections += ["\n"] + target_table(results, args.full)
    print("\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
