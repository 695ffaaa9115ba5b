"""The reports of `memplan check-elf`: text, Markdown, and JSON in budget.json's schema."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

from memplan import BUDGET_SCHEMA, __version__
from memplan.elfcheck import CheckResult
from memplan.model import Stack
from memplan.region_origins import ORIGIN_TITLES, ORIGINS, Origin
from memplan.stack_bound import StackReport
from memplan.target_abi import HOST_CORE


def to_document(result: CheckResult) -> Dict[str, Any]:
    """Same schema as budget.json, measured from the image; `memplan diff` reads both."""
    p = result.plan.profile
    return {
        "schema": BUDGET_SCHEMA,
        "source": "elf",
        "generator": {"name": "memplan", "version": __version__},
        "profile": p.name,
        "image": os.path.basename(result.image.path),
        "target": {"core": p.target.core if result.arm else HOST_CORE, "cache_line": p.target.cache_line},
        "ok": not result.findings,
        "regions": [
            {
                "name": r.name,
                "size": r.size,
                "budget": r.budget,
                "layout": r.layout_bytes,
                "used": r.used,
                "free": r.free,
                "budget_free": r.budget_free,
                "objects": [{"name": name, "size": size} for name, size in r.contributors],
                **({} if r.origins is None else {"origins": [
                    {"name": o.name, "size": o.size, "parts": [{"name": n, "size": b} for n, b in o.largest_parts()]}
                    for o in r.origins]}),
            }
            for r in result.regions
        ],
        "layout_objects": [
            {"symbol": o.obj.symbol, "section": o.obj.section, "size": o.symbol.size if o.symbol else None,
             "address": o.symbol.address if o.symbol else None, "ok": o.ok}
            for o in result.objects
        ],
        "mbedtls": None if result.tables is None else {
            "aes_tables": result.tables.choice, "aes_tables_bytes": result.tables.bytes, "aes_tables_section": result.tables.section},
        "stacks": None if result.stack is None else stack_document(result.stack, result.plan.profile.stack, result.measured_stacks),
        "violations": [{"subject": f.subject, "message": f.message} for f in result.findings],
    }


def stack_document(report: StackReport, stack: Optional[Stack], measured: Dict[str, int]) -> Dict[str, Any]:
    sizes = {"main": stack.size if stack else None, **({t.function: t.size for t in stack.threads} if stack else {})}
    return {
        "main": {"size": sizes["main"], "bound": report.main_stack, "measured": measured.get("main")},
        "threads": [{"function": name, "size": sizes.get(name), "bound": bound, "measured": measured.get(name)}
                    for name, bound in report.threads.items()],
        "exception_frame": report.exception_frame,
        "entries": [{"function": r.entry.function, "kind": r.entry.kind, "depth": r.depth,
                     "path": [{"function": s.function, "frame": s.frame, "repeat": s.repeat} for s in r.path]} for r in report.entries],
    }


def _stack_lines(result: CheckResult, markdown: bool) -> List[str]:
    report, stack = result.stack, result.plan.profile.stack
    if report is None or stack is None:
        return []
    measured = result.measured_stacks
    rows = [("main", stack.size, report.main_stack, measured.get("main"))]
    rows += [(f"thread {t.function}", t.size, report.threads.get(t.function, 0), measured.get(t.function)) for t in stack.threads]
    if markdown:
        lines = ["", "| stack | size | worst case | deepest entry point | measured |", "| --- | ---: | ---: | --- | ---: |"]
        for name, size, bound, depth in rows:
            lines.append(f"| {name} | {size} B | {bound} B | {_deepest(report, name)} | {_measured(bound, depth)} |")
        return lines
    return [f"  stack {name}: worst case {bound} of its {size} B ({_deepest(report, name)})"
            + ("" if depth is None else f"; measured {_measured(bound, depth)}") for name, size, bound, depth in rows]


def _measured(bound: int, depth: Optional[int]) -> str:
    """A measured depth beside its bound: how close the analysis came (bound / measured)."""
    if depth is None:
        return "-"
    return f"{depth} B (bound {bound / depth:.2f}x)" if depth else f"{depth} B"


def _origin_lines(result: CheckResult, markdown: bool) -> List[str]:
    regions = [r for r in result.regions if r.origins is not None]
    if not regions:
        return []
    shown = [name for name in ORIGINS if name != "unmapped" or any(o.name == name for r in regions for o in r.origins or [])]
    if markdown:
        lines = ["", "| region by origin | " + " | ".join(ORIGIN_TITLES[n] for n in shown) + " | used |",
                 "| --- |" + " ---: |" * (len(shown) + 1)]
        for r in regions:
            sizes = _sizes(r.origins or [])
            lines.append(f"| {r.name} | " + " | ".join(f"{sizes.get(n, 0)} B" for n in shown) + f" | {r.used} B |")
        return lines
    lines = []
    for r in regions:
        lines.append(f"  region {r.name} by origin: " + ", ".join(f"{ORIGIN_TITLES[o.name]} {o.size} B" for o in r.origins or []))
    return lines


def _sizes(origins: List[Origin]) -> Dict[str, int]:
    return {o.name: o.size for o in origins}


def _deepest(report: StackReport, stack_name: str) -> str:
    deepest = report.deepest(None if stack_name == "main" else stack_name.removeprefix("thread "))
    return "-" if deepest is None else f"{deepest.entry.function} {deepest.depth} B via {len(deepest.path)} functions"


def error_lines(result: CheckResult) -> List[str]:
    return [f"{result.image.path}: error: {f.subject}: {f.message}" for f in result.findings]


def render(result: CheckResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_document(result), indent=2) + "\n"
    p = result.plan.profile
    image = os.path.basename(result.image.path)
    lines: List[str] = []
    status = "ok" if not result.findings else f"{len(result.findings)} violation(s)"
    if fmt == "md":
        lines += [f"### {p.name}: `{image}` ({status})", "",
                  "| region | size | used | free | layout | layout budget |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in result.regions:
            lines.append(f"| {r.name} | {r.size} B | {r.used} B | {r.free} B | {r.layout_bytes} B | {r.budget} B |")
        lines += _origin_lines(result, markdown=True)
        if result.tables is not None:
            t = result.tables
            lines += ["", f"mbedTLS AES tables (`crypto.tables.aes`: {t.choice}): {t.bytes} B in `{t.section}` "
                          f"({'RAM' if t.in_ram else 'flash'})."]
        lines += _stack_lines(result, markdown=True)
        if result.findings:
            lines += ["", "| violation | detail |", "| --- | --- |"]
            lines += [f"| `{f.subject}` | {f.message} |" for f in result.findings]
    else:
        lines.append(f"{result.image.path}: profile {p.name}: {status}")
        for r in result.regions:
            lines.append(f"  region {r.name}: {r.used} of {r.size} B used, {r.free} B free; layout {r.layout_bytes} of its "
                         f"{r.budget} B budget")
        lines += _origin_lines(result, markdown=False)
        if result.tables is not None:
            t = result.tables
            lines.append(f"  mbedTLS AES tables ({t.choice}): {t.bytes} B in {t.section} ({'RAM' if t.in_ram else 'flash'})")
        lines += _stack_lines(result, markdown=False)
        lines += error_lines(result)
    return "\n".join(lines) + "\n"
