"""A corpus of broken profiles: each must fail cleanly, with the expected error.

Every tests/generator/bad_profiles/*.yaml starts with
    # expect: LINE:COL text
where LINE:COL is where the error points (`-` for a file-level error without
a position) and `text` is a key path or any substring of the error line. The
CLI runs in a subprocess with a timeout; the run must exit 1, print the
expected line, print no traceback and write no output. The elapsed time is
recorded as a test property (not asserted: machines are noisy).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from conftest import Run

CORPUS = Path(__file__).resolve().parent / "bad_profiles"
EXPECT = re.compile(rb"^# expect: (?P<where>\d+:\d+|-) (?P<text>.+)\n")


def _corpus() -> List[Path]:
    return sorted(CORPUS.glob("*.yaml"))


def _expectation(path: Path) -> Tuple[str, str]:
    match = EXPECT.match(path.read_bytes())
    assert match, f"{path.name}: first line must be '# expect: LINE:COL key.path-or-substring'"
    return match.group("where").decode(), match.group("text").decode()


def test_corpus_is_big_enough() -> None:
    files = _corpus()
    assert len(files) >= 20
    for path in files:
        _expectation(path)


@pytest.mark.parametrize("path", _corpus(), ids=[p.stem for p in _corpus()])
def test_bad_profile(path: Path, tmp_path: Path, cli_subprocess: Callable[..., Run], record_property) -> None:
    where, text = _expectation(path)
    out = tmp_path / "out"
    start = time.monotonic()
    run = cli_subprocess("generate", path, "--out", out, timeout=60)
    record_property("elapsed_s", round(time.monotonic() - start, 3))
    assert run.code == 1, run
    assert run.out == ""
    assert "Traceback" not in run.err
    prefix = f"{path}: error: " if where == "-" else f"{path}:{where}: error: "
    matching = [line for line in run.err.splitlines() if line.startswith(prefix) and text in line]
    assert matching, f"expected a line starting {prefix!r} containing {text!r}, got:\n{run.err}"
    assert all(": error: " in line for line in run.err.splitlines())
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
