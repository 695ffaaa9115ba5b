#!/usr/bin/python3
"""The cost baseline: combines the counts of count_instructions.py (one JSON per image), compares
them with budgets/cost-baseline.json and prints the Markdown report.

    cost_report.py BASELINE.json COUNTS.json... [--write CURRENT.json]

A count that grew past the baseline (instructions, the longest interrupts-masked stretch, or the
bytes of code an operation's path runs through) fails
(exit 1) unless the baseline is updated in the same commit (scripts/cost-report.sh
--update-baseline). Counts are exact, so any growth is a real one. A library call (memset, memcpy,
a software divide) on a pool's allocate or release path fails whatever the baseline says. Exit 2
for unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

SCHEMA = "memplan-cost-baseline/1"
IMAGE_SCHEMA = "memplan-cost/1"
# Calls that must never run on a pool's allocate or release path: the pool wipes and checks blocks
# with its own loops and never turns an address into an index.
LIBRARY_CALLS = ("memset", "memcpy", "__aeabi_uidiv", "__aeabi_uidivmod", "__udivsi3", "__aeabi_idiv", "__aeabi_idivmod", "__divsi3")


class ReportError(Exception):
    pass


def _load(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None


def image_key(document: Dict[str, Any]) -> str:
    return f"{document['core']} -{document['level']}"


def combine(paths: Sequence[str]) -> Dict[str, Any]:
    images: Dict[str, Any] = {}
    for path in paths:
        document = _load(path)
        if not isinstance(document, dict) or document.get("schema") != IMAGE_SCHEMA:
            raise ReportError(f"{path} is not a {IMAGE_SCHEMA} document (count_instructions.py --json)")
        images[image_key(document)] = {
            "machine": document["machine"],
            "operations": {op["name"]: {"instructions": op["instructions"], "masked_max": op["masked_max"],
                                        "text_bytes": op.get("text_bytes", 0),
                                        "library_calls": sorted(f for f in op["functions"] if f in LIBRARY_CALLS)}
                           for op in document["operations"]},
        }
    return {"schema": SCHEMA, "images": dict(sorted(images.items(), key=lambda item: _order(item[0])))}


def _order(key: str) -> Tuple[int, str]:
    core, level = key.split(" ")
    return ({"cortex-m0": 0, "cortex-m3": 1, "cortex-m4": 2, "cortex-m7": 3, "cortex-m33": 4}.get(core, 9), level)


def growth(baseline: Optional[Dict[str, Any]], current: Dict[str, Any]) -> List[str]:
    """Every count that grew: `image operation: what old -> new`."""
    if baseline is None:
        return []
    grown = []
    for image, data in current["images"].items():
        before = baseline.get("images", {}).get(image, {}).get("operations", {})
        for name, op in data["operations"].items():
            old = before.get(name)
            if old is None:
                continue
            for key, label in (("instructions", "instructions"), ("masked_max", "longest masked stretch"),
                               ("text_bytes", "bytes of code on the path")):
                if key in old and op[key] > old[key]:
                    grown.append(f"{image} {name}: {label} {old[key]} -> {op[key]} (+{op[key] - old[key]})")
    return grown


# The operations that are a pool's allocate or release path: pool64.*, pool64checked.*, pool96.*,
# pool256*.*, pools.allocate(...), buffer.release.
POOL_PATHS = ("pool", "buffer.")


def forbidden_calls(current: Dict[str, Any]) -> List[str]:
    """Every library call on a pool path: `image operation: calls ...`."""
    found = []
    for image, data in current["images"].items():
        for name, op in data["operations"].items():
            if name.startswith(POOL_PATHS) and op["library_calls"]:
                found.append(f"{image} {name}: calls {', '.join(op['library_calls'])} on a pool's allocate or release path")
    return found


def _cell(op: Optional[Dict[str, Any]], old: Optional[Dict[str, Any]]) -> str:
    if op is None:
        return "-"
    text = f"{op['instructions']}"
    if old is not None and old["instructions"] != op["instructions"]:
        text += f" ({op['instructions'] - old['instructions']:+d})"
    text += f" [{op['masked_max']}"
    if old is not None and old["masked_max"] != op["masked_max"]:
        text += f" ({op['masked_max'] - old['masked_max']:+d})"
    return text + "]"


def render(baseline: Optional[Dict[str, Any]], current: Dict[str, Any]) -> str:
    images = list(current["images"])
    names: List[str] = []
    for data in current["images"].values():
        names += [n for n in data["operations"] if n not in names]
    old_images = (baseline or {}).get("images", {})
    lines = ["### Cost per operation on Cortex-M, counted under QEMU",
             "",
             "Instructions executed (calls included), and in brackets the longest stretch with interrupts masked; "
             "in parentheses the change since budgets/cost-baseline.json.",
             "",
             "| operation | " + " | ".join(images) + " |",
             "| --- |" + " ---: |" * len(images)]
    for name in names:
        cells = [_cell(current["images"][i]["operations"].get(name), old_images.get(i, {}).get("operations", {}).get(name)) for i in images]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "#### The 64 B pool pair against the yardstick (a bare free list + newlib memset, same image)", "",
              "| image | bare list + memset | memplan allocate + release | difference | ratio | with the wipe check (ratio) "
              "| masked: allocate / release | code on the path (B) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for image in images:
        ops = current["images"][image]["operations"]
        bare, pair = ops.get("bare.allocate+release+memset"), ops.get("pool64.allocate+release")
        if bare is None or pair is None:
            continue
        masked = f"{ops['pool64.allocate']['masked_max']} / {ops['pool64.release']['masked_max']}"
        checked = ops.get("pool64checked.allocate+release")
        with_check = "-" if checked is None else f"{checked['instructions']} ({checked['instructions'] / bare['instructions']:.2f})"
        code = f"{pair['text_bytes']}" + ("" if checked is None else f" / {checked['text_bytes']}")
        lines.append(f"| {image} | {bare['instructions']} | {pair['instructions']} | {pair['instructions'] - bare['instructions']:+d} | "
                     f"{pair['instructions'] / bare['instructions']:.2f} | {with_check} | {masked} | {code} |")
    lines += ["", "#### Seal and open over raw mbedTLS (the same key and sizes, same image)", "",
              "| image | " + " | ".join(f"{kind}({size})" for kind in ("seal", "open") for size in (16, 64, 1024)) + " |",
              "| --- |" + " ---: |" * 6]
    for image in images:
        ops = current["images"][image]["operations"]
        cells = []
        for kind in ("seal", "open"):
            for size in (16, 64, 1024):
                session, raw = ops.get(f"session.{kind}({size})"), ops.get(f"raw.gcm_{kind}({size})")
                cells.append("-" if session is None or raw is None else f"+{session['instructions'] - raw['instructions']}")
        lines.append(f"| {image} | " + " | ".join(cells) + " |")
    calls: Dict[Tuple[str, Tuple[str, ...]], List[str]] = {}
    for image in images:
        for name, op in current["images"][image]["operations"].items():
            if name.startswith(POOL_PATHS) and op["library_calls"]:
                calls.setdefault((name, tuple(op["library_calls"])), []).append(image)
    if calls:
        lines += ["", "#### Library calls on the pool paths", "", "| operation | calls | images |", "| --- | --- | --- |"]
        lines += [f"| {name} | {', '.join(found)} | {'all' if len(where) == len(images) else ', '.join(where)} |"
                  for (name, found), where in calls.items()]
    return "\n".join(lines) + "\n"


def dump(current: Dict[str, Any]) -> str:
    """The combined counts as JSON with one line per operation, so a baseline change reads as a diff of
    the operations that moved."""
    lines = ["{", f'  "schema": {json.dumps(current["schema"])},', '  "images": {']
    images = list(current["images"].items())
    for i, (image, data) in enumerate(images):
        lines += [f"    {json.dumps(image)}: {{", f'      "machine": {json.dumps(data["machine"])},', '      "operations": {']
        operations = list(data["operations"].items())
        for j, (name, op) in enumerate(operations):
            lines.append(f"        {json.dumps(name)}: {json.dumps(op)}" + ("," if j + 1 < len(operations) else ""))
        lines += ["      }", "    }" + ("," if i + 1 < len(images) else "")]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="budgets/cost-baseline.json (a missing file: no comparison)")
    parser.add_argument("counts", nargs="+", help="count_instructions.py --json outputs")
    parser.add_argument("--write", metavar="CURRENT", help="write the combined counts (the baseline's format)")
    args = parser.parse_args(argv)
    try:
        current = combine(args.counts)
        baseline = None
        try:
            baseline = _load(args.baseline)
        except ReportError:
            print(f"cost_report: no baseline at {args.baseline}: nothing to compare", file=sys.stderr)
        if baseline is not None and baseline.get("schema") != SCHEMA:
            raise ReportError(f"{args.baseline} is not a {SCHEMA} document")
    except ReportError as exc:
        print(f"cost_report: error: {exc}", file=sys.stderr)
        return 2
    if args.write:
        with open(args.write, "w", encoding="utf-8") as handle:
            handle.write(dump(current))
    sys.stdout.write(render(baseline, current))
    grown = growth(baseline, current)
    for line in grown:
        print(f"cost_report: error: {line}", file=sys.stderr)
    if grown:
        print("cost_report: counts grew past budgets/cost-baseline.json; if on purpose, run scripts/cost-report.sh "
              "--update-baseline and commit it with the change", file=sys.stderr)
    calls = forbidden_calls(current)
    for line in calls:
        print(f"cost_report: error: {line}", file=sys.stderr)
    return 1 if grown or calls else 0


if __name__ == "__main__":
    sys.exit(main())
