"""The budget picture (budget.svg): each region drawn to scale against its capacity and its budget.

Per region, two bars. The first is the whole region to scale: its bytes by origin (the layout, the
stacks, memplan's runtime, mbedTLS, the C/C++ libraries, the product, the linker) and what is free,
with the layout's budget bracketed under it. The second zooms into the budget: the layout's objects,
each named, and the budget left. Then each stack to scale, with its computed worst case and its
measured high water marked. Every colour is keyed in the legend; every segment has a tooltip, a label
when it fits, and a row in the region's key.

The generator draws the plan (the rest of the image is not known before linking); `check-elf
--picture` draws the linked image. This module computes the geometry; budget.svg.j2 writes the
elements out. Every text is XML-escaped here (names from a linker map are untrusted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from memplan import names
from memplan.planner import Plan
from memplan.region_origins import ORIGIN_TITLES, ORIGINS

if TYPE_CHECKING:  # pragma: no cover
    from memplan.elfcheck import CheckResult
    from memplan.stack_bound import StackReport

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
ORIGIN_COLOURS = {"layout": "#0072B2", "stacks": "#E69F00", "runtime": "#009E73", "mbedtls": "#CC79A7", "libc": "#56B4E9",
                  "product": "#D55E00", "linker": "#999999", "unmapped": "#F0E442"}
KIND_COLOURS = {names.POOL: "#0072B2", names.POOL_STATE: "#56B4E9", names.WORKSPACE: "#009E73", names.SESSIONS: "#CC79A7",
                names.KEY_SLOTS: "#D55E00", names.STACK: "#E69F00", "padding": "#BBBBBB"}
KIND_TITLES = {names.POOL: "pool storage", names.POOL_STATE: "pool state", names.WORKSPACE: "workspace",
               names.SESSIONS: "session slots", names.KEY_SLOTS: "key slots", names.STACK: "stack", "padding": "alignment padding"}
FREE = "url(#free)"  # a hatched pattern the template defines
BOUND_COLOUR = "#000000"

WIDTH, LEFT, BAR_X, BAR_WIDTH, BAR_HEIGHT = 820, 10, 130, 670, 22
CHAR_WIDTH = 6.4  # of the 11 px sans-serif the labels use, generously: a label never overflows its segment
KEY_COLUMNS, KEY_COLUMN_WIDTH, LINE = 3, 230, 16


@dataclass
class Segment:
    label: str  # drawn inside when it fits; always in the tooltip
    size: int
    colour: str
    detail: str = ""  # the tooltip's second line


@dataclass
class StackRow:
    name: str
    size: int
    bound: Optional[int]  # the computed worst case
    measured: Optional[int]  # the painted high water of a run
    note: str  # how the bound was found, or why there is none


def _b(value: int) -> str:
    return f"{value:,} B"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


class _Canvas:
    def __init__(self) -> None:
        self.elements: List[Dict[str, Any]] = []
        self.y = 0.0

    def rect(self, x: float, y: float, w: float, h: float, fill: str, title: str = "", stroke: str = "") -> None:
        self.elements.append({"kind": "rect", "x": f"{x:.2f}", "y": f"{y:.2f}", "w": f"{max(w, 0.0):.2f}", "h": f"{h:.2f}",
                              "fill": fill, "stroke": stroke, "title": escape(title)})

    def text(self, x: float, y: float, text: str, size: int = 11, weight: str = "normal", anchor: str = "start",
             fill: str = "#222222") -> None:
        self.elements.append({"kind": "text", "x": f"{x:.2f}", "y": f"{y:.2f}", "text": escape(text), "size": size,
                              "weight": weight, "anchor": anchor, "fill": fill})

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#222222", width: float = 1.0, dash: str = "") -> None:
        self.elements.append({"kind": "line", "x1": f"{x1:.2f}", "y1": f"{y1:.2f}", "x2": f"{x2:.2f}", "y2": f"{y2:.2f}",
                              "stroke": stroke, "width": width, "dash": dash})

    def bar(self, y: float, segments: Sequence[Segment], scale: int, free_label: str) -> None:
        """Segments left to right, each `size / scale` of the bar; the rest of the bar is free (hatched)."""
        x = float(BAR_X)
        for s in segments:
            width = BAR_WIDTH * s.size / scale if scale else 0.0
            self.rect(x, y, width, BAR_HEIGHT, s.colour, f"{s.label}: {_b(s.size)}" + (f"\n{s.detail}" if s.detail else ""),
                      stroke="#FFFFFF" if width >= 2 else "")
            if width >= CHAR_WIDTH * len(s.label) + 6:
                self.text(x + width / 2, y + 15, s.label, anchor="middle", fill=_ink(s.colour))
            x += width
        end = BAR_X + BAR_WIDTH
        if end - x > 0.5:
            self.rect(x, y, end - x, BAR_HEIGHT, FREE, free_label)
        self.rect(BAR_X, y, BAR_WIDTH, BAR_HEIGHT, "none", "", stroke="#444444")

    def key(self, entries: Sequence[Tuple[str, str]]) -> None:
        """Swatch and text per entry, in columns, from the cursor down."""
        for index, (colour, text) in enumerate(entries):
            column, row = index % KEY_COLUMNS, index // KEY_COLUMNS
            x, y = BAR_X + column * KEY_COLUMN_WIDTH, self.y + row * LINE
            self.rect(x, y - 9, 10, 10, colour, stroke="#444444")
            self.text(x + 14, y, _fit(text, KEY_COLUMN_WIDTH - 18))
        self.y += LINE * ((len(entries) + KEY_COLUMNS - 1) // KEY_COLUMNS)


def _ink(colour: str) -> str:
    """Black or white text, whichever reads on the colour."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#FFFFFF"


