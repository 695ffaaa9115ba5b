"""Shared fixtures for the generator tests.

Run with Debian's interpreter, which has jinja2, yaml and pytest:
    cd <repo> && /usr/bin/python3 -m pytest -q tests/generator
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "generator"
if str(GENERATOR) not in sys.path:
    sys.path.insert(0, str(GENERATOR))

PYTHON = "/usr/bin/python3"  # the `python3` on PATH may not see jinja2 and yaml
SHIPPED = ("micro", "small", "medium", "large")

# A valid medium-like profile; test_validator mutates one thing at a time and
# its expected positions refer to these line numbers (line 1 is `schema: 1`).
VALID_PROFILE = """\
schema: 1
name: demo
description: test profile
target:
  core: cortex-m4
  cache_line: 32
  regions:
    sram: {size: 128KiB}
    ccm: {size: 64KiB}
budget:
  sram: 48KiB
  ccm: 4KiB
pools:
  - {name: tiny, block_size: 64, count: 32, usage: [key, nonce], region: ccm}
  - {name: small, block_size: 256, count: 16, usage: [message]}
  - {name: medium, block_size: 1024, count: 8, usage: [message]}
  - {name: large, block_size: 4096, count: 4, usage: [message]}
sessions:
  count: 8
  key_slots: 8
workspace:
  buffer_size: 2048
crypto:
  aead: aes-256-gcm
  tag_size: 16
  nonce: {fixed_size: 4, counter_size: 8, reserve: 1024}
  rotation: {max_messages: 1000000, max_age_s: 3600}
  max_security_violations: 5
"""


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> List[str]:
        return [line for line in self.err.splitlines() if ": error: " in line]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[..., Path]:
    """write_profile(text, name="demo.yaml") -> path of the file in tmp_path (bytes are written as is)."""

    def write(text: Union[str, bytes], name: str = "demo.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path

    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Callable[..., Run]:
    """cli("check", path, ...) runs memplan.cli.main in this process."""
    from memplan.cli import main

    def run(*args: Union[str, Path]) -> Run:
        capsys.readouterr()  # drop anything printed earlier
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse --help / --version
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def run_subprocess(args: Sequence[Union[str, Path]], cwd: Optional[Path] = None, timeout: float = 60) -> Run:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(GENERATOR) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("MEMPLAN_TEMPLATE_DIR", None)
    proc = subprocess.run(
        [PYTHON, "-m", "memplan", *[str(a) for a in args]],
        cwd=str(cwd or REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli_subprocess(tmp_path: Path) -> Callable[..., Run]:
    """cli_subprocess("check", path, cwd=..., timeout=...) runs `/usr/bin/python3 -m memplan`."""

    def run(*args: Union[str, Path], cwd: Optional[Path] = None, timeout: float = 60) -> Run:
        return run_subprocess(args, cwd=cwd or tmp_path, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def shipped_profiles() -> List[Path]:
    paths = [REPO / "profiles" / f"{name}.yaml" for name in SHIPPED]
    assert all(p.is_file() for p in paths), paths
    return paths


def files_under(directory: Path) -> List[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# -- C++ compilation (test_compile.py, test_target_abi.py) ---------------------------

MBEDTLS_DEFAULT = Path.home() / ".cache" / "memplan" / "mbedtls-3.6.6"


@pytest.fixture(scope="session")
def mbedtls_dir() -> Path:
    """mbedTLS 3.6 sources (scripts/install-deps.sh unpacks them); never skipped when absent."""
    directory = Path(os.environ.get("MEMPLAN_MBEDTLS_SOURCE_DIR") or MBEDTLS_DEFAULT)
    if not (directory / "include" / "mbedtls" / "gcm.h").is_file():
        pytest.fail(
            f"mbedTLS sources not found at {directory} (no include/mbedtls/gcm.h): run scripts/install-deps.sh "
            "or set MEMPLAN_MBEDTLS_SOURCE_DIR to an unpacked mbedtls-3.6.x source tree"
        )
    return directory


def cxx_include_flags(mbedtls: Path) -> List[str]:
    config = REPO / "cmake" / "mbedtls" / "memplan_mbedtls_config.h"
    return [
        "-std=c++17",
        f"-I{REPO / 'runtime' / 'include'}",
        "-isystem", str(mbedtls / "include"),
        f'-DMBEDTLS_CONFIG_FILE="{config}"',
    ]


def require_compiler(name: str) -> str:
    import shutil

    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: g++, gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib)")
    return found


def run_compiler(command: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def elf_images(tmp_path_factory: pytest.TempPathFactory, mbedtls_dir: Path):
    """The linked test images of elf_images.py (test_elfcheck, test_diff), built once."""
    from elf_images import BuildError, build

    for tool in ("g++", "gcc", "ar", "arm-none-eabi-g++", "arm-none-eabi-gcc", "arm-none-eabi-ar"):
        require_compiler(tool)
    try:
        return build(mbedtls_dir, tmp_path_factory.mktemp("elf"))
    except BuildError as exc:
        pytest.fail(f"building the check-elf test images failed:\n{exc}")
