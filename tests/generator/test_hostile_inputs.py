"""Hostile and unusual inputs for `memplan check-elf` and `memplan diff`: every one is refused with
its exit code and a message that names the file and the fault, within a time bound, with no
traceback and nothing written.

The corpus is tests/generator/hostile_inputs/:
  elf/*.elf      crafted images (craft_elf.py writes them, and their EXPECT)
  reports/*.json broken budget reports (EXPECT written by hand)
  profile.yaml   the Cortex-M4 profile the images are checked against
Each EXPECT line is `file exit-code where word...`: `where` is LINE:COL or `-` for no position,
`word` a part of the message. Each case runs in a subprocess whose timeout is the hang guard; the
elapsed time is recorded as a test property, not asserted (machines are noisy).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Run, run_subprocess

CORPUS = Path(__file__).resolve().parent / "hostile_inputs"
PROFILE = CORPUS / "profile.yaml"
HANG_GUARD_S = 30  # a case that loops over a forged count runs for hours; the bound is seconds

VALID_REPORT = {"schema": "memplan-budget/1", "profile": "demo",
                "regions": [{"name": "sram", "budget": 4096, "used": 1024, "objects": [{"name": "pool.small", "size": 1024}]}]}


def _expectations(folder: str) -> List[Tuple[Path, int, str, str]]:
    cases = []
    for line in (CORPUS / folder / "EXPECT").read_text(encoding="utf-8").splitlines():
        name, code, where, word = line.split(" ", 3)
        cases.append((CORPUS / folder / name, int(code), where, word))
    return cases


ELF_CASES = _expectations("elf")
REPORT_CASES = _expectations("reports")


def _timed(record_property: Callable[[str, object], None], args: List[object], cwd: Path) -> Run:
    start = time.monotonic()
    run = run_subprocess(args, cwd=cwd, timeout=HANG_GUARD_S)
    record_property("elapsed_s", round(time.monotonic() - start, 3))
    assert "Traceback" not in run.err
    return run


def test_corpus_covers_every_file_and_is_big_enough() -> None:
    for folder, suffix, cases in (("elf", ".elf", ELF_CASES), ("reports", ".json", REPORT_CASES)):
        assert sorted(p.name for p in (CORPUS / folder).glob(f"*{suffix}")) == sorted(path.name for path, *_ in cases)
    assert len(ELF_CASES) >= 40 and len(REPORT_CASES) >= 40


def test_crafted_images_are_what_craft_elf_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("craft_elf", CORPUS / "craft_elf.py")
    assert spec is not None and spec.loader is not None
    craft = importlib.util.module_from_spec(spec)
    sys.modules["craft_elf"] = craft  # dataclasses look their module up while the class is made
    spec.loader.exec_module(craft)
    written = craft.write(tmp_path)
    assert [p.name for p in written] == [f"{case.name}.elf" for case in craft.CASES] + ["EXPECT"]
    for path in written:
        assert path.read_bytes() == (CORPUS / "elf" / path.name).read_bytes(), f"run craft_elf.py: {path.name} is out of date"


@pytest.mark.parametrize("image, code, where, word", ELF_CASES, ids=[p.stem for p, *_ in ELF_CASES])
def test_hostile_image(image: Path, code: int, where: str, word: str, tmp_path: Path, record_property) -> None:
    report = tmp_path / "report.md"
    run = _timed(record_property, ["check-elf", image, "--profile", PROFILE, "--format", "md", "--output", report], tmp_path)
    assert run.code == code, run
    if code == 2:
        assert run.out == "" and not report.exists()  # nothing printed or written for an unreadable image
        assert run.err.startswith(f"{image}: error: not an ELF image check-elf can read: "), run.err
        assert run.err.count("\n") == 1 and word in run.err, run.err
    else:
        assert word in run.out and report.read_text(encoding="utf-8") == run.out
        assert all(line.startswith(f"{image}: error: ") for line in run.err.splitlines()) and run.err
    assert all(c.isprintable() for c in (run.out + run.err).replace("\n", "")), "an escape code reached the terminal"


@pytest.mark.parametrize("report, code, where, word", REPORT_CASES, ids=[p.stem for p, *_ in REPORT_CASES])
def test_hostile_report(report: Path, code: int, where: str, word: str, tmp_path: Path, record_property,
                        cli: Callable[..., Run]) -> None:
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps(VALID_REPORT), encoding="utf-8")
    prefix = f"{report}: error: " if where == "-" else f"{report}:{where}: error: "
    run = _timed(record_property, ["diff", valid, report, "--fail-over", "0"], tmp_path)
    assert (run.code, run.out) == (code, "")
    assert run.err.startswith(prefix) and word in run.err and run.err.count("\n") == 1, run.err
    assert all(c.isprintable() for c in run.err.rstrip("\n")), "a control character reached the terminal"
    swapped = cli("diff", report, valid, "--format", "md")  # in this process: the same in the other position
    assert (swapped.code, swapped.out, swapped.err) == (code, "", run.err)


# -- what a corpus file cannot hold ---------------------------------------------------------------


def test_image_larger_than_the_bound_is_refused_without_reading_it(tmp_path: Path, record_property) -> None:
    from memplan.elfimage import MAX_IMAGE_BYTES

    image = tmp_path / "huge.elf"
    with open(image, "wb") as handle:  # sparse: takes no disk
        handle.write(b"\x7fELF\x01\x01\x01")
        handle.truncate(MAX_IMAGE_BYTES + 1)
    run = _timed(record_property, ["check-elf", image, "--profile", PROFILE], tmp_path)
    assert (run.code, run.out) == (2, "")
    assert run.err == (f"{image}: error: not an ELF image check-elf can read: {MAX_IMAGE_BYTES + 1} bytes, "
                       "more than the 1024 MiB an image may have\n")


def test_report_larger_than_the_bound_is_refused(tmp_path: Path, record_property) -> None:
    from memplan.diff import MAX_REPORT_BYTES

    report = tmp_path / "huge.json"
    with open(report, "wb") as handle:
        handle.write(b"[")
        handle.truncate(MAX_REPORT_BYTES + 1)
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps(VALID_REPORT), encoding="utf-8")
    run = _timed(record_property, ["diff", valid, report], tmp_path)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{report}: error: larger than 64 MiB, which no budget report is\n"


@pytest.mark.parametrize("kind", ["fifo", "character_device"])
def test_image_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path, record_property, kind: str) -> None:
    """open() of a FIFO with no writer blocks forever; /dev/zero never ends."""
    if kind == "fifo":
        image = tmp_path / "pipe.elf"
        os.mkfifo(image)
    else:
        image = Path("/dev/zero")
    run = _timed(record_property, ["check-elf", image, "--profile", PROFILE], tmp_path)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{image}: error: not an ELF image check-elf can read: not a regular file\n"


@pytest.mark.parametrize("kind", ["fifo", "character_device"])
@pytest.mark.parametrize("reader", ["diff", "callgraph", "profile"])
def test_every_other_input_that_is_not_a_regular_file_is_refused_without_blocking(
        tmp_path: Path, record_property, kind: str, reader: str) -> None:
    """The budget report, the call graph and the profile are read as the image is (memplan.input_file)."""
    suffix = {"diff": ".json", "callgraph": ".ci", "profile": ".yaml"}[reader]
    path = tmp_path / f"input{suffix}"  # named as the reader expects: a call graph is found by its suffix
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    image = CORPUS / "elf" / "arm_without_memplan.elf"
    args, code, expected = {
        "diff": (["diff", path, path], 2, f"{path}: error: not a regular file"),
        "callgraph": (["stack", image, "--callgraph", path, "--core", "cortex-m4", "--entry", "main"], 2,
                      f"memplan: error: {path}: not a regular file"),
        "profile": (["check", path], 1, f"{path}: error: not a regular file; a profile is a YAML file"),
    }[reader]
    run = _timed(record_property, args, tmp_path)
    assert (run.code, run.out, run.err) == (code, "", expected + "\n")


@pytest.mark.parametrize("target", ["missing_folder", "folder", "file_as_folder"])
def test_report_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path, target: str) -> None:
    """--output names a file in a folder that does not exist, a folder, or a file under a regular file:
    exit 2 naming it, nothing printed, nothing left behind."""
    image = CORPUS / "elf" / "arm_without_memplan.elf"
    (tmp_path / "plain").write_text("not a folder\n", encoding="utf-8")
    output = {"missing_folder": tmp_path / "missing" / "report.md", "folder": tmp_path, "file_as_folder": tmp_path / "plain" / "r.md"}[target]
    run = run_subprocess(["check-elf", image, "--profile", PROFILE, "--output", output], cwd=tmp_path)
    reason = {"missing_folder": "No such file or directory", "folder": "Is a directory", "file_as_folder": "Not a directory"}[target]
    assert (run.code, run.out) == (2, "")
    assert run.err == f"memplan: error: cannot write report {output}: {reason}\n"
    assert not list(tmp_path.rglob(".memplan-*"))


def test_region_listed_twice_cannot_hide_growth_from_fail_over(tmp_path: Path, cli: Callable[..., Run]) -> None:
    """Merged silently, the second entry (90 B) would hide the first (+60000 B) from --fail-over."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps(VALID_REPORT), encoding="utf-8")
    grown = dict(VALID_REPORT, regions=[dict(VALID_REPORT["regions"][0], used=61024), dict(VALID_REPORT["regions"][0], used=90)])
    new = tmp_path / "new.json"
    new.write_text(json.dumps(grown), encoding="utf-8")
    run = cli("diff", old, new, "--fail-over", "1000")
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{new}: error: regions[1]: region 'sram' is listed twice (also regions[0])\n"


