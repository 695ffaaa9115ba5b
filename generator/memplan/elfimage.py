"""Reads a linked ELF image for `memplan check-elf`: its sections and symbols.

The image is untrusted input. Before pyelftools parses anything, the ELF
header and the section header table are checked against the file itself:
known class and byte order, standard entry sizes, every table and every
section's bytes inside the file, symbol tables linked to string tables. So
every loop that follows is bounded by the file's size (a header claiming
four billion sections of size zero cannot spin), and every malformed file
becomes an ImageError that says what is wrong, never a traceback or a hang.
pyelftools then reads the symbol tables only (not every section type, whose
links it would follow).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from memplan.escape import escape_unprintable
from memplan.input_file import NotARegularFile, TooLarge, read_bounded

MAX_IMAGE_BYTES = 1 << 30  # debug builds of firmware reach tens of MiB; refuse what no image is

SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 0, 2, 3, 8
SHF_WRITE, SHF_ALLOC, SHF_TLS = 0x1, 0x2, 0x400
SHN_LORESERVE, SHN_XINDEX = 0xFF00, 0xFFFF

# Machines check-elf knows the ABI of: the Cortex-M cores and the x86-64 host.
EM_ARM, EM_X86_64 = 40, 62
MACHINES = {EM_ARM: "ARM", EM_X86_64: "x86-64"}


class ImageError(Exception):
    """The file is not an ELF image check-elf can read; the message says why."""


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    address: int
    size: int
    offset: int = 0  # in the file (validated to lie inside it, unless NOBITS)

    @property
    def allocated(self) -> bool:
        """Takes memory in the running image (code, data, bss, NOLOAD storage)."""
        return bool(self.flags & SHF_ALLOC)


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    size: int
    section: str  # the section's name; "*ABS*", "*UND*", "*COM*", or "" for other special indices
    section_index: int  # -1 for the special indices
    is_function: bool = False  # STT_FUNC


@dataclass(frozen=True)
class Image:
    path: str
    machine: int
    elf_class: int  # 32 or 64
    sections: Tuple[Section, ...]
    symbols: Dict[str, Symbol]  # the first definition of each name (symtab before dynsym)
    functions: Tuple[Symbol, ...] = ()  # every defined function symbol, local ones of the same name included
    data: bytes = field(default=b"", repr=False)

    def section_bytes(self, index: int) -> bytes:
        """The file bytes of a (validated) section; empty for NOBITS."""
        section = self.sections[index]
        return b"" if section.type == SHT_NOBITS else self.data[section.offset:section.offset + section.size]

    @property
    def arm(self) -> bool:
        return self.machine == EM_ARM

    def section(self, name: str) -> "Section | None":
        return next((s for s in self.sections if s.name == name), None)


@dataclass(frozen=True)
class _Layout:
    """Field offsets of one ELF class, little or big endian."""

    elf_class: int
    header: struct.Struct  # e_type .. e_shstrndx, after the 16 bytes of e_ident
    section: struct.Struct  # sh_name .. sh_entsize
    symbol_size: int


def _layout(elf_class: int, endian: str) -> _Layout:
    if elf_class == 32:
        return _Layout(32, struct.Struct(endian + "HHIIIIIHHHHHH"), struct.Struct(endian + "IIIIIIIIII"), 16)
    return _Layout(64, struct.Struct(endian + "HHIQQQIHHHHHH"), struct.Struct(endian + "IIQQQQIIQQ"), 24)


def printable(raw: "bytes | str") -> str:
    """A name from the image as text that cannot break a report line or table: UTF-8 (invalid bytes
    as escapes), with control and format characters and `|` written as escapes."""
    return escape_unprintable(raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw, also="|")


def read_image(path: str) -> Image:
    """Raises OSError when the file cannot be read, ImageError when it is not a readable ELF image."""
    try:
        data = read_bounded(path, MAX_IMAGE_BYTES)
    except NotARegularFile:
        raise ImageError("not a regular file") from None
    except TooLarge as exc:
        size = f"{exc.size} bytes, more" if exc.size is not None else "more"  # None: it grew while read
        raise ImageError(f"{size} than the {MAX_IMAGE_BYTES >> 20} MiB an image may have") from None
    return parse_image(path, data)


def parse_image(path: str, data: bytes) -> Image:
    """The image in `data`; raises ImageError naming the first structural fault."""
    layout, machine, headers = _validate(data)
    symbols, functions = _symbols(data, headers)
    return Image(path, machine, layout.elf_class, tuple(headers), symbols, tuple(functions), data)


def _validate(data: bytes) -> Tuple[_Layout, int, List[Section]]:
    if data[:4] != b"\x7fELF"[:len(data)] or len(data) == 0:
        raise ImageError("no ELF magic number (\\x7fELF) at the start of the file")
    if len(data) < 16:
        raise ImageError(f"truncated: {len(data)} bytes, shorter than the ELF identification (16 bytes)")
    elf_class = {1: 32, 2: 64}.get(data[4])
    endian = {1: "<", 2: ">"}.get(data[5])
    if elf_class is None:
        raise ImageError(f"unknown ELF class {data[4]} (e_ident[EI_CLASS] must be 1 or 2)")
    if endian is None:
        raise ImageError(f"unknown byte order {data[5]} (e_ident[EI_DATA] must be 1 or 2)")
    if data[6] != 1:
        raise ImageError(f"unknown ELF version {data[6]} (e_ident[EI_VERSION] must be 1)")
    layout = _layout(elf_class, endian)
    if len(data) < 16 + layout.header.size:
        raise ImageError(f"truncated: {len(data)} bytes, shorter than an ELF{elf_class} header")
    (_, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = layout.header.unpack_from(data, 16)
    if machine not in MACHINES:
        raise ImageError(f"machine {machine} is neither ARM (Cortex-M) nor x86-64 (host)")
    if machine == EM_ARM and (elf_class, endian) != (32, "<"):
        raise ImageError("an ARM image must be 32-bit little-endian (Cortex-M)")
    if machine == EM_X86_64 and (elf_class, endian) != (64, "<"):
        raise ImageError("an x86-64 image must be 64-bit little-endian")
    if shoff == 0:
        raise ImageError("no section header table (a stripped or raw image has no symbols to check)")
    if shentsize != layout.section.size:
        raise ImageError(f"section header entry size {shentsize}, an ELF{elf_class} section header has {layout.section.size}")

    def header_at(index: int) -> Tuple[int, ...]:
        offset = shoff + index * shentsize
        if offset + shentsize > len(data):
            raise ImageError(f"section header {index} at offset {offset} lies past the end of the file ({len(data)} bytes)")
        return layout.section.unpack_from(data, offset)

    if shnum == 0 or shstrndx == SHN_XINDEX:  # extended numbering: the real values are in section 0
        first = header_at(0)
        shnum = shnum or first[5]
        shstrndx = first[6] if shstrndx == SHN_XINDEX else shstrndx
    if shnum == 0:
        raise ImageError("the section header table is empty")
    if shoff + shnum * shentsize > len(data):
        raise ImageError(f"the section header table ({shnum} headers at offset {shoff}) runs past the end of the file ({len(data)} bytes)")
    raw = [header_at(index) for index in range(shnum)]
    if not 0 < shstrndx < shnum or raw[shstrndx][1] != SHT_STRTAB:
        raise ImageError(f"the section name table index {shstrndx} does not name a string table")

    for index, (_, kind, _, _, offset, size, link, _, _, entsize) in enumerate(raw):
        if kind not in (SHT_NULL, SHT_NOBITS) and offset + size > len(data):
            raise ImageError(f"section {index}: its {size} bytes at offset {offset} run past the end of the file ({len(data)} bytes)")
        if kind == SHT_SYMTAB:
            if entsize != layout.symbol_size or size % entsize:
                raise ImageError(f"section {index}: symbol table entry size {entsize} (size {size}), an ELF{elf_class} symbol has {layout.symbol_size}")
            if not 0 < link < shnum or link == index or raw[link][1] != SHT_STRTAB:
                raise ImageError(f"section {index}: symbol table linked to section {link}, which is not a string table")
    names = raw[shstrndx]
    name_table = data[names[4]:names[4] + names[5]]

    def name_of(offset: int) -> str:
        end = name_table.find(b"\0", offset)
        if offset >= len(name_table) or end < 0:
            raise ImageError(f"a section name at offset {offset} lies outside the section name table ({len(name_table)} bytes)")
        return printable(name_table[offset:end])

    sections = [Section(index, name_of(h[0]), h[1], h[2], h[3], h[5], h[4]) for index, h in enumerate(raw)]
    return layout, machine, sections


def _symbols(data: bytes, sections: List[Section]) -> Tuple[Dict[str, Symbol], List[Symbol]]:
    """Every named symbol of the (validated) symbol tables, read by pyelftools: the first of each
    name, and every defined function (local functions of one name are several)."""
    special = {"SHN_ABS": "*ABS*", "SHN_UNDEF": "*UND*", "SHN_COMMON": "*COM*"}
    symbols: Dict[str, Symbol] = {}
    functions: List[Symbol] = []
    try:
        elf = ELFFile(io.BytesIO(data))
        for section in sections:
            if section.type != SHT_SYMTAB:
                continue
            table = elf.get_section(section.index)
            if not isinstance(table, SymbolTableSection):  # pragma: no cover - validated above
                raise ImageError(f"section {section.index} is not a symbol table")
            names_size = sections[table["sh_link"]].size
            for number, sym in enumerate(table.iter_symbols()):
                if sym["st_name"] >= max(names_size, 1):
                    raise ImageError(f"section {section.index}: symbol {number} has its name at offset {sym['st_name']}, "
                                     f"outside its string table ({names_size} bytes)")
                name = printable(sym.name)  # pyelftools decodes names as UTF-8, invalid bytes as U+FFFD
                if not name:
                    continue
                shndx = sym["st_shndx"]
                if isinstance(shndx, int) and not 0 < shndx < len(sections):
                    raise ImageError(f"symbol {name[:80]} names section {shndx}, and the image has {len(sections)}")
                is_function = sym["st_info"]["type"] == "STT_FUNC"
                if isinstance(shndx, int):
                    symbol = Symbol(name, sym["st_value"], sym["st_size"], sections[shndx].name, shndx, is_function)
                    if is_function:
                        functions.append(symbol)
                else:
                    symbol = Symbol(name, sym["st_value"], sym["st_size"], special.get(shndx, ""), -1, is_function)
                symbols.setdefault(name, symbol)
    except ImageError:
        raise
    except Exception as exc:  # anything pyelftools meets in bytes the structure checks cannot see
        raise ImageError(f"malformed symbol table ({type(exc).__name__}: {exc})") from None
    return symbols, functions
