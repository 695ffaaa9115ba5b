"""Asserts that secure_wipe survives where a plain memset is optimized away.

Reads the symbol sizes of plain_memset() and wiped() from an object file
with pyelftools: the optimizer must have removed the dead memset (else the
probe proves nothing) and must have kept the secure wipe.
"""

import sys

from elftools.elf.elffile import ELFFile


def function_sizes(path):
    with open(path, "rb") as handle:
        symtab = ELFFile(handle).get_section_by_name(".symtab")
        return {s.name: s["st_size"] for s in symtab.iter_symbols() if s["st_info"]["type"] == "STT_FUNC"}


def main(path):
    sizes = function_sizes(path)
    plain = next(size for name, size in sizes.items() if "plain_memset" in name)
    wiped = next(size for name, size in sizes.items() if "wiped" in name)
    print(f"{path}: plain_memset() {plain} B, wiped() {wiped} B")
    if wiped <= plain:
        print("FAIL: the secure wipe was optimized away (wiped() is no larger than plain_memset())")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
