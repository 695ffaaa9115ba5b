"""Reads the call-graph files GCC writes with `-fcallgraph-info=su` (one `.ci` per object file).

Each is a VCG graph: a node per function the object file defines, labelled with its source
location and its frame ("N bytes (static)", "(dynamic)" or "(dynamic,bounded)", from
-fstack-usage), a node per function it only calls, and an edge per call site, to the callee or to
`__indirect_call`. The files are input like any other: a line this reader does not understand is
an error naming the file and line, and a file is read up to a size no call graph reaches.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from memplan.input_file import NotARegularFile, TooLarge, read_bounded

INDIRECT = "__indirect_call"
MAX_FILE_BYTES = 64 << 20

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_NODE = re.compile(rf"^node: \{{ title: {_QUOTED} label: {_QUOTED}(?: shape : \w+)? \}}$")
_EDGE = re.compile(rf"^edge: \{{ sourcename: {_QUOTED} targetname: {_QUOTED}(?: label: {_QUOTED})? \}}$")
_FRAME = re.compile(r"^(\d+) bytes \((static|dynamic|dynamic,bounded)\)$")


class CallGraphError(Exception):
    """A call-graph file that cannot be read: the message names the file and line."""


@dataclass
class Defined:
    """A function an object file defines."""

    name: str  # the assembler (mangled) name, as the image's symbol table has it
    file: str  # the .ci file
    location: str  # source file:line:column
    frame: int
    qualifier: str  # static, dynamic or dynamic,bounded
    calls: List[str] = field(default_factory=list)  # callee names, INDIRECT for a call through a pointer
    call_sites: List[str] = field(default_factory=list)  # the source location of each call


def _name(title: str) -> str:
    # GCC writes some titles as "<source>:<symbol>" (inline and template functions); symbols hold no ':'.
    return title.rsplit(":", 1)[-1]


def read_file(path: str) -> List[Defined]:
    """The functions one .ci file defines, with their calls."""
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8", "replace")
    except NotARegularFile:
        raise CallGraphError(f"{path}: not a regular file") from None
    except TooLarge:
        raise CallGraphError(f"{path}: more than {MAX_FILE_BYTES >> 20} MiB: not a call-graph file") from None
    defined: Dict[str, Defined] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line in ("}", "") or (number == 1 and line.startswith("graph: { title:")):
            continue
        node, edge = _NODE.match(line), _EDGE.match(line)
        if node is not None:
            parts = node.group(2).split("\\n")
            frame = _FRAME.match(parts[-1]) if len(parts) >= 3 else None
            if frame is not None:  # a definition; a node without a frame is a callee defined elsewhere
                name = _name(node.group(1))
                defined[name] = Defined(name, path, parts[1], int(frame.group(1)), frame.group(2))
        elif edge is not None:
            caller = defined.get(_name(edge.group(1)))
            if caller is None:
                raise CallGraphError(f"{path}:{number}: an edge from {edge.group(1)[:80]!r}, which this file does not define")
            caller.calls.append(_name(edge.group(2)))
            caller.call_sites.append(edge.group(3) or "")  # a call the compiler made (memset for an array) has no location
        else:
            raise CallGraphError(f"{path}:{number}: not a line of GCC's call-graph format: {line[:80]!r}")
    return list(defined.values())


def find_files(directories: Iterable[str]) -> List[str]:
    """Every .ci file under the directories, in a stable order."""
    found: List[str] = []
    for directory in directories:
        if not os.path.isdir(directory):
            raise CallGraphError(f"{directory}: not a directory")
        for root, folders, files in os.walk(directory):
            folders.sort()
            found += [os.path.join(root, name) for name in sorted(files) if name.endswith(".ci")]
    return found


def resolve(paths: Iterable[str]) -> List[str]:
    """The .ci files that paths name: a .ci file, a folder (every .ci under it), or an object file
    (the .ci GCC wrote beside it: `x.cpp.obj` -> `x.cpp.ci`; none for assembly, whose code the
    analysis reads from the image). A path that names nothing is an error: a mistyped folder would
    otherwise leave its code to the image analysis unnoticed."""
    found: List[str] = []
    for path in paths:
        if os.path.isdir(path):
            found += find_files([path])
        elif path.endswith(".ci"):
            found.append(path)  # reading it names it if it cannot be read
        elif not os.path.exists(path):
            raise CallGraphError(f"{path}: no such object file or folder")
        else:
            beside = os.path.splitext(path)[0] + ".ci"
            if os.path.isfile(beside):
                found.append(beside)
    return found


def read_all(paths: Iterable[str]) -> Dict[str, List[Defined]]:
    """Name -> every definition of it (static functions of one name in several files are several)."""
    by_name: Dict[str, List[Defined]] = {}
    for path in paths:
        for function in read_file(path):
            by_name.setdefault(function.name, []).append(function)
    return by_name


def definition_for(by_name: Dict[str, List[Defined]], name: str, caller_file: Optional[str]) -> List[Defined]:
    """The definitions a call to `name` from `caller_file` can reach: the caller's own file's, if it
    defines one (a static function), else all of them."""
    candidates = by_name.get(name, [])
    local = [d for d in candidates if d.file == caller_file]
    return local or candidates
