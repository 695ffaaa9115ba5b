"""A product project outside the repository uses memplan as the README says:
add_subdirectory and the installed package, host and Cortex-M4, Ninja and
Makefiles; generation at build time only when needed; profile errors and
budget violations fail the build with their positions and names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = Path(__file__).resolve().parent / "product"
TOOLCHAIN = REPO / "cmake" / "toolchains" / "cortex-m4f.cmake"


def run(args: List[str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if ok and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def copy_product(tmp: Path) -> Path:
    source = tmp / "product"
    shutil.copytree(PRODUCT, source)
    return source


def configure(source: Path, build: Path, *extra: str, generator: str = "Ninja") -> None:
    run(["cmake", "-S", source, "-B", build, "-G", generator, "-DMEMPLAN_BUILD_TESTS=OFF", *extra], cwd=source)


def build(build_dir: Path, ok: bool = True) -> subprocess.CompletedProcess:
    return run(["cmake", "--build", build_dir, "--", "-v"] if (build_dir / "build.ninja").exists() else ["cmake", "--build", build_dir], cwd=build_dir, ok=ok)


@pytest.fixture(scope="module")
def host_product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("host")
    source = copy_product(tmp)
    configure(source, tmp / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}")
    build(tmp / "build")
    return tmp


def check_sealed(output: str) -> None:
    """The product sealed 300 bytes (1, then zeros) under the key 9, 0, ...: OpenSSL opens it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    lines = output.strip().splitlines()
    assert lines[-1] == "gateway: ok", output
    _, nonce, sealed = lines[0].split()
    assert AESGCM(bytes([9] + [0] * 15)).decrypt(bytes.fromhex(nonce), bytes.fromhex(sealed), None) == bytes([1] + [0] * 299)


def test_add_subdirectory_host_build_runs(host_product: Path) -> None:
    layout = host_product / "build" / "memplan" / "gateway_layout" / "gateway"
    assert (layout / "layout.hpp").is_file() and (layout / "layout.ld").is_file()
    assert (host_product / "build" / "gateway.budget.md").read_text().startswith("### gateway")
    check_sealed(run([host_product / "build" / "gateway"], cwd=host_product).stdout)


def test_nothing_changed_nothing_rebuilt(host_product: Path) -> None:
    out = build(host_product / "build").stdout
    assert "no work to do" in out, out


def test_touching_the_profile_regenerates_and_unchanged_headers_rebuild_nothing(host_product: Path) -> None:
    profile = host_product / "product" / "gateway.yaml"
    os.utime(profile)  # newer, same bytes
    out = build(host_product / "build").stdout
    assert "memplan generate" in out  # the generator ran ...
    assert "main.cpp" not in out  # ... but rewrote nothing, so nothing recompiled
    profile.write_text(profile.read_text().replace("count: 8, usage: [message]", "count: 6, usage: [message]"))
    out = build(host_product / "build").stdout
    assert "memplan generate" in out and "main.cpp" in out
    header = (host_product / "build" / "memplan" / "gateway_layout" / "gateway" / "layout.hpp").read_text()
    assert "pool_messages_block_count = 6;" in header
    assert run([host_product / "build" / "gateway"], cwd=host_product).returncode == 0


def test_a_bad_profile_fails_the_build_with_its_position(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    profile = source / "gateway.yaml"
    profile.write_text(profile.read_text().replace("block_size: 1024", "block_size: 0"))
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}")
    result = build(tmp_path / "build", ok=False)
    assert result.returncode != 0
    assert re.search(r"gateway\.yaml:\d+:\d+: error: pools\[1\]\.block_size: must be > 0 \(got 0\)", result.stdout + result.stderr)


@pytest.mark.parametrize("spelling", ['name: "gateway"', "name: 'gateway'  # quoted", "? name\n: gateway"],
                         ids=["double_quoted", "single_quoted_with_comment", "explicit_key"])
def test_any_yaml_spelling_of_the_name_builds(tmp_path: Path, spelling: str) -> None:
    """CMake asks the generator for the name (`memplan name`), so any YAML that `memplan check` accepts builds."""
    source = copy_product(tmp_path)
    profile = source / "gateway.yaml"
    profile.write_text(profile.read_text().replace("name: gateway\n", spelling + "\n"))
    assert run(["/usr/bin/python3", "-B", "-m", "memplan", "check", profile], cwd=REPO / "generator").returncode == 0
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}")
    build(tmp_path / "build")
    assert (tmp_path / "build" / "memplan" / "gateway_layout" / "gateway" / "layout.hpp").is_file()


