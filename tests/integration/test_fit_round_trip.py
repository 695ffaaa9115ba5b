"""`memplan fit` on real runs: each example firmware, built over its shipped profile and run under
QEMU, prints its sizing statistics; fit proposes a profile from them; the same firmware built over
the proposal runs the same workload with every request served, and its image needs less RAM."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "generator"))

from memplan.statistics_dump import parse_dumps  # noqa: E402

EXAMPLES = [("micro", "cortex-m0"), ("small", "cortex-m3"), ("medium", "cortex-m4f"), ("large", "cortex-m7")]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "generator"), PYTHONDONTWRITEBYTECODE="1")


def run(args: List[object], cwd: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def memplan(*args: object) -> subprocess.CompletedProcess:
    return run(["/usr/bin/python3", "-m", "memplan", *args])


def build_and_run(build: Path, core: str, profile: str, profiles: Path) -> str:
    """The firmware's output under QEMU, built over `profiles`/<profile>.yaml."""
    run(["cmake", "-S", REPO, "-B", build, "-G", "Ninja", "--toolchain", REPO / "cmake" / "toolchains" / f"{core}.cmake",
         "-DMEMPLAN_BUILD_EXAMPLES=ON", "-DMEMPLAN_BUILD_TESTS=OFF", f"-DMEMPLAN_EXAMPLE_PROFILE_DIR={profiles}"])
    run(["cmake", "--build", build, "--target", f"firmware_{profile}"])
    tested = run(["ctest", "--test-dir", build, "-R", f"^qemu\\.firmware_{profile}$", "-V"])
    assert "result: ok, failed checks 0" in tested.stdout, tested.stdout
    return tested.stdout


def region_use(build: Path, profile: str, profile_file: Path) -> Dict[str, int]:
    """Each RAM region's bytes in use in the linked image, as check-elf measures them."""
    result = subprocess.run(["/usr/bin/python3", "-m", "memplan", "check-elf", str(build / "examples" / f"firmware_{profile}.elf"),
                             "--profile", str(profile_file), "--format", "json"],
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return {r["name"]: r["used"] for r in json.loads(result.stdout)["regions"]}


def dump_text(output: str) -> str:
    # ctest -V prefixes each line of the test's output with "<test number>: ".
    return "\n".join(re.sub(r"^\d+: ", "", line) for line in output.splitlines())


@pytest.mark.parametrize("profile,core", EXAMPLES)
def test_a_profile_fitted_from_a_run_serves_the_same_run_in_less_ram(tmp_path: Path, profile: str, core: str) -> None:
    shipped = REPO / "profiles" / f"{profile}.yaml"
    before = build_and_run(tmp_path / "shipped", core, profile, REPO / "profiles")
    log = tmp_path / "run.log"
    log.write_text(dump_text(before))
    fitted_dir = tmp_path / "fitted"
    fitted_dir.mkdir()
    fitted = fitted_dir / f"{profile}.yaml"
    proposal = memplan("fit", log, "--profile", shipped, "--output", fitted).stdout
    assert f"--- a/profiles/{profile}.yaml" in proposal, proposal

    after = build_and_run(tmp_path / "fitted-build", core, profile, fitted_dir)
    [dump] = parse_dumps("after", dump_text(after))
    for pool in dump.pools:  # the same workload, every request served by its own class
        assert pool.failures == 0 and pool.spills == 0, pool
        assert pool.demand <= pool.block_count, pool

    used_before = region_use(tmp_path / "shipped", profile, shipped)
    used_after = region_use(tmp_path / "fitted-build", profile, fitted)
    assert set(used_before) == set(used_after)
    assert all(used_after[r] <= used_before[r] for r in used_before), (used_before, used_after)
    assert sum(used_after.values()) < sum(used_before.values()), (used_before, used_after)