def test_negative_fail_over_is_a_usage_error(tmp_path: Path, cli: Callable[..., Run]) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps(VALID_REPORT), encoding="utf-8")
    run = cli("diff", report, report, "--fail-over", "-1")
    assert (run.code, run.out, run.err) == (2, "", "memplan: error: --fail-over takes a number of bytes >= 0 (got -1)\n")


def test_names_from_an_image_are_printed_as_escapes() -> None:
    from memplan.elfimage import printable

    assert printable(b".bss") == ".bss"
    assert printable(b"a|b") == "a\\x7cb"  # would end a Markdown table cell
    assert printable(b"\x1b[2J\n") == "\\x1b[2J\\n"  # would clear the terminal, split a line
    assert printable(b"\xff") == "\\xff"  # not UTF-8
    assert printable("\u202e".encode()) == "\\u202e"  # right-to-left override
    assert printable("caf\u00e9".encode()) == "caf\u00e9"


# -- the readers under random damage (Hypothesis) ------------------------------------------------
# Each example runs in this process: it returns a result or raises the reader's own error, never
# anything else, within the deadline (a forged count that is trusted blows it by hours).

READER_SETTINGS = settings(max_examples=400, deadline=timedelta(seconds=2), derandomize=True,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _damaged(original: bytes, data: Any, fields: Tuple[Tuple[int, int], ...] = ()) -> bytes:
    """The bytes with a few spots overwritten (often a header field), maybe cut short."""
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 6), label="spots")):
        area = data.draw(st.sampled_from(["field", "header", "anywhere"] if fields else ["header", "anywhere"]), label="area")
        if area == "field":
            where, width = data.draw(st.sampled_from(fields), label="field")
        else:
            where = data.draw(st.integers(0, min(len(damaged), 64) - 1) if area == "header" else st.integers(0, len(damaged) - 1), label="at")
            width = data.draw(st.sampled_from([1, 2, 4]), label="width")
        value = data.draw(st.sampled_from([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF]) | st.integers(0, 0xFFFFFFFF), label="value")
        damaged[where:where + width] = value.to_bytes(4, "little")[:width]
    if data.draw(st.booleans(), label="cut"):
        damaged = damaged[:data.draw(st.integers(0, len(damaged)), label="length")]
    return bytes(damaged)