def test_an_invalid_name_stops_the_configure_step_with_its_position(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    profile = source / "gateway.yaml"
    profile.write_text(profile.read_text().replace("name: gateway\n", "name: Gate-way\n"))
    result = run(["cmake", "-S", source, "-B", tmp_path / "build", "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF",
                  f"-DMEMPLAN_SOURCE_DIR={REPO}"], cwd=source, ok=False)
    assert result.returncode != 0
    assert re.search(r"gateway\.yaml:3:7: error: name: a profile name must match", result.stderr), result.stderr


def test_building_a_product_writes_nothing_into_memplans_tree(tmp_path: Path) -> None:
    before = {p for p in REPO.rglob("__pycache__") if "build" not in p.parts}
    for cache in before:
        shutil.rmtree(cache)
    source = copy_product(tmp_path)
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}")
    build(tmp_path / "build")
    assert not [p for p in (REPO / "generator").rglob("__pycache__")]


def test_makefiles_generator(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}", generator="Unix Makefiles")
    run(["cmake", "--build", tmp_path / "build", "-j2"], cwd=tmp_path)
    assert run([tmp_path / "build" / "gateway"], cwd=tmp_path).returncode == 0


TABLES = "  tables: {aes: ram-full, gcm: 8-bit}\n"


def with_tables(source: Path, tables: str = TABLES) -> None:
    profile = source / "gateway.yaml"
    profile.write_text(profile.read_text().replace("  max_security_violations: 3\n", "  max_security_violations: 3\n" + tables)
                       .replace("  sram: 24KiB", "  sram: 40KiB"))


def compile_flags(build_dir: Path, file_name: str) -> str:
    import json
    commands = json.loads((build_dir / "compile_commands.json").read_text())
    return next(c["command"] for c in commands if c["file"].endswith("/" + file_name))


