"""What a Cortex-M function does to the stack, and whom it calls, read from its Thumb code.

For functions the build has no call-graph file for (newlib, libgcc, assembly startup code), the
stack analysis reads the linked image itself. A linear scan of the function's instructions keeps a
running total of what it pushes (PUSH, VPUSH, SUB SP, #imm) and pops (POP, VPOP, ADD SP, #imm);
the function's frame is the largest total. That over-counts a function whose paths each push
their own registers, never under-counts one. BL and B.W to another function are its calls (a
B.W out of the function is a tail call); BLX or BX through a register other than LR is an
indirect call, and SUB SP, SP, <register> a frame whose size is only known at run time.

Literal pools inside a function decode as instructions too: what they add can only enlarge the
frame or add calls, so the bound stays safe. Encodings: the ARMv7-M Architecture Reference
Manual (A7.7) and ARMv6-M (A6.7), the subset that touches SP or branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List


@dataclass
class CodeFacts:
    frame: int = 0  # the largest number of bytes the function has pushed at once
    calls: List[int] = field(default_factory=list)  # addresses it calls or tail-calls
    indirect: bool = False  # calls through a register
    dynamic: bool = False  # moves SP by a register amount


def _popcount(value: int) -> int:
    return bin(value).count("1")


def _expand_immediate(i: int, imm3: int, imm8: int) -> int:
    """ThumbExpandImm of i:imm3:imm8 (A5.3.2), for SP arithmetic."""
    imm12 = (i << 11) | (imm3 << 8) | imm8
    if imm12 >> 10 == 0:
        pattern = (imm12 >> 8) & 3
        if pattern == 0:
            return imm8
        if pattern == 1:
            return (imm8 << 16) | imm8
        if pattern == 2:
            return (imm8 << 24) | (imm8 << 8)
        return (imm8 << 24) | (imm8 << 16) | (imm8 << 8) | imm8
    unrotated = 0x80 | (imm12 & 0x7F)
    rotation = imm12 >> 7
    return ((unrotated >> rotation) | (unrotated << (32 - rotation))) & 0xFFFFFFFF


def _branch_target(address: int, hw1: int, hw2: int) -> int:
    """The target of BL or B.W (encoding T4) at `address`."""
    sign = (hw1 >> 10) & 1
    i1 = 1 ^ (((hw2 >> 13) & 1) ^ sign)
    i2 = 1 ^ (((hw2 >> 11) & 1) ^ sign)
    offset = (sign << 24) | (i1 << 23) | (i2 << 22) | ((hw1 & 0x3FF) << 12) | ((hw2 & 0x7FF) << 1)
    if sign:
        offset -= 1 << 25
    return address + 4 + offset


def analyse(code: bytes, address: int) -> CodeFacts:
    """The facts of the function whose bytes are `code`, loaded at `address` (even)."""
    facts = CodeFacts()
    depth = 0
    end = address + len(code)
    offset = 0

    def grow(amount: int) -> None:
        nonlocal depth
        depth += amount
        facts.frame = max(facts.frame, depth)

    def shrink(amount: int) -> None:
        nonlocal depth
        depth = max(0, depth - amount)

    while offset + 2 <= len(code):
        hw1 = int.from_bytes(code[offset:offset + 2], "little")
        here = address + offset
        if hw1 >> 11 in (0b11101, 0b11110, 0b11111):
            if offset + 4 > len(code):
                break
            hw2 = int.from_bytes(code[offset + 2:offset + 4], "little")
            offset += 4
            if hw1 & 0xF800 == 0xF000 and hw2 & 0xD000 in (0xD000, 0x9000):  # BL, B.W
                target = _branch_target(here, hw1, hw2)
                if hw2 & 0xD000 == 0xD000 or not address <= target < end:
                    facts.calls.append(target)
            elif hw1 == 0xE92D:  # PUSH.W {...} (STMDB SP!)
                grow(4 * _popcount(hw2 & 0x5FFF))
            elif hw1 == 0xE8BD:  # POP.W {...} (LDMIA SP!)
                shrink(4 * _popcount(hw2 & 0xDFFF))
            elif hw1 == 0xF84D and hw2 & 0x0FFF == 0x0D04:  # PUSH {Rt} (STR Rt, [SP, #-4]!)
                grow(4)
            elif hw1 == 0xF85D and hw2 & 0x0FFF == 0x0B04:  # POP {Rt} (LDR Rt, [SP], #4)
                shrink(4)
            elif hw1 & 0xFBEF == 0xF1AD and hw2 & 0x8F00 == 0x0D00:  # SUB.W SP, SP, #const
                grow(_expand_immediate((hw1 >> 10) & 1, (hw2 >> 12) & 7, hw2 & 0xFF))
            elif hw1 & 0xFBFF == 0xF2AD and hw2 & 0x8F00 == 0x0D00:  # SUBW SP, SP, #imm12
                grow(((hw1 >> 10) & 1) << 11 | ((hw2 >> 12) & 7) << 8 | (hw2 & 0xFF))
            elif hw1 & 0xFBEF == 0xF10D and hw2 & 0x8F00 == 0x0D00:  # ADD.W SP, SP, #const
                shrink(_expand_immediate((hw1 >> 10) & 1, (hw2 >> 12) & 7, hw2 & 0xFF))
            elif hw1 & 0xFBFF == 0xF20D and hw2 & 0x8F00 == 0x0D00:  # ADDW SP, SP, #imm12
                shrink(((hw1 >> 10) & 1) << 11 | ((hw2 >> 12) & 7) << 8 | (hw2 & 0xFF))
            elif hw1 & 0xFFBF == 0xED2D and hw2 & 0x0E00 == 0x0A00:  # VPUSH {...}: imm8 words
                grow(4 * (hw2 & 0xFF))
            elif hw1 & 0xFFBF == 0xECBD and hw2 & 0x0E00 == 0x0A00:  # VPOP {...}
                shrink(4 * (hw2 & 0xFF))
            elif hw1 & 0xFFEF == 0xEBAD and hw2 & 0x0F00 == 0x0D00:  # SUB.W SP, SP, Rm
                facts.dynamic = True
            continue
        offset += 2
        if hw1 & 0xFE00 == 0xB400:  # PUSH {...}
            grow(4 * (_popcount(hw1 & 0xFF) + ((hw1 >> 8) & 1)))
        elif hw1 & 0xFE00 == 0xBC00:  # POP {...}
            shrink(4 * (_popcount(hw1 & 0xFF) + ((hw1 >> 8) & 1)))
        elif hw1 & 0xFF80 == 0xB080:  # SUB SP, SP, #imm7 * 4
            grow(4 * (hw1 & 0x7F))
        elif hw1 & 0xFF80 == 0xB000:  # ADD SP, SP, #imm7 * 4
            shrink(4 * (hw1 & 0x7F))
        elif hw1 & 0xFF87 == 0x4780:  # BLX Rm
            facts.indirect = True
        elif hw1 & 0xFF87 == 0x4700 and (hw1 >> 3) & 0xF != 14:  # BX Rm, not a return: a tail call
            facts.indirect = True
    return facts
