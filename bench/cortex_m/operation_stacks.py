#!/usr/bin/python3
"""The stack each public operation takes, per Cortex-M core: bounded over the call graph and measured.

For each core, the stack firmware (bench/cortex_m/stack_firmware.cpp, built with the cost firmware)
has each operation as an entry function of its own. `memplan`'s analysis bounds each one from the
call-graph files GCC wrote (the runtime's ports resolved through the image's vtables, newlib and
libgcc read from the image); the firmware, run under QEMU, prints how deep each one wrote on a
painted stack. Prints the Markdown table bench/README.md shows, and fails when:

- a measurement exceeds its bound (the analysis missed a path: it would be unsafe), or
- a bound grew past budgets/stack-baseline.json (exact bytes, as the cost counts are exact).

    bench/cortex_m/operation_stacks.py [--build-root build] [--cores cortex-m0 ...] [--update-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "generator"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from count_instructions import qemu_command  # noqa: E402
from memplan.callgraph_files import find_files, read_all  # noqa: E402
from memplan.elfimage import read_image  # noqa: E402
from memplan.stack_bound import Annotations, EntryPoint, StackGraph  # noqa: E402
from table_variants import toolchain_value  # noqa: E402

BASELINE = REPO / "budgets" / "stack-baseline.json"
CORES = ("cortex-m0", "cortex-m3", "cortex-m4f", "cortex-m7")
# (what the firmware prints, its entry function)
OPERATIONS: List[Tuple[str, str]] = [
    ("pool.allocate", "pool_allocate"), ("pool.release", "pool_release"),
    ("pools.allocate", "pools_allocate"), ("buffer.release", "buffer_release"),
    ("session.load_key", "session_load_key"), ("session.seal", "session_seal"), ("session.open", "session_open"),
    ("aes-256-gcm.seal", "aes_gcm_seal"), ("aes-256-gcm.open", "aes_gcm_open"),
    ("aes-256-ccm.seal", "aes_ccm_seal"), ("aes-256-ccm.open", "aes_ccm_open"),
    ("chacha20-poly1305.seal", "chacha20_poly1305_seal"), ("chacha20-poly1305.open", "chacha20_poly1305_open"),
]
_MEASURED = re.compile(r"^stack (\S+): (\d+)$", re.M)


def build(core: str, root: Path) -> Path:
    """The firmware build tree of scripts/test.sh, configured with the cost firmware if it is not."""
    directory = root / f"firmware-{core}"
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(directory), "-G", "Ninja", "-DMEMPLAN_BUILD_EXAMPLES=ON",
                    "-DMEMPLAN_BUILD_TESTS=OFF", "-DMEMPLAN_BUILD_COST=ON", f"--toolchain={REPO / 'cmake' / 'toolchains' / f'{core}.cmake'}"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(directory), "--target", "stack_operations"], check=True, stdout=subprocess.DEVNULL)
    return directory


def bounds(directory: Path, core: str) -> Dict[str, int]:
    image = read_image(str(directory / "bench" / "cortex_m" / "stack_operations.elf"))
    folders = [directory / "bench" / "cortex_m" / "CMakeFiles" / "stack_operations.dir",
               directory / "runtime" / "CMakeFiles" / "memplan_runtime.dir", directory / "CMakeFiles" / "memplan_mbedcrypto.dir"]
    graph = StackGraph(image, read_all(find_files([str(f) for f in folders])), Annotations({}, {}, {}))
    report = graph.bound([EntryPoint(f"memplan_stack_{entry}") for _, entry in OPERATIONS], toolchain_value(core, "MEMPLAN_TARGET_CORE"))
    if report.errors:
        raise SystemExit("operation_stacks: the analysis failed:\n  " + "\n  ".join(report.errors))
    by_entry = {r.entry.function: r.depth for r in report.entries}
    return {name: by_entry[f"memplan_stack_{entry}"] for name, entry in OPERATIONS}


def measure(directory: Path, core: str) -> Dict[str, int]:
    image = directory / "bench" / "cortex_m" / "stack_operations.elf"
    run = subprocess.run(qemu_command("qemu-system-arm", toolchain_value(core, "MEMPLAN_QEMU_MACHINE"), str(image)),
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr  # semihosting writes where QEMU's stderr is
    if run.returncode != 0 or "result: ok" not in output:
        raise SystemExit(f"{output}\noperation_stacks: {image} failed under QEMU (exit {run.returncode})")
    return {name: int(depth) for name, depth in _MEASURED.findall(output)}


def table(results: Dict[str, Dict[str, Tuple[int, int]]]) -> List[str]:
    cores = list(results)
    lines = ["| operation | " + " | ".join(cores) + " |", "| --- |" + " ---: |" * len(cores)]
    for name, _ in OPERATIONS:
        lines.append(f"| `{name}` | " + " | ".join(f"{results[c][name][0]} / {results[c][name][1]} B" for c in cores) + " |")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--build-root", default=os.environ.get("MEMPLAN_BUILD_DIR", str(REPO / "build")))
    parser.add_argument("--cores", nargs="+", default=list(CORES), choices=CORES)
    parser.add_argument("--update-baseline", action="store_true", help="make these bounds budgets/stack-baseline.json")
    args = parser.parse_args(argv)
    results: Dict[str, Dict[str, Tuple[int, int]]] = {}
    problems: List[str] = []
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    for core in args.cores:
        directory = build(core, Path(args.build_root))
        bound, measured = bounds(directory, core), measure(directory, core)
        results[core] = {name: (bound[name], measured[name]) for name, _ in OPERATIONS}
        for name, _ in OPERATIONS:
            if measured[name] > bound[name]:
                problems.append(f"{core} {name}: measured {measured[name]} B exceeds the bound {bound[name]} B (the analysis missed a path)")
            was = baseline.get(core, {}).get(name)
            if was is not None and bound[name] > was:
                problems.append(f"{core} {name}: the bound grew from {was} B to {bound[name]} B (budgets/stack-baseline.json)")
    print("Stack per operation, bound over the call graph / measured under QEMU (bytes below the caller's stack pointer):\n")
    print("\n".join(table(results)))
    if args.update_baseline:
        BASELINE.write_text(json.dumps({core: {name: b for name, (b, _) in ops.items()} for core, ops in results.items()},
                                       indent=2, sort_keys=True) + "\n")
        print(f"\noperation_stacks: {BASELINE.relative_to(REPO)} updated; commit it with the change that moved the bounds")
    for problem in problems:
        print(f"operation_stacks: error: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
