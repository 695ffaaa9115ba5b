"""`memplan check-elf`: linked images held to their profile, symbol by symbol.

The images come from elf_images.py (built once per session, see conftest's
`elf_images`): a host product, the host build of a Cortex-M4 product, the
Cortex-M4 product itself, and images broken on purpose. Checks that need a
different profile run a correct image against an edited copy of its profile.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

from conftest import Run, run_subprocess
from elf_images import ARM_PROFILE, HOST_PROFILE, Images, edit
from memplan import BUDGET_SCHEMA
from memplan.elfcheck import check_image, mangle
from memplan.elfimage import SHF_ALLOC, SHF_WRITE, SHT_NOBITS, Image, Section, Symbol
from memplan.planner import Plan, plan
from memplan.target_abi import HOST_CORE
from memplan.validator import load_profile

PROFILE_OF = {"host_ok": "hosty", "host_of_arm": "armo", "host_wrong_section": "hosty", "arm_ok": "armo",
              "arm_misaligned": "armo", "arm_wrong_section": "armo", "arm_malloc": "armo", "arm_without_fragment": "armo",
              "arm_wrong_region": "armo", "arm_sram_larger": "armo", "arm_sram_smaller": "armo"}
TEXT_OF = {"hosty": HOST_PROFILE, "armo": ARM_PROFILE}
HEAP_MESSAGE = "heap or exception runtime linked into a Cortex-M image (memplan promises no heap)"


def _plan(images: Images, name: str, host: bool = False) -> Plan:
    result = plan(load_profile(str(images.profiles[name]))[0])
    return result.host if host else result


def _check(cli: Callable[..., Run], image: Path, profile: Path, *extra: str) -> Run:
    return cli("check-elf", image, "--profile", profile, *extra)


def _json(cli: Callable[..., Run], image: Path, profile: Path) -> Dict[str, Any]:
    run = _check(cli, image, profile, "--format", "json")
    document = json.loads(run.out)
    assert run.code == (0 if document["ok"] else 1)
    return document


def _violations(document: Dict[str, Any]) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for violation in document["violations"]:
        found.setdefault(violation["subject"], []).append(violation["message"])
    return found


def _profile(tmp_path: Path, name: str, *edits: tuple) -> Path:
    """A copy of the product's profile with (pattern, replacement) edits, each matching once."""
    text = TEXT_OF[name]
    for pattern, replacement in edits:
        text = edit(text, pattern, replacement)
    path = tmp_path / f"{name}-edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- correct images ------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["host_ok", "host_of_arm", "arm_ok"])
