#!/usr/bin/python3
"""Holds a firmware's measured stack to its computed bound: runs the image under QEMU (the startup
paints the main stack; main() prints the deepest word written, `stack main: high water N`, after a
workload in which the SysTick handler preempts seal and open), reads the worst case memplan_check_elf
computed from the call graph (the report's `| main | <size> B | <bound> B |` row), and fails when
the measurement exceeds the bound (the analysis would be unsafe) or the firmware did not finish.

    stack_high_water.py --qemu qemu-system-arm --machine mps2-an386 --elf fw.elf --report fw.budget.md
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--qemu", required=True)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--elf", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args(argv)
    with open(args.report, encoding="utf-8") as handle:
        row = re.search(r"^\| main \| (\d+) B \| (\d+) B \|", handle.read(), re.M)
    if row is None:
        print(f"{args.report}: no main stack row: the profile has no stack section, or check-elf had no call graph")
        return 1
    size, bound = int(row.group(1)), int(row.group(2))
    run = subprocess.run([args.qemu, "-M", args.machine, "-nographic", "-monitor", "none", "-serial", "none",
                          "-semihosting-config", "enable=on,target=native", "-kernel", args.elf],
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr  # semihosting writes where QEMU's stderr is
    measured = re.search(r"stack main: high water (\d+)", output)
    if run.returncode != 0 or "result: ok" not in output or measured is None:
        print(output)
        print(f"{args.elf}: the firmware did not finish its workload (exit {run.returncode})")
        return 1
    depth = int(measured.group(1))
    print(f"main stack: bound {bound} B, measured {depth} B ({bound / max(depth, 1):.2f}x), size {size} B")
    if depth > bound:
        print(f"{args.elf}: error: the measured depth {depth} B exceeds the computed bound {bound} B: the analysis is unsafe")
        return 1
    if depth > size:
        print(f"{args.elf}: error: the measured depth {depth} B exceeds the stack ({size} B)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
