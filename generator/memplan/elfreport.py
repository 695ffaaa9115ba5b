"""The reports of `memplan check-elf`: text, Markdown, and JSON in budget.json's schema."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

from memplan import BUDGET_SCHEMA, __version__
from memplan.elfcheck import CheckResult
from memplan.model import Stack
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
        "stacks": None if result.stack is None else stack_document(result.stack, result.plan.profile.stack),
        "violations": [{"subject": f.subject, "message": f.message} for f in result.findings],
    }


def stack_document(report: StackReport, stack: Optional[Stack]) -> Dict[str, Any]:
    sizes = {"main": stack.size if stack else None, **({t.function: t.size for t in stack.threads} if stack else {})}
    return {
        "main": {"size": sizes["main"], "bound": report.main_stack},
        "threads": [{"function": name, "size": sizes.get(name), "bound": bound} for name, bound in report.threads.items()],
        "exception_frame": report.exception_frame,
        "entries": [{"function": r.entry.function, "kind": r.entry.kind, "depth": r.depth,
                     "path": [{"function": s.function, "frame": s.frame, "repeat": s.repeat} for s in r.path]} for r in report.entries],
    }


def _stack_lines(result: CheckResult, markdown: bool) -> List[str]:
    report, stack = result.stack, result.plan.profile.stack
    if report is None or stack is None:
        return []
    rows = [("main", stack.size, report.main_stack)] + [(f"thread {t.function}", t.size, report.threads.get(t.function, 0)) for t in stack.threads]
    if markdown:
        lines = ["", "| stack | size | worst case | deepest entry point |", "| --- | ---: | ---: | --- |"]
        for name, size, bound in rows:
            lines.append(f"| {name} | {size} B | {bound} B | {_deepest(report, name)} |")
        return lines
    return [f"  stack {name}: worst case {bound} of its {size} B ({_deepest(report, name)})" for name, size, bound in rows]


def _deepest(report: StackReport, stack_name: str) -> str:
    if stack_name == "main":
        candidates = [r for r in report.entries if r.entry.kind != "thread"]
    else:
        candidates = [r for r in report.entries if f"thread {r.entry.function}" == stack_name]
    if not candidates:
        return "-"
    deepest = max(candidates, key=lambda r: r.depth)
    return f"{deepest.entry.function} {deepest.depth} B via {len(deepest.path)} functions"


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
        if result.tables is not None:
            t = result.tables
            lines.append(f"  mbedTLS AES tables ({t.choice}): {t.bytes} B in {t.section} ({'RAM' if t.in_ram else 'flash'})")
        lines += _stack_lines(result, markdown=False)
        lines += error_lines(result)
    return "\n".join(lines) + "\n"