def _fit(text: str, width: float) -> str:
    most = int(width / CHAR_WIDTH)
    return text if len(text) <= most else text[:max(most - 1, 1)] + "…"


@dataclass
class _Region:
    name: str
    size: int
    budget: int
    layout: int
    used: int
    by_origin: List[Segment]  # the capacity bar
    objects: List[Segment]  # the budget bar
    note: str  # above the capacity bar, instead of what it uses
    rest: str = "free"  # what the capacity bar's remainder is


def _draw_region(canvas: _Canvas, region: _Region) -> None:
    y = canvas.y
    canvas.text(LEFT, y + 15, region.name, size=13, weight="bold")
    canvas.text(BAR_X, y, region.note or f"{_b(region.used)} of {_b(region.size)} used ({_percent(region.used, region.size)}), "
                                         f"{_b(region.size - region.used)} free.")
    canvas.text(LEFT, y + 28, "whole region", size=10, fill="#555555")
    canvas.bar(y + 6, region.by_origin, region.size, f"{region.rest}: {_b(region.size - region.used)}")
    # The layout's budget, bracketed under the bar: the layout is drawn first, from the left.
    bracket_end = BAR_X + BAR_WIDTH * min(region.budget, region.size) / region.size if region.size else BAR_X
    top = y + 6 + BAR_HEIGHT + 3
    canvas.line(BAR_X, top, BAR_X, top + 6)
    canvas.line(bracket_end, top, bracket_end, top + 6)
    canvas.line(BAR_X, top + 6, bracket_end, top + 6)
    canvas.text(BAR_X, top + 19, f"layout budget {_b(region.budget)}: the layout takes {_b(region.layout)} "
                                 f"({_percent(region.layout, region.budget)}), {_b(region.budget - region.layout)} left")
    canvas.y = top + 37
    canvas.key([(s.colour, f"{s.label} {_b(s.size)}") for s in region.by_origin])
    # The budget, zoomed: each object of the layout.
    zoom = canvas.y
    canvas.text(LEFT, zoom + 15, "layout budget", size=10, fill="#555555")
    canvas.bar(zoom, region.objects, region.budget, f"budget left: {_b(region.budget - region.layout)}")
    canvas.y = zoom + BAR_HEIGHT + 16
    canvas.key([(s.colour, f"{s.label} {_b(s.size)}") for s in region.objects])
    canvas.y += 14


