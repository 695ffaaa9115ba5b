"""`memplan init` from an empty folder to a running product: for each core with a QEMU machine,
the product it writes configures with its preset, builds (memplan_check_elf passing its image: no
heap, budgets, placement, the stack's worst case), and runs under QEMU; then, as the guide goes on,
`memplan fit` sizes its profile from the run's statistics and the fitted product builds and runs.
The host preset too."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def init(tmp_path: Path, core: str) -> Path:
    env = dict(os.environ, PYTHONPATH=str(REPO / "generator"), PYTHONDONTWRITEBYTECODE="1")
    product = tmp_path / "door_lock"
    subprocess.run(["/usr/bin/python3", "-m", "memplan", "init", str(product), "--core", core], env=env, check=True,
                   capture_output=True, text=True)
    return product


@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m3", "cortex-m4f", "cortex-m7"])
def test_an_initialized_product_builds_and_runs_under_qemu(tmp_path: Path, core: str) -> None:
    product = init(tmp_path, core)
    run(["cmake", "--preset", core], product)
    run(["cmake", "--build", "--preset", core], product)
    tested = run(["ctest", "--preset", core, "-V"], product)
    assert "door_lock: sealed and opened 21 bytes; 1 seal, 1 open" in tested.stdout and "result: ok" in tested.stdout, tested.stdout
    report = (product / "build" / core / "door_lock.budget.md").read_text()
    assert "(ok)" in report and "| main |" in report and "| region by origin |" in report, report
    # The guide's next step: fit the profile to what the run needed, apply the diff, rebuild, rerun.
    (product / "run.log").write_text(re.sub(r"(?m)^\d+: ", "", tested.stdout))  # ctest -V's "<test>: " prefixes
    env = dict(os.environ, PYTHONPATH=str(REPO / "generator"), PYTHONDONTWRITEBYTECODE="1")
    fitted = subprocess.run(["/usr/bin/python3", "-m", "memplan", "fit", "run.log", "--profile", "door_lock.yaml"], cwd=product,
                            env=env, check=True, capture_output=True, text=True).stdout
    assert "freed" in fitted and "--- a/door_lock.yaml" in fitted, fitted
    subprocess.run(["git", "apply", "-"], input=fitted, cwd=product, check=True, text=True)
    run(["cmake", "--build", "--preset", core], product)
    tested = run(["ctest", "--preset", core, "-V"], product)
    assert "result: ok" in tested.stdout and tested.stdout.count("failures=0 spills=0") == fitted.count("# pool "), tested.stdout
    assert "(ok)" in (product / "build" / core / "door_lock.budget.md").read_text()


def test_an_initialized_product_runs_on_the_host(tmp_path: Path) -> None:
    product = init(tmp_path, "cortex-m4f")
    run(["cmake", "--preset", "host"], product)
    run(["cmake", "--build", "--preset", "host"], product)
    tested = run(["ctest", "--preset", "host", "-V"], product)
    assert "door_lock: sealed and opened 21 bytes" in tested.stdout, tested.stdout
