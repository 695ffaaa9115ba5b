"""Generated headers compile (g++ and arm-none-eabi-g++, -Wall -Wextra -Werror),
and the compiler refuses a header whose numbers disagree with the plan.

Every compilation is independent and takes about a second, so they all run
at once in a thread pool (one module fixture) and the tests read the results.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import REPO, SHIPPED, VALID_PROFILE, cxx_include_flags, require_compiler, run_compiler
from memplan.target_abi import COMPILER_BY_CORE
from memplan.validator import load_profile

WARNINGS = ["-Wall", "-Wextra", "-Werror"]
CORTEX_M4 = COMPILER_BY_CORE["cortex-m4"]
HOST = COMPILER_BY_CORE["host"]

# Pool and region names that look like the header's own symbols but do not clash with them.
LOOKALIKE = VALID_PROFILE.replace("name: demo", "name: lookalike").replace(
    VALID_PROFILE[VALID_PROFILE.index("pools:\n"):VALID_PROFILE.index("sessions:\n")],
    "pools:\n" + "".join(f"  - {{name: {n}, block_size: 64, count: 4, usage: [key, nonce, message]}}\n"
                         for n in ("storage", "state", "pool", "list2", "tiny", "tiny2")),
).replace("    ccm: {size: 64KiB}", "    pool: {size: 64KiB}").replace("  ccm: 4KiB", "  pool: 12KiB").replace(
    "  buffer_size: 2048\n", "  buffer_size: 2048\n  region: pool\n")

# mbedTLS's tables outside the defaults: the header needs an mbedTLS built with the macros `memplan mbedtls` prints.
# With stacks too: the header counts them in its regions without declaring them.
TABLES = VALID_PROFILE.replace("name: demo", "name: tables").replace("  sram: 48KiB", "  sram: 100KiB").replace(
    "  aead: aes-256-gcm\n", "  aead: aes-256-gcm\n  tables: {aes: ram-full, gcm: 8-bit}\n") + \
    "stack: {size: 2KiB, threads: [{function: worker, size: 1KiB}]}\n"
TABLES_MACROS = ("-DMEMPLAN_MBEDTLS_PLANNED", "-DMBEDTLS_GCM_LARGE_TABLE")

TU = """\
#include "layout.hpp"

int main() {{
  memplan::Status status = memplan::{name}::memory().init();
  return status ? 0 : 1;
}}
"""


Compiled = subprocess.CompletedProcess


@dataclass(frozen=True)
class Job:
    key: Tuple[str, ...]
    header: Path
    name: str
    compiler: Tuple[str, ...]
    syntax_only: bool


def _core(name: str) -> str:
    return load_profile(str(REPO / "profiles" / f"{name}.yaml"))[0].target.core


def _edit_header(source: Path, target: Path, pattern: str, replace) -> Path:
    text = source.read_text(encoding="utf-8")
    edited, count = re.subn(pattern, replace, text, count=1, flags=re.M)
    assert count == 1, pattern
    target.mkdir(parents=True, exist_ok=True)
    (target / "layout.hpp").write_text(edited, encoding="utf-8")
    return target / "layout.hpp"


def _planned(header: Path, region: str, section: int) -> int:
    """The `<region>_planned` value of the header's n-th abi namespace (0: Cortex-M, 1: host)."""
    values = re.findall(rf"^inline constexpr std::size_t {region}_planned = (\d+);", header.read_text(), re.M)
    return int(values[section])


def _jobs(out: Path) -> List[Job]:
    jobs: List[Job] = []
    for name in SHIPPED:
        header = out / name / "layout.hpp"
        compilers = {("host",): HOST, ("cortex-m4",): CORTEX_M4, (_core(name),): COMPILER_BY_CORE[_core(name)]}
        for (label,), compiler in compilers.items():
            jobs.append(Job(("ok", name, label), header, name, tuple(compiler), False))

    for label, compiler in (("host", HOST), ("cortex-m4", CORTEX_M4)):
        header = out / "lookalike" / "layout.hpp"
        jobs.append(Job(("ok", "lookalike", label), header, "lookalike", tuple(compiler), False))

    for label, compiler in (("host", HOST), ("cortex-m4", CORTEX_M4)):
        header = out / "tables" / "layout.hpp"
        jobs.append(Job(("tables", label), header, "tables", (*compiler, *TABLES_MACROS), False))
        # mbedTLS configured with the defaults (flash-compact, 4-bit), not with the profile's tables.
        jobs.append(Job(("tables_not_configured", label), header, "tables", tuple(compiler), True))

    medium = out / "medium" / "layout.hpp"
    edits = out / "edited"
    # Budget constant one byte below the plan: the target build (first abi namespace) and the host build.
    for label, compiler, section in (("cortex-m4", CORTEX_M4, 0), ("host", HOST, 1)):
        planned = _planned(medium, "sram", section)
        header = _edit_header(medium, edits / f"budget-{label}", r"(sram_budget = )\d+", rf"\g<1>{planned - 1}")
        jobs.append(Job(("over_budget", label), header, "medium", tuple(compiler), True))
        # A planned value that is not what the compiler computes.
        header = _edit_header(medium, edits / f"planned-{label}",
                              rf"(sram_planned = ){planned}\b", rf"\g<1>{planned + 8}")
        jobs.append(Job(("wrong_plan", label), header, "medium", tuple(compiler), True))
    header = _edit_header(medium, edits / "gcm", r"(key_context_size = )616\b", r"\g<1>600")
    jobs.append(Job(("wrong_abi", "cortex-m4"), header, "medium", tuple(CORTEX_M4), True))
    # A header generated for another layout contract than the runtime's (the handshake).
    for label, compiler in (("host", HOST), ("cortex-m4", CORTEX_M4)):
        header = _edit_header(medium, edits / f"contract-{label}", r"(MEMPLAN_LAYOUT_CONTRACT != )\d+", r"\g<1>999")
        jobs.append(Job(("other_contract", label), header, "medium", tuple(compiler), True))
    return jobs


