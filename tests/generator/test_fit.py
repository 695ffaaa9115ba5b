"""`memplan fit DUMP... --profile P`: known answers from hand-made dumps, dumps combined, the
proposal as a diff that applies, and every malformed dump or request a usage error with nothing
written. tests/integration/test_fit_round_trip.py fits the example firmwares' own dumps."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import VALID_PROFILE, Run
from memplan.planner import plan
from memplan.statistics_dump import DumpError, parse_dumps
from memplan.validator import load_profile

POOLS = {"tiny": (64, 32), "small": (256, 16), "medium": (1024, 8), "large": (4096, 4)}  # VALID_PROFILE's


def pool_line(name: str, high_water: int = 0, overflow: int = 0, failures: int = 0, spills: int = 0, largest: int = 0,
              sizes: str = "", block_size: int = 0, block_count: int = 0, in_use: int = 0) -> str:
    size, count = POOLS.get(name, (64, 4))
    sizes = sizes or (f"{1 if largest else 0},0,0,0,0,0,0,0")
    return (f"pool name={name} block_size={block_size or size} block_count={block_count or count} in_use={in_use} "
            f"high_water={high_water} overflow_high_water={overflow} failures={failures} spills={spills} "
            f"largest_request={largest} request_sizes={sizes}")


def dump(pools: Dict[str, Dict[str, Any]], sessions: str = "count=8 high_water=0 key_slots=8 key_slots_high_water=0",
         layout: str = "demo") -> str:
    lines = [f"memplan-statistics 1 layout={layout}"]
    lines += [pool_line(name, **pools.get(name, {})) for name in POOLS]
    lines += [f"sessions {sessions}", "memplan-statistics end"]
    return "\n".join(lines) + "\n"


RUN_A = dump({"tiny": dict(high_water=3, largest=32, sizes="0,4,0,0,0,0,0,0"),
              "small": dict(high_water=5, overflow=2, spills=7, largest=200, sizes="9,0,0,0,0,0,0,3"),
              "large": dict(high_water=1, largest=4000, sizes="1,0,0,0,0,0,0,0")},
             "count=8 high_water=3 key_slots=8 key_slots_high_water=4")
RUN_B = dump({"tiny": dict(high_water=6, largest=24, sizes="0,6,0,0,0,0,0,0"),
              "small": dict(high_water=4, largest=120, sizes="0,2,0,0,0,0,0,0"),
              "large": dict(high_water=2, largest=2500, sizes="0,2,0,0,0,0,0,0")},
             "count=8 high_water=5 key_slots=8 key_slots_high_water=2")


def proposed(counts: Dict[str, int], sizes: Dict[str, int], sessions: int, key_slots: int) -> str:
    text = VALID_PROFILE
    for name, (size, count) in POOLS.items():
        old = f"{{name: {name}, block_size: {size}, count: {count},"
        text = text.replace(old, f"{{name: {name}, block_size: {sizes.get(name, size)}, count: {counts.get(name, count)},")
    return text.replace("  count: 8\n  key_slots: 8\n", f"  count: {sessions}\n  key_slots: {key_slots}\n")


@pytest.fixture
def fit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.yaml").write_text(VALID_PROFILE)
    (tmp_path / "a.log").write_text("boot\nseal: ok\n" + RUN_A + "result: ok\n")
    (tmp_path / "b.log").write_text(RUN_B)
    return tmp_path


def test_fit_proposes_each_peak_with_the_margin_from_every_dump(cli: Callable[..., Run], fit_files: Path) -> None:
    run = cli("fit", "a.log", "b.log", "--profile", "demo.yaml", "--output", "fitted.yaml")
    assert (run.code, run.err) == (0, ""), run.err
    # Peaks over both runs: tiny 6, small 5 + 2 beyond its blocks, large 2, sessions 5, key slots 4; x 1.25, rounded up.
    # Block sizes: the largest request rounded up to 8 (a key pool never below the 32 B key).
    expected = proposed({"tiny": 8, "small": 9, "large": 3}, {"tiny": 32, "small": 200, "large": 4000}, 7, 5)
    assert (fit_files / "fitted.yaml").read_text() == expected
    lines = run.out.splitlines()
    assert lines[0] == "# memplan fit: profile demo (demo.yaml) from 2 dumps, margin 25%"
    assert "# pool tiny: 32 x 64 B: peak 6 at once, largest request 32 B -> 8 x 32 B" in lines
    assert "# pool small: 16 x 256 B: peak 7 at once, largest request 200 B -> 9 x 200 B" in lines
    assert "#   requests by share of the block used: >1/2: 9, >1/4: 2, <=1/128: 3" in lines  # summed over the runs
    assert "#   the runs saw 0 allocation failure(s) and 7 spill(s) here: counted in the peak, which the proposal serves" in lines
    assert "# pool medium: 8 x 1,024 B: no request in any dump; kept (remove it by hand if the runs covered every path)" in lines
    assert "# sessions: 8, peak 5 at once -> 7" in lines and "# key slots: 8, peak 4 at once -> 5" in lines
    old, new = plan(load_profile("demo.yaml")[0]), plan(load_profile("fitted.yaml")[0])
    for before, after in zip(old.regions, new.regions):
        assert after.used < before.used
        freed = f"{before.used - after.used:,} B freed"
        assert f"# region {before.name}: layout {before.used:,} B -> {after.used:,} B ({freed}; " in run.out
    # The diff is the same change: git apply takes it (the comment lines before it are skipped).
    subprocess.run(["git", "apply", "-"], input=run.out, text=True, check=True, cwd=fit_files)
    assert (fit_files / "demo.yaml").read_text() == expected


def test_dumps_in_one_log_combine_as_in_two(cli: Callable[..., Run], fit_files: Path) -> None:
    (fit_files / "both.log").write_text(RUN_A + "noise between runs\n" + RUN_B)
    one = cli("fit", "both.log", "--profile", "demo.yaml")
    two = cli("fit", "a.log", "b.log", "--profile", "demo.yaml")
    assert one.code == two.code == 0
    assert one.out == two.out


def test_margin_zero_is_the_peaks_and_a_fitted_profile_is_a_fixed_point(cli: Callable[..., Run], fit_files: Path) -> None:
    run = cli("fit", "a.log", "b.log", "--profile", "demo.yaml", "--margin", "0", "--output", "exact.yaml")
    assert run.code == 0, run.err
    assert (fit_files / "exact.yaml").read_text() == proposed({"tiny": 6, "small": 7, "large": 2},
                                                              {"tiny": 32, "small": 200, "large": 4000}, 5, 4)
    # Dumps of the fitted profile whose peaks are the same: nothing more to change.
    again = dump({"tiny": dict(high_water=6, largest=32, block_size=32, block_count=6),
                  "small": dict(high_water=7, largest=200, block_size=200, block_count=7),
                  "large": dict(high_water=2, largest=4000, block_size=4000, block_count=2)},
                 "count=5 high_water=5 key_slots=4 key_slots_high_water=4")
    (fit_files / "again.log").write_text(again)
    run = cli("fit", "again.log", "--profile", "exact.yaml", "--margin", "0")
    assert run.code == 0, run.err
    assert run.out.endswith("# no change: the profile already serves every recorded peak with the margin\n")
    assert "---" not in run.out


def test_block_sizes_can_be_kept(cli: Callable[..., Run], fit_files: Path) -> None:
    run = cli("fit", "a.log", "--profile", "demo.yaml", "--keep-block-size", "small", "--output", "kept.yaml")
    assert run.code == 0, run.err
    assert (fit_files / "kept.yaml").read_text() == proposed({"tiny": 4, "small": 9, "large": 2}, {"tiny": 32, "large": 4000}, 4, 5)
    run = cli("fit", "a.log", "--profile", "demo.yaml", "--keep-block-sizes", "--output", "counts.yaml")
    assert run.code == 0, run.err
    assert (fit_files / "counts.yaml").read_text() == proposed({"tiny": 4, "small": 9, "large": 2}, {}, 4, 5)


def test_failures_count_in_the_peak(cli: Callable[..., Run], fit_files: Path) -> None:
    # The large class was full (4 blocks) and a request found no block, three times over the run.
    (fit_files / "full.log").write_text(dump({"large": dict(high_water=4, overflow=1, failures=3, largest=4096)}))
    run = cli("fit", "full.log", "--profile", "demo.yaml", "--margin", "0", "--output", "more.yaml")
    assert run.code == 0, run.err
    assert "# pool large: 4 x 4,096 B: peak 5 at once, largest request 4,096 B -> 5 x 4,096 B" in run.out
    assert "the runs saw 3 allocation failure(s) and 0 spill(s) here" in run.out
    grown = plan(load_profile("more.yaml")[0]).regions[0].used - plan(load_profile("demo.yaml")[0]).regions[0].used
    assert grown >= 4096 and f"({grown:,} B more needed; budget 49,152 B" in run.out  # a block and its state
    assert load_profile(str(fit_files / "more.yaml"))[0].pools[3].count == 5


def test_a_proposal_over_the_budget_is_an_error_and_writes_nothing(cli: Callable[..., Run], fit_files: Path) -> None:
    (fit_files / "huge.log").write_text(dump({"large": dict(high_water=4, overflow=20, failures=20, largest=4096)}))
    run = cli("fit", "huge.log", "--profile", "demo.yaml", "--output", "over.yaml")
    assert run.code == 1
    assert "budget.sram: region 'sram' needs" in run.err, run.err
    assert run.err.startswith("demo.yaml: error: the proposal is not a valid profile: ")
    assert "# error: the proposal is not a valid profile" in run.out
    assert "# region sram: layout 44,640 B now; the proposal cannot be planned (budget 49,152 B, region 131,072 B)" in run.out
    assert not (fit_files / "over.yaml").exists()


def test_crlf_logs_read_as_lf_ones(cli: Callable[..., Run], fit_files: Path) -> None:
    (fit_files / "crlf.log").write_bytes(RUN_A.replace("\n", "\r\n").encode())
    assert cli("fit", "crlf.log", "--profile", "demo.yaml").out == cli("fit", "a.log", "--profile", "demo.yaml").out


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


HEAD = "memplan-statistics 1 layout=demo"
TINY = pool_line("tiny")
SESSIONS = "sessions count=8 high_water=0 key_slots=8 key_slots_high_water=0"
END = "memplan-statistics end"
VALID = dump({})

MALFORMED = [
    ("", 1, "no memplan statistics: no line starts 'memplan-statistics 1'"),
    ("boot\nresult: ok\n", 1, "no memplan statistics"),
    (_replace(VALID, HEAD, "memplan-statistics 2 layout=demo"), 1, "statistics format 2: this memplan reads format 1"),
    (_replace(VALID, HEAD, "memplan-statistics one layout=demo"), 1, "expected 'memplan-statistics 1 layout=NAME'"),
    (_replace(VALID, HEAD, "memplan-statistics"), 1, "expected 'memplan-statistics 1 layout=NAME'"),
    (_replace(VALID, HEAD, "memplan-statistics 1"), 1, "missing field layout"),
    (_replace(VALID, HEAD, "memplan-statistics 1 layout=Demo-1"), 1, "layout 'Demo-1' is not a profile name"),
    (_replace(VALID, HEAD, "memplan-statistics 1 layout=demo extra=1"), 1, "unknown field 'extra'"),
    (VALID.replace(END + "\n", ""), 1, "the dump is cut short: no 'memplan-statistics end' line follows it"),
    (VALID[:VALID.index("pool name=small")], 1, "cut short"),
    (f"{HEAD}\n{END}\n", 2, "the dump ends before its pool and sessions lines"),
    (f"{HEAD}\n{TINY}\n{END}\n", 3, "the dump ends before its pool and sessions lines"),
    (_replace(VALID, " spills=0", ""), 2, "missing field spills"),
    (_replace(VALID, " spills=0", " spills=0 drops=1"), 2, "unknown field 'drops'"),
    (_replace(VALID, " spills=0", " spills=0 spills=0"), 2, "field spills is given twice"),
    (_replace(VALID, " spills=0", " spills"), 2, "expected KEY=VALUE, got 'spills'"),
    (_replace(VALID, " spills=0", "  spills=0"), 2, "expected KEY=VALUE, got ''"),
    (_replace(VALID, "high_water=0", "high_water=4294967296"), 2, "high_water=4294967296: expected a count from 0 to 4294967295"),
    (_replace(VALID, "high_water=0", "high_water=99999999999"), 2, "expected a count from 0 to 4294967295"),
    (_replace(VALID, "high_water=0", "high_water=-1"), 2, "high_water=-1: expected a count"),
    (_replace(VALID, "high_water=0", "high_water=0x10"), 2, "high_water=0x10: expected a count"),
    (_replace(VALID, "high_water=0", "high_water=+1"), 2, "expected a count"),
    (_replace(VALID, "high_water=0", "high_water="), 2, "high_water=: expected a count"),
    (_replace(VALID, "request_sizes=0,0,0,0,0,0,0,0", "request_sizes=0,0,0,0,0,0,0"), 2, "request_sizes: expected 8 counts, got 7"),
    (_replace(VALID, "request_sizes=0,0,0,0,0,0,0,0", "request_sizes=0,0,0,0,0,0,0,0,0"), 2, "expected 8 counts, got 9"),
    (_replace(VALID, "request_sizes=0,0,0,0,0,0,0,0", "request_sizes=0,,0,0,0,0,0,0"), 2, "request_sizes=: expected a count"),
    (_replace(VALID, "name=tiny", "name=Tiny"), 2, "name=Tiny: not a pool name"),
    (_replace(VALID, "name=tiny", "name=" + "t" * 33), 2, "not a pool name"),
    (_replace(VALID, "block_size=64", "block_size=0"), 2, "pool tiny: a class without blocks: not statistics the runtime keeps"),
    (_replace(VALID, "high_water=0", "high_water=33"), 2, "pool tiny: high_water 33 is more than its 32 blocks"),
    (_replace(VALID, "in_use=0", "in_use=1"), 2, "pool tiny: in_use 1 is more than high_water 0"),
    (_replace(VALID, "largest_request=0 request_sizes=0", "largest_request=65 request_sizes=1"), 2,
     "pool tiny: largest_request 65 B does not fit its 64 B blocks"),
    (_replace(VALID, "largest_request=0 request_sizes=0", "largest_request=0 request_sizes=1"), 2,
     "largest_request and request_sizes disagree"),
    (_replace(VALID, "largest_request=0 request_sizes=0", "largest_request=8 request_sizes=0"), 2,
     "largest_request and request_sizes disagree"),
    (_replace(VALID, "overflow_high_water=0", "overflow_high_water=1"), 2, "overflow_high_water 1 is more than its spills and failures"),
    (_replace(VALID, TINY, TINY + "\n" + TINY), 3, "pool tiny is in the dump twice"),
    (_replace(VALID, SESSIONS, SESSIONS + "\n" + TINY), 7, "a pool line after the sessions line"),
    (_replace(VALID, SESSIONS, SESSIONS + "\n" + SESSIONS), 7, "the sessions line is in the dump twice"),
    (_replace(VALID, TINY, TINY + "\n" + HEAD), 3, "a new dump starts before the one at line 1 ended"),
    (_replace(VALID, TINY, TINY + "\nseal: ok"), 3, "expected a pool line, the sessions line or 'memplan-statistics end'"),
    (_replace(VALID, TINY, TINY + "\n"), 3, "expected a pool line"),
    (_replace(VALID, "name=tiny", "name=tiny\u00e9"), 2, "a character the runtime never prints"),
    (_replace(VALID, "name=tiny", "name=tiny\x1b[31m"), 2, "a character the runtime never prints"),
    (_replace(VALID, "name=tiny", "name=tiny\tx"), 2, "a character the runtime never prints"),
    (_replace(VALID, SESSIONS, "sessions count=8 high_water=9 key_slots=8 key_slots_high_water=0"), 6, "a high water above the sessions"),
    (_replace(VALID, SESSIONS, "sessions count=8 high_water=0 key_slots=8 key_slots_high_water=9"), 6, "a high water above"),
    (_replace(VALID, SESSIONS, "sessions count=0 high_water=0 key_slots=8 key_slots_high_water=0"), 6, "a table without sessions"),
    (_replace(VALID, SESSIONS, "sessions count=8 key_slots=8 key_slots_high_water=0"), 6, "missing field high_water"),
    (_replace(VALID, SESSIONS, "sessions count=8 high_water=0"), 6, "missing fields key_slots, key_slots_high_water"),
    # Dumps readable as dumps, but of another layout than the profile's.
    (dump({}, layout="other"), 1, "a dump of layout other, not of profile demo (demo.yaml)"),
    (_replace(VALID, "name=tiny block_size=64", "name=tiny block_size=128"), 1,
     "pool tiny has 128 B blocks there, 64 B in demo.yaml: its requests were sized for other classes"),
    (_replace(VALID, TINY + "\n", ""), 1, "no pool tiny: the dump is of another version of profile demo"),
    (_replace(VALID, TINY, TINY + "\n" + pool_line("extra")), 1, "pool extra is not in demo.yaml"),
]


@pytest.mark.parametrize("text, line, message", MALFORMED, ids=[f"malformed{i}" for i in range(len(MALFORMED))])
def test_a_malformed_dump_is_a_usage_error_and_nothing_is_written(cli: Callable[..., Run], fit_files: Path, text: str,
                                                                  line: int, message: str) -> None:
    (fit_files / "bad.log").write_text(text)
    run = cli("fit", "a.log", "bad.log", "--profile", "demo.yaml", "--output", "fitted.yaml")
    assert (run.code, run.out) == (2, ""), run.out
    assert run.err.count("\n") == 1 and message in run.err, run.err
    assert run.err.startswith(f"bad.log:{line}: error: " if "no memplan statistics" not in message else "bad.log: error: "), run.err
    assert not (fit_files / "fitted.yaml").exists()


def test_malformed_cases_are_many_and_distinct() -> None:
    assert len(MALFORMED) >= 40 and len({text for text, _, _ in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize("kind", ["fifo", "character_device", "folder", "missing"])
def test_a_dump_that_is_no_regular_file_is_refused_without_blocking(cli: Callable[..., Run], fit_files: Path, kind: str) -> None:
    path = {"fifo": fit_files / "pipe.log", "character_device": Path("/dev/zero"), "folder": fit_files,
            "missing": fit_files / "none.log"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    run = cli("fit", path, "--profile", "demo.yaml", "--output", "fitted.yaml")
    assert (run.code, run.out) == (2, "")
    expected = {"fifo": f"{path}: error: not a regular file", "character_device": f"{path}: error: not a regular file",
                "folder": f"memplan: error: cannot read dump {path}: Is a directory",
                "missing": f"memplan: error: cannot read dump {path}: No such file or directory"}[kind]
    assert run.err == expected + "\n"
    assert not (fit_files / "fitted.yaml").exists()


def test_a_log_larger_than_the_bound_is_refused(cli: Callable[..., Run], fit_files: Path) -> None:
    big = fit_files / "big.log"
    with open(big, "wb") as handle:
        handle.truncate((64 << 20) + 1)
    run = cli("fit", big, "--profile", "demo.yaml")
    assert (run.code, run.err) == (2, f"{big}: error: larger than 64 MiB: cut the log down to its dumps\n")


@pytest.mark.parametrize("arguments, message", [
    (["--margin", "-1"], "--margin takes a percentage from 0 to 1000 (got -1)"),
    (["--margin", "1001"], "--margin takes a percentage from 0 to 1000 (got 1001)"),
    (["--margin", "ten"], "argument --margin: invalid int value: 'ten'"),
    (["--keep-block-size", "huge"], "--keep-block-size huge: profile demo has no pool 'huge'"),
])
def test_bad_options_are_usage_errors(cli: Callable[..., Run], fit_files: Path, arguments: List[str], message: str) -> None:
    run = cli("fit", "a.log", "--profile", "demo.yaml", "--output", "fitted.yaml", *arguments)
    assert (run.code, run.out) == (2, "") and message in run.err, run.err
    assert not (fit_files / "fitted.yaml").exists()


def test_an_invalid_profile_is_reported_as_profiles_are(cli: Callable[..., Run], fit_files: Path) -> None:
    (fit_files / "demo.yaml").write_text(VALID_PROFILE.replace("count: 32", "count: 0"))
    run = cli("fit", "a.log", "--profile", "demo.yaml")
    assert run.code == 1 and run.out == ""
    assert run.err.startswith("demo.yaml:14:") and "pools[0].count" in run.err, run.err


READER_SETTINGS = settings(max_examples=300, deadline=timedelta(seconds=2), derandomize=True,
                           suppress_health_check=[HealthCheck.too_slow])


@READER_SETTINGS
@given(data=st.data())
def test_the_dump_reader_returns_or_refuses_on_damaged_text(data: Any) -> None:
    text = RUN_A
    for _ in range(data.draw(st.integers(1, 4), label="spots")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 12), label="cut")
        insert = data.draw(st.sampled_from(["", "0", "9", "=", " ", ",", "\n", "\r", "x", "4294967296", "memplan-statistics 1",
                                            "\u00e9", "\x00"]) | st.text(max_size=4), label="insert")
        text = text[:at] + insert + text[at + cut:]
    try:
        dumps = parse_dumps("damaged.log", text)
    except DumpError as exc:
        assert str(exc) and "\n" not in str(exc) and exc.where.startswith("damaged.log")
        return
    for d in dumps:  # what is accepted is consistent
        for p in d.pools:
            assert p.in_use <= p.high_water <= p.block_count and p.largest_request <= p.block_size


def test_the_proposal_rewrites_only_the_numbers_however_they_are_written(cli: Callable[..., Run], fit_files: Path) -> None:
    """Block style, sizes with units and spaces, quoted sizes, hex numbers, comments: each value is replaced whole."""
    text = VALID_PROFILE.replace(
        "  - {name: large, block_size: 4096, count: 4, usage: [message]}\n",
        "  - name: large          # the biggest messages\n    block_size: 4 KiB     # a unit and a space\n"
        "    count: 4\n    usage: [message]\n").replace("  count: 8\n", "  count: 0x8 # sessions\n").replace(
        "{name: small, block_size: 256,", "{name: small, block_size: '256 B',")
    (fit_files / "demo.yaml").write_text(text)
    run = cli("fit", "a.log", "--profile", "demo.yaml", "--output", "fitted.yaml")
    assert run.code == 0, run.err
    fitted = (fit_files / "fitted.yaml").read_text()
    assert "  - name: large          # the biggest messages\n    block_size: 4000     # a unit and a space\n    count: 2\n" in fitted
    assert "  count: 4 # sessions\n" in fitted and "{name: small, block_size: 200, count: 9," in fitted
    profile = load_profile("fitted.yaml")[0]
    expected = [("tiny", 32, 4), ("small", 200, 9), ("medium", 1024, 8), ("large", 4000, 2)]
    assert [(p.name, p.block_size, p.count) for p in profile.pools] == expected
