"""Small linked images for the `memplan check-elf` and `memplan diff` tests.

Two products (an x86-64 host one and a Cortex-M4 one with two RAM regions)
are generated; mbedTLS's AES-GCM, its refusing calloc and the runtime are
compiled once per compiler into static archives; then every image is
compiled and linked at once in a thread pool: the correct images and images
broken on purpose (a hand-edited header or linker fragment, a TU that calls
malloc). conftest.py builds them once per session (`elf_images`).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from conftest import REPO, run_compiler
from memplan.target_abi import COMPILER_BY_CORE

FIXTURES = Path(__file__).resolve().parent / "elf_fixtures"

# Every object of the host product sits in one region; its session records
# (64 B) are rounded up to 128 B slots, so the plan has padding inside an object.
HOST_PROFILE = """\
schema: 1
name: hosty
description: check-elf test product (x86-64 host)
target:
  core: host
  cache_line: 128
  regions:
    ram: {size: 64KiB}
budget:
  ram: 32KiB
pools:
  - {name: small, block_size: 64, count: 8, usage: [key, nonce, message]}
  - {name: big, block_size: 512, count: 4, usage: [message]}
sessions:
  count: 2
  key_slots: 2
workspace:
  buffer_size: 256
crypto:
  aead: aes-128-gcm
  tag_size: 16
  nonce: {fixed_size: 4, counter_size: 8, reserve: 16}
  rotation: {max_messages: 1000, max_age_s: 60}
  max_security_violations: 3
"""

# Pools and workspace in sram (ABI-independent sizes, shared with the
# program's .data and .bss), sessions and key slots in ccm.
ARM_PROFILE = """\
schema: 1
name: armo
description: check-elf test product (Cortex-M4, two RAM regions)
target:
  core: cortex-m4
  cache_line: 32
  regions:
    sram: {size: 64KiB}
    ccm: {size: 16KiB}
budget:
  sram: 8KiB
  ccm: 8KiB
pools:
  - {name: small, block_size: 64, count: 8, usage: [key, nonce, message]}
  - {name: big, block_size: 512, count: 4, usage: [message]}
sessions:
  count: 2
  key_slots: 2
  region: ccm
workspace:
  buffer_size: 256
crypto:
  aead: aes-128-gcm
  tag_size: 16
  nonce: {fixed_size: 4, counter_size: 8, reserve: 16}
  rotation: {max_messages: 1000, max_age_s: 60}
  max_security_violations: 3
"""

# The product's linker script: MEMORY with the profile's regions (names as in
# target.regions), the test sections and the generated fragment.
ARM_LINKER_SCRIPT = """\
MEMORY
{
  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 256K
  sram (rwx) : ORIGIN = 0x20000000, LENGTH = 64K
  ccm (rw)   : ORIGIN = 0x20100000, LENGTH = 16K
  STACK (rw) : ORIGIN = 0x20300000, LENGTH = 4K
}
REGION_ALIAS("PROGRAM_RAM", sram)
INCLUDE sections.ld
INCLUDE armo/layout.ld
"""

# The same script without the layout's fragment, and with MEMORY regions other than the profile's.
ARM_LINKER_SCRIPT_WITHOUT_FRAGMENT = ARM_LINKER_SCRIPT.replace("INCLUDE armo/layout.ld\n", "")
ARM_LINKER_SCRIPT_SRAM_128K = ARM_LINKER_SCRIPT.replace("LENGTH = 64K", "LENGTH = 128K")
ARM_LINKER_SCRIPT_SRAM_32K = ARM_LINKER_SCRIPT.replace("LENGTH = 64K", "LENGTH = 32K")

TU = """\
#include <{name}/layout.hpp>

int main() {{
  return memplan::{name}::memory().init() ? 0 : 1;
}}
"""

MALLOC_TU = """\
#include <cstdlib>

#include <armo/layout.hpp>

