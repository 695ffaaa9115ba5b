#!/usr/bin/python3
"""Counts, per operation of the cost firmware, the instructions a Cortex-M core executes and the
longest stretch with interrupts masked, under QEMU, exactly.

QEMU runs the image with one instruction per translation block (-singlestep) and logs every block
it executes, unchained (-d exec,nochain): one line per executed instruction, with its address and
symbol. Between the return of memplan_probe_begin and the entry of memplan_probe_end (probes.S)
every line is one instruction of the measured operation, calls included. A masked stretch runs from
a `cpsid i` to the `msr PRIMASK` or `cpsie i` that ends it, both counted (the disassembly of the
image says which instruction is at each address). The firmware prints `probe <name>` after each
measurement, in the same order.

Per operation it also reports `text_bytes`: the size of every memplan function the operation
executed (from the image's symbol table), that is the code the operation's path occupies, without
the harness that calls it and without error paths it did not take.

The counter checks itself on every run: the probe `calibration` (nothing between the probes) is the
overhead subtracted from every count, and the probes `known.loop` and `known.masked` run code whose
counts probes.S fixes; a mismatch fails the run (exit 3) before any number is reported.

    count_instructions.py IMAGE.elf --machine microbit --core cortex-m0 --level Os [--json OUT]

Exit codes: 0 ok, 1 the firmware failed, 2 usage errors, 3 the instrument failed its own check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

SCHEMA = "memplan-cost/1"
# The counts probes.S fixes: known.loop is `bl` + 22 instructions; known.masked is `bl` + 7, of
# which 5 (cpsid .. msr PRIMASK) run masked.
KNOWN = {"known.loop": (23, 0), "known.masked": (8, 5)}
DISASSEMBLY = re.compile(r"^\s*([0-9a-f]+):\s+[0-9a-f]{4}(?: [0-9a-f]{4})?\s+(\S+)(?:\s+(.*))?$")


class UsageError(Exception):
    pass


class InstrumentError(Exception):
    pass


@dataclass
class Measurement:
    instructions: int = 0
    masked_max: int = 0
    masked_stretches: int = 0
    functions: Set[str] = field(default_factory=set)  # every function an instruction ran in
    masked_functions: Set[str] = field(default_factory=set)  # those that ran with interrupts masked


def disassemble(image: str, objdump: str = "arm-none-eabi-objdump") -> Dict[int, str]:
    """Address -> "mnemonic operands" of every instruction in the image."""
    try:
        text = subprocess.run([objdump, "-d", image], capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(f"cannot disassemble {image}: {exc}") from None
    instructions: Dict[int, str] = {}
    for line in text.splitlines():
        match = DISASSEMBLY.match(line)
        if match:
            instructions[int(match.group(1), 16)] = f"{match.group(2)} {match.group(3) or ''}".strip()
    return instructions


def symbol_sizes(image: str, nm: str = "arm-none-eabi-nm", kinds: str = "tTwW") -> Dict[str, int]:
    """Mangled name -> size in bytes of every symbol of nm's `kinds` that has one (default: functions)."""
    try:
        text = subprocess.run([nm, "-S", image], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(f"cannot read the symbols of {image}: {exc}") from None
    sizes: Dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in kinds:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


# Mangled names of the runtime's functions (namespace memplan), not the harness's.
MEMPLAN_FUNCTION = re.compile(r"_Z[ZNK]*7memplan")


def text_bytes(functions: Iterable[str], sizes: Dict[str, int]) -> int:
    """The bytes of the memplan functions among `functions`."""
    return sum(sizes.get(name, 0) for name in functions if MEMPLAN_FUNCTION.match(name))


def symbol_address(image: str, name: str, nm: str = "arm-none-eabi-nm") -> int:
    try:
        text = subprocess.run([nm, image], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(f"cannot read the symbols of {image}: {exc}") from None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16) & ~1
    raise UsageError(f"{image} has no symbol {name}: not a cost firmware")


def masks(instruction: str) -> bool:
    return instruction.startswith("cpsid") and "i" in instruction.split(None, 1)[-1]


def unmasks(instruction: str) -> bool:
    """The end of a masked stretch: PRIMASK restored (the firmware runs with interrupts enabled
    outside its critical sections, so a restore re-enables them) or interrupts enabled."""
    return (instruction.startswith("msr") and "PRIMASK" in instruction.upper()) or instruction.startswith("cpsie")


def count(trace_lines: Iterable[str], begin: int, end: int, instructions: Dict[int, str]) -> List[Measurement]:
    """One Measurement per probe pair in the trace, in order (raw counts: calibration not subtracted)."""
    measurements: List[Measurement] = []
    current: Optional[Measurement] = None
    entering = False  # the line at `begin` (its `bx lr`) was seen: the next line is counted
    masked, stretch = False, 0
    for line in trace_lines:
        if not line.startswith("Trace "):
            continue
        try:
            fields = line.split("[", 1)[1].split("]", 1)
            pc = int(fields[0].split("/")[1], 16)
            function = fields[1].strip()
        except (IndexError, ValueError):
            raise InstrumentError(f"unexpected QEMU log line: {line.rstrip()!r}") from None
        if pc == begin:
            if current is not None:
                raise InstrumentError("memplan_probe_begin entered twice without memplan_probe_end")
            entering = True
            continue
        if entering:
            current, entering, masked, stretch = Measurement(), False, False, 0
        if current is None:
            continue
        if pc == end:
            if masked:
                raise InstrumentError("a probe ended with interrupts masked")
            measurements.append(current)
            current = None
            continue
        current.instructions += 1
        current.functions.add(function)
        instruction = instructions.get(pc, "")
        if masked:
            stretch += 1
            current.masked_functions.add(function)
            if unmasks(instruction):
                masked = False
                current.masked_max = max(current.masked_max, stretch)
        elif masks(instruction):
            masked, stretch = True, 1
            current.masked_stretches += 1
            current.masked_functions.add(function)
    if current is not None or entering:
        raise InstrumentError("the trace ended inside a probe")
    return measurements


def qemu_command(qemu: str, machine: str, image: str, *extra: str) -> List[str]:
    """QEMU running the cost firmware headless, its semihosting output and exit code returned."""
    return [qemu, "-M", machine, "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", "-kernel", image, *extra]


def probe_names(output: str) -> List[str]:
    """The firmware's `probe <name>` lines, in order (QEMU 7.2 writes SYS_WRITE0 to stderr: pass both)."""
    return [line[len("probe "):] for line in output.splitlines() if line.startswith("probe ")]


def run_qemu(image: str, machine: str, qemu: str, log: str, timeout: float) -> Tuple[int, str]:
    command = qemu_command(qemu, machine, image, "-singlestep", "-d", "exec,nochain", "-D", log)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except OSError as exc:
        raise UsageError(f"cannot run {qemu}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise InstrumentError(f"{image} did not finish under QEMU in {timeout:.0f} s") from None
    return result.returncode, result.stdout + result.stderr


def measure_image(image: str, machine: str, qemu: str = "qemu-system-arm", timeout: float = 300) -> Dict[str, Measurement]:
    """Name -> Measurement (calibration subtracted), after the instrument's self-check."""
    instructions = disassemble(image)
    begin, end = symbol_address(image, "memplan_probe_begin"), symbol_address(image, "memplan_probe_end")
    with tempfile.TemporaryDirectory(prefix="memplan-cost-") as directory:
        log = os.path.join(directory, "exec.log")
        code, output = run_qemu(image, machine, qemu, log, timeout)
        names = probe_names(output)
        if code != 0 or "result: ok" not in output:
            raise FirmwareError(f"{image} failed under QEMU -M {machine} (exit {code}):\n{output}")
        with open(log, encoding="utf-8", errors="replace") as handle:
            raw = count(handle, begin, end, instructions)
    if len(raw) != len(names):
        raise InstrumentError(f"{len(raw)} probes in the trace, {len(names)} named by the firmware")
    by_name = dict(zip(names, raw))
    if len(by_name) != len(names) or names[0] != "calibration":
        raise InstrumentError("probe names must be unique, the first one 'calibration'")
    overhead = by_name.pop("calibration").instructions
    for measurement in by_name.values():
        measurement.instructions -= overhead
    for name, (expected, expected_masked) in KNOWN.items():
        got = by_name.get(name)
        if got is None or (got.instructions, got.masked_max) != (expected, expected_masked):
            found = "missing" if got is None else f"{got.instructions} instructions, {got.masked_max} masked"
            raise InstrumentError(f"{name}: expected {expected} instructions, {expected_masked} masked; counted {found}")
    return by_name


class FirmwareError(Exception):
    pass


def document(image: str, machine: str, core: str, level: str, measured: Dict[str, Measurement],
             sizes: Dict[str, int]) -> Dict[str, Any]:
    return {
        "schema": SCHEMA,
        "image": os.path.basename(image),
        "machine": machine,
        "core": core,
        "level": level,
        "operations": [
            {"name": name, "instructions": m.instructions, "masked_max": m.masked_max, "masked_stretches": m.masked_stretches,
             "text_bytes": text_bytes(m.functions, sizes), "functions": sorted(m.functions),
             "masked_functions": sorted(m.masked_functions)}
            for name, m in measured.items()
        ],
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument("--machine", required=True, help="QEMU machine: microbit (M0), mps2-an385 (M3), mps2-an386 (M4), mps2-an500 (M7)")
    parser.add_argument("--core", required=True)
    parser.add_argument("--level", required=True, help="the optimization level the image was built at (Os, O2)")
    parser.add_argument("--json", metavar="OUT", help="write the counts to OUT")
    parser.add_argument("--qemu", default="qemu-system-arm")
    args = parser.parse_args(argv)
    try:
        measured = measure_image(args.image, args.machine, args.qemu)
    except UsageError as exc:
        print(f"count_instructions: error: {exc}", file=sys.stderr)
        return 2
    except FirmwareError as exc:
        print(f"count_instructions: error: {exc}", file=sys.stderr)
        return 1
    except InstrumentError as exc:
        print(f"count_instructions: error: the instrument failed its own check: {exc}", file=sys.stderr)
        return 3
    try:
        sizes = symbol_sizes(args.image)
    except UsageError as exc:
        print(f"count_instructions: error: {exc}", file=sys.stderr)
        return 2
    result = document(args.image, args.machine, args.core, args.level, measured, sizes)
    text = json.dumps(result, indent=2) + "\n"
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text)
    for op in result["operations"]:
        print(f"{args.core} -{args.level} {op['name']}: {op['instructions']} instructions, longest masked {op['masked_max']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
