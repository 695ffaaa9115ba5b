"""Every byte of a region by origin: GNU ld's map read (linker_map.py), the bytes attributed
(region_origins.py), `check-elf --map`, `--stack-measured` and `--picture`, and hostile maps.

The linked images come from elf_images.py (each Cortex-M image was linked with -Wl,-Map beside it).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, List
from xml.etree import ElementTree

import pytest

from conftest import Run
from elf_images import ARM_PROFILE
from memplan.elfcheck import Finding, _hold_measured
from memplan.elfimage import SHF_ALLOC, SHF_WRITE, SHT_NOBITS, Section
from memplan.linker_map import MapError, parse_map
from memplan.planner import plan
from memplan.region_origins import ORIGINS, attribute, classify
from memplan.stack_bound import StackReport
from memplan.validator import load_profile

SVG = "{http://www.w3.org/2000/svg}"


def _map_of(image: Path) -> Path:
    return image.with_suffix(".map")


def _document(cli: Callable[..., Run], image: Path, profile: Path, *extra: Any) -> Dict[str, Any]:
    run = cli("check-elf", image, "--profile", profile, "--format", "json", *extra)
    assert run.code in (0, 1), run.err
    return json.loads(run.out)


# -- the linked images ---------------------------------------------------------------------------


def test_every_byte_of_each_region_is_attributed(elf_images, cli: Callable[..., Run]) -> None:
    image = elf_images["arm_ok"]
    document = _document(cli, image, elf_images.profiles["armo"], "--map", _map_of(image))
    assert document["ok"], document["violations"]
    for region in document["regions"]:
        origins = {o["name"]: o for o in region["origins"]}
        assert sum(o["size"] for o in origins.values()) == region["used"], region
        assert all(sum(p["size"] for p in o["parts"]) == o["size"] for o in origins.values())
        assert list(origins) == [name for name in ORIGINS if name in origins]  # report order
        assert origins["layout"]["size"] == region["layout"]  # the armo profile has no stacks
        assert "unmapped" not in origins
    sram = {o["name"]: o for o in document["regions"][0]["origins"]}
    # The pools' and tables' control objects the layout header defines in the product's TU are the runtime's.
    assert [p["name"].startswith("the layout header's runtime objects in ") for p in sram["runtime"]["parts"]] == [True], sram
    assert {p["name"] for p in sram["product"]["parts"]} >= {"startup.o"}
    assert set(sram) == {"layout", "runtime", "product", "linker"}  # this program has no data of mbedTLS or the C library


def test_the_markdown_and_text_reports_show_the_origins(elf_images, cli: Callable[..., Run]) -> None:
    image, profile = elf_images["arm_ok"], elf_images.profiles["armo"]
    document = _document(cli, image, profile, "--map", _map_of(image))
    md = cli("check-elf", image, "--profile", profile, "--format", "md", "--map", _map_of(image)).out.splitlines()
    header = md.index("| region by origin | layout | stacks | memplan runtime | mbedTLS | C/C++ libraries | product | linker | used |")
    for offset, region in enumerate(document["regions"], start=2):
        cells = md[header + offset].strip("|").split("|")
        sizes = {o["name"]: o["size"] for o in region["origins"]}
        expected = [sizes.get(name, 0) for name in ORIGINS if name != "unmapped"] + [region["used"]]
        assert [int(c.strip().removesuffix(" B")) for c in cells[1:]] == expected
    text = cli("check-elf", image, "--profile", profile, "--map", _map_of(image)).out
    assert re.search(r"^  region sram by origin: layout \d+ B, .*product \d+ B", text, re.M), text


def test_a_host_image_has_no_origins(elf_images, cli: Callable[..., Run]) -> None:
    document = _document(cli, elf_images["host_ok"], elf_images.profiles["hosty"])
    assert all("origins" not in region for region in document["regions"])


def test_the_map_of_another_link_is_refused(elf_images, cli: Callable[..., Run]) -> None:
    """arm_misaligned moves pool big by 16 B: its map's .memplan section differs, and so may .data/.bss."""
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--map", _map_of(elf_images["arm_misaligned"]))
    assert run.code == 2 and run.out == ""
    assert run.err.startswith("memplan: error: linker map: ") and "describes another link: the image's " in run.err, run.err
    assert run.err.count("\n") == 1


