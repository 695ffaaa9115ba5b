"""`memplan diff OLD.json NEW.json`: region and object changes between two
budget reports, from `memplan report --format json` (the plan) and from
`memplan check-elf --format json` (a linked image), single or in the baseline
form {"products": {name: report}} that scripts/budget-report.sh writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from conftest import VALID_PROFILE, Run
from elf_images import Images

GROWN = VALID_PROFILE.replace("{name: small, block_size: 256, count: 16,", "{name: small, block_size: 256, count: 20,")
RENAMED = VALID_PROFILE.replace("{name: large, block_size: 4096,", "{name: huge, block_size: 4096,")
NO_CCM = VALID_PROFILE.replace("usage: [key, nonce], region: ccm}", "usage: [key, nonce]}")


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _report(cli: Callable[..., Run], tmp_path: Path, name: str, profile_text: str) -> Path:
    """`memplan report --format json` of the profile, written to tmp_path/<name>.json."""
    profile = tmp_path / f"{name}.yaml"
    profile.write_text(profile_text, encoding="utf-8")
    run = cli("report", profile, "--format", "json")
    assert run.code == 0, run.err
    path = tmp_path / f"{name}.json"
    path.write_text(run.out, encoding="utf-8")
    return path


def _check_elf(cli: Callable[..., Run], tmp_path: Path, image: Path, profile: Path) -> Path:
    run = cli("check-elf", image, "--profile", profile, "--format", "json", "--output", tmp_path / f"{image.stem}.json")
    assert run.code == 0, run.out + run.err
    return tmp_path / f"{image.stem}.json"


def _used(path: Path) -> Dict[str, int]:
    return {r["name"]: r["used"] for r in json.loads(path.read_text())["regions"]}


def _diff_json(cli: Callable[..., Run], old: Path, new: Path, *extra: str) -> List[Dict[str, Any]]:
    run = cli("diff", old, new, "--format", "json", *extra)
    assert run.code == 0 and run.err == "", run.err
    return json.loads(run.out)


def _objects(change: Dict[str, Any]) -> Dict[str, tuple]:
    return {o["name"]: (o["change"], o["old"], o["new"], o["delta"]) for o in change["objects"]}


# -- reports of two profile variants ------------------------------------------------------------


def test_unchanged_report_has_zero_deltas(cli: Callable[..., Run], tmp_path: Path) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    used = _used(report)
    run = cli("diff", report, report)
    assert (run.code, run.err) == (0, "")
    assert run.out.splitlines() == [f"demo {name}: {u} -> {u} B (0 B) of {size} B; layout {u} -> {u} B of its {b} B budget"
                                    for name, u, size, b in [("sram", used["sram"], 131072, 49152), ("ccm", used["ccm"], 65536, 4096)]]
    changes = _diff_json(cli, report, report)
    assert [(c["product"], c["region"], c["delta"], c["objects"]) for c in changes] == [("demo", "sram", 0, []), ("demo", "ccm", 0, [])]


def test_grown_pool(cli: Callable[..., Run], tmp_path: Path) -> None:
    old, new = _report(cli, tmp_path, "old", VALID_PROFILE), _report(cli, tmp_path, "new", GROWN)
    grown = _used(new)["sram"] - _used(old)["sram"]
    # Four more 256 B blocks and their 10 B of metadata each; the workspace
    # then lands on its cache line with 8 B less padding.
    assert grown == 4 * 256 + 4 * 10 - 8
    run = cli("diff", old, new)
    assert run.code == 0
    assert run.out.splitlines() == [
        f"demo sram: {_used(old)['sram']} -> {_used(new)['sram']} B (+1056 B) of 131072 B; "
        f"layout {_used(old)['sram']} -> {_used(new)['sram']} B of its 49152 B budget",
        "  grown    pool.small: 4096 -> 5120 B (+1024 B)",
        "  grown    pool_state.small: 160 -> 200 B (+40 B)",
        f"demo ccm: {_used(old)['ccm']} -> {_used(new)['ccm']} B (0 B) of 65536 B; layout {_used(old)['ccm']} -> {_used(new)['ccm']} B "
        "of its 4096 B budget",
    ]
    sram, ccm = _diff_json(cli, old, new)
    assert (sram["old"], sram["new"], sram["delta"]) == (_used(old)["sram"], _used(new)["sram"], 1056)
    assert _objects(sram) == {"pool.small": ("grown", 4096, 5120, 1024), "pool_state.small": ("grown", 160, 200, 40)}
    assert (ccm["delta"], ccm["objects"]) == (0, [])
    # And back: shrunk.
    sram, _ = _diff_json(cli, new, old)
    assert sram["delta"] == -1056 and _objects(sram) == {
        "pool.small": ("shrunk", 5120, 4096, -1024), "pool_state.small": ("shrunk", 200, 160, -40)}


def test_new_and_removed_pool(cli: Callable[..., Run], tmp_path: Path) -> None:
    old, new = _report(cli, tmp_path, "old", VALID_PROFILE), _report(cli, tmp_path, "new", RENAMED)
    sram, ccm = _diff_json(cli, old, new)
    assert sram["delta"] == 0 and ccm["objects"] == []
    assert _objects(sram) == {
        "pool.huge": ("new", None, 16384, 16384),
        "pool_state.huge": ("new", None, 40, 40),
        "pool.large": ("removed", 16384, None, -16384),
        "pool_state.large": ("removed", 40, None, -40),
    }
    lines = cli("diff", old, new).out.splitlines()
    assert "  new      pool.huge: - -> 16384 B (+16384 B)" in lines
    assert "  removed  pool.large: 16384 -> - B (-16384 B)" in lines


def test_region_added_and_removed(cli: Callable[..., Run], tmp_path: Path) -> None:
    """Without the tiny pool in ccm, no object is in ccm and the report has no ccm region."""
    one, two = _report(cli, tmp_path, "one", NO_CCM), _report(cli, tmp_path, "two", VALID_PROFILE)
    assert set(_used(one)) == {"sram"} and set(_used(two)) == {"sram", "ccm"}
    ccm_used = _used(two)["ccm"]

    added = {c["region"]: c for c in _diff_json(cli, one, two)}
    assert (added["ccm"]["old"], added["ccm"]["new"], added["ccm"]["delta"]) == (None, ccm_used, ccm_used)
    assert _objects(added["ccm"]) == {"pool.tiny": ("new", None, 2048, 2048), "pool_state.tiny": ("new", None, 320, 320)}
    assert _objects(added["sram"]) == {"pool.tiny": ("removed", 2048, None, -2048), "pool_state.tiny": ("removed", 320, None, -320)}
    assert f"demo ccm: - -> {ccm_used} B (+{ccm_used} B) of 65536 B; layout - -> {ccm_used} B of its 4096 B budget" in cli(
        "diff", one, two).out.splitlines()

    removed = {c["region"]: c for c in _diff_json(cli, two, one)}
    assert (removed["ccm"]["old"], removed["ccm"]["new"], removed["ccm"]["delta"]) == (ccm_used, None, -ccm_used)
    assert f"demo ccm: {ccm_used} -> - B (-{ccm_used} B) of 65536 B; layout {ccm_used} -> - B of its 4096 B budget" in cli(
        "diff", two, one).out.splitlines()

    md = cli("diff", one, two, "--format", "md").out.splitlines()
    assert f"| ccm | 65536 B | {ccm_used} B | {65536 - ccm_used} B | {ccm_used} B | 4096 B | new |" in md
    md = cli("diff", two, one, "--format", "md").out.splitlines()
    assert "| ccm | 65536 B | 0 B | 65536 B | - | 4096 B | removed |" in md


def test_fail_over(cli: Callable[..., Run], tmp_path: Path) -> None:
    old, new = _report(cli, tmp_path, "old", VALID_PROFILE), _report(cli, tmp_path, "new", GROWN)
    at_limit = cli("diff", old, new, "--fail-over", "1056")
    assert (at_limit.code, at_limit.err) == (0, "")
    over = cli("diff", old, new, "--fail-over", "1055")
    assert over.code == 1
    assert over.err == "memplan: error: demo region sram grew by 1056 B, more than --fail-over 1055 B\n"
    assert over.out == at_limit.out  # the report is printed either way
    # Shrinking never fails, whatever the limit.
    assert cli("diff", new, old, "--fail-over", "0").code == 0
    # A region that appears grew by all of its bytes.
    one, two = _report(cli, tmp_path, "one", NO_CCM), _report(cli, tmp_path, "two", VALID_PROFILE)
    ccm_used = _used(two)["ccm"]
    assert cli("diff", one, two, "--fail-over", str(ccm_used)).code == 0
    run = cli("diff", one, two, "--fail-over", str(ccm_used - 1))
    assert run.code == 1 and f"demo region ccm grew by {ccm_used} B" in run.err


def test_markdown_format(cli: Callable[..., Run], tmp_path: Path) -> None:
    old, new = _report(cli, tmp_path, "old", VALID_PROFILE), _report(cli, tmp_path, "new", GROWN)
    used = _used(new)
    run = cli("diff", old, new, "--format", "md")
    assert run.code == 0
    assert run.out.splitlines() == [
        "#### demo",
        "",
        "| region | size | used | free | layout | layout budget | change since baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| sram | 131072 B | {used['sram']} B | {131072 - used['sram']} B | {used['sram']} B | 49152 B | +1056 B |",
        f"| ccm | 65536 B | {used['ccm']} B | {65536 - used['ccm']} B | {used['ccm']} B | 4096 B | 0 B |",
        "",
        "| region | object | change | old | new |",
        "| --- | --- | --- | ---: | ---: |",
        "| sram | `pool.small` | grown +1024 B | 4096 | 5120 |",
        "| sram | `pool_state.small` | grown +40 B | 160 | 200 |",
        "",
    ]


# -- reports measured from images -------------------------------------------------------------


def test_planned_and_measured_host_layout_are_equal(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    planned = _report(cli, tmp_path, "hosty", elf_images.profiles["hosty"].read_text())
    measured = _check_elf(cli, tmp_path, elf_images["host_ok"], elf_images.profiles["hosty"])
    changes = _diff_json(cli, planned, measured)
    assert [(c["product"], c["region"], c["delta"], c["objects"]) for c in changes] == [("hosty", "ram", 0, [])]


def test_measured_cortex_m_image_adds_the_program_ram(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    planned = _report(cli, tmp_path, "armo", elf_images.profiles["armo"].read_text())
    measured = _check_elf(cli, tmp_path, elf_images["arm_ok"], elf_images.profiles["armo"])
    changes = {c["region"]: c for c in _diff_json(cli, planned, measured)}
    sram, ccm = changes["sram"], changes["ccm"]
    program = {name: change[2] for name, change in _objects(sram).items()}
    assert set(program) == {".data", ".bss"} and all(kind == "new" for kind, *_ in _objects(sram).values())
    assert sram["delta"] == sum(program.values()) > 0  # the layout's own objects did not change
    assert (ccm["delta"], ccm["objects"]) == (0, [])


def test_baseline_of_several_products(elf_images: Images, cli: Callable[..., Run], tmp_path: Path) -> None:
    """The form scripts/budget-report.sh writes: {"products": {name: check-elf report}}, keys sorted."""
    host = json.loads(_check_elf(cli, tmp_path, elf_images["host_ok"], elf_images.profiles["hosty"]).read_text())
    arm = json.loads(_check_elf(cli, tmp_path, elf_images["arm_ok"], elf_images.profiles["armo"]).read_text())
    baseline = _write(tmp_path, "baseline.json", {"products": {"hosty": host, "armo": arm}})

    same = _diff_json(cli, baseline, baseline)
    assert [(c["product"], c["region"], c["delta"], c["objects"]) for c in same] == [
        ("armo", "sram", 0, []), ("armo", "ccm", 0, []), ("hosty", "ram", 0, [])]
    md = cli("diff", baseline, baseline, "--format", "md").out
    assert md.index("#### armo") < md.index("#### hosty")
    assert len([line for line in md.splitlines() if line.endswith(" B | 0 B |") and line.count("|") == 8]) == 3  # region rows, no change
    # Without a map the arm image's rest of each region is unmapped; the host image has no origins.
    assert "| region by origin | layout | rest (no map) |" in md and md.count("| region by origin |") == 1

    # One product's report alone (as `check-elf --format json` writes it) against the baseline:
    # the other product's regions are gone.
    single = _diff_json(cli, baseline, tmp_path / "arm_ok.json")
    assert [(c["product"], c["region"], c["new"] is None) for c in single] == [
        ("armo", "sram", False), ("armo", "ccm", False), ("hosty", "ram", True)]
    assert single[2]["delta"] == -host["regions"][0]["used"]

    # A product whose image grew: only its regions move.
    grown = json.loads(json.dumps(arm))
    grown["regions"][0]["used"] += 100
    grown["regions"][0]["objects"].append({"name": "mbedtls_scratch", "size": 100})
    current = _write(tmp_path, "current.json", {"products": {"hosty": host, "armo": grown}})
    changes = _diff_json(cli, baseline, current)
    assert [(c["product"], c["region"], c["delta"]) for c in changes] == [("armo", "sram", 100), ("armo", "ccm", 0), ("hosty", "ram", 0)]
    assert _objects(changes[0]) == {"mbedtls_scratch": ("new", None, 100, 100)}
    run = cli("diff", baseline, current, "--fail-over", "99")
    assert run.code == 1 and run.err == "memplan: error: armo region sram grew by 100 B, more than --fail-over 99 B\n"


# -- inputs that are not budget reports ---------------------------------------------------------


def test_malformed_json_is_a_usage_error_at_its_position(cli: Callable[..., Run], tmp_path: Path) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "schema": "memplan-budget/1",\n  "regions": [1,]\n}\n', encoding="utf-8")
    run = cli("diff", report, broken)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{broken}:3:17: error: not JSON: Expecting value\n"
    truncated = tmp_path / "truncated.json"
    truncated.write_text(report.read_text()[:40], encoding="utf-8")
    run = cli("diff", truncated, report)
    assert run.code == 2 and run.err.startswith(f"{truncated}:") and ": error: not JSON: " in run.err


def test_json_that_is_not_utf8_is_a_usage_error_at_its_position(cli: Callable[..., Run], tmp_path: Path) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{\n  "profile": "d\xe9mo"\n}\n')
    run = cli("diff", latin1, report)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{latin1}:2:16: error: not JSON: not UTF-8 text\n"


@pytest.mark.parametrize("document", [
    {"name": "some-package", "version": "1.0.0"},
    [1, 2, 3],
    "memplan-budget/1",
    None,
    {"schema": "memplan-budget/3", "profile": "demo", "regions": []},
    {"schema": "memplan-budget/1", "profile": "demo"},
], ids=["package_json", "list", "string", "null", "other_schema", "no_regions"])
def test_json_that_is_not_a_budget_report(cli: Callable[..., Run], tmp_path: Path, document: Any) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    other = _write(tmp_path, "other.json", document)
    for args in ((report, other), (other, report)):
        run = cli("diff", *args)
        assert (run.code, run.out) == (2, "")
        assert run.err == f"{other}: error: not a budget report (memplan-budget/1 or memplan-budget/2: budget.json or check-elf --format json)\n"


@pytest.mark.parametrize("region, message", [
    ({"used": 1}, "regions[0]: a region needs a name"),
    ("sram", "regions[0]: a region needs a name"),
    ({"name": "sram", "used": "12 KiB", "budget": 1}, "regions[0]: 'used', 'budget', 'size' and 'layout' must be integers from 0 to 2**64-1"),
    ({"name": "sram", "used": True, "budget": 1}, "regions[0]: 'used', 'budget', 'size' and 'layout' must be integers from 0 to 2**64-1"),
    ({"name": "sram", "used": 1, "budget": None}, "regions[0]: 'used', 'budget', 'size' and 'layout' must be integers from 0 to 2**64-1"),
    ({"name": "sram", "used": 1, "budget": 2, "objects": {"a": 1}}, "regions[0]: 'objects' must be a list of {name, size}"),
    ({"name": "sram", "used": 1, "budget": 2, "objects": [{"name": "a"}]}, "regions[0]: 'objects' must be a list of {name, size}"),
], ids=["no_name", "not_a_mapping", "used_string", "used_bool", "budget_null", "objects_mapping", "object_without_size"])
def test_budget_report_with_broken_fields(cli: Callable[..., Run], tmp_path: Path, region: Any, message: str) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    broken = _write(tmp_path, "broken.json", {"schema": "memplan-budget/1", "profile": "demo", "regions": [region]})
    run = cli("diff", report, broken)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{broken}: error: {message}\n"
    baseline = _write(tmp_path, "baseline.json", {"products": {"demo": json.loads(broken.read_text())}})
    run = cli("diff", baseline, report)
    assert run.code == 2 and run.err == f"{baseline}: error: product 'demo': {message}\n"


def test_baseline_whose_products_are_not_a_mapping(cli: Callable[..., Run], tmp_path: Path) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    baseline = _write(tmp_path, "baseline.json", {"products": [json.loads(report.read_text())]})
    run = cli("diff", baseline, report)
    assert run.code == 2 and run.err == f"{baseline}: error: 'products' must map product names to budget reports (memplan-budget/1 or memplan-budget/2)\n"
    baseline = _write(tmp_path, "baseline.json", {"products": {"demo": {"schema": "nope"}}})
    run = cli("diff", baseline, report)
    assert run.code == 2
    assert run.err == f"{baseline}: error: product 'demo': not a budget report (memplan-budget/1 or memplan-budget/2: budget.json or check-elf --format json)\n"


def test_missing_report_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    report = _report(cli, tmp_path, "demo", VALID_PROFILE)
    run = cli("diff", report, tmp_path / "missing.json")
    assert (run.code, run.out) == (2, "")
    assert run.err == f"memplan: error: cannot read {tmp_path / 'missing.json'}: No such file or directory\n"
    run = cli("diff", report)
    assert run.code == 2 and "the following arguments are required: NEW.json" in run.err
    run = cli("diff", report, report, "--fail-over", "lots")
    assert run.code == 2 and "argument --fail-over: invalid int value: 'lots'" in run.err


def test_schema_1_report_still_reads(cli: Callable[..., Run], tmp_path: Path) -> None:
    """A baseline written before schema 2 (no size or layout; `used` of an image was the whole region) diffs
    against a schema 2 report: the change in `used`, with the size taken from the newer report."""
    current = _report(cli, tmp_path, "demo", VALID_PROFILE)
    used = _used(current)
    old = _write(tmp_path, "old.json", {"schema": "memplan-budget/1", "profile": "demo",
                                        "regions": [{"name": "sram", "budget": 49152, "used": used["sram"] - 100, "free": 0}]})
    lines = cli("diff", old, current).out.splitlines()
    assert lines[0] == f"demo sram: {used['sram'] - 100} -> {used['sram']} B (+100 B) of 131072 B; layout - -> {used['sram']} B of its 49152 B budget"
    only_old = cli("diff", old, old)
    assert only_old.out.splitlines() == [f"demo sram: {used['sram'] - 100} -> {used['sram'] - 100} B (0 B) of 49152 B"]
    assert "| sram | - | " in cli("diff", old, old, "--format", "md").out


# -- origins and stacks (check-elf --map, --callgraph, --stack-measured) -------------------------


def _with_origins(product: Dict[str, int], libc: int, bound: int, measured: Any) -> Dict[str, Any]:
    parts = [{"name": name, "size": size} for name, size in product.items()]
    origins = [{"name": "layout", "size": 1024, "parts": [{"name": "pool.small", "size": 1024}]},
               {"name": "product", "size": sum(product.values()), "parts": parts}]
    if libc:
        origins.append({"name": "libc", "size": libc, "parts": [{"name": "libc.a(lib_a-impure.o)", "size": libc}]})
    used = sum(o["size"] for o in origins)
    return {"schema": "memplan-budget/2", "profile": "demo",
            "regions": [{"name": "sram", "size": 8192, "budget": 4096, "layout": 1024, "used": used,
                         "objects": [{"name": "pool.small", "size": 1024}], "origins": origins}],
            "stacks": {"main": {"size": 2048, "bound": bound, "measured": measured},
                       "threads": [{"function": "worker", "size": 1024, "bound": 600, "measured": None}]}}


def test_diff_shows_each_origin_and_the_files_that_changed(cli: Callable[..., Run], tmp_path: Path) -> None:
    old = _write(tmp_path, "old.json", _with_origins({"main.o": 40}, 0, 1000, None))
    new = _write(tmp_path, "new.json", _with_origins({"main.o": 40, "drivers.o": 12}, 4, 1008, 900))
    changes = _diff_json(cli, old, new)
    region = next(c for c in changes if "region" in c)
    assert region["delta"] == 16
    origins = {o["name"]: (o["old"], o["new"], o["delta"], [(p["name"], p["change"], p["delta"]) for p in o["parts"]]) for o in region["origins"]}
    assert origins == {"layout": (1024, 1024, 0, []), "product": (40, 52, 12, [("drivers.o", "new", 12)]),
                       "libc": (None, 4, 4, [("libc.a(lib_a-impure.o)", "new", 4)])}
    stacks = [c for c in changes if "stack" in c]
    assert stacks == [
        {"product": "demo", "stack": "main", "size": 2048, "old_bound": 1000, "new_bound": 1008, "old_measured": None, "new_measured": 900},
        {"product": "demo", "stack": "thread worker", "size": 1024, "old_bound": 600, "new_bound": 600, "old_measured": None,
         "new_measured": None}]

    md = cli("diff", old, new, "--format", "md").out.splitlines()
    assert "| region by origin | layout | C/C++ libraries | product |" in md
    assert "| sram | 1024 B | 4 B | 52 B (+12) |" in md
    assert "| main | 2048 B | 1008 B (+8) | 900 B |" in md
    assert "| sram | `product: drivers.o` | new +12 B | - | 12 |" in md
    text = cli("diff", old, new).out.splitlines()
    assert "  origin   product: 52 B (+12)" in text and "    new      drivers.o: - -> 12 B (+12 B)" in text
    assert "demo stack main: worst case 1008 B (+8), measured 900 B" in text


def test_reports_without_origins_diff_as_before(cli: Callable[..., Run], tmp_path: Path) -> None:
    old = _report(cli, tmp_path, "old", VALID_PROFILE)
    changes = _diff_json(cli, old, old)
    assert all(c["origins"] == [] for c in changes)
    assert "by origin" not in cli("diff", old, old, "--format", "md").out
