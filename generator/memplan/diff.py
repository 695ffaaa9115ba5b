"""`memplan diff OLD.json NEW.json`: what changed between two budget reports.

Reads budget.json (from `generate`) or the JSON of `check-elf` (same schema),
or a baseline file holding several products ({"products": {name: report}}).
Shows, per region, the change in used bytes, and per object whether it is
new, removed, grown or shrunk. `--fail-over BYTES` exits 1 when any region
grew by more than BYTES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from memplan import READABLE_BUDGET_SCHEMAS


_SCHEMAS = " or ".join(READABLE_BUDGET_SCHEMAS)
MAX_REPORT_BYTES = 64 << 20  # a baseline of many products is well under a MiB
MAX_INT_DIGITS = 20  # sizes are bytes: 2**64 has 20 digits
MAX_NAME_CHARS = 512  # mangled C++ names are long; nothing in a report is longer


class ReportError(Exception):
    """A report that cannot be read: `where` is the file (with line and column where known)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


class _ValueRefused(ValueError):
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
    budget: int  # caps the layout
    size: Optional[int]  # caps `used`; None in a memplan-budget/1 report
    old_used: Optional[int]
    new_used: Optional[int]
    old_layout: Optional[int] = None
    new_layout: Optional[int] = None
    objects: List[ObjectChange] = field(default_factory=list)

    @property
    def delta(self) -> int:
        return (self.new_used or 0) - (self.old_used or 0)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 64


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and value.isprintable()


def _check_report(path: str, product: Optional[str], report: Any) -> None:
    """The fields `compare` reads, with their types and ranges: a broken report is an error, not a
    traceback, and a region or object listed twice is refused rather than merged.
    `product` names the entry of a baseline file ({"products": {...}}), None for a single report."""
    what = "" if product is None else f"product {product!r}: "
    if not isinstance(report, dict) or report.get("schema") not in READABLE_BUDGET_SCHEMAS or not isinstance(report.get("regions"), list):
        raise ReportError(path, f"{what}not a budget report ({_SCHEMAS}: budget.json or check-elf --format json)")
    if "profile" in report and not _is_name(report["profile"]):
        raise ReportError(path, f"{what}'profile' must be a name")
    seen_regions: Dict[str, int] = {}
    for index, region in enumerate(report["regions"]):
        where = f"{what}regions[{index}]"
        if not isinstance(region, dict) or not _is_name(region.get("name")):
            raise ReportError(path, f"{where}: a region needs a name")
        if region["name"] in seen_regions:
            raise ReportError(path, f"{where}: region {region['name']!r} is listed twice (also regions[{seen_regions[region['name']]}])")
        seen_regions[region["name"]] = index
        if not _is_size(region.get("used")) or not all(_is_size(region.get(key, 0)) for key in ("budget", "size", "layout")):
            raise ReportError(path, f"{where}: 'used', 'budget', 'size' and 'layout' must be integers from 0 to 2**64-1")
        objects = region.get("objects", [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) and _is_name(o.get("name")) and _is_size(o.get("size"))
                                                    for o in objects):
            raise ReportError(path, f"{where}: 'objects' must be a list of {{name, size}}")
        names = [o["name"] for o in objects]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ReportError(path, f"{where}: object {twice[0]!r} is listed twice")


def _refuse_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    document: Dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _ValueRefused(f"key {key[:80]!r} appears twice in one object")
        document[key] = value
    return document


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _ValueRefused(f"an integer of {len(text.lstrip('-'))} digits (a size has at most {MAX_INT_DIGITS})")
    return int(text)


def _refuse_constant(text: str) -> None:
    raise _ValueRefused(f"{text} is not JSON")