def _draw_stacks(canvas: _Canvas, stacks: Sequence[StackRow]) -> None:
    if not stacks:
        return
    canvas.text(LEFT, canvas.y + 4, "stacks", size=13, weight="bold")
    canvas.y += 14
    for row in stacks:
        y = canvas.y
        canvas.text(LEFT, y + 15, _fit(row.name, BAR_X - LEFT - 6), weight="bold")
        used = row.measured or 0
        measured = [Segment("measured high water", min(used, row.size), ORIGIN_COLOURS["stacks"], "the painted stack's deepest written word")] if used else []
        canvas.bar(y, measured, row.size, f"never written in the run: {_b(row.size - used)}" if used else "stack")
        if row.bound is not None:
            x = BAR_X + BAR_WIDTH * min(row.bound, row.size) / row.size
            canvas.line(x, y - 4, x, y + BAR_HEIGHT + 4, stroke=BOUND_COLOUR, width=2.5)
            if row.bound > row.size:
                canvas.text(x - 4, y + 15, f"bound {_b(row.bound)} exceeds the stack", anchor="end", weight="bold")
        parts = [f"{row.name}: {_b(row.size)} stack"]
        parts.append(f"worst case {_b(row.bound)} ({_percent(row.bound, row.size)})" if row.bound is not None else "worst case not computed")
        if row.measured is not None:
            parts.append(f"measured {_b(row.measured)}" + (f", bound/measured {row.bound / row.measured:.2f}x" if row.bound and row.measured else ""))
        canvas.text(BAR_X, y + BAR_HEIGHT + 15, "; ".join(parts))
        if row.note:
            canvas.text(BAR_X, y + BAR_HEIGHT + 15 + LINE, row.note, fill="#555555")
        canvas.y = y + BAR_HEIGHT + 30 + (LINE if row.note else 0)


def _document(title: str, comment: str, regions: Sequence[_Region], stacks: Sequence[StackRow], origins_shown: Sequence[str],
              footnote: str) -> Dict[str, Any]:
    canvas = _Canvas()
    canvas.text(LEFT, 20, title, size=15, weight="bold")
    canvas.y = 42
    legend = [(ORIGIN_COLOURS[name], ORIGIN_TITLES[name]) for name in origins_shown]
    legend += [(FREE, "free"), (BOUND_COLOUR, "a stack's worst case (bound)")]
    canvas.text(LEFT, canvas.y, "key", size=10, fill="#555555")
    canvas.key(legend)
    canvas.y += 16
    for region in regions:
        _draw_region(canvas, region)
    _draw_stacks(canvas, stacks)
    canvas.text(LEFT, canvas.y + 4, footnote, size=10, fill="#555555")
    # A comment cannot hold "--" (a file name could), and its text is escaped like every other.
    return {"comment": escape(comment.replace("--", "- -")), "title": escape(title), "width": WIDTH, "height": int(canvas.y + 16), "elements": canvas.elements}


def _object_segments(objects: Sequence[Tuple[str, int, str]], padding: int) -> List[Segment]:
    """The layout's objects in the budget bar, stacks included (the budget counts them); padding last."""
    segments = [Segment(name, size, KIND_COLOURS.get(kind, "#666666"), KIND_TITLES.get(kind, kind)) for name, size, kind in objects]
    if padding:
        segments.append(Segment("padding", padding, KIND_COLOURS["padding"], KIND_TITLES["padding"]))
    return segments


