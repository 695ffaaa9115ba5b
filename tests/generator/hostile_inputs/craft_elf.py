"""Writes the crafted ELF files of the hostile-input corpus: elf/*.elf and elf/EXPECT.

Each case starts from a minimal well-formed image (an ELF header, a section
name table, a string table, a symbol table and a .bss; ARM by default) and
changes what the case names: a header field, a section field, a symbol
field, a byte, or the length. Most must be refused as unreadable (exit 2,
naming the fault); a few are readable but are not the product (exit 1).
EXPECT lists `file exit-code where word...` for test_hostile_inputs.py.

    /usr/bin/python3 tests/generator/hostile_inputs/craft_elf.py   # rewrite the files

test_hostile_inputs.py checks that the committed files are exactly what this
script writes, so the script is their source and the files reproduce a case
by hand (`memplan check-elf elf/shentsize_zero.elf --profile profile.yaml`).
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
EM_ARM, EM_X86_64, EM_RISCV = 40, 62, 243
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 0, 1, 2, 3, 8
SHN_XINDEX = 0xFFFF

HEADER_FIELDS = ("e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags", "e_ehsize", "e_phentsize",
                 "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx")
SECTION_FIELDS = ("sh_name", "sh_type", "sh_flags", "sh_addr", "sh_offset", "sh_size", "sh_link", "sh_info", "sh_addralign",
                  "sh_entsize")
SYMBOL_FIELDS = {32: ("st_name", "st_value", "st_size", "st_info", "st_other", "st_shndx"),
                 64: ("st_name", "st_info", "st_other", "st_shndx", "st_value", "st_size")}
FORMATS = {32: ("HHIIIIIHHHHHH", "IIIIIIIIII", "IIIBBH"), 64: ("HHIQQQIHHHHHH", "IIQQQQIIQQ", "IBBHQQ")}


@dataclass
class Case:
    name: str
    code: int  # the exit code check-elf must return
    word: str  # a part of the message it must print
    elf_class: int = 32
    endian: str = "<"
    machine: int = EM_ARM
    header: Dict[str, int] = field(default_factory=dict)
    sections: Dict[int, Dict[str, int]] = field(default_factory=dict)  # section index -> field overrides
    symbols: Dict[int, Dict[str, int]] = field(default_factory=dict)  # symbol index -> field overrides
    extra_sections: List[Tuple[str, Dict[str, int]]] = field(default_factory=list)  # (name, fields) appended
    ident: Dict[int, int] = field(default_factory=dict)  # e_ident byte overrides
    section_names: Optional[bytes] = None  # the whole .shstrtab, replacing the built one
    truncate: Optional[int] = None  # keep only this many bytes (negative: drop this many from the end)
    raw: Optional[bytes] = None  # the whole file


def build(case: Case) -> bytes:
    if case.raw is not None:
        return case.raw
    bits, endian = case.elf_class, case.endian
    header_format, section_format, symbol_format = (struct.Struct(endian + f) for f in FORMATS[bits])
    names = [".shstrtab", ".strtab", ".symtab", ".bss"] + [name for name, _ in case.extra_sections]
    shstrtab = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    name_offsets = [0] + [shstrtab.index(b"\0" + n.encode() + b"\0") + 1 for n in names]
    if case.section_names is not None:
        shstrtab = case.section_names
    symbol_names = ["buffer", "counter"]
    strtab = b"\0" + b"".join(n.encode() + b"\0" for n in symbol_names)
    symbols = [dict(st_name=0, st_value=0, st_size=0, st_info=0, st_other=0, st_shndx=0),
               dict(st_name=1, st_value=0x20000000, st_size=0x100, st_info=0x11, st_other=0, st_shndx=4),
               dict(st_name=8, st_value=0x20000100, st_size=4, st_info=0x11, st_other=0, st_shndx=4)]
    for index, overrides in case.symbols.items():
        symbols[index].update(overrides)
    symtab = b"".join(symbol_format.pack(*(s[f] for f in SYMBOL_FIELDS[bits])) for s in symbols)

    header_size = 16 + header_format.size
    body = bytearray(header_size)
    offsets = []
    for blob in (shstrtab, strtab, symtab):
        while len(body) % 8:
            body.append(0)
        offsets.append(len(body))
        body += blob
    while len(body) % 8:
        body.append(0)
    shoff = len(body)
    sections = [
        dict.fromkeys(SECTION_FIELDS, 0),
        dict(sh_name=name_offsets[1], sh_type=SHT_STRTAB, sh_flags=0, sh_addr=0, sh_offset=offsets[0], sh_size=len(shstrtab),
             sh_link=0, sh_info=0, sh_addralign=1, sh_entsize=0),
        dict(sh_name=name_offsets[2], sh_type=SHT_STRTAB, sh_flags=0, sh_addr=0, sh_offset=offsets[1], sh_size=len(strtab),
             sh_link=0, sh_info=0, sh_addralign=1, sh_entsize=0),
        dict(sh_name=name_offsets[3], sh_type=SHT_SYMTAB, sh_flags=0, sh_addr=0, sh_offset=offsets[2], sh_size=len(symtab),
             sh_link=2, sh_info=1, sh_addralign=4, sh_entsize=symbol_format.size),
        dict(sh_name=name_offsets[4], sh_type=SHT_NOBITS, sh_flags=3, sh_addr=0x20000000, sh_offset=offsets[2], sh_size=0x400,
             sh_link=0, sh_info=0, sh_addralign=8, sh_entsize=0),
    ]
    for number, (_, fields) in enumerate(case.extra_sections):
        section = dict.fromkeys(SECTION_FIELDS, 0)
        section.update(sh_name=name_offsets[5 + number], sh_type=SHT_PROGBITS)
        section.update(fields)
        sections.append(section)
    for index, overrides in case.sections.items():
        sections[index].update(overrides)
    for section in sections:
        body += section_format.pack(*(section[f] for f in SECTION_FIELDS))

    header = dict(e_type=2, e_machine=case.machine, e_version=1, e_entry=0, e_phoff=0, e_shoff=shoff, e_flags=0,
                  e_ehsize=header_size, e_phentsize=0, e_phnum=0, e_shentsize=section_format.size, e_shnum=len(sections),
                  e_shstrndx=1)
    header.update(case.header)
    ident = bytearray(b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if endian == "<" else 2, 1]) + bytes(9))
    for index, value in case.ident.items():
        ident[index] = value
    body[0:16] = ident
    body[16:header_size] = header_format.pack(*(header[f] for f in HEADER_FIELDS))
    data = bytes(body)
    return data[:case.truncate] if case.truncate is not None else data


def _ninety_two_bytes() -> bytes:
    """An ELF32 header and one section header: entry size 0, the section count in section 0 (extended
    numbering) four billion. A reader that trusts the count reads the same header four billion times."""
    header = struct.pack("<HHIIIIIHHHHHH", 2, EM_ARM, 1, 0, 0, 52, 0, 52, 0, 0, 0, 0, 0)
    section = struct.pack("<IIIIIIIIII", 0, 0, 0, 0, 0, 0xFFFFFFFF, 0, 0, 0, 0)
    return b"\x7fELF\x01\x01\x01" + bytes(9) + header + section


X86 = dict(elf_class=64, machine=EM_X86_64)
UNREADABLE = "not an ELF image check-elf can read"
CASES = [
    Case("empty", 2, "no ELF magic number", raw=b""),
    Case("text", 2, "no ELF magic number", raw=b"int main() { return 0; }\n"),
    Case("script", 2, "no ELF magic number", raw=b"#!/bin/sh\nexec true\n"),
    Case("magic_only", 2, "truncated: 4 bytes", raw=b"\x7fELF"),
    Case("identification_only", 2, "shorter than an ELF32 header", truncate=16),
    Case("header_cut", 2, "shorter than an ELF32 header", truncate=40),
    Case("class_zero", 2, "unknown ELF class 0", ident={4: 0}),
    Case("class_three", 2, "unknown ELF class 3", ident={4: 3}),
    Case("byte_order_zero", 2, "unknown byte order 0", ident={5: 0}),
    Case("version_two", 2, "unknown ELF version 2", ident={6: 2}),
    Case("risc_v", 2, "machine 243 is neither ARM", machine=EM_RISCV),
    Case("arm_big_endian", 2, "must be 32-bit little-endian", endian=">"),
    Case("arm_64_bit", 2, "must be 32-bit little-endian", elf_class=64),
    Case("x86_64_as_elf32", 2, "must be 64-bit little-endian", machine=EM_X86_64),
    Case("no_section_table", 2, "no section header table", header={"e_shoff": 0}),
    # The 92-byte image of the issue: header + one section header, entry size 0, count in section 0 (4 billion).
    Case("ninety_two_bytes", 2, "section header entry size 0", raw=_ninety_two_bytes()),
    Case("shentsize_zero", 2, "section header entry size 0", header={"e_shentsize": 0, "e_shnum": 0},
         sections={0: {"sh_size": 0xFFFFFFFF}}),
    Case("shentsize_one", 2, "section header entry size 1", header={"e_shentsize": 1}),
    Case("shentsize_of_elf64", 2, "section header entry size 64", header={"e_shentsize": 64}),
    Case("extended_count_absurd", 2, "runs past the end of the file", header={"e_shnum": 0}, sections={0: {"sh_size": 0xFFFFFFFF}}),
    Case("extended_count_zero", 2, "the section header table is empty", header={"e_shnum": 0}),
    Case("shnum_max", 2, "runs past the end of the file", header={"e_shnum": 0xFFFF}),
    Case("shoff_past_the_end", 2, "past the end of the file", header={"e_shoff": 0x10000}),
    Case("shoff_max", 2, "past the end of the file", header={"e_shoff": 0xFFFFFFFF}),
    Case("section_table_cut", 2, "runs past the end of the file", truncate=-20),
    Case("shstrndx_zero", 2, "section name table index 0", header={"e_shstrndx": 0}),
    Case("shstrndx_out_of_range", 2, "section name table index 200", header={"e_shstrndx": 200}),
    Case("shstrndx_is_the_symbol_table", 2, "section name table index 3 does not name a string table", header={"e_shstrndx": 3}),
    Case("shstrndx_extended_out_of_range", 2, "section name table index 4096", header={"e_shstrndx": SHN_XINDEX},
         sections={0: {"sh_link": 4096}}),
    Case("section_past_the_end", 2, "run past the end of the file", sections={2: {"sh_offset": 0x7FFFFFF0}}),
    Case("section_size_max", 2, "run past the end of the file", sections={2: {"sh_size": 0xFFFFFFFF}}),
    Case("name_table_size_max", 2, "run past the end of the file", sections={1: {"sh_size": 0xFFFFFFFF}}),
    Case("symbol_entry_size_zero", 2, "symbol table entry size 0", sections={3: {"sh_entsize": 0}}),
    Case("symbol_entry_size_one", 2, "symbol table entry size 1", sections={3: {"sh_entsize": 1}}),
    Case("symbol_table_ragged", 2, "symbol table entry size 16 (size 47)", sections={3: {"sh_size": 47}}),
    Case("symbol_table_linked_to_itself", 2, "linked to section 3, which is not a string table", sections={3: {"sh_link": 3}}),
    Case("symbol_table_linked_to_null", 2, "linked to section 0, which is not a string table", sections={3: {"sh_link": 0}}),
    Case("symbol_table_linked_out_of_range", 2, "linked to section 999", sections={3: {"sh_link": 999}}),
    Case("symbol_table_linked_to_bss", 2, "linked to section 4, which is not a string table", sections={3: {"sh_link": 4}}),
    Case("symbol_tables_in_a_ring", 2, "which is not a string table", sections={3: {"sh_link": 5}},
         extra_sections=[(".symtab2", {"sh_type": SHT_SYMTAB, "sh_link": 3, "sh_entsize": 16})]),
    Case("section_name_out_of_range", 2, "a section name at offset 4000", sections={4: {"sh_name": 4000}}),
    Case("section_names_unterminated", 2, "outside the section name table", section_names=b"\0.shstrtab\0.strtab\0.symtab\0.bss"),
    Case("symbol_in_section_500", 2, "symbol buffer names section 500", symbols={1: {"st_shndx": 500}}),
    Case("symbol_name_out_of_range", 2, "has its name at offset 70000", symbols={2: {"st_name": 70000}}),
    Case("x86_64_symbol_table_ragged", 2, "symbol table entry size 24 (size 71)", sections={3: {"sh_size": 71}}, **X86),
    # Readable, but not the product: every planned object is missing; the ARM one also lacks the fragment.
    Case("arm_without_memplan", 1, "missing from the image"),
    Case("x86_64_without_memplan", 1, "missing from the image", **X86),
    Case("section_name_with_escape_codes", 1, "missing from the image",
         section_names=b"\0.shstrtab\0.strtab\0.symtab\0.b\x1b[2J|\xffss\n\0"),
]


def write(directory: Path) -> List[Path]:
    """Writes every case and EXPECT into `directory`; returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    expect = []
    for case in CASES:
        data = build(case)
        path = directory / f"{case.name}.elf"
        path.write_bytes(data)
        written.append(path)
        expect.append(f"{path.name} {case.code} - {case.word}")
    (directory / "EXPECT").write_text("\n".join(expect) + "\n", encoding="utf-8")
    return [*written, directory / "EXPECT"]


if __name__ == "__main__":
    for written_path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "elf"):
        print(written_path)
