"""`memplan init DIR --core CORE`: a product that builds and runs as written, from an empty folder.

The product is one of the shipped profiles (by default the one made for the core: micro for the
Cortex-M0, small for the M3, medium for the M4F, large for the M7) moved onto the core's QEMU
machine: its regions get origins in the machine's RAM, the flash its flash, so the linker script
`init` writes from the profile and the image `check-elf` reads agree byte for byte. Beside the
profile: CMakeLists.txt (memplan_add_layout, memplan_check_elf, a CTest running it under QEMU or on
the host), the linker script, the startup, a main.cpp that seals and opens one message through the
console port, and CMakePresets.json for the core and the host.

Nothing is written unless everything is: the files are rendered and the profile validated first,
then written into a temporary folder beside DIR and renamed to DIR, which must not exist or be empty.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from memplan.diagnostics import ProfileError
from memplan.loader import load_text
from memplan.render import template_environment
from memplan.validator import validate


class InitError(Exception):
    """A request `init` cannot serve (a usage error); nothing was written."""


@dataclass(frozen=True)
class Machine:
    """A core's QEMU machine: the toolchain file, the profile's core, and where its memories are."""

    toolchain: str  # cmake/toolchains/<toolchain>.cmake
    core: str  # the profile's target.core
    name: str  # qemu-system-arm -M
    title: str
    flash: Tuple[int, int]  # origin, size
    ram: Tuple[int, int]  # the RAM window the profile's regions are placed in
    region_step: int  # regions start this far apart in the window (one region when it equals the window)
    profile: str  # the shipped profile made for it


MACHINES: Dict[str, Machine] = {m.toolchain: m for m in (
    # nRF51822 (micro:bit): 256 KiB flash, 16 KiB RAM.
    Machine("cortex-m0", "cortex-m0", "microbit", "Cortex-M0", (0x0, 256 << 10), (0x20000000, 16 << 10), 16 << 10, "micro"),
    # Arm MPS2 FPGA images: code in SSRAM1 at 0 (4 MiB), data RAM from 0x20000000 (4 MiB).
    Machine("cortex-m3", "cortex-m3", "mps2-an385", "Cortex-M3", (0x0, 4 << 20), (0x20000000, 4 << 20), 1 << 20, "small"),
    Machine("cortex-m4f", "cortex-m4", "mps2-an386", "Cortex-M4F", (0x0, 4 << 20), (0x20000000, 4 << 20), 1 << 20, "medium"),
    Machine("cortex-m7", "cortex-m7", "mps2-an500", "Cortex-M7", (0x0, 4 << 20), (0x20000000, 4 << 20), 1 << 20, "large"),
)}
PROFILES = ("micro", "small", "medium", "large")
TEMPLATES = {"CMakeLists.txt": "CMakeLists.txt.j2", "CMakePresets.json": "CMakePresets.json.j2", "startup.cpp": "startup.cpp.j2",
             "main.cpp": "main.cpp.j2"}
_TOP_LEVEL_KEY = re.compile(r"^[A-Za-z_]+:", re.M)


def product_name(directory: str) -> str:
    """The folder's name as a profile name (lower case, `_` for anything else), or `product`."""
    base = re.sub(r"[^a-z0-9_]", "_", os.path.basename(os.path.abspath(directory)).lower()).strip("_")
    return base if base and base[0].isalpha() and not base.startswith("memplan") else "product"


def checkout_dir() -> str:
    """memplan's checkout when the generator runs from one (its CMakeLists.txt beside generator/), else ''."""
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    return root if os.path.isfile(os.path.join(root, "cmake", "Memplan.cmake")) else ""


def _shipped_profile(profile: str, memplan_dir: str) -> str:
    for base in (memplan_dir, checkout_dir()):
        path = os.path.join(base, "profiles", f"{profile}.yaml") if base else ""
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    raise InitError(f"cannot find the shipped profile {profile}.yaml (give --memplan, a memplan checkout)")


def _placed_regions(text: str, machine: Machine, profile: str) -> List[Tuple[str, int, int]]:
    """(name, origin, size) of the profile's regions, placed one per step in the machine's RAM window."""
    regions = validate(load_text(text, f"{profile}.yaml"), f"{profile}.yaml").target.regions
    window_origin, window_size = machine.ram
    placed = []
    for index, (region, size) in enumerate(regions.items()):
        origin = window_origin + index * machine.region_step
        if size > machine.region_step or origin + size > window_origin + window_size:
            raise InitError(f"profile {profile} does not fit the {machine.title}'s QEMU machine ({machine.name}): region {region} "
                            f"({size} B) needs more RAM than the machine has there ({window_size} B from 0x{window_origin:x}); "
                            f"--profile {machine.profile} fits it")
        placed.append((region, origin, size))
    return placed


