"""`memplan check-elf`: holds a linked image to its profile, symbol by symbol.

For every object the plan placed (pool arrays, pool state words, workspace,
session slots, key slots) the image must have the symbol, with the planned
size, inside the planned section, in the planned region, at the planned
alignment. Each region's total (the layout plus everything else the image
puts there: .data, .bss, mbedTLS, the stack if it lives there) must be within
the profile's budget. A Cortex-M image must not contain the heap (malloc,
free, calloc, realloc, operator new/delete) or the C++ exception runtime
(__cxa_*).

Region bounds come from the symbols layout.ld defines
(__memplan_<p>_region_<r>_origin/_length). A host image has no linker
fragment: there the section name is checked and region totals cover the
layout's own objects.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from memplan import BUDGET_SCHEMA, __version__
from memplan.planner import Plan, PlacedObject, align_up, plan_for_abi
from memplan.target_abi import HOST_CORE

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
FORBIDDEN_EXACT = {"malloc", "free", "calloc", "realloc", "_malloc_r", "_free_r", "_calloc_r", "_realloc_r"}
FORBIDDEN_PREFIXES = ("_Znw", "_Zna", "_Zdl", "_Zda", "__cxa_")  # operator new/delete, exception runtime
# Placement new/delete only construct in memory the caller owns: not heap.
# An unoptimized build emits them as symbols (operator new(size_t, void*)).
PLACEMENT_FORMS = re.compile(r"^(_Zn[wa][jmy]Pv|_Zd[la]PvS_)$")
SHF_ALLOC = 0x2


def mangle(namespace: Tuple[str, ...], name: str) -> str:
    """Itanium C++ mangling of a namespace-scope variable: memplan::medium::x."""
    parts = "".join(f"{len(p)}{p}" for p in (*namespace, name))
    return f"_ZN{parts}E"


@dataclass
class Symbol:
    name: str
    address: int
    size: int
    section: str


@dataclass
class Finding:
    subject: str
    message: str


@dataclass
class RegionResult:
    name: str
    budget: int
    origin: Optional[int]
    length: Optional[int]
    used: int = 0
    layout_bytes: int = 0
    contributors: List[Tuple[str, int]] = field(default_factory=list)  # (what, bytes), largest first

    @property
    def free(self) -> int:
        return self.budget - self.used


@dataclass
class ObjectResult:
    obj: PlacedObject
    symbol: Optional[Symbol]
    ok: bool


@dataclass
class CheckResult:
    elf: str
    plan: Plan
    arm: bool
    regions: List[RegionResult]
    objects: List[ObjectResult]
    findings: List[Finding]


def _read_symbols(elf: ELFFile) -> Dict[str, Symbol]:
    symbols: Dict[str, Symbol] = {}
    for section in elf.iter_sections():
        if not isinstance(section, SymbolTableSection):
            continue
        for sym in section.iter_symbols():
            if not sym.name:
                continue
            index = sym["st_shndx"]
            section_name = ""
            if isinstance(index, int) and 0 < index < elf.num_sections():
                section_name = elf.get_section(index).name
            elif index == "SHN_ABS":
                section_name = "*ABS*"
            elif index == "SHN_UNDEF":
                section_name = "*UND*"
            symbols.setdefault(sym.name, Symbol(sym.name, sym["st_value"], sym["st_size"], section_name))
    return symbols


def _plan_for_image(profile_plan: Plan, arm: bool) -> Plan:
    """The plan with the image's ABI: a host build of a Cortex-M product uses host sizes."""
    if arm or profile_plan.profile.target.core == HOST_CORE:
        return profile_plan
    return plan_for_abi(profile_plan.profile, HOST_CORE)


