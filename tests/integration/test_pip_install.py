"""`pip install --no-build-isolation .` with Debian's Python works offline and
gives a `memplan` command that finds its templates outside the checkout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_pip_install_offline_into_a_venv(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # Only what git tracks: no build trees, no caches.
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-index", "--quiet", str(source)],
                             capture_output=True, text=True, cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.rmtree(source)  # the installed command must not lean on the checkout
    memplan = venv / "bin" / "memplan"
    check = subprocess.run([str(memplan), "check", str(REPO / "profiles" / "medium.yaml")], capture_output=True, text=True)
    assert check.returncode == 0 and "sram 47712/49152 B" in check.stdout, check.stdout + check.stderr
    out = tmp_path / "out"
    generate = subprocess.run([str(memplan), "generate", str(REPO / "profiles" / "micro.yaml"), "--out", str(out)], capture_output=True, text=True)
    assert generate.returncode == 0, generate.stderr
    assert sorted(p.name for p in (out / "micro").iterdir()) == ["budget.json", "budget.md", "budget.svg", "layout.hpp", "layout.ld"]
    assert subprocess.run([str(memplan), "--version"], capture_output=True, text=True).stdout.strip() == "memplan 0.1.0"