int main() {
  void* volatile block = std::malloc(16);
  std::free(block);
  return memplan::armo::memory().init() ? 0 : 1;
}
"""

MBEDTLS_SOURCES = ("aes", "aesni", "aesce", "gcm", "block_cipher", "platform", "platform_util", "constant_time")
ARM_CXX = COMPILER_BY_CORE["cortex-m4"]
ARM_CPU = ARM_CXX[1:]
ARM_CC = ["arm-none-eabi-gcc", *ARM_CPU]
ARM_CXX_FLAGS = ["-std=c++17", "-Os", "-ffunction-sections", "-fdata-sections", "-fno-exceptions", "-fno-rtti"]
HOST_CXX_FLAGS = ["-std=c++17", "-O1"]
CORRECT = ("host_ok", "host_of_arm", "arm_ok")
BROKEN = ("host_wrong_section", "arm_misaligned", "arm_wrong_section", "arm_malloc", "arm_without_fragment", "arm_wrong_region",
          "arm_sram_larger", "arm_sram_smaller")


@dataclass
class Images:
    """Profiles (YAML files), generated layouts and linked images, by name."""

    profiles: Dict[str, Path]  # "hosty" / "armo" -> profile file
    out: Path  # `memplan generate` output of both profiles
    images: Dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.images[name]


class BuildError(Exception):
    pass


def edit(text: str, pattern: str, replacement: str) -> str:
    """One regex substitution that must match exactly once."""
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    if count != 1 or len(re.findall(pattern, text, flags=re.M)) != 1:
        raise BuildError(f"pattern {pattern!r} does not match exactly once")
    return edited


def _mbedtls_flags(mbedtls: Path) -> List[str]:
    return ["-isystem", str(mbedtls / "include"), f"-I{REPO / 'cmake' / 'mbedtls'}", "-DMBEDTLS_CONFIG_FILE=<memplan_mbedtls_config.h>"]


def _include_flags(mbedtls: Path) -> List[str]:
    return [f"-I{REPO / 'runtime' / 'include'}", *_mbedtls_flags(mbedtls)]


def _run_all(commands: Sequence[Tuple[str, Sequence[str]]]) -> None:
    """Runs (label, command) pairs in parallel; raises with every failure's output."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda item: run_compiler(item[1]), commands))
    failures = [f"{label}: {' '.join(command)}\n{result.stdout}{result.stderr}"
                for (label, command), result in zip(commands, results) if result.returncode != 0]
    if failures:
        raise BuildError("\n\n".join(failures))


def _library_jobs(mbedtls: Path, work: Path) -> Tuple[List[Tuple[str, List[str]]], Dict[str, List[Path]]]:
    """Compile jobs for mbedTLS and the runtime, per toolchain; and the objects of each archive."""
    host_dir, arm_dir = work / "host-lib", work / "arm-lib"
    host_dir.mkdir()
    arm_dir.mkdir()
    library = mbedtls / "library"
    heap = REPO / "cmake" / "mbedtls" / "memplan_mbedtls_heap.c"
    c_sources = [library / f"{name}.c" for name in MBEDTLS_SOURCES] + [heap]
    host_c = ["gcc", "-std=gnu99", "-O1", *(["-maes", "-mpclmul", "-msse2"] if platform.machine() in ("x86_64", "AMD64") else [])]
    arm_c = [*ARM_CC, "-std=gnu99", "-Os", "-ffunction-sections", "-fdata-sections"]
    runtime = REPO / "runtime" / "src"
    host_runtime = sorted(runtime.glob("*.cpp")) + sorted((runtime / "port" / "host").glob("*.cpp"))
    arm_runtime = sorted(runtime.glob("*.cpp"))

    jobs: List[Tuple[str, List[str]]] = []
    archives: Dict[str, List[Path]] = {"host-mbedcrypto": [], "arm-mbedcrypto": [], "host-runtime": [], "arm-runtime": []}
    for source in c_sources:
        for key, directory, compiler in (("host", host_dir, host_c), ("arm", arm_dir, arm_c)):
            obj = directory / f"{source.stem}.o"
            jobs.append((f"{key} {source.name}", [*compiler, *_mbedtls_flags(mbedtls), f"-I{library}", "-c", str(source), "-o", str(obj)]))
            archives[f"{key}-mbedcrypto"].append(obj)
    for key, directory, sources, compiler in (
        ("host", host_dir, host_runtime, ["g++", *HOST_CXX_FLAGS]),
        ("arm", arm_dir, arm_runtime, [*ARM_CXX, *ARM_CXX_FLAGS]),
    ):
        for source in sources:
            obj = directory / f"runtime_{source.stem}.o"
            jobs.append((f"{key} {source.name}", [*compiler, *_include_flags(mbedtls), "-c", str(source), "-o", str(obj)]))
            archives[f"{key}-runtime"].append(obj)
    startup = arm_dir / "startup.o"
    jobs.append(("arm startup.cpp", [*ARM_CXX, *ARM_CXX_FLAGS, "-c", str(FIXTURES / "startup.cpp"), "-o", str(startup)]))
    archives["arm-startup"] = [startup]
    return jobs, archives


def _variant(out: Path, work: Path, label: str, name: str, header_edits=(), script_edits=()) -> Path:
    """A copy of `name`'s generated layout.hpp / layout.ld with edits; returns the include directory."""
    directory = work / label
    (directory / name).mkdir(parents=True)
    for file_name, edits in (("layout.hpp", header_edits), ("layout.ld", script_edits)):
        text = (out / name / file_name).read_text(encoding="utf-8")
        for pattern, replacement in edits:
            text = edit(text, pattern, replacement)
        (directory / name / file_name).write_text(text, encoding="utf-8")
    return directory