def check_image(elf_path: str, profile_plan: Plan) -> CheckResult:
    """Raises OSError when the file cannot be read, ELFError when it is not a well-formed ELF image."""
    with open(elf_path, "rb") as handle:
        data = handle.read()
    try:
        elf = ELFFile(io.BytesIO(data))
        arm = elf["e_machine"] == "EM_ARM"
        symbols = _read_symbols(elf)
        sections = [(s.name, s["sh_addr"], s["sh_size"]) for s in elf.iter_sections() if s["sh_flags"] & SHF_ALLOC and s["sh_size"]]
    except ELFError:
        raise
    except Exception as exc:  # pyelftools fails on a corrupt header or table with whatever exception it meets
        raise ELFError(f"malformed ({type(exc).__name__}: {exc})") from None
    the_plan = _plan_for_image(profile_plan, arm)
    p = the_plan.profile
    findings: List[Finding] = []
    namespace = ("memplan", p.name)

    def linker_symbol(name: str) -> Optional[int]:
        sym = symbols.get(f"__memplan_{p.name}_{name}")
        return sym.address if sym else None

    objects: List[ObjectResult] = []
    regions: List[RegionResult] = []
    for region in the_plan.regions:
        if not region.objects:
            continue
        origin = linker_symbol(f"region_{region.name}_origin")
        length = linker_symbol(f"region_{region.name}_length")
        result = RegionResult(region.name, region.budget, origin, length)
        regions.append(result)
        for obj in region.objects:
            sym = symbols.get(mangle(namespace, obj.symbol))
            before = len(findings)
            if sym is None or sym.section == "*UND*":
                findings.append(Finding(obj.symbol, f"missing from the image (expected {obj.size} B in {obj.section})"))
                objects.append(ObjectResult(obj, None, False))
                continue
            if sym.size != obj.size:
                findings.append(Finding(obj.symbol, f"size {sym.size} B, planned {obj.size} B"))
            if sym.address % obj.align:
                findings.append(Finding(obj.symbol, f"address 0x{sym.address:x} is not aligned to {obj.align} B"))
            start, end = linker_symbol(f"{obj.linker_name}_start"), linker_symbol(f"{obj.linker_name}_end")
            if start is not None and end is not None:
                if not (start <= sym.address and sym.address + sym.size <= end):
                    findings.append(
                        Finding(obj.symbol, f"at 0x{sym.address:x} in {sym.section}, outside {obj.section} "
                                            f"(0x{start:x}..0x{end:x}): placed in the wrong section")
                    )
            elif sym.section != obj.section:
                findings.append(Finding(obj.symbol, f"in section {sym.section}, planned {obj.section}"))
            if origin is not None and length is not None and not (origin <= sym.address < origin + length):
                findings.append(Finding(obj.symbol, f"at 0x{sym.address:x}, outside region {region.name} (0x{origin:x}..0x{origin + length:x})"))
            objects.append(ObjectResult(obj, sym, len(findings) == before))
            result.layout_bytes += sym.size

        layout_parts = [(o.obj.object, o.symbol.size) for o in objects if o.symbol is not None and o.obj in region.objects]
        if origin is not None and length is not None:
            inside = [(name, size) for name, address, size in sections if origin <= address < origin + length]
            result.used = sum(size for _, size in inside)
            # The layout by object (as in budget.json, so `memplan diff` pairs them), the rest by section.
            others = [(name, size) for name, size in inside if not name.startswith(f".memplan.{p.name}.")]
            result.contributors = sorted(layout_parts + others, key=lambda item: (-item[1], item[0]))
        else:
            # No linker fragment: the layout's own objects, placed as the plan places them (an object's
            # padding is either the alignment gap before it or already inside its size), at their
            # measured sizes; by object as in budget.json.
            measured = {id(o.obj): o.symbol.size for o in objects if o.symbol is not None}
            offset = 0
            for obj in region.objects:
                offset = align_up(offset, obj.align) + measured.get(id(obj), obj.size)
            result.used = offset
            result.contributors = sorted(layout_parts, key=lambda item: (-item[1], item[0]))
        if result.used > result.budget:
            top = _largest_symbols(symbols, origin, length) if origin is not None and length is not None else []
            filled_by = ", ".join(f"{n} {s} B" for n, s in (top or result.contributors)[:5])
            findings.append(
                Finding(
                    f"region {region.name}",
                    f"uses {result.used} B, over its budget of {result.budget} B by {result.used - result.budget} B; filled by: {filled_by}",
                )
            )

    if arm:
        for name in sorted(symbols):
            if name in FORBIDDEN_EXACT or (name.startswith(FORBIDDEN_PREFIXES) and not PLACEMENT_FORMS.match(name)):
                findings.append(Finding(name, "heap or exception runtime linked into a Cortex-M image (memplan promises no heap)"))
    return CheckResult(elf_path, the_plan, arm, regions, objects, findings)


