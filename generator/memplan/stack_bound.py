"""The worst-case stack depth of each entry point of a linked Cortex-M image.

The call graph comes from GCC's call-graph files (`-fcallgraph-info=su`: each function's frame and
calls, callgraph_files.py) and, for functions without one (newlib, libgcc, assembly), from the
image's own code (thumb_code.py); `Annotations.frames` may state a frame instead. Calls through
a pointer are resolved by the annotations (caller -> targets: functions, a section of function
pointers such as `.init_array`, or `memplan-ports`), by a short built-in table for the C library
code memplan links, or, for memplan's own port callers, by the overrides of the ports they call
that the image's vtables hold (runtime_ports.py). What cannot be resolved is an error,
as is recursion without a declared depth and a frame whose size is only known at run time; each
error names the function and the chain of callers from the entry point.

An entry point's bound is the deepest path of frames from it. The main stack holds the reset path
and the interrupt handlers: handlers of one priority cannot preempt each other, handlers of a
higher priority (a lower number) preempt lower ones, so each distinct priority adds its deepest
handler and one exception frame. A thread's stack (an RTOS task) holds its entry's path and the
exception frame its preemption pushes; handlers then run on the main stack.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from memplan.callgraph_files import INDIRECT, Defined, definition_for
from memplan.elfimage import EM_ARM, SHT_NOBITS, Image, Symbol
from memplan.runtime_ports import ALL_PORTS, PORT_METHODS, is_override_of, ports_called_by
from memplan.thumb_code import analyse

# Bytes an exception entry pushes on the interrupted stack: 8 words, with a floating-point unit
# 26 (lazy stacking reserves the space), plus one word of alignment padding (CCR.STKALIGN). Cores
# that may have an FPU are counted with it. ARMv8-M with the security extension adds the
# additional state context (10 words) when a secure exception preempts non-secure code.
EXCEPTION_FRAME = {"cortex-m0": 36, "cortex-m0plus": 36, "cortex-m3": 36, "cortex-m4": 108, "cortex-m7": 108,
                   "cortex-m33": 148}

# Indirect calls in the C code memplan links, read from its source. mbedTLS 3.6's
# mbedtls_platform_zeroize calls memset through a volatile pointer (platform_util.c) so that the
# compiler cannot remove the wipe.
KNOWN_INDIRECT_CALLS: Dict[str, Tuple[str, ...]] = {"mbedtls_platform_zeroize": ("memset",)}


@dataclass(frozen=True)
class EntryPoint:
    function: str
    kind: str = "reset"  # reset (thread mode on the main stack), interrupt, or thread (its own stack)
    priority: int = 0  # interrupts: the preemption priority, lower numbers preempt higher ones
    stack_size: int = 0  # threads: the stack the product gives it


@dataclass
class Annotations:
    calls: Dict[str, List[str]] = field(default_factory=dict)  # caller -> the targets of its indirect calls
    recursion: Dict[str, int] = field(default_factory=dict)  # function -> how many times its cycle may repeat
    frames: Dict[str, int] = field(default_factory=dict)  # function -> its frame, where analysis cannot say


@dataclass
class Function:
    name: str
    frame: int
    origin: str  # where the frame comes from: the call-graph file, the image's code, or an annotation
    calls: Set[str] = field(default_factory=set)
    indirect: bool = False
    indirect_via: str = ""  # how the indirect calls were resolved
    dynamic: bool = False
    unknown: str = ""  # why the frame cannot be known


@dataclass(frozen=True)
class Step:
    function: str
    frame: int
    repeat: int = 1  # a recursion's declared depth


@dataclass
class EntryResult:
    entry: EntryPoint
    depth: int  # the deepest path of frames
    path: List[Step]


def path_text(steps: Sequence[Step]) -> str:
    """A path as reports print it: each function with its frame (and a recursion's depth)."""
    return " -> ".join(f"{s.function} ({s.frame} B{f' x {s.repeat}' if s.repeat > 1 else ''})" for s in steps)


@dataclass
class StackReport:
    core: str
    exception_frame: int
    entries: List[EntryResult]
    main_stack: int  # the reset path plus each priority level's deepest handler and exception frame
    threads: Dict[str, int]  # thread entry -> its stack's bound
    errors: List[str]

    def deepest(self, thread: Optional[str] = None) -> Optional[EntryResult]:
        """The deepest entry point on the main stack (thread None: the reset path and the handlers),
        or the thread's own entry; None when the report has no such entry."""
        if thread is None:
            candidates = [r for r in self.entries if r.entry.kind != "thread"]
        else:
            candidates = [r for r in self.entries if r.entry.kind == "thread" and r.entry.function == thread]
        return max(candidates, key=lambda r: r.depth) if candidates else None

    def shortfalls(self, main_size: Optional[int]) -> List[Tuple[Optional[str], str]]:
        """(None for the main stack, or the thread's entry; message) for each stack smaller than its
        bound: the main stack against `main_size` (None: not checked), each thread against the size
        its entry point states. The message names the deepest paths."""
        found: List[Tuple[Optional[str], str]] = []
        if main_size is not None and self.main_stack > main_size:
            deepest = "; ".join(f"{r.entry.function}{f' (priority {r.entry.priority})' if r.entry.kind == 'interrupt' else ''}: "
                                f"{path_text(r.path)}" for r in self.entries if r.entry.kind != "thread")
            found.append((None, f"the main stack needs up to {self.main_stack} B, more than its {main_size} B by "
                                f"{self.main_stack - main_size} B; deepest paths: {deepest}"))
        for result in self.entries:
            bound, size = self.threads.get(result.entry.function), result.entry.stack_size
            if result.entry.kind == "thread" and bound is not None and bound > size:
                found.append((result.entry.function, f"thread {result.entry.function} needs up to {bound} B, more than its {size} B "
                                                     f"by {bound - size} B; deepest path: {path_text(result.path)}"))
        return found


class StackGraph:
    def __init__(self, image: Image, callgraph: Dict[str, List[Defined]], annotations: Annotations) -> None:
        if image.machine != EM_ARM:
            raise ValueError(f"{image.path}: the stack analysis reads Cortex-M (Thumb) images only")
        self.image = image
        self.annotations = annotations
        self.by_address: Dict[int, str] = {}
        self.symbols: Dict[str, List[Symbol]] = {}
        for symbol in image.functions:
            self.symbols.setdefault(symbol.name, []).append(symbol)
            self.by_address.setdefault(symbol.address & ~1, symbol.name)
        self.vtable_functions = self._vtable_functions()
        self.functions: Dict[str, Function] = {}
        for name in self.symbols:
            self.functions[name] = self._function(name, callgraph)

    def _code(self, symbol: Symbol) -> bytes:
        """The function's bytes; for a symbol without a size (assembly without .size, as libgcc's
        division helpers have), up to the next function or the end of its section."""
        section = self.image.sections[symbol.section_index]
        start = (symbol.address & ~1) - section.address
        size = symbol.size
        if size == 0:
            following = [a for a in self.by_address if (symbol.address & ~1) < a < section.address + section.size]
            size = (min(following) if following else section.address + section.size) - (symbol.address & ~1)
        return self.image.section_bytes(symbol.section_index)[start:start + size]

    def _pointed_to(self, data: bytes) -> Set[str]:
        """The functions whose addresses the words of `data` hold."""
        found = (self.by_address.get(int.from_bytes(data[i:i + 4], "little") & ~1) for i in range(0, len(data) - 3, 4))
        return {name for name in found if name is not None}

    def _vtable_functions(self) -> Set[str]:
        """Functions whose address a vtable of the image holds."""
        found: Set[str] = set()
        for symbol in self.image.symbols.values():
            if symbol.name.startswith("_ZTV") and symbol.section_index >= 0 and symbol.size:
                section = self.image.sections[symbol.section_index]
                found |= self._pointed_to(self.image.section_bytes(symbol.section_index)[symbol.address - section.address:][:symbol.size])
        return found

    def _targets(self, names: Sequence[str]) -> Set[str]:
        """Annotated targets: functions, sections of function pointers (.init_array), or every port override."""
        found: Set[str] = set()
        for name in names:
            if name == ALL_PORTS:
                found |= {f for f in self.vtable_functions if is_override_of(f, tuple(PORT_METHODS))}
            elif name.startswith("."):
                for section in self.image.sections:
                    if section.name == name:
                        found |= self._pointed_to(self.image.section_bytes(section.index))
            else:
                found.add(name)
        return found

    def _function(self, name: str, callgraph: Dict[str, List[Defined]]) -> Function:
        definitions = definition_for(callgraph, name, None)
        if definitions:
            function = Function(name, max(d.frame for d in definitions), f"call graph ({definitions[0].location})")
            function.dynamic = any(d.qualifier == "dynamic" for d in definitions)
            for definition in definitions:
                for callee in definition.calls:
                    if callee == INDIRECT:
                        function.indirect = True
                    else:
                        function.calls.add(callee)
        else:
            symbol = max(self.symbols[name], key=lambda s: s.size)
            function = Function(name, 0, "image code")
            if symbol.section_index < 0 or self.image.sections[symbol.section_index].type == SHT_NOBITS:
                function.unknown = "its code is not in the image"
            else:
                facts = analyse(self._code(symbol), symbol.address & ~1)
                function.frame, function.indirect, function.dynamic = facts.frame, facts.indirect, facts.dynamic
                function.calls.update(n for n in (self.by_address.get(a) for a in facts.calls) if n is not None and n != name)
        if name in self.annotations.frames:
            function.frame, function.origin, function.unknown, function.dynamic = self.annotations.frames[name], "annotation", "", False
        if function.indirect:
            ports = ports_called_by(name)
            if name in self.annotations.calls:
                function.calls |= self._targets(self.annotations.calls[name])
                function.indirect_via = "annotation"
            elif name in KNOWN_INDIRECT_CALLS:
                function.calls.update(KNOWN_INDIRECT_CALLS[name])
                function.indirect_via = "known C library call"
            elif ports:
                function.calls |= {f for f in self.vtable_functions if is_override_of(f, ports)}
                function.indirect_via = f"the overrides of memplan's {', '.join(ports)} in the image's vtables"
        function.calls &= self.symbols.keys()  # a callee not in the image was inlined or never linked
        return function

    # -- the bound -------------------------------------------------------------------------

    def _components(self, roots: Iterable[str]) -> Tuple[List[List[str]], Dict[str, int]]:
        """Strongly connected components reachable from the roots (iterative Tarjan), callees first."""
        index: Dict[str, int] = {}
        low: Dict[str, int] = {}
        on_stack: Set[str] = set()
        stack: List[str] = []
        components: List[List[str]] = []
        component_of: Dict[str, int] = {}
        for root in roots:
            if root in index:
                continue
            work = [(root, iter(sorted(self.functions[root].calls)))]
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            while work:
                node, callees = work[-1]
                advanced = False
                for callee in callees:
                    if callee not in index:
                        index[callee] = low[callee] = len(index)
                        stack.append(callee)
                        on_stack.add(callee)
                        work.append((callee, iter(sorted(self.functions[callee].calls))))
                        advanced = True
                        break
                    if callee in on_stack:
                        low[node] = min(low[node], index[callee])
                if advanced:
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members: List[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component_of[member] = len(components)
                        members.append(member)
                        if member == node:
                            break
                    components.append(sorted(members))
        return components, component_of

    def _chain(self, entry: str, target: str) -> str:
        """The shortest chain of calls from the entry to the target."""
        parent: Dict[str, Optional[str]] = {entry: None}
        queue = deque([entry])
        while queue:
            node = queue.popleft()
            if node == target:
                break
            for callee in sorted(self.functions[node].calls):
                if callee not in parent:
                    parent[callee] = node
                    queue.append(callee)
        chain: List[str] = []
        at: Optional[str] = target
        while at is not None:
            chain.append(at)
            at = parent.get(at)
        return " -> ".join(reversed(chain))

    def bound(self, entries: Sequence[EntryPoint], core: str) -> StackReport:
        errors: List[str] = []
        present = [e for e in entries if e.function in self.functions]
        for entry in entries:
            if entry.function not in self.functions:
                errors.append(f"entry point {entry.function}: no such function in the image")
        components, component_of = self._components(e.function for e in present)
        cost: Dict[int, int] = {}
        depth: Dict[int, int] = {}
        best_next: Dict[int, Optional[int]] = {}
        repeat: Dict[int, int] = {}
        blamed: Set[str] = set()

        def blame(function: str, message: str) -> None:
            if function in blamed:
                return
            blamed.add(function)
            entry = next(e.function for e in present if function in self._reachable(e.function))
            errors.append(f"{function}: {message} (reached by {self._chain(entry, function)})")

        for number, members in enumerate(components):  # callees come first
            recursive = len(members) > 1 or members[0] in self.functions[members[0]].calls
            times = 1
            if recursive:
                declared = [self.annotations.recursion[m] for m in members if m in self.annotations.recursion]
                if declared:
                    times = max(declared)
                else:
                    blame(members[0], f"recursion ({' -> '.join(members + [members[0]])}) without a declared depth; "
                                      "declare how deep it goes (stack.recursion)")
            for member in members:
                function = self.functions[member]
                if function.unknown:
                    blame(member, f"its frame is unknown: {function.unknown}; state it (stack.frames)")
                if function.dynamic:
                    blame(member, "allocates a frame whose size is only known at run time (alloca or a variable-length "
                                  "array); bound it in the code or state its frame (stack.frames)")
                if function.indirect and not function.indirect_via:
                    blame(member, "calls through a pointer that cannot be resolved; list the targets (stack.calls)")
            repeat[number] = times
            cost[number] = times * sum(self.functions[m].frame for m in members)
            successors = {component_of[c] for m in members for c in self.functions[m].calls} - {number}
            best = max(successors, key=lambda s: (depth[s], -s), default=None)
            best_next[number] = best
            depth[number] = cost[number] + (depth[best] if best is not None else 0)

        results: List[EntryResult] = []
        for entry in present:
            path: List[Step] = []
            at: Optional[int] = component_of[entry.function]
            while at is not None:
                members = components[at]
                ordered = [entry.function] if entry.function in members else []
                ordered += [m for m in members if m not in ordered]
                path += [Step(m, self.functions[m].frame, repeat[at]) for m in ordered]
                at = best_next[at]
            results.append(EntryResult(entry, depth[component_of[entry.function]], path))

        frame = EXCEPTION_FRAME[core]
        resets = [r.depth for r in results if r.entry.kind == "reset"]
        levels: Dict[int, int] = {}
        for result in results:
            if result.entry.kind == "interrupt":
                levels[result.entry.priority] = max(levels.get(result.entry.priority, 0), result.depth)
        main = max(resets, default=0) + sum(frame + deepest for deepest in levels.values())
        threads = {r.entry.function: r.depth + frame for r in results if r.entry.kind == "thread"}
        return StackReport(core, frame, results, main, threads, errors)

    def _reachable(self, entry: str) -> Set[str]:
        seen = {entry}
        queue = deque([entry])
        while queue:
            for callee in self.functions[queue.popleft()].calls:
                if callee not in seen:
                    seen.add(callee)
                    queue.append(callee)
        return seen
