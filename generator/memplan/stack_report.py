"""The report of `memplan stack`: each entry point's bound and deepest path, the main stack's
bound (the reset path and each priority level's deepest handler), and each thread's."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from memplan.stack_bound import StackReport


def to_document(report: StackReport, stack_size: Optional[int]) -> Dict[str, Any]:
    return {
        "schema": "memplan-stack/1",
        "core": report.core,
        "exception_frame": report.exception_frame,
        "main_stack": {"bound": report.main_stack, "size": stack_size},
        "threads": report.threads,
        "entries": [
            {"function": r.entry.function, "kind": r.entry.kind, "priority": r.entry.priority if r.entry.kind == "interrupt" else None,
             "depth": r.depth, "path": [{"function": s.function, "frame": s.frame, "repeat": s.repeat} for s in r.path]}
            for r in report.entries
        ],
        "errors": report.errors,
    }


def render(report: StackReport, fmt: str, stack_size: Optional[int]) -> str:
    if fmt == "json":
        return json.dumps(to_document(report, stack_size), indent=2) + "\n"
    size = f" of its {stack_size} B" if stack_size is not None else ""
    lines: List[str] = [f"main stack: up to {report.main_stack} B{size} ({report.core}: {report.exception_frame} B per exception frame)"]
    for result in report.entries:
        what = {"reset": "reset path", "interrupt": f"interrupt, priority {result.entry.priority}", "thread": "thread"}[result.entry.kind]
        lines.append(f"  {result.entry.function} ({what}): {result.depth} B")
        for step in result.path:
            times = f" x {step.repeat}" if step.repeat > 1 else ""
            lines.append(f"    {step.frame:6d} B{times}  {step.function}")
    for name, bound in report.threads.items():
        lines.append(f"thread {name}: up to {bound} B with its exception frame")
    return "\n".join(lines) + "\n"
