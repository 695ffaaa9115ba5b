"""`memplan check-elf`: holds a linked image to its profile, object by object.

For every object the plan placed (pool arrays, pool state words, workspace,
session slots, key slots) the image must have the symbol, with the planned
size and alignment. Where it lies is checked from the image's own section
table, not only from symbols a linker script could define anywhere:

- A Cortex-M image must be linked with the layout's fragment (layout.ld):
  each region's output section `.memplan.<p>.<region>` exists, lies inside
  the region's bounds (the fragment exports ORIGIN and LENGTH of the MEMORY
  region), holds each of the region's objects, and each object lies between
  its own start and end symbols. The MEMORY region's length must be the
  profile's `target.regions.<r>.size`: a profile that describes another
  part than the one linked is refused in both directions. A region whose
  profile states its `origin` must start there too.
- Two caps per region, each under its own word: the layout (what memplan
  places) within `budget.<r>`, as the generator, the compiler and the
  fragment's ASSERT hold it; and everything the image puts in the region
  (the layout, .data, .bss, mbedTLS, the stack if it lives there) within the
  region's `target.regions.<r>.size`.
- mbedTLS's AES tables, where the image has them, are where the profile
  planned them (crypto.tables.aes: flash or RAM), and in RAM no larger than
  planned. An image without them (a hardware backend) passes.
- A Cortex-M image must not contain the heap (malloc, free, calloc, realloc,
  operator new/delete) or the C++ exception runtime (__cxa_*).

A host image has no linker fragment: there the section name is checked and
region totals cover the layout's own objects. This module returns results;
the command line prints them and chooses the exit code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from memplan.elfimage import SHF_TLS, SHF_WRITE, SHT_NOBITS, Image, Section, Symbol
from memplan.callgraph_files import Defined
from memplan.linker_map import LinkerMap
from memplan.planner import Plan, PlacedObject, RegionPlan, align_up, plan_for_abi
from memplan.region_origins import Origin, attribute
from memplan.stack_bound import Annotations, EntryPoint, StackGraph, StackReport
from memplan.target_abi import HOST_CORE

FORBIDDEN_EXACT = {"malloc", "free", "calloc", "realloc", "_malloc_r", "_free_r", "_calloc_r", "_realloc_r"}
FORBIDDEN_PREFIXES = ("_Znw", "_Zna", "_Zdl", "_Zda", "__cxa_")  # operator new/delete, exception runtime
# Placement new/delete only construct in memory the caller owns: not heap.
# An unoptimized build emits them as symbols (operator new(size_t, void*)).
PLACEMENT_FORMS = re.compile(r"^(_Zn[wa][jmy]Pv|_Zd[la]PvS_)$")


class MismatchError(Exception):
    """The image and the profile cannot describe the same product (a usage error)."""


def mangle(namespace: Tuple[str, ...], name: str) -> str:
    """Itanium C++ mangling of a namespace-scope variable: memplan::medium::x."""
    parts = "".join(f"{len(p)}{p}" for p in (*namespace, name))
    return f"_ZN{parts}E"


@dataclass
class Finding:
    subject: str
    message: str


@dataclass
class RegionResult:
    name: str
    budget: int  # the profile's budget.<r>: caps the layout
    size: int  # the profile's target.regions.<r>.size: caps everything in the region
    origin: Optional[int]  # the image's MEMORY region, from the fragment's symbols
    length: Optional[int]
    used: int = 0  # everything the image puts in the region (the layout alone without a fragment)
    layout_bytes: int = 0  # the layout: its output section, or its objects placed as planned
    contributors: List[Tuple[str, int]] = field(default_factory=list)  # (what, bytes), largest first
    origins: Optional[List[Origin]] = None  # every used byte by origin (a Cortex-M image linked with the fragment)

    @property
    def free(self) -> int:
        return self.size - self.used

    @property
    def budget_free(self) -> int:
        return self.budget - self.layout_bytes


@dataclass
class ObjectResult:
    obj: PlacedObject
    symbol: Optional[Symbol]
    ok: bool


@dataclass
class TablesResult:
    """mbedTLS's AES tables as the image has them (aes.c's static arrays)."""

    choice: str  # what the profile planned
    bytes: int
    section: str
    in_ram: bool


# aes.c's tables: the S-box, the round tables and the round constants the AEADs use, and the
# inverse ones, which only an unoptimized build keeps (MBEDTLS_BLOCK_CIPHER_NO_DECRYPT).
AES_TABLE_SYMBOLS = ("FSb", "FT0", "FT1", "FT2", "FT3", "round_constants", "RSb", "RT0", "RT1", "RT2", "RT3")


@dataclass
class CheckResult:
    image: Image
    plan: Plan
    regions: List[RegionResult]
    objects: List[ObjectResult]
    findings: List[Finding]
    tables: Optional[TablesResult] = None
    stack: Optional[StackReport] = None  # the stack bounds, when the profile has stacks and the call graph was given
    measured_stacks: Dict[str, int] = field(default_factory=dict)  # high water per stack (main, thread entries), from a run

    @property
    def arm(self) -> bool:
        return self.image.arm


def _plan_for_image(profile_plan: Plan, image: Image) -> Plan:
    """The plan with the image's ABI: a host build of a Cortex-M product uses host sizes."""
    core = profile_plan.profile.target.core
    if image.arm and core == HOST_CORE:
        raise MismatchError(f"{image.path} is a Cortex-M (ARM) image and profile {profile_plan.profile.name} targets the host")
    if image.arm or core == HOST_CORE:
        return profile_plan
    return plan_for_abi(profile_plan.profile, HOST_CORE)


