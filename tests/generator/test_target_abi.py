"""target_abi.py's numbers are what the compilers say, for every core.

A static_assert probe is compiled with -fsyntax-only by g++ (host) and by
arm-none-eabi-g++ with each core's flags from COMPILER_BY_CORE.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import cxx_include_flags, require_compiler, run_compiler
from memplan.model import CORES
from memplan.target_abi import ABI_BY_CORE, COMPILER_BY_CORE, HOST_CORE, TargetAbi, abi_for

PROBE = """\
#include <cstddef>
#include <cstdint>

#include <mbedtls/ccm.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <memplan/pool_state.hpp>
#include <memplan/session_record.hpp>

static_assert(sizeof(void*) == {abi.pointer_size}, "pointer_size");
#if defined(MBEDTLS_GCM_LARGE_TABLE)
static_assert(sizeof(mbedtls_gcm_context) == {abi.gcm_large_table_context[0]}, "gcm_large_table_context size");
static_assert(alignof(mbedtls_gcm_context) == {abi.gcm_large_table_context[1]}, "gcm_large_table_context align");
#else
static_assert(sizeof(mbedtls_gcm_context) == {abi.gcm_context[0]}, "gcm_context size");
static_assert(alignof(mbedtls_gcm_context) == {abi.gcm_context[1]}, "gcm_context align");
#endif
static_assert(sizeof(mbedtls_ccm_context) == {abi.ccm_context[0]}, "ccm_context size");
static_assert(alignof(mbedtls_ccm_context) == {abi.ccm_context[1]}, "ccm_context align");
static_assert(sizeof(mbedtls_chachapoly_context) == {abi.chachapoly_context[0]}, "chachapoly_context size");
static_assert(alignof(mbedtls_chachapoly_context) == {abi.chachapoly_context[1]}, "chachapoly_context align");
static_assert(sizeof(memplan::SessionRecord) == {abi.session_record_size}, "session_record_size");
static_assert(alignof(memplan::SessionRecord) == {abi.session_record_align}, "session_record_align");
static_assert(offsetof(memplan::SessionRecord, key_loaded_at_s) == {abi.session_hot_end}, "session_hot_end");
static_assert(sizeof(memplan::PoolState<1>) == {pool_state_1}, "pool_state_size(1)");
static_assert(sizeof(memplan::PoolState<2>) == {pool_state_2}, "pool_state_size(2)");
static_assert(sizeof(memplan::PoolState<3>) == {pool_state_3}, "pool_state_size(3)");
static_assert(sizeof(memplan::PoolState<65535>) == {pool_state_max}, "pool_state_size(65535)");
static_assert(alignof(memplan::PoolState<3>) == {abi.pool_state_align}, "pool_state_align");
#if defined(MBEDTLS_CIPHER_C)
#error "memplan's mbedTLS config must not enable MBEDTLS_CIPHER_C (gcm_setkey would calloc)"
#endif
"""


# What `memplan mbedtls` passes for a profile with crypto.tables.gcm: 8-bit.
LARGE_GCM_TABLE = ["-DMEMPLAN_MBEDTLS_PLANNED", "-DMBEDTLS_AES_ROM_TABLES", "-DMBEDTLS_AES_FEWER_TABLES", "-DMBEDTLS_GCM_LARGE_TABLE"]


def _probe(core: str, abi: TargetAbi, mbedtls: Path, work: Path, flags: List[str]) -> subprocess.CompletedProcess:
    source = work / f"probe-{core}.cpp"
    sizes = {f"pool_state_{n}": abi.pool_state_size(count) for n, count in (("1", 1), ("2", 2), ("3", 3), ("max", 65535))}
    source.write_text(PROBE.format(abi=abi, **sizes), encoding="utf-8")
    command = [*COMPILER_BY_CORE[core], "-Wall", "-Wextra", "-Werror", *cxx_include_flags(mbedtls),
               *flags, "-fsyntax-only", str(source)]
    return run_compiler(command)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory, mbedtls_dir: Path) -> Dict[str, subprocess.CompletedProcess]:
    require_compiler("g++")
    require_compiler("arm-none-eabi-g++")
    work = tmp_path_factory.mktemp("abi")
    cases = [(core, core, ABI_BY_CORE[core], []) for core in COMPILER_BY_CORE]
    cases += [(f"{core} 8-bit GCM table", core, ABI_BY_CORE[core], LARGE_GCM_TABLE) for core in COMPILER_BY_CORE]
    # A deliberately wrong table must fail, or the probe proves nothing.
    wrong = TargetAbi(**{**ABI_BY_CORE["cortex-m4"].__dict__, "session_hot_end": 24})
    cases.append(("wrong", "cortex-m4", wrong, []))
    swapped = TargetAbi(**{**ABI_BY_CORE["cortex-m4"].__dict__, "gcm_large_table_context": ABI_BY_CORE["cortex-m4"].gcm_context})
    cases.append(("wrong 8-bit GCM table", "cortex-m4", swapped, LARGE_GCM_TABLE))
    for key, *_ in cases:
        (work / key).mkdir()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = list(pool.map(lambda case: _probe(case[1], case[2], mbedtls_dir, work / case[0], case[3]), cases))
    return {key: result for (key, *_), result in zip(cases, done)}


def test_tables_cover_every_core() -> None:
    assert set(ABI_BY_CORE) == set(COMPILER_BY_CORE) == set(CORES)
    assert HOST_CORE in CORES and COMPILER_BY_CORE[HOST_CORE][0] == "g++"
    for core in CORES:
        assert abi_for(core) is ABI_BY_CORE[core]
        if core != HOST_CORE:
            assert COMPILER_BY_CORE[core][:2] == ["arm-none-eabi-g++", f"-mcpu={core}"]


def _cores() -> List[str]:
    return list(COMPILER_BY_CORE)


@pytest.mark.parametrize("core", _cores())
@pytest.mark.parametrize("table", ["", " 8-bit GCM table"], ids=["4-bit", "8-bit"])
def test_abi_numbers_match_the_compiler(probes, core: str, table: str) -> None:
    result = probes[core + table]
    assert result.returncode == 0, f"target_abi.ABI_BY_CORE[{core!r}] is wrong{table}:\n{result.stderr}"


@pytest.mark.parametrize("case,number", [("wrong", "session_hot_end"), ("wrong 8-bit GCM table", "gcm_large_table_context")])
def test_a_wrong_number_is_caught(probes, case: str, number: str) -> None:
    result = probes[case]
    assert result.returncode != 0
    assert number in result.stderr