def test_correct_image_passes_in_every_format(elf_images: Images, cli: Callable[..., Run], tmp_path: Path, label: str) -> None:
    image, profile = elf_images[label], elf_images.profiles[PROFILE_OF[label]]
    text = _check(cli, image, profile, "--output", tmp_path / "report.txt")
    assert (text.code, text.err) == (0, "")
    lines = text.out.splitlines()
    assert lines[0] == f"{image}: profile {PROFILE_OF[label]}: ok"
    if label.startswith("host"):  # the arm program never loads a key: no AES in its image
        assert re.fullmatch(r"  mbedTLS AES tables \(flash-compact\): 1320 B in \.rodata \(flash\)", lines.pop()), lines
    regions = [line for line in lines[1:] if " by origin: " not in line]
    assert all(re.fullmatch(r"  region \w+: \d+ of \d+ B used, -?\d+ B free; layout \d+ of its \d+ B budget", line) for line in regions), lines
    # Without the link's map, a Cortex-M image's regions split into the layout and the rest.
    by_origin = [line for line in lines[1:] if " by origin: " in line]
    assert by_origin == ([] if label.startswith("host") else
                         ["  region sram by origin: layout 3968 B, rest (no map) 496 B", "  region ccm by origin: layout 1360 B"]), lines
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == text.out

    md = _check(cli, image, profile, "--format", "md")
    assert (md.code, md.err) == (0, "")
    md_lines = md.out.splitlines()
    assert md_lines[0] == f"### {PROFILE_OF[label]}: `{image.name}` (ok)"
    assert md_lines[2:4] == ["| region | size | used | free | layout | layout budget |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    assert "violation" not in md.out

    document = _json(cli, image, profile)
    assert document["schema"] == BUDGET_SCHEMA and document["source"] == "elf"
    assert document["profile"] == PROFILE_OF[label] and document["image"] == image.name
    assert document["ok"] is True and document["violations"] == []
    assert document["target"]["core"] == (HOST_CORE if label.startswith("host") else "cortex-m4")
    the_plan = _plan(elf_images, PROFILE_OF[label], host=label.startswith("host"))
    for region in document["regions"]:
        assert set(region) == {"name", "size", "budget", "layout", "used", "free", "budget_free", "objects"} | (
            set() if label.startswith("host") else {"origins"})
        planned = the_plan.region(region["name"])
        assert (region["size"], region["budget"], region["layout"]) == (planned.size, planned.budget, planned.used)
        assert region["free"] == region["size"] - region["used"] >= 0
        assert region["budget_free"] == region["budget"] - region["layout"] >= 0
        assert region["layout"] <= region["used"]
        sizes = [o["size"] for o in region["objects"]]
        assert sizes == sorted(sizes, reverse=True) and all(size > 0 for size in sizes)
    # The text and Markdown reports show the JSON's numbers.
    for region in document["regions"]:
        assert (f"  region {region['name']}: {region['used']} of {region['size']} B used, {region['free']} B free; "
                f"layout {region['layout']} of its {region['budget']} B budget") in lines
        assert (f"| {region['name']} | {region['size']} B | {region['used']} B | {region['free']} B | {region['layout']} B | "
                f"{region['budget']} B |") in md_lines


@pytest.mark.parametrize("label", ["host_ok", "host_of_arm", "arm_ok"])
def test_every_planned_object_is_found_with_its_planned_size_and_alignment(elf_images: Images, cli: Callable[..., Run], label: str) -> None:
    name = PROFILE_OF[label]
    the_plan = _plan(elf_images, name, host=label.startswith("host"))
    document = _json(cli, elf_images[label], elf_images.profiles[name])
    planned = {o.symbol: o for r in the_plan.regions for o in r.objects}
    found = {o["symbol"]: o for o in document["layout_objects"]}
    assert set(found) == set(planned)
    for symbol, obj in planned.items():
        assert found[symbol]["ok"] is True
        assert found[symbol]["section"] == obj.section
        assert found[symbol]["size"] == obj.size, symbol
        assert found[symbol]["address"] % obj.align == 0, symbol
    for region in document["regions"]:
        objects = the_plan.region(region["name"]).objects
        assert region["layout"] == the_plan.region(region["name"]).used  # the objects and the alignment gaps between them
        layout = {o["name"]: o["size"] for o in region["objects"] if not o["name"].startswith(".")}
        assert layout == {o.object: o.size for o in objects}  # named as in budget.json, at their sizes


def test_host_region_total_is_the_planned_total(elf_images: Images, cli: Callable[..., Run]) -> None:
    """A host image has no linker fragment: its region total is the layout's, exactly as planned
    (alignment gaps counted once; padding inside a session slot is part of the slot's size)."""
    for label in ("host_ok", "host_of_arm"):
        the_plan = _plan(elf_images, PROFILE_OF[label], host=True)
        document = _json(cli, elf_images[label], elf_images.profiles[PROFILE_OF[label]])
        assert [(r["name"], r["used"]) for r in document["regions"]] == [(r.name, r.used) for r in the_plan.regions if r.objects]
    assert _plan(elf_images, "hosty").session_slot_padding > 0  # 64 B records in 128 B slots


def test_layout_at_exactly_its_budget_passes(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    for label, region in (("host_ok", "ram"), ("arm_ok", "sram")):
        name = PROFILE_OF[label]
        layout = _plan(elf_images, name, host=label.startswith("host")).region(region).used
        budget = {"hosty": "32KiB", "armo": "8KiB"}[name]
        run = _check(cli, elf_images[label], _profile(tmp_path, name, (rf"^  {region}: {budget}$", f"  {region}: {layout}")))
        assert (run.code, run.err) == (0, ""), run.out
        assert f"layout {layout} of its {layout} B budget" in run.out


def test_arm_region_total_counts_the_program_ram_beside_the_layout(elf_images: Images, cli: Callable[..., Run]) -> None:
    the_plan = _plan(elf_images, "armo")
    document = _json(cli, elf_images["arm_ok"], elf_images.profiles["armo"])
    regions = {r["name"]: r for r in document["regions"]}
    sram, ccm = regions["sram"], regions["ccm"]
    others = {o["name"]: o["size"] for o in sram["objects"] if o["name"].startswith(".")}
    assert set(others) == {".data", ".bss"} and all(others.values())  # startup.cpp's variables, newlib's data
    # sram: the layout's output section (exactly the plan) plus .data and .bss; the stack is in its own region.
    assert sram["used"] == the_plan.region("sram").used + sum(others.values())
    assert ccm["used"] == the_plan.region("ccm").used
    assert not [o for o in ccm["objects"] if o["name"].startswith(".")]


# -- broken images and profiles that do not match ----------------------------------------------


@pytest.mark.parametrize("label", ["host_ok", "arm_ok"])
def test_missing_symbol_is_named(elf_images: Images, cli: Callable[..., Run], tmp_path: Path, label: str) -> None:
    """The image was built from a profile with one pool fewer than the one it is checked against."""
    name = PROFILE_OF[label]
    profile = _profile(tmp_path, name, (r"^(  - \{name: big.*\n)", r"\g<1>  - {name: extra, block_size: 128, count: 2, usage: [message]}\n"))
    run = _check(cli, elf_images[label], profile)
    assert run.code == 1 and run.err == ""
    assert f"{elf_images[label]}: error: pool_extra_storage: missing from the image (expected 256 B in .memplan.{name}.pool.extra)" in run.out
    assert f"{elf_images[label]}: error: pool_extra_state: missing from the image (expected 20 B in .memplan.{name}.pool_state.extra)" in run.out
    document = _json(cli, elf_images[label], profile)
    assert set(_violations(document)) == {"pool_extra_storage", "pool_extra_state"}
    missing = [o for o in document["layout_objects"] if not o["ok"]]
    assert [(o["symbol"], o["size"], o["address"]) for o in missing] == [("pool_extra_storage", None, None), ("pool_extra_state", None, None)]


@pytest.mark.parametrize("label", ["host_ok", "arm_ok"])
def test_wrong_size_names_the_symbol_and_both_sizes(elf_images: Images, cli: Callable[..., Run], tmp_path: Path, label: str) -> None:
    """The profile has twice the blocks of pool small that the image was built with: its blocks and
    their metadata (10 B per block) are both the wrong size."""
    profile = _profile(tmp_path, PROFILE_OF[label], (r"(name: small, block_size: 64, count: )8,", r"\g<1>16,"))
    run = _check(cli, elf_images[label], profile, "--format", "json")
    assert run.code == 1
    assert _violations(json.loads(run.out)) == {"pool_small_storage": ["size 512 B, planned 1024 B"],
                                                "pool_small_state": ["size 80 B, planned 160 B"]}
    assert run.err == (f"{elf_images[label]}: error: pool_small_storage: size 512 B, planned 1024 B\n"
                       f"{elf_images[label]}: error: pool_small_state: size 80 B, planned 160 B\n")


def test_misaligned_symbol_is_named(elf_images: Images, cli: Callable[..., Run]) -> None:
    """Header: pool big aligned to 16 instead of 32; fragment: placed 16 bytes past a 32-byte boundary."""
    document = _json(cli, elf_images["arm_misaligned"], elf_images.profiles["armo"])
    address = next(o["address"] for o in document["layout_objects"] if o["symbol"] == "pool_big_storage")
    assert address % 32 == 16
    assert _violations(document) == {"pool_big_storage": [f"address 0x{address:x} is not aligned to 32 B"]}


def test_wrong_section_in_a_host_image_is_named(elf_images: Images, cli: Callable[..., Run]) -> None:
    run = _check(cli, elf_images["host_wrong_section"], elf_images.profiles["hosty"])
    assert run.code == 1
    assert run.out.splitlines()[-1] == (f"{elf_images['host_wrong_section']}: error: pool_small_storage: "
                                        "in section .memplan.hosty.pool.big, planned .memplan.hosty.pool.small")
    assert run.out.count(": error: ") == 1


def test_wrong_section_in_a_cortex_m_image_is_named(elf_images: Images, cli: Callable[..., Run]) -> None:
    document = _json(cli, elf_images["arm_wrong_section"], elf_images.profiles["armo"])
    violations = _violations(document)
    assert list(violations) == ["pool_small_storage"]
    message = violations["pool_small_storage"][0]
    assert re.fullmatch(r"at 0x[0-9a-f]+ in \.bss, outside \.memplan\.armo\.pool\.small \(0x[0-9a-f]+\.\.0x[0-9a-f]+\): "
                        r"placed in the wrong section", message), message


@pytest.mark.parametrize("label", ["host_ok", "arm_ok"])
def test_layout_over_its_budget_names_the_region_and_its_objects(elf_images: Images, cli: Callable[..., Run], tmp_path: Path,
                                                                 label: str) -> None:
    """The profile has half the blocks of pool small the image was built with, and a budget that fits
    its own plan exactly: the image's layout is over that budget (the generator, the compiler and the
    fragment's ASSERT would have refused to build it)."""
    name, region = PROFILE_OF[label], {"host_ok": "ram", "arm_ok": "sram"}[label]
    smaller = _profile(tmp_path, name, (r"(name: small, block_size: 64, count: )8,", r"\g<1>4,"))
    host = label.startswith("host")
    planned = plan(load_profile(str(smaller))[0])
    budget = (planned.host if host else planned).region(region).used
    if host:  # the host plan of a host profile is its plan: its own budget applies
        assert planned.region(region).used == budget
    tight = _profile(tmp_path, name, (r"(name: small, block_size: 64, count: )8,", r"\g<1>4,"),
                     (rf"^  {region}: {'32KiB' if host else '8KiB'}$", f"  {region}: {budget}"))
    document = _json(cli, elf_images[label], tight)
    layout = next(r["layout"] for r in document["regions"] if r["name"] == region)
    built = plan(load_profile(str(elf_images.profiles[name]))[0])
    assert layout == (built.host if host else built).region(region).used  # the image is its own profile's plan
    # Four more 64 B blocks and their 40 B of metadata; the next cache-line
    # boundary may absorb up to those 40 B in padding.
    assert 256 <= layout - budget <= 256 + 40
    violations = _violations(document)
    assert violations["pool_small_storage"] == ["size 512 B, planned 256 B"]
    assert violations["pool_small_state"] == ["size 80 B, planned 40 B"]
    (message,) = violations[f"region {region}"]
    prefix = (f"the layout takes {layout} B, over its budget of {budget} B (budget.{region}) by {layout - budget} B; "
              "filled by: ")
    assert message.startswith(prefix), message
    assert message[len(prefix):].split(", ")[0] == "pool.big 2048 B"


def test_image_over_the_region_size_names_the_region_and_its_largest_symbols(elf_images: Images, cli: Callable[..., Run],
                                                                             tmp_path: Path) -> None:
    """target.regions.sram.size one byte below what the image uses there: the size caps everything in the
    region, and (being another size than MEMORY's) the profile describes another part."""
    image = elf_images["arm_ok"]
    used = next(r["used"] for r in _json(cli, image, elf_images.profiles["armo"])["regions"] if r["name"] == "sram")
    assert used > _plan(elf_images, "armo").region("sram").used  # .data and .bss beside the layout
    smaller = _profile(tmp_path, "armo", (r"^    sram: \{size: 64KiB\}$", f"    sram: {{size: {used - 1}}}"), (r"^  sram: 8KiB$", "  sram: 4KiB"))
    run = _check(cli, image, smaller)
    assert run.code == 1
    errors = [line for line in run.out.splitlines() if ": error: " in line]
    assert errors[0] == (f"{image}: error: region sram: the linker script's MEMORY region sram is 65536 B, the profile's "
                         f"target.regions.sram.size is {used - 1} B: they describe different parts")
    prefix = (f"{image}: error: region sram: the image uses {used} B, more than the region's {used - 1} B "
              "(target.regions.sram.size) by 1 B; filled by: ")
    assert errors[1].startswith(prefix) and len(errors) == 2, errors
    filled_by = errors[1][len(prefix):].split(", ")
    largest = [mangle(("memplan", "armo"), s) for s in ("pool_big_storage", "workspace_storage", "pool_small_storage")]
    assert filled_by[:3] == [f"{largest[0]} 2048 B", f"{largest[1]} 1280 B", f"{largest[2]} 512 B"]
    assert len(filled_by) == 5


def test_cortex_m_image_linked_without_the_fragment_is_refused(elf_images: Images, cli: Callable[..., Run]) -> None:
    """The product's script lacks `INCLUDE armo/layout.ld`: ld places the layout's sections as orphans
    (ccm's objects land in sram, no budget ASSERT runs). Each region and each object is named."""
    image = elf_images["arm_without_fragment"]
    document = _json(cli, image, elf_images.profiles["armo"])
    violations = _violations(document)
    for region in ("sram", "ccm"):
        assert violations[f"region {region}"] == [f"the image has no __memplan_armo_region_{region}_origin/_length: it was not linked "
                                                  "with armo/layout.ld (INCLUDE it from the product's linker script)"]
    the_plan = _plan(elf_images, "armo")
    for region in the_plan.regions:
        for obj in region.objects:
            (message,) = violations[obj.symbol]
            assert re.fullmatch(rf"in section {re.escape(obj.section)} at 0x[0-9a-f]+, not in the fragment's output section "
                                rf"\.memplan\.armo\.{region.name}", message), message
    assert len(violations) == 2 + sum(len(r.objects) for r in the_plan.regions)
    assert all(not o["ok"] for o in document["layout_objects"])


def test_cortex_m_layout_in_the_wrong_region_is_refused(elf_images: Images, cli: Callable[..., Run]) -> None:
    """The fragment's sram output section was sent to ccm (`} > ccm`): its objects are still between their
    start and end symbols, but the image's own section addresses put them outside sram."""
    document = _json(cli, elf_images["arm_wrong_region"], elf_images.profiles["armo"])
    violations = _violations(document)
    assert list(violations) == ["region sram"]
    assert re.fullmatch(r"output section \.memplan\.armo\.sram at 0x2010[0-9a-f]{4}\.\.0x2010[0-9a-f]{4} lies outside the region "
                        r"\(0x20000000\.\.0x20010000\)", violations["region sram"][0]), violations
    regions = {r["name"]: r for r in document["regions"]}
    planned = _plan(elf_images, "armo")
    assert regions["ccm"]["used"] >= planned.region("sram").used + planned.region("ccm").used  # counted where it is


@pytest.mark.parametrize("label, length", [("arm_sram_larger", 131072), ("arm_sram_smaller", 32768)])
def test_memory_region_of_another_size_than_the_profile_is_refused(elf_images: Images, cli: Callable[..., Run],
                                                                   label: str, length: int) -> None:
    """MEMORY gives sram 128K or 32K, the profile 64KiB: the profile describes another part."""
    run = _check(cli, elf_images[label], elf_images.profiles["armo"])
    assert run.code == 1
    assert run.out.splitlines()[-1] == (f"{elf_images[label]}: error: region sram: the linker script's MEMORY region sram is {length} B, "
                                        "the profile's target.regions.sram.size is 65536 B: they describe different parts")
    assert run.out.count(": error: ") == 1


def test_a_region_origin_the_image_does_not_have_is_refused(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    """The image's MEMORY puts sram at 0x20000000 and ccm at 0x20100000: a profile that states origins is held to them."""
    right = _profile(tmp_path, "armo", (r"^    sram: \{size: 64KiB\}$", "    sram: {size: 64KiB, origin: 0x20000000}"))
    assert _check(cli, elf_images["arm_ok"], right).code == 0
    wrong = _profile(tmp_path, "armo", (r"^    sram: \{size: 64KiB\}$", "    sram: {size: 64KiB, origin: 0x24000000}"))
    run = _check(cli, elf_images["arm_ok"], wrong)
    assert run.code == 1
    assert run.out.splitlines()[-1] == (f"{elf_images['arm_ok']}: error: region sram: the linker script's MEMORY region sram starts at "
                                        "0x20000000, the profile's target.regions.sram.origin is 0x24000000: they describe different parts")
    assert _check(cli, elf_images["host_of_arm"], wrong).code == 0  # a host build has no MEMORY to hold


def test_profile_for_the_host_against_a_cortex_m_image_is_a_usage_error(elf_images: Images, cli: Callable[..., Run],
                                                                        tmp_path: Path) -> None:
    host_profile = _profile(tmp_path, "armo", (r"^  core: cortex-m4$", "  core: host"))
    run = _check(cli, elf_images["arm_ok"], host_profile)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"memplan: error: {elf_images['arm_ok']} is a Cortex-M (ARM) image and profile armo targets the host\n"


def test_cortex_m_image_that_links_malloc_is_refused(elf_images: Images, cli: Callable[..., Run]) -> None:
    violations = _violations(_json(cli, elf_images["arm_malloc"], elf_images.profiles["armo"]))
    assert violations["malloc"] == [HEAP_MESSAGE] and violations["free"] == [HEAP_MESSAGE]
    assert all(messages == [HEAP_MESSAGE] for messages in violations.values())  # the layout itself is fine
    assert not _violations(_json(cli, elf_images["arm_ok"], elf_images.profiles["armo"]))


# -- inputs that are not images ---------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"hello, not an ELF\n", b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(40)],
                         ids=["empty", "text", "magic_only", "truncated_header"])
def test_not_an_elf_file_is_a_clear_error(elf_images: Images, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "image.elf"
    path.write_bytes(content)
    run = run_subprocess(["check-elf", path, "--profile", elf_images.profiles["hosty"]], cwd=tmp_path)
    assert run.code == 2 and run.out == ""
    assert run.err.startswith(f"{path}: error: not an ELF image check-elf can read: ") and run.err.count("\n") == 1, run.err
    assert "Traceback" not in run.err


def _corrupt_symbol_table(image: Path, field: str, value: int) -> bytes:
    """The image with one field of its .symtab section header overwritten."""
    import struct

    from elftools.elf.elffile import ELFFile

    data = bytearray(image.read_bytes())
    with open(image, "rb") as handle:
        elf = ELFFile(handle)
        names = [section.name for section in elf.iter_sections()]
        wide = elf.elfclass == 64
        header = elf["e_shoff"] + names.index(".symtab") * elf["e_shentsize"]
    offset, fmt = {"sh_link": ((40, "I") if wide else (24, "I")), "sh_offset": ((24, "Q") if wide else (16, "I"))}[field]
    value = names.index(".text") if value < 0 else value
    struct.pack_into("<" + fmt, data, header + offset, value)
    return bytes(data)


@pytest.mark.parametrize("label", ["host_ok", "arm_ok"])
@pytest.mark.parametrize("field, value", [("sh_link", -1), ("sh_link", 999), ("sh_offset", 0xFFFFFFF0), ("sh_offset", 1 << 63)],
                         ids=["strtab_is_text", "strtab_out_of_range", "offset_past_the_end", "offset_huge"])
def test_corrupt_symbol_table_is_not_an_elf_image(elf_images: Images, cli: Callable[..., Run], tmp_path: Path,
                                                  label: str, field: str, value: int) -> None:
    """pyelftools would raise AttributeError, TypeError or ValueError on these: the structure checks refuse them first."""
    if field == "sh_offset" and value >= 1 << 32 and label == "arm_ok":
        value = 0x7FFFFFFF  # the widest offset an ELF32 header holds that is still past the end
    path = tmp_path / "corrupt.elf"
    path.write_bytes(_corrupt_symbol_table(elf_images[label], field, value))
    run = _check(cli, path, elf_images.profiles[PROFILE_OF[label]])
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith(f"{path}: error: not an ELF image check-elf can read: ") and run.err.count("\n") == 1, run.err


def test_corrupted_images_are_errors_not_tracebacks(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    """Bytes of a real image overwritten at random (in the ELF header, the section header table or
    anywhere): exit 0, 1 (a readable image that fails the check) or 2 (not a readable image), never an
    exception."""
    import struct

    rng = random.Random(20240611)
    original = elf_images["arm_ok"].read_bytes()
    section_headers = struct.unpack_from("<I", original, 0x20)[0]  # e_shoff of an ELF32 image
    path = tmp_path / "corrupt.elf"
    outcomes = {0: 0, 1: 0, 2: 0}
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            area = rng.random()
            where = rng.randrange(52) if area < 0.3 else rng.randrange(section_headers, len(data)) if area < 0.8 else rng.randrange(len(data))
            data[where] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        run = _check(cli, path, elf_images.profiles["armo"])
        assert run.code in outcomes, run.err
        outcomes[run.code] += 1
        if run.code == 2:
            assert run.out == ""
            assert run.err.startswith(f"{path}: error: not an ELF image check-elf can read: ") and run.err.count("\n") == 1, run.err
    assert outcomes[2] and outcomes[1]  # the corruption did reach the parser, and the checks behind it


def test_missing_image_is_a_usage_error(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    missing = tmp_path / "missing.elf"
    run = _check(cli, missing, elf_images.profiles["hosty"])
    assert (run.code, run.out) == (2, "")
    assert run.err == f"memplan: error: cannot read image {missing}: No such file or directory\n"
    run = _check(cli, tmp_path, elf_images.profiles["hosty"])
    assert run.code == 2 and run.err == f"memplan: error: cannot read image {tmp_path}: Is a directory\n"


def test_missing_profile_is_a_usage_error(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    run = _check(cli, elf_images["host_ok"], tmp_path / "missing.yaml")
    assert (run.code, run.out) == (2, "")
    assert run.err == f"memplan: error: cannot read profile {tmp_path / 'missing.yaml'}: No such file or directory\n"


def test_invalid_profile_is_reported_at_its_position(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    profile = _profile(tmp_path, "hosty", (r"block_size: 512,", "block_size: 0,"))
    run = _check(cli, elf_images["host_ok"], profile)
    assert (run.code, run.out) == (1, "")
    assert run.err == f"{profile}:13:29: error: pools[1].block_size: must be > 0 (got 0)\n"


def test_check_elf_requires_a_profile(elf_images: Images, cli: Callable[..., Run]) -> None:
    run = cli("check-elf", elf_images["host_ok"])
    assert run.code == 2 and "the following arguments are required: --profile" in run.err


# -- mbedTLS's AES tables ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["host_ok", "host_of_arm"])
@pytest.mark.parametrize("choice, message", [
    ("flash-full", None),  # fewer flash tables than planned: the budget is RAM, and the header refuses the mismatch
    ("ram-compact", "but the profile plans ram-compact: its mbedTLS was built with MBEDTLS_AES_ROM_TABLES"),
    ("ram-full", "but the profile plans ram-full: its mbedTLS was built with MBEDTLS_AES_ROM_TABLES"),
])
def test_aes_tables_elsewhere_than_planned_fail(elf_images: Images, cli: Callable[..., Run], tmp_path: Path, label: str, choice: str,
                                                message: Optional[str]) -> None:
    """The images' mbedTLS has the default tables (flash-compact); a profile planning them in RAM is refused."""
    name = PROFILE_OF[label]
    profile = _profile(tmp_path, name, (r"  aead: aes-128-gcm\n", f"  aead: aes-128-gcm\n  tables: {{aes: {choice}}}\n"))
    document = _json(cli, elf_images[label], profile)
    found = _violations(document).get("crypto.tables.aes", [])
    assert found == ([] if message is None else [found[0]]) and (message is None or message in found[0]), found
    assert document["mbedtls"]["aes_tables"] == choice and document["mbedtls"]["aes_tables_bytes"] == 1320


def _image_with_tables(tables: Dict[str, int], writable: bool) -> Image:
    """An image whose only content is aes.c's tables, in .bss or .rodata."""
    flags = SHF_ALLOC | (SHF_WRITE if writable else 0)
    sections = (Section(0, "", 0, 0, 0, 0), Section(1, ".bss" if writable else ".rodata", SHT_NOBITS if writable else 1, flags, 0x1000, 0x4000))
    symbols, address = {}, 0x1000
    for name, size in tables.items():
        symbols[name] = Symbol(name, address, size, sections[1].name, 1)
        address += size
    return Image("tables.elf", 62, 64, sections, symbols)  # x86-64: no fragment, no heap check


@pytest.mark.parametrize("tables, choice, message", [
    ({"FSb": 256, "FT0": 1024, "round_constants": 40}, "ram-compact", None),
    ({"FSb": 256, "FT0": 1024, "FT1": 1024, "FT2": 1024, "FT3": 1024, "round_constants": 40}, "ram-full", None),
    ({"FSb": 256, "FT0": 1024, "FT1": 1024, "FT2": 1024, "FT3": 1024, "round_constants": 40}, "ram-compact",
     "the image's AES tables take 4392 B of RAM (FSb, FT0, FT1, FT2, FT3, round_constants), and the profile plans ram-compact (1320 B)"),
    ({"FSb": 256, "FT0": 1024, "round_constants": 40, "RSb": 256, "RT0": 1024}, "ram-compact",
     "take 2600 B of RAM (FSb, FT0, RSb, RT0, round_constants)"),
])
def test_aes_tables_in_ram_are_held_to_the_planned_bytes(elf_images: Images, tmp_path: Path, tables: Dict[str, int], choice: str,
                                                         message: Optional[str]) -> None:
    profile = _profile(tmp_path, "hosty", (r"  aead: aes-128-gcm\n", f"  aead: aes-128-gcm\n  tables: {{aes: {choice}}}\n"))
    result = check_image(_image_with_tables(tables, writable=True), plan(load_profile(str(profile))[0]))
    found = [f.message for f in result.findings if f.subject == "crypto.tables.aes"]
    assert result.tables is not None and result.tables.in_ram and result.tables.bytes == sum(tables.values())
    assert found == ([] if message is None else [found[0]]) and (message is None or message in found[0]), found


def test_an_image_without_mbedtls_aes_passes_whatever_tables_are_planned(elf_images: Images, cli: Callable[..., Run],
                                                                         tmp_path: Path) -> None:
    """The arm program never loads a key, so --gc-sections drops mbedTLS's AES: as with a hardware backend."""
    assert "FT0" not in subprocess.run(["arm-none-eabi-nm", str(elf_images["arm_ok"])], capture_output=True, text=True).stdout
    profile = _profile(tmp_path, "armo", (r"  aead: aes-128-gcm\n", "  aead: aes-128-gcm\n  tables: {aes: ram-full}\n"))
    document = _json(cli, elf_images["arm_ok"], profile)
    assert document["ok"] and document["mbedtls"] is None


@pytest.mark.parametrize("label", ["host_ok", "host_of_arm"])
def test_the_planned_aes_tables_are_reported_from_the_image(elf_images: Images, cli: Callable[..., Run], label: str) -> None:
    document = _json(cli, elf_images[label], elf_images.profiles[PROFILE_OF[label]])
    assert document["ok"] and document["mbedtls"]["aes_tables"] == "flash-compact"
    assert document["mbedtls"]["aes_tables_bytes"] == 256 + 1024 + 40
    assert document["mbedtls"]["aes_tables_section"] in (".rodata", ".text")
    md = _check(cli, elf_images[label], elf_images.profiles[PROFILE_OF[label]], "--format", "md").out
    assert re.search(r"^mbedTLS AES tables \(`crypto.tables.aes`: flash-compact\): 1320 B in `\.(rodata|text)` \(flash\)\.$", md, re.M)