def test_the_profiles_tables_configure_mbedtls_and_its_users(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    with_tables(source)
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
    build(tmp_path / "build")
    for file_name in ("gcm.c", "aes.c", "main.cpp"):  # mbedTLS and the product see one configuration
        flags = compile_flags(tmp_path / "build", file_name)
        assert "-DMBEDTLS_GCM_LARGE_TABLE" in flags and "-DMEMPLAN_MBEDTLS_PLANNED" in flags, flags
        assert "MBEDTLS_AES_ROM_TABLES" not in flags and "MBEDTLS_AES_FEWER_TABLES" not in flags, flags
    check_sealed(run([tmp_path / "build" / "gateway"], cwd=tmp_path).stdout)
    report = (tmp_path / "build" / "gateway.budget.md").read_text()
    assert "mbedTLS AES tables (`crypto.tables.aes`: ram-full): 4392 B in `.bss` (RAM)." in report, report  # check-elf found them
    header = (tmp_path / "build" / "memplan" / "gateway_layout" / "gateway" / "layout.hpp").read_text()
    assert "key_context_size = 4464;" in header  # the host's 8-bit GCM context


def test_two_products_that_disagree_on_tables_stop_the_configure_step(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    other = (source / "gateway.yaml").read_text().replace("name: gateway", "name: other")
    (source / "other.yaml").write_text(other)
    with_tables(source, "  tables: {gcm: 8-bit}\n")
    with open(source / "CMakeLists.txt", "a", encoding="utf-8") as cmake:
        cmake.write("memplan_add_layout(other_layout PROFILE ${CMAKE_CURRENT_SOURCE_DIR}/other.yaml)\n")
    result = run(["cmake", "-S", source, "-B", tmp_path / "build", "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF",
                  f"-DMEMPLAN_SOURCE_DIR={REPO}"], cwd=source, ok=False)
    assert result.returncode != 0
    assert re.search(r"other\.yaml:\d+:\d+: error: crypto\.tables\.gcm: 4-bit here, but \S*gateway\.yaml \(gateway\) has 8-bit: "
                     r"one mbedTLS build has one choice of GCM table", result.stderr), result.stderr
    assert "the profiles of this build cannot share one mbedTLS build" in result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """memplan installed as a package, its mbedTLS built with the default tables."""
    tmp = tmp_path_factory.mktemp("installed")
    prefix = tmp / "prefix"
    run(["cmake", "-S", REPO, "-B", tmp / "memplan", "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF"], cwd=tmp)
    run(["cmake", "--build", tmp / "memplan"], cwd=tmp)
    run(["cmake", "--install", tmp / "memplan", "--prefix", prefix], cwd=tmp)
    return prefix


def test_installed_package(tmp_path: Path, installed: Path) -> None:
    source = copy_product(tmp_path)
    configure(source, tmp_path / "build", f"-DCMAKE_PREFIX_PATH={installed}")
    build(tmp_path / "build")
    check_sealed(run([tmp_path / "build" / "gateway"], cwd=tmp_path).stdout)


def test_an_installed_package_refuses_tables_it_was_not_built_with(tmp_path: Path, installed: Path) -> None:
    source = copy_product(tmp_path)
    with_tables(source)
    result = run(["cmake", "-S", source, "-B", tmp_path / "build", "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={installed}"],
                 cwd=source, ok=False)
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "need mbedTLS built with MBEDTLS_GCM_LARGE_TABLE MEMPLAN_MBEDTLS_PLANNED" in message, message
    assert "was built with MBEDTLS_AES_FEWER_TABLES MBEDTLS_AES_ROM_TABLES MEMPLAN_MBEDTLS_PLANNED" in message, message
    assert "-DMEMPLAN_MBEDTLS_PROFILES=" in message


def test_a_package_installed_for_the_products_tables_serves_them(tmp_path: Path) -> None:
    source = copy_product(tmp_path)
    with_tables(source)
    prefix = tmp_path / "prefix"
    run(["cmake", "-S", REPO, "-B", tmp_path / "memplan", "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF",
         f"-DMEMPLAN_MBEDTLS_PROFILES={source / 'gateway.yaml'}"], cwd=tmp_path)
    run(["cmake", "--build", tmp_path / "memplan"], cwd=tmp_path)
    run(["cmake", "--install", tmp_path / "memplan", "--prefix", prefix], cwd=tmp_path)
    configure(source, tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}")
    build(tmp_path / "build")
    check_sealed(run([tmp_path / "build" / "gateway"], cwd=tmp_path).stdout)


@pytest.fixture(scope="module")
def cortex_m4_product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("m4")
    source = copy_product(tmp)
    configure(source, tmp / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}", f"--toolchain={TOOLCHAIN}")
    build(tmp / "build")
    return tmp


def test_cortex_m4_build_is_checked_against_the_profile(cortex_m4_product: Path) -> None:
    report = (cortex_m4_product / "build" / "gateway.budget.md").read_text()
    assert "(ok)" in report and re.search(r"^\| sram \| 98304 B \| \d+ B \| \d+ B \| \d+ B \| 24576 B \|$", report, re.M), report
    nm = run(["arm-none-eabi-nm", cortex_m4_product / "build" / "gateway.elf"], cwd=cortex_m4_product).stdout
    assert "__memplan_gateway_pool_messages_start" in nm
    assert not re.search(r" (malloc|free|calloc|_Znwj|__cxa_\w+)$", nm, re.M)


def test_a_region_smaller_than_the_image_fails_the_build_naming_region_and_symbols(cortex_m4_product: Path) -> None:
    """target.regions.sram.size one byte below what the image puts there (the layout's budget still fits)."""
    source = cortex_m4_product / "product"
    elf = cortex_m4_product / "build" / "gateway.elf"
    env = dict(os.environ, PYTHONPATH=str(REPO / "generator"))
    measured = subprocess.run(["/usr/bin/python3", "-m", "memplan", "check-elf", str(elf), "--profile", str(source / "gateway.yaml"), "--format", "json"],
                              capture_output=True, text=True, env=env, check=True)
    import json
    region = next(r for r in json.loads(measured.stdout)["regions"] if r["name"] == "sram")
    used = region["used"]
    assert region["layout"] + 64 < used - 1  # the layout still fits (the host build's is up to 24 B larger)
    profile = source / "gateway.yaml"
    profile.write_text(profile.read_text().replace("sram: 24KiB", f"sram: {used - 1}").replace("sram: {size: 96KiB}", f"sram: {{size: {used - 1}}}"))
    result = build(cortex_m4_product / "build", ok=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"region sram: the image uses {used} B, more than the region's {used - 1} B (target.regions.sram.size) by 1 B" in output
    assert "filled by:" in output and "pool_messages_storage" in output


def test_a_stack_below_its_worst_case_fails_the_build_naming_the_entry_point_and_path(tmp_path: Path) -> None:
    """The layout places the product's stack; memplan_check_elf bounds the reset path over the call graph
    GCC wrote for the product, the runtime and mbedTLS, and fails the link when the stack is smaller."""
    source = copy_product(tmp_path)
    profile = source / "gateway.yaml"
    text = profile.read_text().replace("  sram: 24KiB", "  sram: 28KiB")
    profile.write_text(text + "stack: {size: 4KiB}\n")
    configure(source, tmp_path / "build", f"-DMEMPLAN_SOURCE_DIR={REPO}", f"--toolchain={TOOLCHAIN}")
    build(tmp_path / "build")
    report = (tmp_path / "build" / "gateway.budget.md").read_text()
    found = re.search(r"^\| main \| 4096 B \| (\d+) B \| Reset_Handler \1 B via \d+ functions \| - \|$", report, re.M)
    assert found, report
    # The link wrote its map: every byte of the region by origin, the sum being what the region uses.
    used = int(re.search(r"^\| sram \| \d+ B \| (\d+) B \|", report, re.M).group(1))
    origins = re.search(r"^\| sram \| (\d+) B \| (\d+) B \| (\d+) B \| (\d+) B \| (\d+) B \| (\d+) B \| (\d+) B \| (\d+) B \|$", report, re.M)
    assert origins and sum(int(n) for n in origins.groups()[:-1]) == used == int(origins.group(8)), report
    assert int(origins.group(2)) == 4096 and int(origins.group(3)) > 0  # the stack; the runtime's objects
    assert (tmp_path / "build" / "gateway.budget.svg").read_text().startswith("<?xml")
    bound = int(found.group(1))
    assert 200 < bound < 4096  # a seal's depth: main, the session table, the nonce sequence or mbedTLS
    below = (bound - 1) // 8 * 8  # the largest size a profile can state (multiples of 8) below the bound
    profile.write_text(text + f"stack: {{size: {below}}}\n")
    result = build(tmp_path / "build", ok=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"error: stack.size: the main stack needs up to {bound} B, more than its {below} B by {bound - below} B" in output, output
    assert re.search(r"deepest paths: Reset_Handler: Reset_Handler \(\d+ B\) -> main \(\d+ B\) -> _ZN7memplan", output), output


@pytest.fixture(scope="module")
def installed_cortex_m4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """memplan built for Cortex-M4 and installed: its runtime and mbedTLS come prebuilt, their call graph with them."""
    tmp = tmp_path_factory.mktemp("installed-m4")
    prefix = tmp / "prefix"
    run(["cmake", "-S", REPO, "-B", tmp / "memplan", "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF", f"--toolchain={TOOLCHAIN}"], cwd=tmp)
    run(["cmake", "--build", tmp / "memplan"], cwd=tmp)
    run(["cmake", "--install", tmp / "memplan", "--prefix", prefix], cwd=tmp)
    return prefix


def _stack_bound(report: str) -> int:
    found = re.search(r"^\| main \| 4096 B \| (\d+) B \| Reset_Handler \1 B via \d+ functions \| - \|$", report, re.M)
    assert found, report
    return int(found.group(1))


def test_an_installed_packages_product_bounds_its_stack_as_a_subdirectorys_does(tmp_path: Path, installed_cortex_m4: Path) -> None:
    """The package installs the .ci files of its libraries; memplan_check_elf reads them, so the bound over the
    prebuilt runtime and mbedTLS is the one a build with memplan as a subdirectory computes."""
    assert list((installed_cortex_m4 / "share" / "memplan" / "callgraph" / "runtime").rglob("*.ci"))
    assert list((installed_cortex_m4 / "share" / "memplan" / "callgraph" / "mbedcrypto").rglob("gcm.c.ci"))
    bounds = []
    for way, option in (("installed", f"-DCMAKE_PREFIX_PATH={installed_cortex_m4}"), ("subdirectory", f"-DMEMPLAN_SOURCE_DIR={REPO}")):
        source = copy_product(tmp_path / way)
        profile = source / "gateway.yaml"
        profile.write_text(profile.read_text().replace("  sram: 24KiB", "  sram: 28KiB") + "stack: {size: 4KiB}\n")
        configure(source, tmp_path / way / "build", option, f"--toolchain={TOOLCHAIN}")
        build(tmp_path / way / "build")
        report = (tmp_path / way / "build" / "gateway.budget.md").read_text()
        bounds.append(_stack_bound(report))
        assert "| sram | " in report and "(ok)" in report, report
    installed, subdirectory = bounds
    assert installed == subdirectory and 200 < installed < 4096