def _largest_symbols(symbols: Dict[str, Symbol], origin: int, length: int) -> List[Tuple[str, int]]:
    inside = [s for s in symbols.values() if s.size and origin <= s.address < origin + length and s.section not in ("*ABS*", "*UND*")]
    return [(s.name, s.size) for s in sorted(inside, key=lambda s: (-s.size, s.name))]


def to_document(result: CheckResult) -> Dict[str, Any]:
    """Same schema as budget.json, measured from the image; `memplan diff` reads both."""
    p = result.plan.profile
    return {
        "schema": BUDGET_SCHEMA,
        "source": "elf",
        "generator": {"name": "memplan", "version": __version__},
        "profile": p.name,
        "image": result.elf.rsplit("/", 1)[-1],
        "target": {"core": p.target.core if result.arm else HOST_CORE, "cache_line": p.target.cache_line},
        "ok": not result.findings,
        "regions": [
            {
                "name": r.name,
                "budget": r.budget,
                "used": r.used,
                "layout": r.layout_bytes,
                "free": r.free,
                "objects": [{"name": name, "size": size} for name, size in r.contributors],
            }
            for r in result.regions
        ],
        "layout_objects": [
            {"symbol": o.obj.symbol, "section": o.obj.section, "size": o.symbol.size if o.symbol else None,
             "address": o.symbol.address if o.symbol else None, "ok": o.ok}
            for o in result.objects
        ],
        "violations": [{"subject": f.subject, "message": f.message} for f in result.findings],
    }


def to_text(result: CheckResult, markdown: bool) -> str:
    p = result.plan.profile
    lines: List[str] = []
    status = "ok" if not result.findings else f"{len(result.findings)} violation(s)"
    if markdown:
        lines += [f"### {p.name}: `{result.elf.rsplit('/', 1)[-1]}` ({status})", "",
                  "| region | budget | used | free | layout |", "| --- | ---: | ---: | ---: | ---: |"]
        for r in result.regions:
            lines.append(f"| {r.name} | {r.budget} B | {r.used} B | {r.free} B | {r.layout_bytes} B |")
        if result.findings:
            lines += ["", "| violation | detail |", "| --- | --- |"]
            lines += [f"| `{f.subject}` | {f.message} |" for f in result.findings]
    else:
        lines.append(f"{result.elf}: profile {p.name}: {status}")
        for r in result.regions:
            lines.append(f"  region {r.name}: {r.used} of {r.budget} B used, {r.free} B free (layout {r.layout_bytes} B)")
        lines += [f"{result.elf}: error: {f.subject}: {f.message}" for f in result.findings]
    return "\n".join(lines) + "\n"


def run_check_elf(args: argparse.Namespace, profile_plan: Plan) -> int:
    """The command's output and exit code; the CLI has loaded and planned the profile."""
    try:
        result = check_image(args.elf, profile_plan)
    except OSError as exc:
        print(f"memplan: error: cannot read image {args.elf}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except ELFError as exc:
        print(f"memplan: error: {args.elf} is not an ELF image: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    if args.format == "json":
        text = json.dumps(to_document(result), indent=2) + "\n"
    else:
        text = to_text(result, args.format == "md")
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    if result.findings and args.format != "text":
        for f in result.findings:
            print(f"{args.elf}: error: {f.subject}: {f.message}", file=sys.stderr)
    return EXIT_ERRORS if result.findings else EXIT_OK
