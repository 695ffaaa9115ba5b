"""Every byte of a region, attributed by origin: the layout, the stacks, memplan's runtime, mbedTLS,
the C and C++ libraries, the product's own objects, and the linker (fill, alignment, reservations
its script makes).

The image gives each output section's bytes in the region; the layout's own output section is split
into its objects (the stacks apart); every other section into its input sections, whose files the
linker map names. Input sections are clipped to their section and to the region and never counted
twice, and what no input section covers is the linker's: so the origins always sum to the bytes the
region uses. A map that does not describe the image is refused (MapError), not believed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from memplan.elfimage import Section
from memplan.linker_map import InputSection, LinkerMap, MapError, OutputSection

# Report order; `unmapped` only appears when no map was given.
ORIGINS = ("layout", "stacks", "runtime", "mbedtls", "libc", "product", "linker", "unmapped")
ORIGIN_TITLES = {
    "layout": "layout", "stacks": "stacks", "runtime": "memplan runtime", "mbedtls": "mbedTLS",
    "libc": "C/C++ libraries", "product": "product", "linker": "linker", "unmapped": "rest (no map)",
}

RUNTIME_ARCHIVES = ("libmemplan_runtime.a",)
MBEDTLS_ARCHIVES = ("libmemplan_mbedcrypto.a", "libmbedcrypto.a", "libmbedtls.a", "libmbedx509.a", "libtfpsacrypto.a")
# The toolchain's libraries and startup files (newlib, newlib-nano, libgcc, libstdc++, semihosting).
_LIBC_ARCHIVE = re.compile(r"lib(c|g|m|c_nano|g_nano|gcc|gcov|stdc\+\+|stdc\+\+_nano|supc\+\+|supc\+\+_nano|nosys|rdimon|rdimon_nano|rdpmon)\.a")
_LIBC_OBJECT = re.compile(r"(crt0|crti|crtn|crtbegin|crtend|crtfastmath|rdimon-crt0|rdpmon-crt0|redboot-crt0)\.o")


@dataclass
class Origin:
    name: str
    size: int = 0
    parts: Dict[str, int] = field(default_factory=dict)  # what inside the origin: an object, an input file, a section's fill

    def add(self, part: str, size: int) -> None:
        if size:
            self.size += size
            self.parts[part] = self.parts.get(part, 0) + size

    def largest_parts(self) -> List[Tuple[str, int]]:
        return sorted(self.parts.items(), key=lambda item: (-item[1], item[0]))


def classify(section: InputSection, layout_prefix: str) -> str:
    """The origin of one input section. The runtime objects a layout header defines in the product's
    translation unit (pools, tables: `memplan::<layout>::...`) are the runtime's, not the product's."""
    if not section.file or section.name == "*fill*":
        return "linker"
    archive, _, member = section.file.partition("(")
    if archive in RUNTIME_ARCHIVES or layout_prefix in section.name:
        return "runtime"
    if archive in MBEDTLS_ARCHIVES:
        return "mbedtls"
    if (member and _LIBC_ARCHIVE.fullmatch(archive)) or _LIBC_OBJECT.fullmatch(archive):
        return "libc"
    return "product"


def _overlap(start: int, size: int, lo: int, hi: int) -> Tuple[int, int]:
    return max(start, lo), min(start + size, hi)


def attribute(bounds: Tuple[int, int], sections: Sequence[Section], layout_section: Optional[Section],
              layout_objects: Sequence[Tuple[str, int, bool]], linker_map: Optional[LinkerMap], layout_prefix: str) -> List[Origin]:
    """The region's origins (non-empty, in ORIGINS order). `sections` are the image's sections that take
    memory in the region; `layout_objects` are the layout's objects found in it: (name, size, is a stack)."""
    lo, hi = bounds
    origins = {name: Origin(name) for name in ORIGINS}
    for section in sections:
        start, end = _overlap(section.address, section.size, lo, hi)
        if end <= start:
            continue
        mapped = None if linker_map is None else _mapped(linker_map, section)
        if layout_section is not None and section.index == layout_section.index:
            _split_layout(origins, end - start, layout_objects)
            continue
        if mapped is None:
            origins["unmapped"].add(section.name, end - start)
            continue
        covered = 0
        cursor = start
        for piece in sorted(mapped.inputs, key=lambda s: (s.address, s.size)):
            piece_start, piece_end = _overlap(piece.address, piece.size, max(start, cursor), end)
            if piece_end <= piece_start:
                continue
            origin = classify(piece, layout_prefix)
            part = f"{section.name} fill" if origin == "linker" else piece.file
            if origin == "runtime" and layout_prefix in piece.name:
                part = f"the layout header's runtime objects in {piece.file}"
            origins[origin].add(part, piece_end - piece_start)
            covered += piece_end - piece_start
            cursor = piece_end
        origins["linker"].add(f"{section.name} (script)", end - start - covered)
    return [origins[name] for name in ORIGINS if origins[name].size]


def _mapped(linker_map: LinkerMap, section: Section) -> OutputSection:
    """The map's output section that is the image's section, or MapError: a map is believed only where it
    agrees with the image (the same name at the same address with the same size)."""
    mapped = linker_map.find(section.name, section.address)
    if mapped is None or mapped.size != section.size:
        found = linker_map.named(section.name)
        said = ", ".join(f"0x{s.address:x} ({s.size} B)" for s in found[:3]) or "nowhere"
        raise MapError(f"{linker_map.path}: describes another link: the image's {section.name} is at 0x{section.address:x} "
                       f"({section.size} B), the map's at {said}")
    return mapped


def _split_layout(origins: Dict[str, Origin], size: int, layout_objects: Sequence[Tuple[str, int, bool]]) -> None:
    """The layout's output section: its objects, the stacks apart, and the alignment padding between them."""
    left = size
    for name, object_size, is_stack in layout_objects:  # each inside the section (check-elf holds them there)
        counted = min(object_size, left)
        origins["stacks" if is_stack else "layout"].add(name, counted)
        left -= counted
    origins["layout"].add("padding", left)
