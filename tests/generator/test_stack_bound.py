"""The stack analysis on small programs with known shapes (stack_programs/): a chain of calls,
interrupts of two priorities, a virtual call resolved through the image's vtables, a function
pointer resolved by annotation, recursion (refused, then accepted with a declared depth), alloca
(refused, then accepted with a stated frame), and functions with no call-graph file, whose frames
come from their Thumb code (hand-written assembly with exact frames, and newlib's memset).

Frames are GCC's own numbers: the .ci files are checked against the .su files of -fstack-usage,
and every expected depth is a sum of those frames along the path the test names."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from conftest import require_compiler
from memplan.callgraph_files import CallGraphError, read_all, read_file
from memplan.elfimage import read_image
from memplan.stack_bound import EXCEPTION_FRAME, Annotations, EntryPoint, StackGraph

PROGRAMS = Path(__file__).resolve().parent / "stack_programs"
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


@dataclass
class Program:
    elf: Path
    callgraph: Path  # the folder of the .ci file
    frames: Dict[str, int]  # GCC's -fstack-usage frames, by function name


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    require_compiler("arm-none-eabi-g++")
    out = tmp_path_factory.mktemp("stack")
    commands = [
        ["arm-none-eabi-g++", *M4, "-Os", "-fno-rtti", "-fno-exceptions", "-ffunction-sections", "-fstack-usage",
         "-fcallgraph-info=su", "-Wall", "-Wextra", "-Werror", "-c", str(PROGRAMS / "program.cpp"), "-o", str(out / "program.o")],
        ["arm-none-eabi-gcc", *M4, "-c", str(PROGRAMS / "functions.S"), "-o", str(out / "functions.o")],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for result in pool.map(lambda c: subprocess.run(c, capture_output=True, text=True, cwd=out), commands):
            assert result.returncode == 0, result.stderr
    link = subprocess.run(["arm-none-eabi-g++", *M4, "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                           "-T", str(PROGRAMS / "program.ld"), str(out / "program.o"), str(out / "functions.o"),
                           "-o", str(out / "program.elf")], capture_output=True, text=True, cwd=out)
    assert link.returncode == 0, link.stderr
    frames = {}
    for line in (out / "program.su").read_text().splitlines():
        where, size, _ = line.split("\t")
        frames[where.rsplit(":", 1)[-1]] = int(size)
    return Program(out / "program.elf", out, frames)


def analyse(program: Program, *entries: EntryPoint, core: str = "cortex-m4", annotations: Optional[Annotations] = None):
    graph = StackGraph(read_image(str(program.elf)), read_all([str(program.callgraph / "program.ci")]), annotations or Annotations())
    return graph, graph.bound(list(entries), core)


def frames_of(graph: StackGraph, names: List[str]) -> int:
    return sum(graph.functions[n].frame for n in names)


def test_the_call_graph_file_has_gccs_stack_usage(program: Program) -> None:
    defined = {d.name: d for d in read_file(str(program.callgraph / "program.ci"))}
    assert defined["mid"].frame == program.frames["int mid(int)"] > 100  # its 100-byte buffer and saved registers
    assert defined["leaf"].frame == program.frames["int leaf(int)"]
    assert defined["top"].calls == ["mid"] and defined["dynamic_frame"].qualifier == "dynamic"


def test_a_chain_of_calls_is_the_sum_of_its_frames(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_chain"))
    assert report.errors == []
    path = ["entry_chain", "top", "mid", "leaf"]
    assert [s.function for s in report.entries[0].path] == path
    assert report.entries[0].depth == report.main_stack == frames_of(graph, path)
    assert all(graph.functions[n].origin.startswith("call graph") for n in path)


@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m4", "cortex-m33"])
def test_interrupts_of_two_priorities_nest_and_one_priority_does_not(program: Program, core: str) -> None:
    frame = EXCEPTION_FRAME[core]
    graph, report = analyse(program, EntryPoint("entry_chain"), EntryPoint("SysTick_Handler", "interrupt", 3),
                            EntryPoint("PendSV_Handler", "interrupt", 1), EntryPoint("SVC_Handler", "interrupt", 1), core=core)
    depth = {r.entry.function: r.depth for r in report.entries}
    assert depth["SysTick_Handler"] == frames_of(graph, ["SysTick_Handler", "isr_low"])
    assert depth["PendSV_Handler"] == frames_of(graph, ["PendSV_Handler", "isr_high", "leaf"])
    level_1 = max(depth["PendSV_Handler"], depth["SVC_Handler"])  # one priority: they cannot preempt each other
    assert report.main_stack == depth["entry_chain"] + frame + depth["SysTick_Handler"] + frame + level_1
    _, same = analyse(program, EntryPoint("entry_chain"), EntryPoint("SysTick_Handler", "interrupt", 2),
                      EntryPoint("PendSV_Handler", "interrupt", 2), core=core)
    assert same.main_stack == depth["entry_chain"] + frame + max(depth["SysTick_Handler"], depth["PendSV_Handler"])
    assert EXCEPTION_FRAME["cortex-m0"] == 36 and EXCEPTION_FRAME["cortex-m4"] == 108  # 8 or 26 words, and alignment


def test_a_thread_has_its_own_stack_with_one_exception_frame(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_chain", "thread", 0, 4096), EntryPoint("SVC_Handler", "interrupt", 0))
    assert report.threads == {"entry_chain": frames_of(graph, ["entry_chain", "top", "mid", "leaf"]) + 108}
    assert report.main_stack == 108 + frames_of(graph, ["SVC_Handler", "leaf"])  # handlers run on the main stack


def test_a_virtual_call_of_memplans_is_resolved_through_the_vtables(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_virtual"))
    assert report.errors == []
    tick = next(name for name in graph.functions if name.startswith("_ZN7memplan17BasicSessionTable4tickEv"))  # maybe a clone (.isra)
    deep, shallow = "_ZN7memplan9DeepClock5now_sEv", "_ZN7memplan12ShallowClock5now_sEv"
    assert graph.functions[tick].calls == {deep, shallow}  # the clock's overrides, not Adc::sample
    assert "Clock" in graph.functions[tick].indirect_via
    assert [s.function for s in report.entries[0].path] == ["entry_virtual", tick, deep]
    assert graph.functions[deep].frame > 300 > graph.functions[shallow].frame


def test_a_products_virtual_call_needs_an_annotation(program: Program) -> None:
    _, report = analyse(program, EntryPoint("entry_product_virtual"))
    assert report.errors == ["_Z11read_sensorR6Sensor: calls through a pointer that cannot be resolved; list the targets "
                             "(stack.calls) (reached by entry_product_virtual -> _Z11read_sensorR6Sensor)"]
    graph, report = analyse(program, EntryPoint("entry_product_virtual"),
                            annotations=Annotations(calls={"_Z11read_sensorR6Sensor": ["_ZN3Adc6sampleEv"]}))
    assert report.errors == [] and report.entries[0].path[-1].function == "_ZN3Adc6sampleEv"


def test_memplan_ports_resolves_a_port_call_in_product_code(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_port_in_product"),
                            annotations=Annotations(calls={"_Z9ask_clockRN7memplan5ClockE": ["memplan-ports"]}))
    assert report.errors == []
    assert graph.functions["_Z9ask_clockRN7memplan5ClockE"].calls == {"_ZN7memplan9DeepClock5now_sEv", "_ZN7memplan12ShallowClock5now_sEv"}


def test_a_section_of_function_pointers_resolves_the_startups_constructor_calls(program: Program) -> None:
    _, report = analyse(program, EntryPoint("entry_init"))
    assert len(report.errors) == 1 and report.errors[0].startswith("entry_init: calls through a pointer")
    graph, report = analyse(program, EntryPoint("entry_init"), annotations=Annotations(calls={"entry_init": [".init_array"]}))
    assert report.errors == []
    constructor = report.entries[0].path[1].function
    assert constructor.startswith("_GLOBAL__sub_I_") and report.entries[0].path[-1].function == "leaf"


def test_a_function_pointer_needs_its_targets(program: Program) -> None:
    _, report = analyse(program, EntryPoint("entry_pointer"))
    assert report.errors == ["through_pointer: calls through a pointer that cannot be resolved; list the targets (stack.calls) "
                             "(reached by entry_pointer -> through_pointer)"]
    graph, report = analyse(program, EntryPoint("entry_pointer"), annotations=Annotations(calls={"through_pointer": ["leaf", "mid"]}))
    assert report.errors == []
    assert [s.function for s in report.entries[0].path] == ["entry_pointer", "through_pointer", "mid", "leaf"]
    assert graph.functions["through_pointer"].indirect_via == "annotation"


def test_recursion_is_refused_then_bounded_by_its_declared_depth(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_recursion"))
    assert report.errors == ["recurse: recursion (recurse -> recurse) without a declared depth; declare how deep it goes "
                             "(stack.recursion) (reached by entry_recursion -> recurse)"]
    graph, report = analyse(program, EntryPoint("entry_recursion"), annotations=Annotations(recursion={"recurse": 5}))
    assert report.errors == []
    assert report.entries[0].depth == graph.functions["entry_recursion"].frame + 5 * graph.functions["recurse"].frame
    assert report.entries[0].path[-1].repeat == 5


def test_alloca_is_refused_then_bounded_by_a_stated_frame(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_alloca"))
    assert len(report.errors) == 1 and report.errors[0].startswith("dynamic_frame: allocates a frame whose size is only known at run time")
    assert report.errors[0].endswith("(reached by entry_alloca -> dynamic_frame)")
    graph, report = analyse(program, EntryPoint("entry_alloca"), annotations=Annotations(frames={"dynamic_frame": 256}))
    assert report.errors == []
    assert report.entries[0].depth == graph.functions["entry_alloca"].frame + 256 + graph.functions["memset"].frame


def test_functions_without_a_call_graph_file_are_read_from_the_image(program: Program) -> None:
    graph, report = analyse(program, EntryPoint("entry_library"))
    assert report.errors == []
    small, frames, tail = graph.functions["asm_small"], graph.functions["asm_frames"], graph.functions["asm_tail"]
    assert (small.frame, small.calls, small.origin) == (36, {"leaf"}, "image code")  # push {r4-r7, lr}; sub sp, #16
    assert frames.frame == 36 + 16 + 4096 + 1000  # push.w, vpush, sub.w #4096, subw #1000
    assert (tail.frame, tail.calls) == (8, {"mid"})  # b.w mid: a tail call
    assert graph.functions["memset"].origin == "image code"  # newlib's, no call-graph file
    assert [s.function for s in report.entries[0].path] == ["entry_library", "asm_frames"]


@pytest.mark.parametrize("entry, message", [
    ("entry_asm_dynamic", "asm_dynamic: allocates a frame whose size is only known at run time"),
    ("entry_asm_indirect", "asm_indirect: calls through a pointer that cannot be resolved"),
])
def test_image_code_that_moves_sp_by_a_register_or_calls_a_register_is_refused(program: Program, entry: str, message: str) -> None:
    _, report = analyse(program, EntryPoint(entry))
    assert len(report.errors) == 1 and report.errors[0].startswith(message), report.errors


def test_an_entry_point_missing_from_the_image_is_an_error(program: Program) -> None:
    _, report = analyse(program, EntryPoint("no_such_function"))
    assert report.errors == ["entry point no_such_function: no such function in the image"]


# -- the command line -----------------------------------------------------------------------------


def stack(cli, program: Program, *extra: str):
    return cli("stack", program.elf, "--callgraph", program.callgraph, "--core", "cortex-m4", *extra)


def test_the_command_prints_each_path_and_fails_a_stack_below_its_bound(cli, program: Program) -> None:
    run = stack(cli, program, "--entry", "entry_chain", "--interrupt", "SysTick_Handler:2", "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    bound = document["main_stack"]["bound"]
    assert [s["function"] for s in document["entries"][0]["path"]] == ["entry_chain", "top", "mid", "leaf"]
    assert stack(cli, program, "--entry", "entry_chain", "--interrupt", "SysTick_Handler:2", "--stack-size", str(bound)).code == 0
    run = stack(cli, program, "--entry", "entry_chain", "--interrupt", "SysTick_Handler:2", "--stack-size", str(bound - 1))
    assert run.code == 1
    assert f"error: stack: the main stack needs up to {bound} B, more than its {bound - 1} B" in run.err
    assert re.search(r"^ +\d+ B  mid$", run.out, re.M) and re.search(r"^ +\d+ B  leaf$", run.out, re.M)  # the text report names the path


def test_the_command_applies_annotations(cli, program: Program) -> None:
    assert stack(cli, program, "--entry", "entry_pointer").code == 1
    run = stack(cli, program, "--entry", "entry_pointer", "--calls", "through_pointer=leaf,mid", "--recursion", "x=2",
                "--frame", "dynamic_frame=64")
    assert run.code == 0, run.err


@pytest.mark.parametrize("extra, message", [
    ([], "name at least one entry point"),
    (["--interrupt", "SysTick_Handler"], "--interrupt takes NAME:VALUE"),
    (["--interrupt", "SysTick_Handler:high"], "--interrupt takes a number"),
    (["--thread", "entry_chain:-4"], "--thread takes a number"),
    (["--entry", "x", "--calls", "through_pointer"], "--calls takes NAME=VALUE"),
])
def test_bad_arguments_are_usage_errors(cli, program: Program, extra: List[str], message: str) -> None:
    run = stack(cli, program, *extra)
    assert run.code == 2 and message in run.err, run.err


def test_bad_inputs_are_usage_errors(cli, program: Program, tmp_path: Path) -> None:
    assert cli("stack", program.elf, "--callgraph", program.callgraph, "--core", "cortex-m9", "--entry", "x").code == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.ci").write_text('graph: { title: "x.c"\nnode: { title: "f" label: "f\\nx.c:1:1\\n8 bytes (static)" }\nrubbish\n}\n')
    run = cli("stack", program.elf, "--callgraph", bad, "--core", "cortex-m4", "--entry", "entry_chain")
    assert run.code == 2 and "x.ci:3: not a line of GCC's call-graph format: 'rubbish'" in run.err
    run = cli("stack", program.elf, "--callgraph", tmp_path / "missing", "--core", "cortex-m4", "--entry", "entry_chain")
    assert run.code == 2 and f"{tmp_path / 'missing'}: no such object file or folder" in run.err
    (tmp_path / "host.elf").write_bytes(Path("/bin/true").read_bytes())
    run = cli("stack", tmp_path / "host.elf", "--callgraph", program.callgraph, "--core", "cortex-m4", "--entry", "main")
    assert run.code == 2 and "Cortex-M (ARM) images only" in run.err
    run = cli("stack", tmp_path / "missing.elf", "--callgraph", program.callgraph, "--core", "cortex-m4", "--entry", "main")
    assert run.code == 2 and "cannot read" in run.err


@pytest.mark.parametrize("text, message", [
    ('graph: { title: "x.c"\nedge: { sourcename: "f" targetname: "g" label: "x.c:1:1" }\n}\n', "x.ci:2: an edge from 'f', which this file does not define"),
    ('\x00\x01\x02binary', "x.ci:1: not a line of GCC's call-graph format"),
    ('graph: { title: "x.c"\nnode: { title: "f" label: "f\\nx.c:1:1\\nmany bytes (static)" }\nedge: { sourcename: "f" targetname: "g" }\n}\n',
     "x.ci:3: an edge from 'f', which this file does not define"),
])
def test_malformed_call_graph_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.ci"
    path.write_text(text)
    with pytest.raises(CallGraphError, match=message):
        read_file(str(path))


def test_a_call_graph_file_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.ci"
    with open(path, "wb") as handle:
        handle.truncate(65 << 20)  # sparse: no 65 MiB written
    with pytest.raises(CallGraphError, match="more than 64 MiB"):
        read_file(str(path))


def test_check_elf_holds_the_profiles_stacks_to_their_bounds(program: Program, tmp_path: Path) -> None:
    """check_stacks, as check-elf runs it: the main stack (entry and handlers) and each thread's stack
    against the sizes the profile gives them, each shortfall a finding naming the path."""
    from conftest import VALID_PROFILE
    from memplan.elfcheck import Finding, check_stacks
    from memplan.planner import plan
    from memplan.validator import load_profile

    graph, report = analyse(program, EntryPoint("entry_chain"), EntryPoint("SysTick_Handler", "interrupt", 1),
                            EntryPoint("entry_virtual", "thread", 0, 8))
    main_bound, thread_bound = report.main_stack, report.threads["entry_virtual"]
    for main_size, thread_size, subjects in (((main_bound + 7) // 8 * 8, (thread_bound + 7) // 8 * 8, []),
                                             ((main_bound - 1) // 8 * 8, (thread_bound - 1) // 8 * 8,
                                              ["stack.size", "stack.threads[0].size"])):
        profile = tmp_path / "p.yaml"
        profile.write_text(VALID_PROFILE.replace("  sram: 48KiB", "  sram: 64KiB") +
                           f"stack:\n  size: {main_size}\n  entry: entry_chain\n"
                           f"  interrupts: [{{function: SysTick_Handler, priority: 1}}]\n"
                           f"  threads: [{{function: entry_virtual, size: {thread_size}}}]\n")
        findings: List[Finding] = []
        checked = check_stacks(read_image(str(program.elf)), plan(load_profile(str(profile))[0]),
                               read_all([str(program.callgraph / "program.ci")]), findings)
        assert checked is not None and checked.main_stack == main_bound
        assert [f.subject for f in findings] == subjects
        if subjects:
            assert findings[0].message.startswith(f"the main stack needs up to {main_bound} B, more than its {main_size} B")
            assert "entry_chain: entry_chain (" in findings[0].message and "SysTick_Handler (priority 1): " in findings[0].message
            assert findings[1].message.startswith(f"thread entry_virtual needs up to {thread_bound} B, more than its {thread_size} B")