@READER_SETTINGS
@given(data=st.data())
def test_image_reader_returns_or_refuses_on_damaged_images(data: Any) -> None:
    from memplan.elfimage import Image, ImageError, parse_image

    name = data.draw(st.sampled_from(["arm_without_memplan.elf", "x86_64_without_memplan.elf"]))
    original = (CORPUS / "elf" / name).read_bytes()
    try:
        assert isinstance(parse_image("damaged.elf", _damaged(original, data, _fields(original))), Image)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert not str(exc).startswith("malformed symbol table ("), "the structure checks let pyelftools meet this first"


def _fields(image: bytes) -> Tuple[Tuple[int, int], ...]:
    """(offset, width) of the fields a reader trusts: e_shoff, e_shentsize, e_shnum, e_shstrndx, and each
    section header's name, type, offset, size, link and entry size."""
    import struct

    wide = image[4] == 2
    shoff_at, shoff_width = (40, 8) if wide else (32, 4)
    shoff = int.from_bytes(image[shoff_at:shoff_at + shoff_width], "little")
    entsize, count = struct.unpack_from("<HH", image, 58 if wide else 46)
    section = ((0, 4), (4, 4), (24, 8), (32, 8), (40, 4), (56, 8)) if wide else ((0, 4), (4, 4), (16, 4), (20, 4), (24, 4), (36, 4))
    header = ((shoff_at, shoff_width), (58 if wide else 46, 2), (60 if wide else 48, 2), (62 if wide else 50, 2))
    return header + tuple((shoff + index * entsize + at, width) for index in range(count) for at, width in section)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30)


