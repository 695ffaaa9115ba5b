"""Reads the memory map GNU ld writes (`-Wl,-Map=FILE`): which input file gave each input section.

The image says how many bytes each output section takes; only the map says
whose they are (`libmemplan_mbedcrypto.a(gcm.c.obj)` put 8 B in `.data`). The
map is untrusted input like the image: its size is capped, every line is read
once with patterns that cannot backtrack, numbers are bounded, and a map that
does not describe the image (another link, an edited file) is refused by the
caller's cross-check of output section addresses and sizes, never believed.

The part of the map read is "Linker script and memory map": an output section
starts in column 0 (`.bss  0x20000628  0x8b0`), its input sections are
indented by one space (` .bss.x  0x20000628  0x14  main.cpp.obj`); a name too
long for its column stands alone, its address and size on the next line.
Fill (`*fill*`), assignments (`. = ALIGN (0x8)`), symbols and the patterns of
the script (` *(.bss*)`) carry no file: what they cover the caller attributes
to the linker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from memplan.elfimage import printable
from memplan.input_file import NotARegularFile, TooLarge, read_bounded

MAX_MAP_BYTES = 512 << 20  # maps of large firmware with debug sections reach tens of MiB
MAX_HEX_DIGITS = 16  # a 64-bit address

MEMORY_MAP_HEADING = "Linker script and memory map"

# One token, then two hex numbers, then the input file (or nothing, for *fill*).
_OUTPUT_HEADER = re.compile(r"([^\s]+)(?:[ \t]+0x([0-9a-fA-F]+)[ \t]+0x([0-9a-fA-F]+)\b.*)?")
_INPUT_LINE = re.compile(r" ([^\s]+)(?:[ \t]+0x([0-9a-fA-F]+)[ \t]+0x([0-9a-fA-F]+)(?:[ \t]+(\S.*?))?)?[ \t]*")
_CONTINUATION = re.compile(r"[ \t]+0x([0-9a-fA-F]+)[ \t]+0x([0-9a-fA-F]+)(?:[ \t]+(\S.*?))?[ \t]*")


class MapError(Exception):
    """The file is not a GNU ld memory map memplan can read; the message says why."""


@dataclass(frozen=True)
class InputSection:
    name: str  # `.bss.foo`, `COMMON`, or `*fill*`
    address: int
    size: int
    file: str  # as the map names it: an object, `archive.a(member.o)`; empty for fill


@dataclass
class OutputSection:
    name: str
    address: int
    size: int
    inputs: List[InputSection] = field(default_factory=list)


@dataclass
class LinkerMap:
    path: str
    sections: List[OutputSection]

    def find(self, name: str, address: int) -> Optional[OutputSection]:
        """The map's output section of this name at this address (a name may recur in a map)."""
        return next((s for s in self.sections if s.name == name and s.address == address), None)

    def named(self, name: str) -> List[OutputSection]:
        return [s for s in self.sections if s.name == name]


def _number(text: str, path: str, line_number: int) -> int:
    if len(text) > MAX_HEX_DIGITS:
        raise MapError(f"{path}:{line_number}: a number of {len(text)} hex digits (an address has at most {MAX_HEX_DIGITS})")
    return int(text, 16)


def read_map(path: str) -> LinkerMap:
    """Raises OSError when the file cannot be read, MapError when it is not a readable map."""
    try:
        data = read_bounded(path, MAX_MAP_BYTES)
    except NotARegularFile:
        raise MapError(f"{path}: not a regular file") from None
    except TooLarge:
        raise MapError(f"{path}: larger than {MAX_MAP_BYTES >> 20} MiB, which no linker map is") from None
    if b"\0" in data:
        raise MapError(f"{path}: binary data (a NUL byte), not a linker map")
    return parse_map(path, data.decode("utf-8", "surrogateescape"))


def parse_map(path: str, text: str) -> LinkerMap:
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == MEMORY_MAP_HEADING)
    except StopIteration:
        raise MapError(f"{path}: no '{MEMORY_MAP_HEADING}' heading: not a map GNU ld wrote (-Wl,-Map=FILE)") from None
    sections: List[OutputSection] = []
    current: Optional[OutputSection] = None
    pending: Optional[Tuple[str, bool]] = None  # a name alone on its line: (name, is it an output section)
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if pending is not None:
            name, is_output = pending
            pending = None
            follow = _CONTINUATION.fullmatch(line)
            if follow is not None:
                address, size = _number(follow.group(1), path, number), _number(follow.group(2), path, number)
                if is_output:
                    current = OutputSection(name, address, size)
                    sections.append(current)
                elif current is not None:
                    current.inputs.append(InputSection(name, address, size, _input_file(name, follow.group(3))))
                continue
            if is_output:
                current = None  # an output section without address (e.g. /DISCARD/): its inputs are not placed
        if not line.strip():
            continue
        if not line[0].isspace():
            header = _OUTPUT_HEADER.match(line)
            if header is None:  # pragma: no cover - the pattern matches any non-space start
                continue
            name = header.group(1)
            if name in ("LOAD", "OUTPUT", "START", "END", "INPUT", "GROUP", "TARGET") or "(" in name:
                current = None
                continue
            if header.group(2) is None:
                pending = (name, True)
                continue
            current = OutputSection(name, _number(header.group(2), path, number), _number(header.group(3), path, number))
            sections.append(current)
            continue
        entry = _INPUT_LINE.fullmatch(line)
        if entry is None or current is None or "(" in entry.group(1):
            continue  # a symbol or an assignment (deeper indented), a pattern of the script (` *(.bss*)`)
        name = entry.group(1)
        if entry.group(2) is None:
            pending = (name, False)
            continue
        current.inputs.append(InputSection(name, _number(entry.group(2), path, number), _number(entry.group(3), path, number),
                                           _input_file(name, entry.group(4))))
    if not sections:
        raise MapError(f"{path}: the memory map lists no output sections")
    return LinkerMap(path, sections)


def _input_file(section: str, raw: Optional[str]) -> str:
    """The input file as a report names it: printable; an archive member as `libx.a(member.o)`, an
    absolute path shortened to its file (the toolchain's location is not what a reviewer compares).
    Fill has none (what follows `*fill*` is the fill pattern)."""
    if section == "*fill*" or not raw:
        return ""
    text = printable(raw.strip())
    if text.endswith(")") and "(" in text:
        archive, member = text[:-1].split("(", 1)
        return f"{archive.rsplit('/', 1)[-1]}({member})"
    return text.rsplit("/", 1)[-1] if text.startswith("/") else text