def build(mbedtls: Path, work: Path) -> Images:
    """Generates both products and links every image; raises BuildError on any failure."""
    from memplan.cli import main

    profiles = {"hosty": work / "hosty.yaml", "armo": work / "armo.yaml"}
    profiles["hosty"].write_text(HOST_PROFILE, encoding="utf-8")
    profiles["armo"].write_text(ARM_PROFILE, encoding="utf-8")
    out = work / "generated"
    if main(["generate", str(profiles["hosty"]), str(profiles["armo"]), "--out", str(out)]) != 0:
        raise BuildError("memplan generate failed for the test profiles")

    jobs, objects = _library_jobs(mbedtls, work)
    _run_all(jobs)
    archives: Dict[str, Path] = {}
    for key, members in objects.items():
        if key == "arm-startup":
            continue
        compiler_key, library = key.split("-", 1)  # named as the CMake build names them: the report's origins read the names
        (work / compiler_key).mkdir(exist_ok=True)
        archive = work / compiler_key / f"libmemplan_{library}.a"
        tool = "arm-none-eabi-ar" if key.startswith("arm") else "ar"
        subprocess.run([tool, "rcs", str(archive), *map(str, members)], check=True, capture_output=True)
        archives[key] = archive

    variants = {
        "host_ok": ("hosty", out, TU.format(name="hosty")),
        "host_of_arm": ("armo", out, TU.format(name="armo")),
        # pool small's storage in pool big's section.
        "host_wrong_section": ("hosty", _variant(out, work, "host_wrong_section", "hosty", header_edits=[
            (r'(pool_small_storage\[[^\]]+\]\n\s+__attribute__\(\(section\(")[^"]+', r"\g<1>.memplan.hosty.pool.big")]),
            TU.format(name="hosty")),
        "arm_ok": ("armo", out, TU.format(name="armo")),
        # pool big aligned to 16 only, and the fragment puts it 16 bytes past a 32-byte boundary.
        "arm_misaligned": ("armo", _variant(out, work, "arm_misaligned", "armo", header_edits=[
            (r"^alignas\(32\)( inline std::uint8_t pool_big_storage)", r"alignas(16)\g<1>")], script_edits=[
            (r"^(\s+)(__memplan_armo_pool_big_start = \.;)", r"\g<1>. += 16;\n\g<1>\g<2>")]),
            TU.format(name="armo")),
        # pool small's storage in .bss instead of its own section.
        "arm_wrong_section": ("armo", _variant(out, work, "arm_wrong_section", "armo", header_edits=[
            (r'(pool_small_storage\[[^\]]+\]\n\s+__attribute__\(\(section\(")[^"]+', r"\g<1>.bss")]),
            TU.format(name="armo")),
        "arm_malloc": ("armo", out, MALLOC_TU),
        # The product's script forgot `INCLUDE armo/layout.ld`: the layout's sections land where ld puts orphans.
        "arm_without_fragment": ("armo", out, TU.format(name="armo")),
        # The fragment's sram output section sent to ccm.
        "arm_wrong_region": ("armo", _variant(out, work, "arm_wrong_region", "armo", script_edits=[
            (r"^  \} > sram$", "  } > ccm")]), TU.format(name="armo")),
        # MEMORY says 128K or 32K of sram, the profile 64KiB.
        "arm_sram_larger": ("armo", out, TU.format(name="armo")),
        "arm_sram_smaller": ("armo", out, TU.format(name="armo")),
    }
    scripts = {"arm_without_fragment": ARM_LINKER_SCRIPT_WITHOUT_FRAGMENT, "arm_sram_larger": ARM_LINKER_SCRIPT_SRAM_128K,
               "arm_sram_smaller": ARM_LINKER_SCRIPT_SRAM_32K}
    link_jobs: List[Tuple[str, List[str]]] = []
    images: Dict[str, Path] = {}
    for label, (name, include_dir, source_text) in variants.items():
        source = work / f"{label}.cpp"
        source.write_text(source_text, encoding="utf-8")
        image = work / f"{label}.elf"
        images[label] = image
        if label.startswith("host"):
            command = ["g++", *HOST_CXX_FLAGS, f"-I{include_dir}", *_include_flags(mbedtls), str(source),
                       str(archives["host-runtime"]), str(archives["host-mbedcrypto"]), "-pthread", "-o", str(image)]
        else:
            script = work / f"{label}.ld"
            script.write_text(scripts.get(label, ARM_LINKER_SCRIPT), encoding="utf-8")
            command = [*ARM_CXX, *ARM_CXX_FLAGS, f"-I{include_dir}", *_include_flags(mbedtls), str(source),
                       *map(str, objects["arm-startup"]), str(archives["arm-runtime"]), str(archives["arm-mbedcrypto"]),
                       "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections", f"-L{include_dir}", f"-L{FIXTURES}",
                       "-T", str(script), f"-Wl,-Map={image.with_suffix('.map')}", "-o", str(image)]
        link_jobs.append((label, command))
    _run_all(link_jobs)
    return Images(profiles, out, images)