@READER_SETTINGS
@given(document=JSON_VALUES, region=st.dictionaries(st.sampled_from(["name", "used", "budget", "objects", "other"]), JSON_VALUES))
def test_report_reader_returns_or_refuses_on_any_json(tmp_path_factory: pytest.TempPathFactory, document: Any, region: Any) -> None:
    from memplan.diff import ReportError, load_reports

    path = tmp_path_factory.mktemp("json") / "report.json"
    for candidate in (document, dict(VALID_REPORT, regions=[region]), {"products": {"demo": dict(VALID_REPORT, regions=[region])}}):
        path.write_text(json.dumps(candidate), encoding="utf-8")
        try:
            reports = load_reports(str(path))
        except ReportError as exc:
            assert str(exc) and exc.where.startswith(str(path))
            continue
        for report in reports.values():  # what was accepted, compare() and render() can use
            assert all(isinstance(r["used"], int) and r["used"] >= 0 for r in report["regions"])


@READER_SETTINGS
@given(data=st.data())
def test_report_reader_returns_or_refuses_on_damaged_text(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    from memplan.diff import ReportError, load_reports

    path = tmp_path_factory.mktemp("json") / "report.json"
    path.write_bytes(_damaged(json.dumps(VALID_REPORT, indent=1).encode(), data))
    try:
        load_reports(str(path))
    except ReportError as exc:
        assert str(exc) and exc.where.startswith(str(path))


def test_closed_stdout_is_no_traceback(tmp_path: Path) -> None:
    """`memplan diff ... | head -0`: the reader is gone before the report is written."""
    import subprocess

    from conftest import GENERATOR, PYTHON

    report = tmp_path / "r.json"
    report.write_text(json.dumps(VALID_REPORT), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([PYTHON, "-m", "memplan", "diff", str(report), str(report)], stdout=write_end, stderr=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=str(GENERATOR)), timeout=HANG_GUARD_S, text=True)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (2, "")
