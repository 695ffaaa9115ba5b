#!/usr/bin/python3
"""Counts each choice of mbedTLS's tables (a profile's crypto.tables) on the Cortex-M cores: the
cost firmware built once per choice (MEMPLAN_COST_TABLES), its AES-GCM and AES-CCM seals counted
by the same instrument as the baseline (count_instructions.py), and the bytes of the functions and
tables each AEAD's mbedTLS objects put in the image (their symbols, by the objects defining them). Prints the Markdown table docs/aead-choice.md shows.

Flash and RAM tables execute the same instructions: what RAM tables buy is fewer wait states on
parts whose flash is slower than their RAM, which QEMU does not model. The script counts one RAM
variant to show the instructions are the same.

    bench/cortex_m/table_variants.py [--build-root build] [--cores cortex-m0 cortex-m4f]
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from count_instructions import measure_image, symbol_sizes  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# (aes, gcm); the 8-bit GHASH table and RAM tables need more than the nRF51's 16 KiB of RAM: the M0 skips them.
VARIANTS: List[Tuple[str, str]] = [("flash-compact", "4-bit"), ("flash-full", "4-bit"), ("flash-compact", "8-bit"),
                                   ("flash-full", "8-bit"), ("ram-full", "4-bit")]
MACHINE_KIB = {"cortex-m0": 16, "cortex-m3": 64, "cortex-m4f": 64, "cortex-m7": 64}
AEADS = ("aes-128-gcm", "aes-256-gcm", "aes-128-ccm")
AES_TABLES = ("FSb", "FT0", "FT1", "FT2", "FT3", "round_constants")


def toolchain_value(core: str, name: str) -> str:
    for line in (REPO / "cmake" / "toolchains" / f"{core}.cmake").read_text().splitlines():
        if line.startswith(f"set({name} "):
            return line.split()[1].rstrip(")")
    raise SystemExit(f"{core}.cmake sets no {name}")


def build(core: str, aes: str, gcm: str, root: Path) -> Path:
    directory = root / f"tables-{core}-{aes}-{gcm}"
    kib = MACHINE_KIB[core]
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(directory), "-G", "Ninja", "-DMEMPLAN_BUILD_TESTS=OFF",
                    "-DMEMPLAN_BUILD_COST=ON", f"-DMEMPLAN_COST_RAM_KIB={kib}", f"-DMEMPLAN_COST_TABLES={{aes: {aes}, gcm: {gcm}}}",
                    f"--toolchain={REPO / 'cmake' / 'toolchains' / f'{core}.cmake'}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(directory), "--target", "cost_Os"], check=True, stdout=subprocess.DEVNULL)
    return directory / "bench" / "cortex_m" / "cost_Os.elf"


# The mbedTLS objects each AEAD links (memplan_mbedcrypto's object files).
MODULES = {"gcm": ("aes", "gcm", "block_cipher"), "ccm": ("aes", "ccm", "block_cipher"),
           "chachapoly": ("chacha20", "poly1305", "chachapoly")}


def linked_bytes(build_dir: Path, sizes: Dict[str, int], family: str) -> int:
    """Bytes of the image's functions and tables defined by the AEAD's mbedTLS objects."""
    defined = set()
    for obj in glob.glob(str(build_dir / "CMakeFiles" / "memplan_mbedcrypto.dir" / "**" / "*.obj"), recursive=True, include_hidden=True):
        if Path(obj).name.split(".")[0] in MODULES[family]:
            out = subprocess.run(["arm-none-eabi-nm", "--defined-only", obj], capture_output=True, text=True, check=True).stdout
            defined |= {line.split()[-1] for line in out.splitlines() if len(line.split()) == 3}
    return sum(size for name, size in sizes.items() if name in defined)


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-root", default=os.environ.get("MEMPLAN_BUILD_DIR", str(REPO / "build")))
    parser.add_argument("--cores", nargs="+", default=["cortex-m0", "cortex-m4f"])
    args = parser.parse_args(list(argv))
    rows = ["| core | `crypto.tables` | " + " | ".join(f"{a} instr./byte at 1 KiB (64 B)" for a in AEADS)
            + " | AES tables | GCM / CCM code + tables (B) |",
            "| --- | --- | " + " | ".join("---:" for _ in AEADS) + " | --- | ---: |"]
    for core in args.cores:
        for aes, gcm in VARIANTS:
            if (gcm == "8-bit" or aes.startswith("ram")) and MACHINE_KIB[core] < 32:
                continue
            image = build(core, aes, gcm, Path(args.build_root))
            measured = measure_image(str(image), toolchain_value(core, "MEMPLAN_QEMU_MACHINE"))
            sizes = symbol_sizes(str(image), kinds="tTwWdDbBrRvV")  # functions and tables, in flash or RAM
            cells = []
            for aead in AEADS:
                big, small = measured[f"aead.{aead}.seal(1024)"], measured[f"aead.{aead}.seal(64)"]
                cells.append(f"{big.instructions / 1024:.0f} ({small.instructions / 64:.0f})")
            table_bytes = sum(sizes.get(t, 0) for t in AES_TABLES)
            where = "RAM" if aes.startswith("ram") else "flash"
            build_dir = image.parents[2]
            code = f"{linked_bytes(build_dir, sizes, 'gcm'):,} / {linked_bytes(build_dir, sizes, 'ccm'):,}"
            rows.append(f"| {core} | `{{aes: {aes}, gcm: {gcm}}}` | " + " | ".join(cells) + f" | {table_bytes:,} B {where} | {code} |")
            print(rows[-1], file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