def _profile_text(text: str, name: str, machine: Machine, regions: List[Tuple[str, int, int]]) -> str:
    """The shipped profile's text with its name, description and target block replaced."""
    target = ["target:", f"  core: {machine.core}", "  cache_line: 32", "  regions:"]
    target += [f"    {region}: {{size: {size}, origin: 0x{origin:08x}}}" for region, origin, size in regions]
    target += [f"  flash: {{origin: 0x{machine.flash[0]:08x}, size: {machine.flash[1]}}}"]
    start = text.index("\ntarget:\n") + 1
    following = _TOP_LEVEL_KEY.search(text, start + len("target:\n"))
    end = following.start() if following else len(text)
    text = text[:start] + "\n".join(target) + "\n" + text[end:]
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", text, count=1)
    text = re.sub(r"(?m)^description: .*$", f"description: {name}, from memplan init ({machine.title} under QEMU {machine.name})",
                  text, count=1)
    # The example firmware's RTOS thread (stack.threads) is not in the product's main.cpp: an entry point
    # the image lacks is an error of the stack check. A product that runs threads lists its own.
    text = re.sub(r"(?m)^  threads: \[.*\].*\n", "", text)
    header = f"# {name}'s memory profile: `memplan init` wrote it from the shipped profile for the {machine.title}.\n"
    return header + re.sub(r"\A(#[^\n]*\n)+", "", text)


def render_product(directory: str, core: str, profile: Optional[str], name: Optional[str], memplan_dir: str) -> Dict[str, str]:
    """File name -> text of the product; raises InitError for a request it cannot serve."""
    if core not in MACHINES:
        raise InitError(f"--core must be one of {', '.join(MACHINES)} (a core with a QEMU machine; got {core!r})")
    machine = MACHINES[core]
    profile = profile or machine.profile
    if profile not in PROFILES:
        raise InitError(f"--profile must be one of {', '.join(PROFILES)} (got {profile!r})")
    name = name or product_name(directory)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name) or name.startswith("memplan"):
        raise InitError(f"--name {name!r}: a product name is a lower-case identifier of up to 32 characters, not memplan*")
    shipped = _shipped_profile(profile, memplan_dir)
    regions = _placed_regions(shipped, machine, profile)
    text = _profile_text(shipped, name, machine, regions)
    try:
        checked = validate(load_text(text, f"{name}.yaml"), f"{name}.yaml")
    except ProfileError as exc:
        raise InitError("the product's profile is not valid:\n" + "\n".join(str(d) for d in exc.diagnostics)) from None
    if checked.stack is None:
        raise InitError(f"profile {profile} has no stack section: the startup needs the layout's main stack")
    toolchain_dir = os.path.join(memplan_dir, "cmake", "toolchains") if memplan_dir else ""
    model = {
        "name": name, "preset": core, "machine": machine.name, "core_title": machine.title, "memplan_dir": memplan_dir,
        "toolchain": os.path.join(toolchain_dir, f"{core}.cmake") if toolchain_dir else f"<memplan>/cmake/toolchains/{core}.cmake",
        "flash": {"origin": machine.flash[0], "size": machine.flash[1]},
        "regions": [{"name": r, "origin": o, "size": s} for r, o, s in regions],
        "program_region": checked.stack.region,
    }
    env = template_environment()
    files = {f"{name}.yaml": text, f"{name}.ld": env.get_template("init/linker.ld.j2").render(model)}
    files.update({out: env.get_template(f"init/{template}").render(model) for out, template in TEMPLATES.items()})
    return files


def write_product(directory: str, files: Dict[str, str]) -> None:
    """All the files or none: written into a temporary folder beside DIR, renamed to DIR."""
    target = os.path.abspath(directory)
    if os.path.lexists(target) and not (os.path.isdir(target) and not os.listdir(target)):
        raise InitError(f"{directory} exists and is not an empty folder: init writes a new product")
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise InitError(f"{parent} does not exist")
    staging = tempfile.mkdtemp(prefix=".memplan-init-", dir=parent)
    try:
        for file_name, text in files.items():
            with open(os.path.join(staging, file_name), "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chmod(staging, 0o755)
        if os.path.isdir(target):
            os.rmdir(target)  # empty: checked above
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
