"""Runs pool_instructions under callgrind and asserts that 1000 allocate+release
pairs cost exactly the same number of instructions at 0%, 50% and 99% full
(O(1): no search, no walk that grows with the pool's state)."""

import glob
import os
import re
import subprocess
import sys
import tempfile


def main(program):
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={work}/cg.%p", program],
            check=True, capture_output=True,
        )
        counts = {}
        for path in glob.glob(os.path.join(work, "cg.*")):
            text = open(path, encoding="utf-8").read()
            label = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if label and total:
                counts[label.group(1)] = int(total.group(1))
    for label in ("full-0", "full-50", "full-99"):
        per_pair = counts.get(label, 0) / 1000
        print(f"{label}: {counts.get(label)} instructions for 1000 pairs ({per_pair:.1f} per allocate+release, wipe included)")
    if len(counts) != 3 or len(set(counts.values())) != 1 or 0 in counts.values():
        print("FAIL: the instruction count of a pair depends on how full the pool is")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