def planned(plan: Plan, comment: str) -> Dict[str, Any]:
    """The picture of a plan: the layout and its stacks in each region; the rest of the image is not known yet."""
    p = plan.profile
    regions = []
    for r in plan.regions:
        if not r.objects:
            continue
        stacks = sum(o.size for o in r.objects if o.kind == names.STACK)
        by_origin = [Segment("layout", r.used - stacks, ORIGIN_COLOURS["layout"]), Segment("stacks", stacks, ORIGIN_COLOURS["stacks"])]
        objects = _object_segments([(o.object, o.size - o.padding, o.kind) for o in r.objects], r.padding)
        regions.append(_Region(r.name, r.size, r.budget, r.used, r.used, [s for s in by_origin if s.size], objects,
                               f"{_b(r.used)} of {_b(r.size)} planned ({_percent(r.used, r.size)}); check-elf measures the rest of the image.",
                               "for the rest of the image, and free"))
    rows = []
    if p.stack is not None:
        rows.append(StackRow("main", p.stack.size, None, None, "The bound is computed on the linked image (check-elf --callgraph)."))
        rows += [StackRow(f"thread {t.function}", t.size, None, None, "") for t in p.stack.threads]
    return _document(f"RAM budget: {p.name} ({p.target.core}), planned", comment, regions, rows, ["layout", "stacks"],
                     "Drawn to scale: each region's first bar is its whole capacity, the second its layout budget.")


def measured(result: "CheckResult", comment: str) -> Dict[str, Any]:
    """The picture of a linked image: every byte of each region by origin, and the stacks' bounds and measurements."""
    p = result.plan.profile
    regions = []
    shown: List[str] = []
    for r in result.regions:
        placed = [o for o in result.objects if o.symbol is not None and o.obj in _region_objects(result, r.name)]
        objects = [(o.obj.object, o.symbol.size, o.obj.kind) for o in placed if o.symbol is not None]
        padding = max(r.layout_bytes - sum(size for _, size, _ in objects), 0)
        if r.origins is not None:
            by_origin = [Segment(ORIGIN_TITLES[o.name], o.size, ORIGIN_COLOURS[o.name],
                                 ", ".join(f"{n} {_b(b)}" for n, b in o.largest_parts()[:4])) for o in r.origins]
            shown += [o.name for o in r.origins]
            note = ""
        else:
            by_origin = [Segment("layout", r.layout_bytes, ORIGIN_COLOURS["layout"])]
            shown.append("layout")
            note = f"{_b(r.used)} of {_b(r.size)} (only the layout is known: a host image, or no linker fragment)."
        regions.append(_Region(r.name, r.size, r.budget, r.layout_bytes, r.used, by_origin,
                               _object_segments(objects, padding), note))
    rows: List[StackRow] = []
    if p.stack is not None:
        report = result.stack
        deepest = "" if report is None else _deepest_entry(report)
        rows.append(StackRow("main", p.stack.size, None if report is None else report.main_stack, result.measured_stacks.get("main"),
                             deepest if report is not None else "Give check-elf the call graph (--callgraph) for the bound."))
        for t in p.stack.threads:
            rows.append(StackRow(f"thread {t.function}", t.size, None if report is None else report.threads.get(t.function),
                                 result.measured_stacks.get(t.function), ""))
    origins = [name for name in ORIGINS if name in shown]
    image = result.image.path.rsplit("/", 1)[-1]
    return _document(f"RAM budget: {p.name} ({p.target.core}), measured in {image}", comment, regions, rows, origins,
                     "Drawn to scale: each region's first bar is its whole capacity by origin, the second its layout budget."
                     + ("" if any(r.origins for r in result.regions) else " Give check-elf the link's map (--map) for the origins."))


def _region_objects(result: "CheckResult", region: str) -> List[Any]:
    return next((r.objects for r in result.plan.regions if r.name == region), [])


def _deepest_entry(report: "StackReport") -> str:
    deepest = report.deepest()
    return "" if deepest is None else f"Deepest entry point: {deepest.entry.function}, {_b(deepest.depth)} on its own."
