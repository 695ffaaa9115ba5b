#!/usr/bin/python3
"""Holds a firmware's measured stacks to their computed bounds: runs the image under QEMU (the startup
paints the main stack, main() a thread's before running it; each prints the deepest word written,
`stack main: high water N`, `stack <thread entry>: high water N`, after a workload in which the
SysTick handler preempts seal and open), reads the worst cases memplan_check_elf computed from the
call graph (the report's `| main | <size> B | <bound> B |` and `| thread <entry> | ...` rows), and
fails when a measurement exceeds its bound (the analysis would be unsafe) or its stack, when a stack
of the report has no measurement, or when the firmware did not finish.

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
        rows = re.findall(r"^\| (main|thread \S+) \| (\d+) B \| (\d+) B \|", handle.read(), re.M)
    if not rows or rows[0][0] != "main":
        print(f"{args.report}: no main stack row: the profile has no stack section, or check-elf had no call graph")
        return 1
    run = subprocess.run([args.qemu, "-M", args.machine, "-nographic", "-monitor", "none", "-serial", "none",
                          "-semihosting-config", "enable=on,target=native", "-kernel", args.elf],
                         capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr  # semihosting writes where QEMU's stderr is
    measured = dict(re.findall(r"stack (\S+): high water (\d+)", output))
    if run.returncode != 0 or "result: ok" not in output:
        print(output)
        print(f"{args.elf}: the firmware did not finish its workload (exit {run.returncode})")
        return 1
    status = 0
    for row, size_text, bound_text in rows:
        name = row.removeprefix("thread ")
        size, bound = int(size_text), int(bound_text)
        if name not in measured:
            print(f"{args.elf}: error: the firmware printed no high water for its {row} stack")
            status = 1
            continue
        depth = int(measured[name])
        print(f"{row} stack: bound {bound} B, measured {depth} B ({bound / max(depth, 1):.2f}x), size {size} B")
        if depth > bound:
            print(f"{args.elf}: error: the {row} stack's measured depth {depth} B exceeds the computed bound {bound} B: the analysis is unsafe")
            status = 1
        if depth > size:
            print(f"{args.elf}: error: the {row} stack's measured depth {depth} B exceeds the stack ({size} B)")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