HOSTILE_MAPS = {
    "empty": (b"", "no 'Linker script and memory map' heading"),
    "binary": (b"\x7fELF\x00\x01", "binary data (a NUL byte)"),
    "only_heading": (b"Linker script and memory map\n\nLOAD x.o\n", "lists no output sections"),
    "huge_number": (b"Linker script and memory map\n\n.data 0x" + b"f" * 40 + b" 0x4\n", "a number of 40 hex digits"),
    "text": (b"hello\nworld\n" * 1000, "no 'Linker script and memory map' heading"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_MAPS))
def test_hostile_maps_are_usage_errors(name: str, elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    data, message = HOSTILE_MAPS[name]
    bad = tmp_path / f"{name}.map"
    bad.write_bytes(data)
    report = tmp_path / "report.md"
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--map", bad, "--output", report)
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("memplan: error: linker map: ") and message in run.err and run.err.count("\n") == 1, run.err
    assert not report.exists()  # nothing written


def test_a_map_that_lists_only_some_sections_is_refused(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    text = _map_of(elf_images["arm_ok"]).read_text()
    truncated = tmp_path / "truncated.map"
    truncated.write_text(text[:text.index("\n.bss")])  # cut before the output section .bss
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--map", truncated)
    assert run.code == 2 and "describes another link: the image's .bss" in run.err and "the map's at nowhere" in run.err, run.err


def test_unreadable_maps_are_named(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    image, profile = elf_images["arm_ok"], elf_images.profiles["armo"]
    missing = cli("check-elf", image, "--profile", profile, "--map", tmp_path / "none.map")
    assert missing.code == 2 and missing.err == f"memplan: error: cannot read linker map {tmp_path / 'none.map'}: No such file or directory\n"
    folder = cli("check-elf", image, "--profile", profile, "--map", tmp_path)
    assert folder.code == 2 and folder.err == f"memplan: error: cannot read linker map {tmp_path}: Is a directory\n"
    fifo = tmp_path / "fifo.map"
    os.mkfifo(fifo)
    run = cli("check-elf", image, "--profile", profile, "--map", fifo)  # would block if opened
    assert run.code == 2 and "not a regular file" in run.err


def test_file_names_from_the_map_cannot_break_the_reports(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    """A map is untrusted: a file name with `|`, `<`, `--` and a control character is escaped in every format."""
    image = elf_images["arm_ok"]
    text = _map_of(image).read_text()
    hostile = tmp_path / "hostile.map"
    hostile.write_text(re.sub(r"(?m)^( \.data\S*\n?\s+0x[0-9a-f]+\s+0x[0-9a-f]+ )\S+$", lambda m: m.group(1) + "a|b<c>--\x1bd.o", text))
    picture = tmp_path / "hostile.svg"
    md = cli("check-elf", image, "--profile", elf_images.profiles["armo"], "--map", hostile, "--format", "md", "--picture", picture)
    assert md.code == 0, md.err
    document = _document(cli, image, elf_images.profiles["armo"], "--map", hostile)
    names = [p["name"] for r in document["regions"] for o in r["origins"] for p in o["parts"]]
    assert any(name.endswith(" a\\x7cb<c>--\\x1bd.o") for name in names), names
    root = ElementTree.parse(picture).getroot()  # well-formed: the comment and every text escaped
    assert root.tag == f"{SVG}svg"
    assert "\x1b" not in picture.read_text()


# -- the map reader and the attribution, on small inputs -----------------------------------------

MAP = """\
Memory Configuration

Name             Origin             Length             Attributes
RAM              0x20000000         0x00001000         xrw

Linker script and memory map

LOAD main.o
                0x00000000                __stack_size = 0x0

.data           0x20000000       0x30 load address 0x00000100
                0x20000000                __data_start = .
 *(.data*)
 .data.a        0x20000000        0x8 main.o
 .data.a_very_long_section_name_that_wraps
                0x20000008        0x4 /opt/toolchain/lib/libc_nano.a(lib_a-impure.o)
 *fill*         0x2000000c        0x4 00
 .data.b        0x20000010        0x8 build/libmemplan_mbedcrypto.a(aes.c.obj)
 .data._ZN7memplan4demo5poolsE
                0x20000018        0x8 main.o
                0x20000020                . = ALIGN (0x10)
 COMMON         0x20000020        0x4 runtime/libmemplan_runtime.a(pool.cpp.obj)

/DISCARD/
 *(.ARM.exidx*)

.bss            0x20000030       0x10
 .bss.x         0x20000030        0x8 main.o
 .bss.overlap   0x20000034        0x8 main.o
 .bss.outside   0x20000100        0x8 main.o
.memplan.demo.ram
                0x20000040       0x40
"""


def test_the_map_reader_follows_gnu_lds_format() -> None:
    linker_map = parse_map("demo.map", MAP)
    data = linker_map.find(".data", 0x20000000)
    assert data is not None and data.size == 0x30
    assert [(s.name, s.address, s.size, s.file) for s in data.inputs] == [
        (".data.a", 0x20000000, 8, "main.o"),
        (".data.a_very_long_section_name_that_wraps", 0x20000008, 4, "libc_nano.a(lib_a-impure.o)"),
        ("*fill*", 0x2000000c, 4, ""),
        (".data.b", 0x20000010, 8, "libmemplan_mbedcrypto.a(aes.c.obj)"),
        (".data._ZN7memplan4demo5poolsE", 0x20000018, 8, "main.o"),
        ("COMMON", 0x20000020, 4, "libmemplan_runtime.a(pool.cpp.obj)"),
    ]
    assert linker_map.find(".memplan.demo.ram", 0x20000040) is not None  # a name alone on its line
    assert [s.name for s in linker_map.sections] == [".data", ".bss", ".memplan.demo.ram"]


def _section(index: int, name: str, address: int, size: int) -> Section:
    return Section(index, name, SHT_NOBITS if name == ".bss" else 1, SHF_ALLOC | SHF_WRITE, address, size)


def test_the_attribution_counts_each_byte_once() -> None:
    linker_map = parse_map("demo.map", MAP)
    sections = [_section(1, ".data", 0x20000000, 0x30), _section(2, ".bss", 0x20000030, 0x10), _section(3, ".memplan.demo.ram", 0x20000040, 0x40)]
    origins = {o.name: o for o in attribute((0x20000000, 0x20001000), sections, sections[2],
                                            [("pool.a", 0x20, False), ("stack.main", 0x18, True)], linker_map, "_ZN7memplan4demo")}
    assert sum(o.size for o in origins.values()) == 0x30 + 0x10 + 0x40
    assert origins["layout"].parts == {"pool.a": 0x20, "padding": 8}
    assert origins["stacks"].parts == {"stack.main": 0x18}
    assert origins["libc"].parts == {"libc_nano.a(lib_a-impure.o)": 4}
    assert origins["mbedtls"].parts == {"libmemplan_mbedcrypto.a(aes.c.obj)": 8}
    assert origins["runtime"].parts == {"libmemplan_runtime.a(pool.cpp.obj)": 4, "the layout header's runtime objects in main.o": 8}
    # .bss.overlap starts inside .bss.x: its first 4 B are not counted again; .bss.outside lies past its section.
    assert origins["product"].parts == {"main.o": 8 + 8 + 4}
    # The fill, the 12 B after COMMON and the 4 B after .bss.overlap that no input section covers: the linker's.
    assert origins["linker"].parts == {".data fill": 4, ".data (script)": 12, ".bss (script)": 4}


def test_an_image_section_the_map_does_not_place_is_refused() -> None:
    linker_map = parse_map("demo.map", MAP)
    expected = r"demo.map: describes another link: the image's \.data is at 0x20000004 \(48 B\), the map's at 0x20000000 \(48 B\)"
    with pytest.raises(MapError, match=expected):
        attribute((0x20000000, 0x20001000), [_section(1, ".data", 0x20000004, 0x30)], None, [], linker_map, "_ZN7memplan4demo")


def test_a_region_cuts_sections_at_its_bounds() -> None:
    linker_map = parse_map("demo.map", MAP)
    sections = [_section(1, ".data", 0x20000000, 0x30)]
    origins = attribute((0x20000010, 0x20000020), sections, None, [], linker_map, "_ZN7memplan4demo")
    assert {o.name: o.size for o in origins} == {"runtime": 8, "mbedtls": 8}


@pytest.mark.parametrize("file, origin", [
    ("libc.a(lib_a-memcpy.o)", "libc"), ("libgcc.a(_udivsi3.o)", "libc"), ("libstdc++_nano.a(new_op.o)", "libc"),
    ("crti.o", "libc"), ("crtbegin.o", "libc"), ("libnosys.a(sbrk.o)", "libc"),
    ("libmbedcrypto.a(gcm.o)", "mbedtls"), ("libmemplan_mbedcrypto.a(gcm.c.obj)", "mbedtls"),
    ("libmemplan_runtime.a(pool.cpp.obj)", "runtime"), ("main.cpp.obj", "product"), ("libc.a", "product"),
    ("libproduct.a(drivers.o)", "product"), ("", "linker"),
])
def test_input_files_are_classified_by_their_library(file: str, origin: str) -> None:
    from memplan.linker_map import InputSection
    assert classify(InputSection(".bss.x", 0, 4, file), "_ZN7memplan4demo") == origin


# -- measured stacks -----------------------------------------------------------------------------


def test_measured_stacks_are_held_to_their_bound_and_size(write_profile) -> None:
    profile = write_profile(ARM_PROFILE.replace("  sram: 8KiB", "  sram: 16KiB") + "stack:\n  size: 2KiB\n  threads: [{function: worker, size: 1KiB}]\n")
    the_plan = plan(load_profile(str(profile))[0])
    report = StackReport("cortex-m4", 108, [], 1600, {"worker": 900}, [])
    findings: List[Finding] = []
    _hold_measured(the_plan, report, {"main": 1500, "worker": 900}, findings)
    assert findings == []
    _hold_measured(the_plan, report, {"main": 1601, "worker": 1100}, findings)
    assert [(f.subject, f.message) for f in findings] == [
        ("stack.measured", "the main stack's measured high water 1601 B exceeds its computed bound 1600 B: the analysis missed a path"),
        ("stack.measured.worker", "the worker stack's measured high water 1100 B exceeds its computed bound 900 B: the analysis missed a path"),
        ("stack.measured.worker", "the worker stack's measured high water 1100 B exceeds its size 1024 B"),
    ]
    findings.clear()
    _hold_measured(the_plan, None, {"main": 4096}, findings)  # no call graph: held to the size alone
    assert [f.subject for f in findings] == ["stack.measured"]


@pytest.mark.parametrize("given, message", [
    ("main", "expected STACK=BYTES"), ("main=", "expected STACK=BYTES"), ("main=-1", "expected STACK=BYTES"),
    ("=12", "expected STACK=BYTES"), ("main=99999999999", "expected STACK=BYTES"),
    ("worker=12", "profile armo has no stack 'worker' (its stacks: none: the profile has no stack section)"),
])
def test_bad_measured_stacks_are_usage_errors(given: str, message: str, elf_images, cli: Callable[..., Run]) -> None:
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--stack-measured", given)
    assert run.code == 2 and message in run.err and run.out == "", run.err


def test_a_stack_measured_twice_is_a_usage_error(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    profile = tmp_path / "armo.yaml"
    profile.write_text(elf_images.profiles["armo"].read_text().replace("  sram: 8KiB", "  sram: 12KiB") + "stack: {size: 2KiB}\n")
    run = cli("check-elf", elf_images["arm_ok"], "--profile", profile, "--stack-measured", "main=10", "--stack-measured", "main=12")
    assert run.code == 2 and "stack 'main' is given twice" in run.err


# -- the picture ---------------------------------------------------------------------------------


def test_the_picture_draws_each_region_to_scale_with_a_keyed_legend(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    image, picture = elf_images["arm_ok"], tmp_path / "budget.svg"
    run = cli("check-elf", image, "--profile", elf_images.profiles["armo"], "--map", _map_of(image), "--picture", picture)
    assert run.code == 0, run.err
    root = ElementTree.parse(picture).getroot()
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    for name in ("layout", "memplan runtime", "product", "linker", "free"):
        assert name in texts, texts  # each origin drawn is keyed
    document = _document(cli, image, elf_images.profiles["armo"], "--map", _map_of(image))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") == "#444444" and float(r.get("height", 0)) == 22]
    outline_width = float(bars[0].get("width", 0))
    for region in document["regions"]:
        # Each origin's segment: its width is its share of the region's capacity.
        for origin in region["origins"]:
            segment = next(r for r in root.iter(f"{SVG}rect") if (r.findtext(f"{SVG}title") or "").startswith(
                {"runtime": "memplan runtime", "mbedtls": "mbedTLS", "libc": "C/C++ libraries"}.get(origin["name"], origin["name"]) + ": "
                + f"{origin['size']:,} B"))
            assert abs(float(segment.get("width", 0)) - outline_width * origin["size"] / region["size"]) < 0.01


def test_the_picture_cannot_be_written_to_a_missing_folder(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--picture", tmp_path / "no" / "x.svg")
    assert run.code == 2 and "cannot write report" in run.err