def _overlap(start: int, size: int, lo: int, hi: int) -> int:
    return max(0, min(start + size, hi) - max(start, lo))


def _occupies_memory(section: Section) -> bool:
    """Allocated and not the TLS template of .tbss (which overlaps the sections after it)."""
    return section.allocated and section.size > 0 and not (section.type == SHT_NOBITS and section.flags & SHF_TLS)


class _Checker:
    def __init__(self, image: Image, the_plan: Plan, linker_map: Optional[LinkerMap] = None) -> None:
        self.image, self.plan, self.linker_map = image, the_plan, linker_map
        self.names = the_plan.names
        self.findings: List[Finding] = []
        self.objects: List[ObjectResult] = []

    def add(self, subject: str, message: str) -> None:
        self.findings.append(Finding(subject, message))

    def linker_symbol(self, name: str) -> Optional[int]:
        sym = self.image.symbols.get(name)
        return sym.address if sym is not None and sym.section != "*UND*" else None

    def region(self, region: RegionPlan) -> RegionResult:
        origin = self.linker_symbol(region.origin_symbol)
        length = self.linker_symbol(region.length_symbol)
        result = RegionResult(region.name, region.budget, region.size, origin, length)
        bounds: Optional[Tuple[int, int]] = None
        output: Optional[Section] = None
        if self.image.arm:
            bounds, output = self.fragment(region, origin, length)
        for obj in region.objects:
            self.place(obj, region.name, output, linked_with_fragment=bounds is not None)
        found = [(o.obj.object, o.symbol.size) for o in self.objects if o.symbol is not None and o.obj in region.objects]
        result.layout_bytes = self.layout_total(region, output)
        if bounds is not None:
            self.total_in_memory(result, bounds, found)
            in_region = [(o.obj.object, o.symbol.size, o.obj.kind == "stack") for o in self.objects
                         if o.symbol is not None and o.obj in region.objects]
            result.origins = attribute(bounds, [s for s in self.image.sections if _occupies_memory(s)], output, in_region,
                                       self.linker_map, mangle(self.names.namespace, "")[:-2])
        else:
            result.used = result.layout_bytes
            result.contributors = _largest_first(found)
        if result.layout_bytes > result.budget:
            largest = _largest_first(found)
            self.add(f"region {region.name}", f"the layout takes {result.layout_bytes} B, over its budget of {result.budget} B "
                                              f"(budget.{region.name}) by {result.layout_bytes - result.budget} B; "
                                              f"filled by: {_listed(largest)}")
        if result.used > result.size:
            top = self.largest_symbols(bounds) if bounds is not None else result.contributors
            self.add(f"region {region.name}", f"the image uses {result.used} B, more than the region's {result.size} B "
                                              f"(target.regions.{region.name}.size) by {result.used - result.size} B; "
                                              f"filled by: {_listed(top)}")
        return result

    def fragment(self, region: RegionPlan, origin: Optional[int],
                 length: Optional[int]) -> Tuple[Optional[Tuple[int, int]], Optional[Section]]:
        """A Cortex-M image's MEMORY region and the fragment's output section in it; findings for what is off."""
        subject = f"region {region.name}"
        output_name = region.output_section
        if origin is None or length is None:
            self.add(subject, f"the image has no {region.origin_symbol}/_length: it was not "
                              f"linked with {self.names.fragment()} (INCLUDE it from the product's linker script)")
            return None, None
        if length != region.size:
            self.add(subject, f"the linker script's MEMORY region {region.name} is {length} B, the profile's "
                              f"target.regions.{region.name}.size is {region.size} B: they describe different parts")
        planned_origin = self.plan.profile.target.origins.get(region.name)
        if planned_origin is not None and origin != planned_origin:
            self.add(subject, f"the linker script's MEMORY region {region.name} starts at 0x{origin:x}, the profile's "
                              f"target.regions.{region.name}.origin is 0x{planned_origin:x}: they describe different parts")
        output = self.image.section(output_name)
        if output is None:
            self.add(subject, f"the image has no output section {output_name} (the fragment {self.names.fragment()} places one per region)")
        elif _overlap(output.address, output.size, origin, origin + length) != output.size:
            self.add(subject, f"output section {output_name} at 0x{output.address:x}..0x{output.address + output.size:x} "
                              f"lies outside the region (0x{origin:x}..0x{origin + length:x})")
        return (origin, origin + length), output

    def place_stack(self, obj: PlacedObject) -> None:
        """A stack is the fragment's reservation between two symbols, not a C++ object; host builds have none."""
        if not self.image.arm:
            return
        start, end = self.linker_symbol(obj.start_symbol), self.linker_symbol(obj.end_symbol)
        if start is None or end is None:
            self.add(obj.key, f"the image has no {obj.start_symbol}/_end (not linked with {self.names.fragment()})")
            self.objects.append(ObjectResult(obj, None, False))
            return
        before = len(self.findings)
        if end - start != obj.size:
            self.add(obj.key, f"{end - start} B between {obj.start_symbol} and {obj.end_symbol}, planned {obj.size} B")
        if start % obj.align:
            self.add(obj.key, f"starts at 0x{start:x}, not aligned to {obj.align} B")
        self.objects.append(ObjectResult(obj, Symbol(obj.object, start, end - start, obj.section, -1), len(self.findings) == before))

    def place(self, obj: PlacedObject, region: str, output: Optional[Section], linked_with_fragment: bool) -> None:
        if obj.kind == "stack":
            self.place_stack(obj)
            return
        sym = self.image.symbols.get(mangle(self.names.namespace, obj.symbol))
        before = len(self.findings)
        if sym is None or sym.section in ("*UND*", "*COM*"):
            self.add(obj.symbol, f"missing from the image (expected {obj.size} B in {obj.section})")
            self.objects.append(ObjectResult(obj, None, False))
            return
        if sym.size != obj.size:
            self.add(obj.symbol, f"size {sym.size} B, planned {obj.size} B")
        if sym.address % obj.align:
            self.add(obj.symbol, f"address 0x{sym.address:x} is not aligned to {obj.align} B")
        if self.image.arm and linked_with_fragment:
            self.arm_placement(obj, sym, output)
        elif self.image.arm:
            self.add(obj.symbol, f"in section {sym.section} at 0x{sym.address:x}, not in the fragment's output section "
                                 f"{self.names.output_section(region)}")
        elif sym.section != obj.section:
            self.add(obj.symbol, f"in section {sym.section}, planned {obj.section}")
        self.objects.append(ObjectResult(obj, sym, len(self.findings) == before))

    def arm_placement(self, obj: PlacedObject, sym: Symbol, output: Optional[Section]) -> None:
        start, end = self.linker_symbol(obj.start_symbol), self.linker_symbol(obj.end_symbol)
        if start is not None and end is not None:
            if not (start <= sym.address and sym.address + sym.size <= end):
                self.add(obj.symbol, f"at 0x{sym.address:x} in {sym.section}, outside {obj.section} "
                                     f"(0x{start:x}..0x{end:x}): placed in the wrong section")
                return
        else:
            self.add(obj.symbol, f"in section {sym.section}; the image has no {obj.start_symbol}/_end "
                                 f"(not linked with {self.names.fragment()}, or with a fragment of another profile version)")
            return
        if output is not None and (sym.section_index != output.index
                                   or _overlap(sym.address, sym.size, output.address, output.address + output.size) != sym.size):
            self.add(obj.symbol, f"at 0x{sym.address:x} in {sym.section}, outside the output section {output.name} "
                                 f"(0x{output.address:x}..0x{output.address + output.size:x})")

    def total_in_memory(self, result: RegionResult, bounds: Tuple[int, int], found: List[Tuple[str, int]]) -> None:
        """Everything the image puts in the region: the layout by object (as in budget.json, so `memplan
        diff` pairs them), the rest by section."""
        lo, hi = bounds
        inside = [(s.name, _overlap(s.address, s.size, lo, hi)) for s in self.image.sections if _occupies_memory(s)]
        inside = [(name, size) for name, size in inside if size]
        result.used = sum(size for _, size in inside)
        others = [(name, size) for name, size in inside if not name.startswith(self.names.section_prefix)]
        result.contributors = _largest_first(found + others)

    def layout_total(self, region: RegionPlan, output: Optional[Section]) -> int:
        """The layout's bytes in the region: its output section where the fragment placed one; otherwise
        (a host image, or a Cortex-M image linked without it) its objects found in the image, placed as
        the plan places them (an object's padding is the alignment gap before it or inside its size)."""
        if output is not None:
            return output.size
        measured = {id(o.obj): o.symbol.size for o in self.objects if o.symbol is not None}
        offset = 0
        for obj in region.objects:
            if id(obj) in measured:
                offset = align_up(offset, obj.align) + measured[id(obj)]
        return offset

    def largest_symbols(self, bounds: Tuple[int, int]) -> List[Tuple[str, int]]:
        lo, hi = bounds
        inside = [s for s in self.image.symbols.values()
                  if s.size and s.section_index >= 0 and _overlap(s.address, s.size, lo, hi)]
        return _largest_first([(s.name, s.size) for s in inside])

    def aes_tables(self) -> Optional[TablesResult]:
        """Where the image's AES tables live, and in RAM whether they fit the plan. An unoptimized
        build keeps the tables mbedTLS's configuration leaves unused (they are static and marked
        unused, not left out), so more tables than planned is only an error where they cost RAM."""
        planned = self.plan.aes_tables
        found = {name: sym for name in AES_TABLE_SYMBOLS
                 if (sym := self.image.symbols.get(name)) is not None and sym.size and sym.section_index >= 0}
        if planned is None or "FT0" not in found:
            return None  # no AES in the profile, or none of mbedTLS's in the image
        section = self.image.sections[found["FT0"].section_index]
        in_ram = bool(section.flags & SHF_WRITE)
        result = TablesResult(planned.choice, sum(sym.size for sym in found.values()), section.name, in_ram)
        key = "crypto.tables.aes"
        if in_ram != planned.in_ram:
            self.add(key, f"the image's AES tables are in {section.name} ({'RAM' if in_ram else 'flash'}), but the profile plans "
                          f"{planned.choice}: its mbedTLS was built {'without' if in_ram else 'with'} MBEDTLS_AES_ROM_TABLES")
        elif in_ram and result.bytes > planned.bytes:
            self.add(key, f"the image's AES tables take {result.bytes} B of RAM ({', '.join(sorted(found))}), and the profile plans "
                          f"{planned.choice} ({planned.bytes} B): an unoptimized build keeps the tables mbedTLS leaves unused, "
                          "or its mbedTLS was built without MBEDTLS_AES_FEWER_TABLES")
        return result

    def heap(self) -> None:
        for name in sorted(self.image.symbols):
            if name in FORBIDDEN_EXACT or (name.startswith(FORBIDDEN_PREFIXES) and not PLACEMENT_FORMS.match(name)):
                self.add(name, "heap or exception runtime linked into a Cortex-M image (memplan promises no heap)")


