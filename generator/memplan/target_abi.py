"""Sizes the planner needs per target ABI, measured with the project's compilers.

`host` is x86-64 LP64 (g++); every Cortex-M core is ILP32 AAPCS
(arm-none-eabi-g++). A key slot is one AEAD context of mbedTLS 3.6.6 built
with `cmake/mbedtls/memplan_mbedtls_config.h`: `mbedtls_gcm_context` (with
GHASH's 4-bit table, or its 8-bit one: MBEDTLS_GCM_LARGE_TABLE),
`mbedtls_ccm_context` or `mbedtls_chachapoly_context` (no MBEDTLS_CIPHER_C,
so an AES key schedule is inside its context). tests/generator/
test_target_abi.py compiles a probe with both compilers and checks every
number here, and each generated header static_asserts the ones it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class TargetAbi:
    pointer_size: int
    # (sizeof, alignof) of the key slot context per AEAD family (rules.FAMILIES)
    gcm_context: Tuple[int, int]
    gcm_large_table_context: Tuple[int, int]  # with MBEDTLS_GCM_LARGE_TABLE (crypto.tables.gcm: 8-bit)
    ccm_context: Tuple[int, int]
    chachapoly_context: Tuple[int, int]
    session_record_size: int
    session_record_align: int
    session_hot_end: int  # offsetof(SessionRecord, key_loaded_at_s): the hot fields end here
    pool_block_state_size: int  # a block's out-of-band 64-bit generation and 16-bit free-list link
    pool_state_align: int  # memplan::PoolState<N>: two 32-bit words and a 16-bit link per block

    def key_context(self, family: str, gcm_table: str = "4-bit") -> Tuple[int, int]:
        """(sizeof, alignof) of one key slot's context for an AEAD family (and GCM table)."""
        if family == "gcm" and gcm_table == "8-bit":
            return self.gcm_large_table_context
        return {"gcm": self.gcm_context, "ccm": self.ccm_context, "chachapoly": self.chachapoly_context}[family]

    def pool_state_size(self, count: int) -> int:
        """sizeof(memplan::PoolState<count>): the pool's metadata in its pool_state section."""
        return -(-count * self.pool_block_state_size // self.pool_state_align) * self.pool_state_align


_CORTEX_M = TargetAbi(
    pointer_size=4,
    gcm_context=(616, 8),
    gcm_large_table_context=(4456, 8),
    ccm_context=(344, 4),
    chachapoly_context=(232, 8),
    session_record_size=64,
    session_record_align=8,
    session_hot_end=32,
    pool_block_state_size=10,
    pool_state_align=4,
)

_HOST = TargetAbi(
    pointer_size=8,
    gcm_context=(624, 8),
    gcm_large_table_context=(4464, 8),
    ccm_context=(376, 8),
    chachapoly_context=(240, 8),
    session_record_size=64,
    session_record_align=8,
    session_hot_end=32,
    pool_block_state_size=10,
    pool_state_align=4,
)

HOST_CORE = "host"

ABI_BY_CORE = {
    "host": _HOST,
    "cortex-m0": _CORTEX_M,
    "cortex-m0plus": _CORTEX_M,
    "cortex-m3": _CORTEX_M,
    "cortex-m4": _CORTEX_M,
    "cortex-m7": _CORTEX_M,
    "cortex-m33": _CORTEX_M,
}

# The compiler flags that select each ABI, for the probe test and documentation.
COMPILER_BY_CORE = {
    "host": ["g++"],
    "cortex-m0": ["arm-none-eabi-g++", "-mcpu=cortex-m0", "-mthumb"],
    "cortex-m0plus": ["arm-none-eabi-g++", "-mcpu=cortex-m0plus", "-mthumb"],
    "cortex-m3": ["arm-none-eabi-g++", "-mcpu=cortex-m3", "-mthumb"],
    "cortex-m4": ["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["arm-none-eabi-g++", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["arm-none-eabi-g++", "-mcpu=cortex-m33", "-mthumb"],
}


def abi_for(core: str) -> TargetAbi:
    return ABI_BY_CORE[core]
