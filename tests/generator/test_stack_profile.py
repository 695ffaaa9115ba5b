"""The profile's `stack` section: validated at line and column, placed in the layout (the linker
fragment reserves each stack between its symbols; the budget counts it), and held by check-elf to
the image: the reservation's size, and, with the build's call graph, each entry point's worst case."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import pytest

from conftest import VALID_PROFILE, Run
from memplan.planner import plan
from memplan.validator import load_profile

STACK = """\
stack:
  size: 4KiB
  interrupts: [{function: SysTick_Handler, priority: 2}, {function: PendSV_Handler, priority: 3}]
  threads: [{function: net_task, size: 1KiB, region: ccm}]
  calls: {Reset_Handler: [.init_array], _Z8dispatchPFviE: [memplan-ports, handler_a]}
  recursion: {walk_tree: 4}
  frames: {dynamic_frame: 256}
"""
PROFILE = VALID_PROFILE.replace("  sram: 48KiB", "  sram: 56KiB").replace("  ccm: 4KiB", "  ccm: 8KiB") + STACK


def test_the_stack_section_is_read(write_profile: Callable[..., Path]) -> None:
    stack = load_profile(str(write_profile(PROFILE)))[0].stack
    assert stack is not None
    assert (stack.size, stack.region, stack.entry) == (4096, "sram", "Reset_Handler")  # the first region; the reset handler
    assert [(i.function, i.priority) for i in stack.interrupts] == [("SysTick_Handler", 2), ("PendSV_Handler", 3)]
    assert [(t.function, t.size, t.region) for t in stack.threads] == [("net_task", 1024, "ccm")]
    assert stack.calls == {"Reset_Handler": (".init_array",), "_Z8dispatchPFviE": ("memplan-ports", "handler_a")}
    assert (stack.recursion, stack.frames) == ({"walk_tree": 4}, {"dynamic_frame": 256})


def test_the_common_case_is_one_line(write_profile: Callable[..., Path]) -> None:
    stack = load_profile(str(write_profile(VALID_PROFILE + "stack: {size: 2KiB}\n")))[0].stack
    assert stack is not None and (stack.size, stack.entry, stack.interrupts, stack.threads) == (2048, "Reset_Handler", (), ())


def test_stacks_are_placed_last_in_their_regions_and_counted_in_the_budget(write_profile: Callable[..., Path]) -> None:
    result = plan(load_profile(str(write_profile(PROFILE)))[0])
    sram, ccm = result.region("sram"), result.region("ccm")
    main, thread = sram.objects[-1], ccm.objects[-1]
    assert (main.key, main.object, main.size, main.align, main.offset % 8) == ("stack", "stack.main", 4096, 8, 0)
    assert (thread.key, thread.object, thread.size) == ("stack.threads[0]", "stack.thread0", 1024)
    assert sram.used == main.offset + 4096 and ccm.used == thread.offset + 1024
    without = plan(load_profile(str(write_profile(VALID_PROFILE, "plain.yaml")))[0])
    assert sram.used == without.region("sram").used + 4096


def test_the_fragment_reserves_the_stacks_and_names_the_main_stacks_top(cli, tmp_path: Path, write_profile) -> None:
    assert cli("generate", write_profile(PROFILE), "--out", tmp_path / "out").code == 0
    fragment = (tmp_path / "out" / "demo" / "layout.ld").read_text()
    assert re.search(r"__memplan_demo_stack_main_start = \.;\n    \. \+= 4096;.*\n    __memplan_demo_stack_main_end = \.;", fragment)
    assert re.search(r"__memplan_demo_stack_thread0_start = \.;\n    \. \+= 1024;", fragment)
    assert "__memplan_main_stack_top = __memplan_demo_stack_main_end;" in fragment
    assert "__memplan_main_stack_bottom = __memplan_demo_stack_main_start;" in fragment
    header = (tmp_path / "out" / "demo" / "layout.hpp").read_text()
    assert "{4096, 8},  // stack" in header and "main_stack," not in header  # counted, not declared, not wiped
    # Each stack's bottom and size for startup code and an RTOS's static task creation, from the fragment's symbols.
    assert 'extern "C" std::uint64_t __memplan_demo_stack_main_start[];' in header
    assert 'extern "C" std::uint64_t __memplan_demo_stack_thread0_start[];' in header
    assert "// stack.threads[0]: thread net_task\ninline constexpr std::size_t thread_0_size = 1024;\n" \
           "inline std::uint64_t* thread_0_bottom() noexcept { return __memplan_demo_stack_thread0_start; }" in header
    assert "inline constexpr std::size_t main_size = 4096;" in header and "inline constexpr std::size_t thread_count = 1;" in header
    report = json.loads((tmp_path / "out" / "demo" / "budget.json").read_text())
    objects = {o["name"]: o for r in report["regions"] for o in r["objects"]}
    assert objects["stack.main"]["size"] == 4096 and objects["stack.thread0"]["size"] == 1024


def test_a_stack_over_the_budget_is_refused(cli, write_profile) -> None:
    run = cli("check", write_profile(VALID_PROFILE + "stack: {size: 20KiB}\n"))
    assert run.code == 1 and re.search(r"budget\.sram: region 'sram' needs \d+ B but its budget is 49152 B.*largest: stack \(stack\.main\) 20480 B", run.err)


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("stack, needle, message", [
    ("stack: {size: 1001}", "size: 1001", "stack.size: must be a multiple of 8, the AAPCS stack alignment (got 1001)"),
    ("stack: {size: 0}", "size: 0", "stack.size: must be >= 8"),
    ("stack: {}", "stack: {}", "stack.size: missing required key"),
    ("stack: 4KiB", "stack: 4KiB", "stack: must be a mapping"),
    ("stack: {size: 4KiB, region: dtcm}", "region: dtcm", "stack.region: unknown region 'dtcm'"),
    ("stack: {size: 4KiB, entry: 'not a symbol'}", "entry:", "stack.entry: must be a function's symbol"),
    ("stack: {size: 4KiB, interrupts: [{function: Reset_Handler, priority: 1}]}", "function: Reset_Handler",
     "stack.interrupts[0].function: Reset_Handler is already an entry point (stack.entry)"),
    ("stack: {size: 4KiB, interrupts: [{function: a, priority: 1}, {function: a, priority: 2}]}", "function: a, priority: 2",
     "stack.interrupts[1].function: a is already an entry point (stack.interrupts[0].function)"),
    ("stack: {size: 4KiB, interrupts: [{function: a, priority: 256}]}", "priority: 256", "stack.interrupts[0].priority: must be <= 255"),
    ("stack: {size: 4KiB, interrupts: [{function: a}]}", "{function: a}", "stack.interrupts[0].priority: missing required key"),
    ("stack: {size: 4KiB, interrupts: {function: a}}", "interrupts:", "stack.interrupts: must be a list"),
    ("stack: {size: 4KiB, threads: [{function: t, size: 12}]}", "size: 12}", "stack.threads[0].size: must be a multiple of 8"),
    ("stack: {size: 4KiB, calls: {f: []}}", "f: []", "stack.calls.f: must list at least one target"),
    ("stack: {size: 4KiB, calls: {f: ['-x']}}", "'-x'", "stack.calls.f[0]: must be a function's symbol"),
    ("stack: {size: 4KiB, calls: {'a b': [g]}}", "'a b'", "'a b' is not a function's symbol"),
    ("stack: {size: 4KiB, calls: [f]}", "calls:", "stack.calls: must be a mapping of function -> value"),
    ("stack: {size: 4KiB, recursion: {f: 0}}", "f: 0", "stack.recursion.f: must be > 0"),
    ("stack: {size: 4KiB, frames: {f: -1}}", "f: -1", "stack.frames.f: must be >= 0"),
    ("stack: {size: 4KiB, colour: red}", "colour:", "stack.colour: unknown key"),
])
def test_bad_stack_sections_are_refused_at_their_position(cli, write_profile, stack: str, needle: str, message: str) -> None:
    text = VALID_PROFILE + stack + "\n"
    path = write_profile(text)
    run = cli("check", path)
    assert run.code == 1, run.out
    line = _line_of(text, needle)
    assert any(e.startswith(f"{path}:{line}:") and message in e for e in run.err.splitlines()), run.err


def test_a_region_named_like_a_stack_object_is_refused(cli, write_profile) -> None:
    text = VALID_PROFILE.replace("    ccm: {size: 64KiB}", "    stack_main: {size: 64KiB}").replace("  ccm: 4KiB", "  stack_main: 4KiB")
    text = text.replace("region: ccm", "region: stack_main")
    run = cli("check", write_profile(text))
    assert run.code == 1 and "generates the symbol name 'stack_main', which stack main also uses" in run.err


def test_check_elf_finds_no_stack_reservation_in_an_image_linked_without_it(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    """The images were linked with fragments of profiles without stacks."""
    profile = tmp_path / "armo.yaml"
    profile.write_text(elf_images.profiles["armo"].read_text().replace("  sram: 8KiB", "  sram: 12KiB") + "stack: {size: 2KiB}\n")
    run = cli("check-elf", elf_images["arm_ok"], "--profile", profile, "--format", "json")
    document = json.loads(run.out)
    assert run.code == 1
    assert any(v["subject"] == "stack" and "the image has no __memplan_armo_stack_main_start/_end" in v["message"] for v in document["violations"])
    host = cli("check-elf", elf_images["host_of_arm"], "--profile", profile, "--format", "json")
    assert not any(v["subject"] == "stack" for v in json.loads(host.out)["violations"])  # a host build has no layout stacks


def test_bad_callgraph_paths_for_check_elf_are_usage_errors(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    bad = tmp_path / "bad.ci"
    bad.write_text("nonsense\n")
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--callgraph", bad)
    assert run.code == 2 and "bad.ci:1: not a line of GCC's call-graph format" in run.err
    missing = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--callgraph", tmp_path / "none.o")
    assert missing.code == 2 and f"{tmp_path / 'none.o'}: no such object file or folder" in missing.err
    assembly = tmp_path / "startup.S.obj"  # an object GCC wrote no .ci for: its code is read from the image
    assembly.write_bytes(b"")
    assert cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--callgraph", assembly).code == 0


def test_an_unreadable_call_graph_file_is_named_as_such(elf_images, cli: Callable[..., Run], tmp_path: Path) -> None:
    dangling = tmp_path / "gone.ci"
    dangling.symlink_to(tmp_path / "nowhere.ci")
    run = cli("check-elf", elf_images["arm_ok"], "--profile", elf_images.profiles["armo"], "--callgraph", dangling)
    assert run.code == 2 and run.err == f"memplan: error: cannot read call-graph file {dangling}: No such file or directory\n"
