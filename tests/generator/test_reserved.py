"""Names that are, or generate, C++ keywords, library macros or reserved identifiers are refused;
the list of library macros (generator/memplan/reserved.py) covers every lowercase macro the two
toolchains define for a translation unit with the C++17 standard headers, the POSIX headers and the
runtime; names just beside the refused ones compile at C++17 and C++20, for the host and a core."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Callable, List, Set

import pytest

from conftest import VALID_PROFILE, Run, cxx_include_flags, require_compiler
from memplan.reserved import CPP_KEYWORDS, LIBRARY_MACROS
from memplan.target_abi import COMPILER_BY_CORE
from memplan.validator import NAME_RE

KITCHEN_SINK = "\n".join(f"#include <{h}>" for h in (
    "algorithm array atomic bitset cassert cctype cerrno cfloat chrono cinttypes climits clocale cmath csetjmp csignal "
    "cstdarg cstddef cstdint cstdio cstdlib cstring ctime cwchar cwctype functional iterator limits memory new numeric "
    "optional string string_view tuple type_traits utility variant memplan/memplan.hpp").split()) + """
#if __has_include(<mutex>)
#include <mutex>
#endif
#if __has_include(<fcntl.h>) && __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#include <sys/types.h>
#endif
"""


def _macros(compiler: List[str], std: str, mbedtls: Path, work: Path) -> Set[str]:
    source = work / "sink.cpp"
    source.write_text(KITCHEN_SINK, encoding="utf-8")
    flags = [f for f in cxx_include_flags(mbedtls) if not f.startswith("-std=")]
    result = subprocess.run([*compiler, f"-std={std}", *flags, "-E", "-dM", str(source)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = {line.split()[1].split("(")[0] for line in result.stdout.splitlines() if line.startswith("#define ")}
    return {n for n in names if NAME_RE.fullmatch(n) and "__" not in n}


@pytest.mark.parametrize("core", ["host", "cortex-m0", "cortex-m4"])
def test_library_macro_list_covers_what_the_toolchains_define(core: str, mbedtls_dir: Path, tmp_path: Path) -> None:
    compiler = list(COMPILER_BY_CORE[core])
    require_compiler(compiler[0])
    for std in ("c++17", "gnu++17", "c++20"):
        missing = _macros(compiler, std, mbedtls_dir, tmp_path) - LIBRARY_MACROS
        assert not missing, f"{core} -std={std} defines macros reserved.py does not list: {sorted(missing)}"


def _profile(name: str = "demo", pool: str = "tiny", region: str = "ccm") -> str:
    # The name quoted: true and false are names here, not booleans.
    return (VALID_PROFILE.replace("name: demo", f"name: '{name}'").replace("{name: tiny,", f"{{name: {pool},")
            .replace("    ccm: {size: 64KiB}", f"    {region}: {{size: 64KiB}}").replace("  ccm: 4KiB", f"  {region}: 4KiB")
            .replace("region: ccm}", f"region: {region}}}"))


def test_every_keyword_and_library_macro_is_refused_as_a_profile_name(write_profile: Callable[..., Path],
                                                                      cli: Callable[..., Run]) -> None:
    names = sorted(n for n in CPP_KEYWORDS | LIBRARY_MACROS if NAME_RE.fullmatch(n))
    assert {"errno", "assert", "char8_t", "requires", "co_await", "linux", "stdin"} <= set(names)
    for name in names:
        run = cli("check", write_profile(_profile(name=name)))
        expected = rf":2:7: error: name: '{name}' is (a C\+\+ keyword|a macro of the C or C\+\+ library)"
        assert run.code == 1 and re.search(expected, run.err), (name, run.err)


@pytest.mark.parametrize("field, value, generated", [
    ("region", "_", "__used"),
    ("region", "_R", "_R_used"),
    ("region", "sram_", "sram__used"),
    ("pool", "_tiny", "pool__tiny"),
    ("pool", "tiny_", "pool_tiny__storage"),
    ("pool", "x__y", "pool_x__y"),
])
def test_names_that_generate_reserved_identifiers_are_refused(
        write_profile: Callable[..., Path], cli: Callable[..., Run], field: str, value: str, generated: str) -> None:
    run = cli("check", write_profile(_profile(**{field: value})))
    assert run.code == 1
    assert f"generates the C++ name '{generated}', an identifier C++ reserves" in run.err, run.err


@pytest.mark.parametrize("core", ["host", "cortex-m4"])
def test_names_beside_the_refused_ones_compile_at_cxx17_and_cxx20(core: str, mbedtls_dir: Path, tmp_path: Path,
                                                                  cli: Callable[..., Run]) -> None:
    """Contextual keywords and names that merely contain a macro's name are valid and must build."""
    compiler = list(COMPILER_BY_CORE[core])
    require_compiler(compiler[0])
    names = ["final", "override", "module", "import", "errno_log", "assert_ok", "std_io", "char8"]
    out = tmp_path / "out"
    profiles = []
    for name in names:
        path = tmp_path / f"{name}.yaml"
        path.write_text(_profile(name=name, pool="stdin_pool", region="linux_ram"), encoding="utf-8")
        profiles.append(path)
    assert cli("generate", *profiles, "--out", out).code == 0
    source = tmp_path / "main.cpp"
    source.write_text("#include <cerrno>\n#include <cassert>\n#include <cstdio>\n"
                      + "".join(f"#include <{n}/layout.hpp>\n" for n in names)
                      + "int main() { return " + " + ".join(f"static_cast<int>(memplan::{n}::config::pool_count)" for n in names)
                      + " == 32 ? 0 : 1; }\n", encoding="utf-8")
    flags = [f for f in cxx_include_flags(mbedtls_dir) if not f.startswith("-std=")]
    for std in ("c++17", "gnu++17", "c++20"):
        result = subprocess.run([*compiler, f"-std={std}", "-Wall", "-Wextra", "-Werror", *flags, f"-I{out}", "-fsyntax-only", str(source)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"-std={std}:\n{result.stderr[:3000]}"
