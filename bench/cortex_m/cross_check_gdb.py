#!/usr/bin/python3
"""Cross-checks count_instructions.py another way: gdb single-steps the same probes.

QEMU runs the cost firmware halted with its gdb server; gdb-multiarch stops at
memplan_probe_begin, and for each chosen probe steps one instruction at a time (`stepi`) until
memplan_probe_end, counting. The counts, less the calibration probe's as the counter does, must
equal what count_instructions.py counted from QEMU's execution log. Two independent mechanisms
(the translator's log, the debugger's single step) agreeing to the instruction is the evidence the
counter counts what the core executes.

    cross_check_gdb.py IMAGE.elf --machine mps2-an386 --probe pool64.allocate+release [--probe ...]

Run by gdb (`gdb -x cross_check_gdb.py`), the same file is the stepping side: it reads its orders
from the environment (MEMPLAN_PROBE_INDEXES) and prints `stepped <index> <count>` lines.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from count_instructions import measure_image, probe_names, qemu_command  # noqa: E402  (beside this file)


def _step_probes() -> None:  # pragma: no cover - runs inside gdb
    import gdb  # type: ignore[import]

    def address(symbol: str) -> int:
        return int(gdb.parse_and_eval(f"(unsigned int)&{symbol}")) & ~1

    def pc() -> int:
        return int(gdb.parse_and_eval("(unsigned int)$pc"))

    begin, end = address("memplan_probe_begin"), address("memplan_probe_end")
    wanted = sorted(int(i) for i in os.environ["MEMPLAN_PROBE_INDEXES"].split(","))
    gdb.execute(f"break *{begin:#x}", to_string=True)
    seen = -1
    for index in wanted:
        while seen < index:
            gdb.execute("continue", to_string=True)
            if pc() != begin:
                raise gdb.GdbError(f"stopped at {pc():#x}, not at memplan_probe_begin")
            seen += 1
        gdb.execute("stepi", to_string=True)  # memplan_probe_begin's bx lr: not counted
        steps = 0
        while pc() != end:
            steps += 1
            if steps > 100_000:
                raise gdb.GdbError("no memplan_probe_end within 100,000 steps")
            gdb.execute("stepi", to_string=True)
        print(f"stepped {index} {steps}", flush=True)
    gdb.execute("kill", to_string=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _probe_names(image: str, machine: str, qemu: str) -> List[str]:
    """The firmware's probe names in order, from one plain run."""
    run = subprocess.run(qemu_command(qemu, machine, image), capture_output=True, text=True, timeout=120)
    return probe_names(run.stdout + run.stderr)


def step(image: str, machine: str, indexes: Sequence[int], qemu: str = "qemu-system-arm", gdb: str = "gdb-multiarch") -> Dict[int, int]:
    """Probe index -> instructions stepped between the probes (raw: calibration not subtracted)."""
    port = _free_port()
    emulator = subprocess.Popen(qemu_command(qemu, machine, image, "-gdb", f"tcp:127.0.0.1:{port}", "-S"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, MEMPLAN_PROBE_INDEXES=",".join(str(i) for i in indexes))
        run = subprocess.run([gdb, "-batch", "-nx", "-ex", "set pagination off", "-ex", f"file {image}",
                              "-ex", f"target remote 127.0.0.1:{port}", "-x", os.path.abspath(__file__)],
                             capture_output=True, text=True, env=env, timeout=600)
    finally:
        emulator.kill()
        emulator.wait()
    stepped = {}
    for line in run.stdout.splitlines():
        if line.startswith("stepped "):
            _, index, count = line.split()
            stepped[int(index)] = int(count)
    if sorted(stepped) != sorted(indexes):
        raise RuntimeError(f"gdb did not step every probe:\n{run.stdout}\n{run.stderr}")
    return stepped


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument("--machine", required=True)
    parser.add_argument("--probe", action="append", required=True, help="a probe name (repeatable)")
    args = parser.parse_args(argv)
    names = _probe_names(args.image, args.machine, "qemu-system-arm")
    missing = [p for p in args.probe if p not in names]
    if missing or not names or names[0] != "calibration":
        print(f"cross_check_gdb: error: no probe {missing} in {args.image} (probes: {names})", file=sys.stderr)
        return 2
    indexes = [0] + [names.index(p) for p in args.probe]
    stepped = step(args.image, args.machine, indexes)
    counted = measure_image(args.image, args.machine)
    status = 0
    for probe in args.probe:
        by_gdb = stepped[names.index(probe)] - stepped[0]
        by_log = counted[probe].instructions
        verdict = "agree" if by_gdb == by_log else "DISAGREE"
        print(f"{args.machine} {probe}: gdb stepped {by_gdb}, the execution log counted {by_log}: {verdict}")
        status |= by_gdb != by_log
    return status


if __name__ == "__main__":
    if "gdb" in sys.modules:
        _step_probes()
    else:
        sys.exit(main())