def _parse(path: str, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ReportError(f"{path}:{line}:{column}", "not JSON: not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_keys, parse_int=_bounded_int, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}:{exc.colno}", f"not JSON: {exc.msg}") from None
    except _ValueRefused as exc:
        raise ReportError(path, f"not a report: {exc}") from None
    except RecursionError:
        raise ReportError(path, "not a report: arrays or objects nested too deeply") from None


def load_reports(path: str) -> Dict[str, Dict[str, Any]]:
    """Product name -> report; raises ReportError for anything that is not a readable budget report."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise ReportError("memplan", f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(path, f"larger than {MAX_REPORT_BYTES >> 20} MiB, which no budget report is")
    document = _parse(path, data)
    if isinstance(document, dict) and "products" in document:
        reports = document["products"]
        if not isinstance(reports, dict):
            raise ReportError(path, f"'products' must map product names to budget reports ({_SCHEMAS})")
        for name, report in reports.items():
            if not _is_name(name):
                raise ReportError(path, f"product {name[:80]!r}: a product needs a name")
            _check_report(path, name, report)
        return reports
    _check_report(path, None, document)
    return {document.get("profile", "?"): document}


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
            latest = n or o or {}
            change = RegionChange(product, name, int(latest.get("budget", 0)), latest.get("size"),
                                  o["used"] if o else None, n["used"] if n else None,
                                  (o or {}).get("layout"), (n or {}).get("layout"))
            old_objects, new_objects = _objects(o or {}), _objects(n or {})
            for obj in list(new_objects) + [k for k in old_objects if k not in new_objects]:
                before, after = old_objects.get(obj), new_objects.get(obj)
                if before != after:
                    change.objects.append(ObjectChange(obj, before, after))
            changes.append(change)
    return changes


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def _md(text: str) -> str:
    """A name inside a Markdown table cell: a `|` would end the cell."""
    return text.replace("|", "\\|")


def render(changes: List[RegionChange], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {"product": c.product, "region": c.name, "size": c.size, "budget": c.budget, "old": c.old_used, "new": c.new_used,
                 "delta": c.delta, "old_layout": c.old_layout, "new_layout": c.new_layout,
                 "objects": [{"name": o.name, "change": o.kind, "old": o.old, "new": o.new, "delta": o.delta} for o in c.objects]}
                for c in changes
            ],
            indent=2,
        ) + "\n"
    lines: List[str] = []
    if fmt == "md":
        for product in dict.fromkeys(c.product for c in changes):
            rows = [c for c in changes if c.product == product]
            lines += [f"#### {_md(product)}", "", "| region | size | used | free | layout | layout budget | change since baseline |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for c in rows:
                used = c.new_used if c.new_used is not None else 0
                change = "new" if c.old_used is None else ("removed" if c.new_used is None else _signed(c.delta) + " B")
                size, free = ("-", "-") if c.size is None else (f"{c.size} B", f"{c.size - used} B")
                layout = "-" if c.new_layout is None else f"{c.new_layout} B"
                lines.append(f"| {_md(c.name)} | {size} | {used} B | {free} | {layout} | {c.budget} B | {change} |")
            details = [(c, o) for c in rows for o in c.objects]
            if details:
                lines += ["", "| region | object | change | old | new |", "| --- | --- | --- | ---: | ---: |"]
                for c, o in details:
                    old_size = o.old if o.old is not None else "-"
                    new_size = o.new if o.new is not None else "-"
                    lines.append(f"| {_md(c.name)} | `{_md(o.name)}` | {o.kind} {_signed(o.delta)} B | {old_size} | {new_size} |")
            lines.append("")
    else:
        for c in changes:
            old = "-" if c.old_used is None else str(c.old_used)
            new = "-" if c.new_used is None else str(c.new_used)
            of = f"of {c.budget} B" if c.size is None else f"of {c.size} B"
            layout = ""
            if c.old_layout is not None or c.new_layout is not None:
                layout = (f"; layout {'-' if c.old_layout is None else c.old_layout} -> {'-' if c.new_layout is None else c.new_layout} B "
                          f"of its {c.budget} B budget")
            lines.append(f"{c.product} {c.name}: {old} -> {new} B ({_signed(c.delta)} B) {of}{layout}")
            for o in c.objects:
                lines.append(f"  {o.kind:8} {o.name}: {o.old if o.old is not None else '-'} -> {o.new if o.new is not None else '-'} B ({_signed(o.delta)} B)")
    return "\n".join(lines) + "\n"


def grown_over(changes: List[RegionChange], limit: int) -> List[RegionChange]:
    """The regions that grew by more than `limit` bytes (a region new in NEW grows by all it uses)."""
    return [c for c in changes if c.delta > limit]
