"""`memplan init DIR --core CORE`: the product's files, and every request it cannot serve refused
with nothing written. tests/integration/test_init.py builds and runs what it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from conftest import Run
from memplan.product_init import MACHINES
from memplan.validator import load_profile


@pytest.mark.parametrize("core", sorted(MACHINES))
def test_init_writes_a_product_whose_profile_and_linker_script_agree(cli: Callable[..., Run], tmp_path: Path, core: str) -> None:
    product = tmp_path / "door_lock"
    run = cli("init", product, "--core", core)
    assert (run.code, run.err) == (0, ""), run.err
    assert sorted(p.name for p in product.iterdir()) == ["CMakeLists.txt", "CMakePresets.json", "door_lock.ld", "door_lock.yaml",
                                                         "main.cpp", "startup.cpp"]
    profile = load_profile(str(product / "door_lock.yaml"))[0]
    machine = MACHINES[core]
    assert (profile.name, profile.target.core) == ("door_lock", machine.core)
    assert profile.target.flash is not None and (profile.target.flash.origin, profile.target.flash.size) == machine.flash
    script = (product / "door_lock.ld").read_text()
    assert f"FLASH (rx) : ORIGIN = 0x{machine.flash[0]:08x}, LENGTH = {machine.flash[1]}" in script
    for region, size in profile.target.regions.items():  # MEMORY is the profile's target, region by region
        assert f"  {region} (rwx) : ORIGIN = 0x{profile.target.origins[region]:08x}, LENGTH = {size}\n" in script
    assert script.rstrip().endswith("INCLUDE door_lock/layout.ld")
    presets = (product / "CMakePresets.json").read_text()
    assert f'"toolchainFile": "{Path(__file__).resolve().parents[2] / "cmake" / "toolchains" / f"{core}.cmake"}"' in presets


def test_another_shipped_profile_and_name(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("init", tmp_path / "x", "--core", "cortex-m7", "--profile", "micro", "--name", "meter")
    assert run.code == 0, run.err
    profile = load_profile(str(tmp_path / "x" / "meter.yaml"))[0]
    assert profile.name == "meter" and profile.target.core == "cortex-m7" and profile.crypto.aead == "chacha20-poly1305"


@pytest.mark.parametrize("arguments, message", [
    (["--core", "cortex-m33"], "--core must be one of cortex-m0, cortex-m3, cortex-m4f, cortex-m7"),
    (["--core", "host"], "--core must be one of"),
    (["--core", "cortex-m4f", "--profile", "huge"], "--profile must be one of micro, small, medium, large"),
    (["--core", "cortex-m4f", "--name", "Gateway"], "--name 'Gateway': a product name is a lower-case identifier"),
    (["--core", "cortex-m4f", "--name", "memplan_x"], "not memplan*"),
    (["--core", "cortex-m4f", "--name", "a" * 33], "a product name is a lower-case identifier of up to 32 characters"),
    (["--core", "cortex-m0", "--profile", "medium"], "profile medium does not fit the Cortex-M0's QEMU machine (microbit)"),
    (["--core", "cortex-m0", "--profile", "large"], "--profile micro fits it"),
])
def test_requests_init_cannot_serve_are_usage_errors(cli: Callable[..., Run], tmp_path: Path, arguments, message: str) -> None:
    run = cli("init", tmp_path / "product", *arguments)
    assert (run.code, run.out) == (2, "") and message in run.err and run.err.count("\n") == 1, run.err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary folder


def test_init_never_writes_over_a_folder_in_use(cli: Callable[..., Run], tmp_path: Path) -> None:
    product = tmp_path / "product"
    product.mkdir()
    (product / "main.cpp").write_text("// mine\n")
    run = cli("init", product, "--core", "cortex-m4f")
    assert run.code == 2 and "exists and is not an empty folder" in run.err
    assert [p.name for p in product.iterdir()] == ["main.cpp"] and (product / "main.cpp").read_text() == "// mine\n"
    file = tmp_path / "file"
    file.write_text("x")
    assert cli("init", file, "--core", "cortex-m4f").code == 2
    assert cli("init", tmp_path / "missing" / "product", "--core", "cortex-m4f").code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("init", empty, "--core", "cortex-m4f").code == 0 and (empty / "empty.yaml").is_file()  # an empty folder is used
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "product"]  # no temporary folder left


def test_init_refuses_a_memplan_option_that_is_no_checkout(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("init", tmp_path / "product", "--core", "cortex-m4f", "--memplan", tmp_path)
    assert run.code == 2 and "not a memplan checkout" in run.err