def _largest_first(items: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """(name, bytes) pairs, largest first, ties by name: the order reports and findings list contributors in."""
    return sorted(items, key=lambda item: (-item[1], item[0]))


def _listed(items: List[Tuple[str, int]]) -> str:
    return ", ".join(f"{name} {size} B" for name, size in items[:5]) or "nothing"


def check_stacks(image: Image, the_plan: Plan, callgraph: Dict[str, List[Defined]], findings: List[Finding]) -> Optional[StackReport]:
    """Each entry point's worst case against the stack the profile gives it (a Cortex-M image)."""
    stack = the_plan.profile.stack
    if stack is None or not image.arm:
        return None
    entries = [EntryPoint(stack.entry)]
    entries += [EntryPoint(i.function, "interrupt", i.priority) for i in stack.interrupts]
    entries += [EntryPoint(t.function, "thread", 0, t.size) for t in stack.threads]
    annotations = Annotations({k: list(v) for k, v in stack.calls.items()}, dict(stack.recursion), dict(stack.frames))
    report = StackGraph(image, callgraph, annotations).bound(entries, the_plan.profile.target.core)
    findings += [Finding("stack", message) for message in report.errors]
    thread_index = {t.function: index for index, t in enumerate(stack.threads)}
    for thread, message in report.shortfalls(stack.size):
        findings.append(Finding("stack.size" if thread is None else f"stack.threads[{thread_index[thread]}].size", message))
    return report


def check_image(image: Image, profile_plan: Plan, callgraph: Optional[Dict[str, List[Defined]]] = None,
                linker_map: Optional[LinkerMap] = None, measured_stacks: Optional[Dict[str, int]] = None) -> CheckResult:
    """The image held to the profile; raises MismatchError when they cannot be compared at all.
    With the build's call graph, also each entry point's worst-case stack against its stack; with
    the link's map, every byte of each region by origin (MapError when the map is of another link)."""
    the_plan = _plan_for_image(profile_plan, image)
    checker = _Checker(image, the_plan, linker_map)
    regions = [checker.region(region) for region in the_plan.regions if region.objects]
    tables = checker.aes_tables()
    if image.arm:
        checker.heap()
    stack = check_stacks(image, the_plan, callgraph, checker.findings) if callgraph is not None else None
    measured = dict(measured_stacks or {})
    _hold_measured(the_plan, stack, measured, checker.findings)
    return CheckResult(image, the_plan, regions, checker.objects, checker.findings, tables, stack, measured)


def _hold_measured(the_plan: Plan, report: Optional[StackReport], measured: Dict[str, int], findings: List[Finding]) -> None:
    """A measured high water above the computed bound means the analysis missed a path: unsafe, so a violation;
    above the stack's size, the stack overflowed in that run."""
    stack = the_plan.profile.stack
    if stack is None:
        return
    sizes = {"main": stack.size, **{t.function: t.size for t in stack.threads}}
    for name, depth in measured.items():
        bound = None if report is None else (report.main_stack if name == "main" else report.threads.get(name))
        subject = "stack.measured" if name == "main" else f"stack.measured.{name}"
        if bound is not None and depth > bound:
            findings.append(Finding(subject, f"the {name} stack's measured high water {depth} B exceeds its computed bound "
                                             f"{bound} B: the analysis missed a path"))
        if name in sizes and depth > sizes[name]:
            findings.append(Finding(subject, f"the {name} stack's measured high water {depth} B exceeds its size {sizes[name]} B"))
