"""`memplan diff OLD.json NEW.json`: what changed between two budget reports.

Reads budget.json (from `generate`) or the JSON of `check-elf` (same schema),
or a baseline file holding several products ({"products": {name: report}}).
Shows, per region, the change in used bytes, and per object whether it is
new, removed, grown or shrunk; where the reports attribute every byte by
origin (check-elf --map), each origin's bytes and the files inside it that
changed; where they bound the stacks, each stack's worst case and measured
high water. `--fail-over BYTES` exits 1 when any region grew by more than
BYTES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from memplan import READABLE_BUDGET_SCHEMAS
from memplan.input_file import NotARegularFile, TooLarge, read_bounded
from memplan.region_origins import ORIGIN_TITLES, ORIGINS


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
class OriginChange:
    name: str  # one of region_origins.ORIGINS
    old: Optional[int]
    new: Optional[int]
    parts: List[ObjectChange] = field(default_factory=list)  # the files (objects) inside it that changed

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)


@dataclass
class StackChange:
    product: str
    name: str  # main, or `thread <entry>`
    size: Optional[int]
    old_bound: Optional[int]
    new_bound: Optional[int]
    old_measured: Optional[int]
    new_measured: Optional[int]


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
    origins: List[OriginChange] = field(default_factory=list)  # every origin either report has, changed or not

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
        _check_named_sizes(path, where, "objects", "object", objects)
        if "origins" in region:
            origins = region["origins"]
            if not isinstance(origins, list) or not all(isinstance(o, dict) and o.get("name") in ORIGINS and _is_size(o.get("size"))
                                                        for o in origins):
                raise ReportError(path, f"{where}: 'origins' must be a list of {{name, size, parts}} (names: {', '.join(ORIGINS)})")
            _check_named_sizes(path, where, "origins", "origin", origins)
            for index, origin in enumerate(origins):
                _check_named_sizes(path, f"{where}: origins[{index}]", "parts", "part", origin.get("parts", []))
    if report.get("stacks") is not None:
        _check_stacks(path, what, report["stacks"])


def _check_named_sizes(path: str, where: str, key: str, noun: str, items: Any) -> None:
    """A list of {name, size}, each name once."""
    if not isinstance(items, list) or not all(isinstance(o, dict) and _is_name(o.get("name")) and _is_size(o.get("size")) for o in items):
        raise ReportError(path, f"{where}: '{key}' must be a list of {{name, size}}")
    names = [o["name"] for o in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ReportError(path, f"{where}: {noun} {twice[0]!r} is listed twice")


def _check_stacks(path: str, what: str, stacks: Any) -> None:
    def figures(item: Any) -> bool:
        return isinstance(item, dict) and all(item.get(k) is None or _is_size(item.get(k)) for k in ("size", "bound", "measured"))

    threads = stacks.get("threads", []) if isinstance(stacks, dict) else None
    if (not isinstance(stacks, dict) or not figures(stacks.get("main")) or not isinstance(threads, list)
            or not all(figures(t) and _is_name(t.get("function")) for t in threads)):
        raise ReportError(path, f"{what}'stacks' must hold main and threads with integer size, bound and measured (or null)")


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
        data = read_bounded(path, MAX_REPORT_BYTES)
    except OSError as exc:
        raise ReportError("memplan", f"cannot read {path}: {exc.strerror}") from None
    except NotARegularFile:
        raise ReportError(path, "not a regular file") from None
    except TooLarge:
        raise ReportError(path, f"larger than {MAX_REPORT_BYTES >> 20} MiB, which no budget report is") from None
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
            change.objects = _changed(old_objects, new_objects)
            old_origins, new_origins = _origins(o or {}), _origins(n or {})
            for origin in ORIGINS:
                before, after = old_origins.get(origin), new_origins.get(origin)
                if before is None and after is None:
                    continue
                change.origins.append(OriginChange(origin, None if before is None else before[0], None if after is None else after[0],
                                                   _changed((before or (0, {}))[1], (after or (0, {}))[1])))
            changes.append(change)
    return changes


def _changed(old: Dict[str, int], new: Dict[str, int]) -> List[ObjectChange]:
    return [ObjectChange(name, old.get(name), new.get(name)) for name in list(new) + [k for k in old if k not in new]
            if old.get(name) != new.get(name)]


def _origins(region: Dict[str, Any]) -> Dict[str, Tuple[int, Dict[str, int]]]:
    return {str(o["name"]): (int(o["size"]), _objects({"objects": o.get("parts", [])})) for o in region.get("origins", [])}


def compare_stacks(old: Dict[str, Dict[str, Any]], new: Dict[str, Dict[str, Any]]) -> List[StackChange]:
    """Each stack either report bounds: its worst case and its measured high water, before and after."""
    changes: List[StackChange] = []
    for product in sorted(set(old) | set(new)):
        before, after = _stacks(old.get(product, {})), _stacks(new.get(product, {}))
        for name in list(after) + [k for k in before if k not in after]:
            b, a = before.get(name, {}), after.get(name, {})
            changes.append(StackChange(product, name, (a or b).get("size"), b.get("bound"), a.get("bound"), b.get("measured"), a.get("measured")))
    return changes


def _stacks(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    stacks = report.get("stacks")
    if not stacks:
        return {}
    return {"main": stacks["main"], **{f"thread {t['function']}": t for t in stacks.get("threads", [])}}


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def _md(text: str) -> str:
    """A name inside a Markdown table cell: a `|` would end the cell."""
    return text.replace("|", "\\|")


def _figure(old: Optional[int], new: Optional[int]) -> str:
    """A figure and its change: `1880 B (+8)`, `-` when absent now."""
    if new is None:
        return "-" if old is None else f"- (was {old} B)"
    if old is None or old == new:
        return f"{new} B"
    return f"{new} B ({_signed(new - old)})"


def _change_json(o: ObjectChange) -> Dict[str, Any]:
    return {"name": o.name, "change": o.kind, "old": o.old, "new": o.new, "delta": o.delta}


def render(changes: List[RegionChange], fmt: str, stacks: Sequence[StackChange] = ()) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {"product": c.product, "region": c.name, "size": c.size, "budget": c.budget, "old": c.old_used, "new": c.new_used,
                 "delta": c.delta, "old_layout": c.old_layout, "new_layout": c.new_layout,
                 "objects": [_change_json(o) for o in c.objects],
                 "origins": [{"name": g.name, "old": g.old, "new": g.new, "delta": g.delta, "parts": [_change_json(o) for o in g.parts]}
                             for g in c.origins]}
                for c in changes
            ] + [
                {"product": t.product, "stack": t.name, "size": t.size, "old_bound": t.old_bound, "new_bound": t.new_bound,
                 "old_measured": t.old_measured, "new_measured": t.new_measured}
                for t in stacks
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
            lines += _origin_table(rows)
            product_stacks = [t for t in stacks if t.product == product]
            if product_stacks:
                lines += ["", "| stack | size | worst case | measured |", "| --- | ---: | ---: | ---: |"]
                for t in product_stacks:
                    size = "-" if t.size is None else f"{t.size} B"
                    lines.append(f"| {_md(t.name)} | {size} | {_figure(t.old_bound, t.new_bound)} | {_figure(t.old_measured, t.new_measured)} |")
            details = [(c, o.name, o) for c in rows for o in c.objects]
            details += [(c, f"{ORIGIN_TITLES[g.name]}: {o.name}", o) for c in rows for g in c.origins for o in g.parts]
            if details:
                lines += ["", "| region | object | change | old | new |", "| --- | --- | --- | ---: | ---: |"]
                for c, name, o in details:
                    old_size = o.old if o.old is not None else "-"
                    new_size = o.new if o.new is not None else "-"
                    lines.append(f"| {_md(c.name)} | `{_md(name)}` | {o.kind} {_signed(o.delta)} B | {old_size} | {new_size} |")
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
            for g in c.origins:
                if g.delta or g.parts:
                    lines.append(f"  origin   {ORIGIN_TITLES[g.name]}: {_figure(g.old, g.new)}")
                for o in g.parts:
                    lines.append(f"    {o.kind:8} {o.name}: {o.old if o.old is not None else '-'} -> {o.new if o.new is not None else '-'} B "
                                 f"({_signed(o.delta)} B)")
        for t in stacks:
            lines.append(f"{t.product} stack {t.name}: worst case {_figure(t.old_bound, t.new_bound)}, measured {_figure(t.old_measured, t.new_measured)}")
    return "\n".join(lines) + "\n"


def _origin_table(rows: List[RegionChange]) -> List[str]:
    """Every byte of each region by origin, with the change since the old report: the rows a reviewer reads first."""
    shown = [name for name in ORIGINS if any(g.name == name for c in rows for g in c.origins)]
    if not shown:
        return []
    lines = ["", "| region by origin | " + " | ".join(ORIGIN_TITLES[n] for n in shown) + " |", "| --- |" + " ---: |" * len(shown)]
    for c in rows:
        found = {g.name: g for g in c.origins}
        if found:
            lines.append(f"| {_md(c.name)} | " + " | ".join(_figure(found[n].old, found[n].new) if n in found else "0 B" for n in shown) + " |")
    return lines


def grown_over(changes: List[RegionChange], limit: int) -> List[RegionChange]:
    """The regions that grew by more than `limit` bytes (a region new in NEW grows by all it uses)."""
    return [c for c in changes if c.delta > limit]
