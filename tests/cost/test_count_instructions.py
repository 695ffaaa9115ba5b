"""The Cortex-M instruction counter (bench/cortex_m): its trace arithmetic on hand-made QEMU logs,
the baseline comparison, and the counter on the real cost firmware, checked against code of known
cost and against gdb single-stepping (two independent mechanisms must agree to the instruction).

The firmware tests need the images scripts/cost-report.sh builds (the CI stage `cost` runs it
first): $MEMPLAN_BUILD_DIR/firmware-<core>/bench/cortex_m/cost_<level>.elf.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "cortex_m"))

import cost_report  # noqa: E402
import count_instructions as counter  # noqa: E402

BUILD = Path(os.environ.get("MEMPLAN_BUILD_DIR") or REPO / "build")
BEGIN, END = 0x100, 0x102
CODE = {0x200: "movs r0, #1", 0x202: "cpsid i", 0x204: "ldr r1, [r0]", 0x206: "msr PRIMASK, r2", 0x208: "bx lr",
        0x20A: "cpsie i", 0x20C: "mrs r2, PRIMASK"}


def trace(*pcs: int, symbol: str = "f") -> List[str]:
    return [f"Trace 0: 0x7f0000000000 [00800400/{pc:08x}/00000510/ff000201] {symbol}\n" for pc in pcs]


# -- the trace arithmetic -------------------------------------------------------------------------


def test_counts_the_instructions_between_the_probes_only() -> None:
    lines = trace(0x200, 0x200) + trace(BEGIN) + trace(0x200, 0x204, 0x208) + trace(END) + trace(0x200) + \
        trace(BEGIN) + trace(END)
    first, second = counter.count(lines, BEGIN, END, CODE)
    assert (first.instructions, first.masked_max, first.masked_stretches) == (3, 0, 0)
    assert (second.instructions, second.masked_max) == (0, 0)


def test_masked_stretch_runs_from_cpsid_to_the_restore_both_counted() -> None:
    lines = trace(BEGIN) + trace(0x20C, 0x202, 0x204, 0x204, 0x206, 0x200, 0x202, 0x20A, 0x208) + trace(END)
    (m,) = counter.count(lines, BEGIN, END, CODE)
    assert m.instructions == 9
    assert (m.masked_max, m.masked_stretches) == (4, 2)  # cpsid ldr ldr msr; then cpsid cpsie


def test_functions_and_masked_functions_are_recorded() -> None:
    lines = trace(BEGIN) + trace(0x200, symbol="caller") + trace(0x202, 0x204, symbol="locked") + \
        trace(0x206, symbol="unlock") + trace(0x208, symbol="memset") + trace(END)
    (m,) = counter.count(lines, BEGIN, END, CODE)
    assert m.functions == {"caller", "locked", "unlock", "memset"}
    assert m.masked_functions == {"locked", "unlock"}


@pytest.mark.parametrize("lines, message", [
    (trace(BEGIN) + trace(0x200) + trace(BEGIN), "entered twice"),
    (trace(BEGIN) + trace(0x200), "ended inside a probe"),
    (trace(BEGIN), "ended inside a probe"),
    (trace(BEGIN) + trace(0x202) + trace(END), "ended with interrupts masked"),
    (trace(BEGIN) + ["Trace 0: garbage\n"], "unexpected QEMU log line"),
], ids=["begin_twice", "cut_inside", "cut_after_begin", "masked_at_end", "garbage"])
def test_a_trace_that_cannot_be_counted_is_an_instrument_error(lines: List[str], message: str) -> None:
    with pytest.raises(counter.InstrumentError, match=message):
        counter.count(lines, BEGIN, END, CODE)


def test_other_log_lines_are_ignored() -> None:
    lines = ["Stopped execution of TB chain before 0x7f00\n", *trace(BEGIN), "IN: \n", *trace(0x200), *trace(END)]
    (m,) = counter.count(lines, BEGIN, END, CODE)
    assert m.instructions == 1


# -- the baseline -------------------------------------------------------------------------------


def _image(core: str, level: str, ops: Dict[str, tuple]) -> Dict[str, object]:
    return {"schema": counter.SCHEMA, "image": "cost.elf", "machine": "m", "core": core, "level": level,
            "operations": [{"name": n, "instructions": i, "masked_max": k, "masked_stretches": 1, "functions": list(f),
                            "masked_functions": []} for n, (i, k, f) in ops.items()]}


def _combined(tmp_path: Path, ops: Dict[str, tuple]) -> Dict[str, object]:
    path = tmp_path / "counts.json"
    path.write_text(json.dumps(_image("cortex-m0", "Os", ops)), encoding="utf-8")
    return cost_report.combine([str(path)])


OPS = {"bare.allocate+release+memset": (93, 8, ["memset"]), "pool64.allocate": (54, 41, []),
       "pool64.release": (154, 38, []), "pool64.allocate+release": (204, 41, ["main"])}


def test_growth_of_a_count_or_a_masked_stretch_fails_and_shrinking_does_not(tmp_path: Path) -> None:
    baseline = _combined(tmp_path, OPS)
    assert cost_report.growth(baseline, _combined(tmp_path, OPS)) == []
    grown = dict(OPS, **{"pool64.allocate": (55, 41, []), "pool64.release": (150, 39, [])})
    assert cost_report.growth(baseline, _combined(tmp_path, grown)) == [
        "cortex-m0 -Os pool64.allocate: instructions 54 -> 55 (+1)",
        "cortex-m0 -Os pool64.release: longest masked stretch 38 -> 39 (+1)",
    ]
    shrunk_and_new = dict(OPS, **{"pool64.allocate": (40, 10, []), "pool.new": (999, 999, [])})
    assert cost_report.growth(baseline, _combined(tmp_path, shrunk_and_new)) == []


def test_report_shows_counts_changes_and_the_yardstick_ratio(tmp_path: Path) -> None:
    baseline = _combined(tmp_path, OPS)
    current = _combined(tmp_path, dict(OPS, **{"pool64.allocate+release": (200, 41, ["memset", "main"])}))
    text = cost_report.render(baseline, current)
    assert "| pool64.allocate+release | 200 (-4) [41] |" in text
    assert "| cortex-m0 -Os | 93 | 200 | +107 | 2.15 | - | 41 / 38 | 0 |" in text
    assert "| pool64.allocate+release | memset | all |" in text  # library calls only, not `main`


@pytest.mark.parametrize("call", ["memset", "memcpy", "__aeabi_uidivmod", "__udivsi3"])
@pytest.mark.parametrize("operation", ["pool96.release", "pool64checked.allocate", "pools.allocate(200, message)",
                                       "buffer.release"])
def test_a_library_call_on_a_pool_path_fails_whatever_the_baseline(tmp_path: Path, operation: str, call: str) -> None:
    ops = dict(OPS, **{operation: (10, 1, ["main", call])})
    current = _combined(tmp_path, ops)
    assert cost_report.growth(current, current) == []  # the baseline agrees ...
    assert cost_report.forbidden_calls(current) == [  # ... and it still fails
        f"cortex-m0 -Os {operation}: calls {call} on a pool's allocate or release path"]
    counts = tmp_path / "c.json"
    counts.write_text(json.dumps(_image("cortex-m0", "Os", ops)), encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(cost_report.dump(current), encoding="utf-8")
    assert cost_report.main([str(baseline), str(counts)]) == 1
    # The yardstick and the sessions may call them.
    assert cost_report.forbidden_calls(_combined(tmp_path, dict(OPS, **{"session.seal(16)": (9, 1, ["memcpy"])}))) == []


def test_code_on_the_path_counts_memplan_functions_only_and_its_growth_fails(tmp_path: Path) -> None:
    sizes = {"_ZN7memplan9BasicPoolINS_20CortexMInterruptLockEE13release_tokenEmmm": 188,
             "_ZNK7memplan9BasicPoolINS_6NoLockEE5statsEv": 40, "_ZZN7memplan1fEvENKUlvE_clEv": 6,
             "_ZN12_GLOBAL__N_112measure_poolEv": 300, "memset": 600, "main": 2000}
    assert counter.text_bytes(list(sizes), sizes) == 188 + 40 + 6  # not the harness, not libc
    path = tmp_path / "counts.json"
    image = _image("cortex-m0", "Os", OPS)
    for op in image["operations"]:  # type: ignore[union-attr]
        op["text_bytes"] = 100
    path.write_text(json.dumps(image), encoding="utf-8")
    baseline = cost_report.combine([str(path)])
    image["operations"][1]["text_bytes"] = 104  # type: ignore[index]
    path.write_text(json.dumps(image), encoding="utf-8")
    assert cost_report.growth(baseline, cost_report.combine([str(path)])) == [
        "cortex-m0 -Os pool64.allocate: bytes of code on the path 100 -> 104 (+4)"]


def test_baseline_file_round_trips_one_line_per_operation(tmp_path: Path) -> None:
    current = _combined(tmp_path, OPS)
    text = cost_report.dump(current)
    assert json.loads(text) == current
    assert sum('"instructions"' in line for line in text.splitlines()) == len(OPS)


def test_report_command_fails_on_growth_and_writes_the_current_counts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    counts = tmp_path / "c.json"
    counts.write_text(json.dumps(_image("cortex-m0", "Os", OPS)), encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(cost_report.dump(cost_report.combine([str(counts)])), encoding="utf-8")
    assert cost_report.main([str(baseline), str(counts), "--write", str(tmp_path / "now.json")]) == 0
    assert (tmp_path / "now.json").read_text(encoding="utf-8") == baseline.read_text(encoding="utf-8")
    counts.write_text(json.dumps(_image("cortex-m0", "Os", dict(OPS, **{"pool64.allocate": (60, 41, [])}))), encoding="utf-8")
    assert cost_report.main([str(baseline), str(counts)]) == 1
    assert "pool64.allocate: instructions 54 -> 60 (+6)" in capsys.readouterr().err


# -- the counter on the real firmware -----------------------------------------------------------


def _image_path(core: str, level: str) -> Path:
    path = BUILD / f"firmware-{core}" / "bench" / "cortex_m" / f"cost_{level}.elf"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/cost-report.sh first (the CI stage `cost` does)")
    return path


@pytest.mark.parametrize("core, machine", [("cortex-m0", "microbit"), ("cortex-m4f", "mps2-an386")])
def test_counter_checks_itself_on_known_code(core: str, machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The known probes count as probes.S says; told to expect one instruction more, the counter refuses."""
    measured = counter.measure_image(str(_image_path(core, "Os")), machine)
    assert (measured["known.loop"].instructions, measured["known.masked"].masked_max) == (23, 5)
    monkeypatch.setitem(counter.KNOWN, "known.loop", (24, 0))
    with pytest.raises(counter.InstrumentError, match="known.loop: expected 24 instructions"):
        counter.measure_image(str(_image_path(core, "Os")), machine)


@pytest.mark.parametrize("core, machine", [("cortex-m0", "microbit"), ("cortex-m4f", "mps2-an386")])
def test_gdb_single_stepping_agrees_with_the_execution_log(core: str, machine: str) -> None:
    import cross_check_gdb

    image = str(_image_path(core, "Os"))
    names = cross_check_gdb._probe_names(image, machine, "qemu-system-arm")
    probes = ["known.loop", "pool64.allocate+release", "pools.allocate(200, message)", "session.open_session"]
    stepped = cross_check_gdb.step(image, machine, [0] + [names.index(p) for p in probes])
    counted = counter.measure_image(image, machine)
    assert {p: stepped[names.index(p)] - stepped[0] for p in probes} == {p: counted[p].instructions for p in probes}
