"""`memplan diff OLD.json NEW.json`: what changed between two budget reports.

Reads budget.json (from `generate`) or the JSON of `check-elf` (same schema),
or a baseline file holding several products ({"products": {name: report}}).
Shows, per region, the change in used bytes, and per object whether it is
new, removed, grown or shrunk. `--fail-over BYTES` exits 1 when any region
grew by more than BYTES.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from memplan import BUDGET_SCHEMA

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class ReportError(Exception):
    pass


@dataclass
class ObjectChange:
    name: str
    old: Optional[int]
    new: Optional[int]

    @property
    def kind(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "removed"
        return "grown" if self.new > self.old else "shrunk"

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)


@dataclass
class RegionChange:
    product: str
    name: str
    budget: int
    old_used: Optional[int]
    new_used: Optional[int]
    objects: List[ObjectChange] = field(default_factory=list)

    @property
    def delta(self) -> int:
        return (self.new_used or 0) - (self.old_used or 0)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_report(path: str, product: Optional[str], report: Any) -> None:
    """The fields `compare` reads, with their types: a broken report is an error, not a traceback.
    `product` names the entry of a baseline file ({"products": {...}}), None for a single report."""
    what = "" if product is None else f"product {product!r}: "
    if not isinstance(report, dict) or report.get("schema") != BUDGET_SCHEMA or not isinstance(report.get("regions"), list):
        raise ReportError(f"{path}: error: {what}not a {BUDGET_SCHEMA} report (budget.json or check-elf --format json)")
    for index, region in enumerate(report["regions"]):
        where = f"{path}: error: {what}regions[{index}]"
        if not isinstance(region, dict) or not isinstance(region.get("name"), str):
            raise ReportError(f"{where}: a region needs a name")
        if not _is_int(region.get("used")) or not _is_int(region.get("budget", 0)):
            raise ReportError(f"{where}: 'used' and 'budget' must be integers")
        objects = region.get("objects", [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) and _is_int(o.get("size"))
                                                    for o in objects):
            raise ReportError(f"{where}: 'objects' must be a list of {{name, size}}")


def _load(path: str) -> Dict[str, Dict[str, Any]]:
    """Product name -> report."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ReportError(f"{path}:{line}:{column}: error: not JSON: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}: error: not JSON: {exc.msg}") from None
    if isinstance(document, dict) and "products" in document:
        reports = document["products"]
        if not isinstance(reports, dict):
            raise ReportError(f"{path}: error: 'products' must map product names to {BUDGET_SCHEMA} reports")
        for name, report in reports.items():
            _check_report(path, name, report)
        return reports
    _check_report(path, None, document)
    profile = document.get("profile")
    return {profile if isinstance(profile, str) else "?": document}


def _objects(region: Dict[str, Any]) -> Dict[str, int]:
    return {str(o["name"]): int(o["size"]) for o in region.get("objects", [])}


def compare(old: Dict[str, Dict[str, Any]], new: Dict[str, Dict[str, Any]]) -> List[RegionChange]:
    changes: List[RegionChange] = []
    for product in sorted(set(old) | set(new)):
        old_regions = {r["name"]: r for r in old.get(product, {}).get("regions", [])}
        new_regions = {r["name"]: r for r in new.get(product, {}).get("regions", [])}
        order = list(new_regions) + [n for n in old_regions if n not in new_regions]
        for name in order:
            o, n = old_regions.get(name), new_regions.get(name)
            change = RegionChange(product, name, int((n or o or {}).get("budget", 0)),
                                  int(o["used"]) if o else None, int(n["used"]) if n else None)
            old_objects, new_objects = _objects(o or {}), _objects(n or {})
            for obj in list(new_objects) + [k for k in old_objects if k not in new_objects]:
                before, after = old_objects.get(obj), new_objects.get(obj)
                if before != after:
                    change.objects.append(ObjectChange(obj, before, after))
            changes.append(change)
    return changes


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def render(changes: List[RegionChange], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {"product": c.product, "region": c.name, "budget": c.budget, "old": c.old_used, "new": c.new_used, "delta": c.delta,
                 "objects": [{"name": o.name, "change": o.kind, "old": o.old, "new": o.new, "delta": o.delta} for o in c.objects]}
                for c in changes
            ],
            indent=2,
        ) + "\n"
    lines: List[str] = []
    if fmt == "md":
        for product in dict.fromkeys(c.product for c in changes):
            rows = [c for c in changes if c.product == product]
            lines += [f"#### {product}", "", "| region | budget | used | free | change since baseline |", "| --- | ---: | ---: | ---: | ---: |"]
            for c in rows:
                used = c.new_used if c.new_used is not None else 0
                change = "new" if c.old_used is None else ("removed" if c.new_used is None else _signed(c.delta) + " B")
                lines.append(f"| {c.name} | {c.budget} B | {used} B | {c.budget - used} B | {change} |")
            details = [(c, o) for c in rows for o in c.objects]
            if details:
                lines += ["", "| region | object | change | old | new |", "| --- | --- | --- | ---: | ---: |"]
                for c, o in details:
                    old_size = o.old if o.old is not None else "-"
                    new_size = o.new if o.new is not None else "-"
                    lines.append(f"| {c.name} | `{o.name}` | {o.kind} {_signed(o.delta)} B | {old_size} | {new_size} |")
            lines.append("")
    else:
        for c in changes:
            old = "-" if c.old_used is None else str(c.old_used)
            new = "-" if c.new_used is None else str(c.new_used)
            lines.append(f"{c.product} {c.name}: {old} -> {new} B ({_signed(c.delta)} B) of {c.budget} B")
            for o in c.objects:
                lines.append(f"  {o.kind:8} {o.name}: {o.old if o.old is not None else '-'} -> {o.new if o.new is not None else '-'} B ({_signed(o.delta)} B)")
    return "\n".join(lines) + "\n"


def run_diff(args: argparse.Namespace) -> int:
    try:
        old, new = _load(args.old), _load(args.new)
    except ReportError as exc:
        print(f"memplan: error: {exc}" if not str(exc).startswith(("/", ".")) and ": error:" not in str(exc) else str(exc), file=sys.stderr)
        return EXIT_USAGE
    changes = compare(old, new)
    sys.stdout.write(render(changes, args.format))
    if args.fail_over is not None:
        over: List[Tuple[str, str, int]] = [(c.product, c.name, c.delta) for c in changes if c.delta > args.fail_over]
        for product, region, delta in over:
            print(f"memplan: error: {product} region {region} grew by {delta} B, more than --fail-over {args.fail_over} B", file=sys.stderr)
        if over:
            return EXIT_ERRORS
    return EXIT_OK