def _compile(job: Job, mbedtls: Path, work: Path) -> subprocess.CompletedProcess:
    directory = work / "-".join(job.key)
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "main.cpp"
    source.write_text(TU.format(name=job.name), encoding="utf-8")
    output = ["-fsyntax-only"] if job.syntax_only else ["-c", "-o", str(directory / "main.o")]
    command = [*job.compiler, *WARNINGS, *cxx_include_flags(mbedtls), f"-I{job.header.parent}", *output, str(source)]
    return run_compiler(command)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, mbedtls_dir: Path) -> Dict[Tuple[str, ...], Compiled]:
    from memplan.cli import main

    require_compiler("g++")
    require_compiler("arm-none-eabi-g++")
    out = tmp_path_factory.mktemp("layouts")
    lookalike = out / "lookalike.yaml"
    lookalike.write_text(LOOKALIKE, encoding="utf-8")
    tables = out / "tables.yaml"
    tables.write_text(TABLES, encoding="utf-8")
    profiles = [str(REPO / "profiles" / f"{n}.yaml") for n in SHIPPED] + [str(lookalike), str(tables)]
    assert main(["generate", *profiles, "--out", str(out)]) == 0
    jobs = _jobs(out)
    work = tmp_path_factory.mktemp("compile")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = list(pool.map(lambda job: _compile(job, mbedtls_dir, work), jobs))
    return {job.key: result for job, result in zip(jobs, done)}


def _ok_keys() -> List[Tuple[str, str]]:
    keys = []
    for name in SHIPPED:
        for label in dict.fromkeys(["host", "cortex-m4", _core(name)]):
            keys.append((name, label))
    return keys


@pytest.mark.parametrize("name, label", _ok_keys(), ids=[f"{n}-{c}" for n, c in _ok_keys()])
def test_generated_header_compiles(results, name: str, label: str) -> None:
    result = results[("ok", name, label)]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a note


@pytest.mark.parametrize("label", ["host", "cortex-m4"])
def test_lookalike_pool_and_region_names_compile(results, label: str) -> None:
    result = results[("ok", "lookalike", label)]
    assert result.returncode == 0, result.stderr


def test_every_core_of_the_shipped_profiles_is_covered(results) -> None:
    cores = {key[2] for key in results if key[0] == "ok"}
    assert {"host", "cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7"} <= cores


@pytest.mark.parametrize("label", ["cortex-m4", "host"])
def test_lowered_budget_constant_does_not_compile(results, label: str) -> None:
    result = results[("over_budget", label)]
    assert result.returncode != 0
    assert "memplan: region sram is over its budget" in result.stderr, result.stderr
    assert "differs from the generator's plan" not in result.stderr


@pytest.mark.parametrize("label", ["cortex-m4", "host"])
def test_wrong_planned_value_does_not_compile(results, label: str) -> None:
    result = results[("wrong_plan", label)]
    assert result.returncode != 0
    assert "memplan: region sram differs from the generator's plan" in result.stderr, result.stderr


def test_wrong_abi_table_does_not_compile(results) -> None:
    result = results[("wrong_abi", "cortex-m4")]
    assert result.returncode != 0
    assert "the AEAD context size differs from the generator's target table" in result.stderr, result.stderr


@pytest.mark.parametrize("label", ["host", "cortex-m4"])
def test_header_of_another_layout_contract_does_not_compile(results, label: str) -> None:
    """The handshake: a header generated for contract 999 against this runtime stops at its #error."""
    result = results[("other_contract", label)]
    assert result.returncode != 0
    assert "#error" in result.stderr and "regenerate it with the memplan generator that matches the runtime" in result.stderr


def test_generator_and_runtime_name_the_same_layout_contract() -> None:
    from memplan import LAYOUT_CONTRACT

    header = (REPO / "runtime" / "include" / "memplan" / "memplan.hpp").read_text(encoding="utf-8")
    assert re.search(rf"^#define MEMPLAN_LAYOUT_CONTRACT {LAYOUT_CONTRACT}$", header, re.M)


@pytest.mark.parametrize("label", ["host", "cortex-m4"])
def test_tables_compile_against_an_mbedtls_built_with_them(results, label: str) -> None:
    result = results[("tables", label)]
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("label", ["host", "cortex-m4"])
def test_tables_refuse_an_mbedtls_built_otherwise(results, label: str) -> None:
    """The #error handshake names the profile key before any static_assert on sizes."""
    result = results[("tables_not_configured", label)]
    assert result.returncode != 0
    assert "profile 'tables' plans crypto.tables.aes: ram-full, so mbedTLS must be built without MBEDTLS_AES_ROM_TABLES" in result.stderr
    assert "crypto.tables.gcm: 8-bit, so mbedTLS must be built with MBEDTLS_GCM_LARGE_TABLE" in result.stderr
