"""Every limit on a profile, stated once.

The validator refuses what lies outside these limits, the JSON Schema is
generated from them, and the runtime's own checks at init() use the same
numbers: runtime/include/memplan/limits.hpp is rendered from this module
(`python3 -m memplan.limits > runtime/include/memplan/limits.hpp`), and
tests/generator/test_limits.py fails when the committed header differs. A
limit with a `runtime` name is enforced by the runtime too, so a profile the
generator accepts never fails at init() on one of them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Limit:
    value: int
    why: str
    runtime: str = ""  # the constant in limits.hpp when the runtime enforces the limit
    cpp_type: str = "std::uint32_t"


# Pools
POOLS_MAX = Limit(32, "pools per profile: Pools::allocate() walks the classes in order, so their number bounds the walk",
                  "kMaxPools", "std::size_t")
BLOCK_SIZE_MULTIPLE = Limit(8, "block sizes are multiples of 8 B: blocks are 8-byte aligned and wiped 8 bytes at a time",
                            "kBlockSizeMultiple")
BLOCK_SIZE_MAX = Limit(1 << 20, "bytes per block: larger buffers belong in the workspace", "kMaxBlockSize")
BLOCK_COUNT_MAX = Limit(0xFFFF, "blocks per pool: a block's free-list link is 16 bits and 0xFFFF ends the list",
                        "kMaxPoolBlocks")

# Workspace
WORKSPACE_BUFFER_MULTIPLE = Limit(16, "workspace buffers hold whole AES blocks (16 B)", "kWorkspaceBufferMultiple", "std::size_t")
WORKSPACE_BUFFER_MAX = Limit(1 << 20, "bytes per workspace buffer", "kMaxWorkspaceBuffer", "std::size_t")

# Sessions
SESSIONS_MAX = Limit(1024, "sessions per profile: open_session() looks for a free record under the table's lock",
                     "kMaxSessions", "std::size_t")
KEY_SLOTS_MAX = Limit(255, "key slots per profile: a session record holds its key slot's index in a byte",
                      "kMaxKeySlots", "std::size_t")

# Crypto policy
NONCE_BYTES = Limit(12, "nonce bytes of AES-GCM and ChaCha20-Poly1305: the 96-bit IV of SP 800-38D 8.2.1", "kNonceSize", "std::size_t")
CCM_NONCE_MIN = Limit(7, "AES-CCM nonce bytes at least (SP 800-38C: the length field takes the other 15 - n)",
                      "kMinCcmNonceSize", "std::size_t")
CCM_NONCE_MAX = Limit(13, "AES-CCM nonce bytes at most, and the longest nonce of any AEAD", "kMaxNonceSize", "std::size_t")
NONCE_COUNTER_MIN = Limit(4, "nonce counter bytes at least: 2^32 messages per key before the counter is spent",
                          "kMinNonceCounterSize", "std::size_t")
NONCE_COUNTER_MAX = Limit(8, "nonce counter bytes at most: the counter is a 64-bit integer", "kMaxNonceCounterSize", "std::size_t")
GCM_TAG_MIN = Limit(12, "AES-GCM tag bytes at least: SP 800-38D 5.2.1.2, 96 bits and up for general use", "kMinGcmTagSize", "std::size_t")
GCM_TAG_MAX = Limit(16, "AES-GCM tag bytes at most: the full 128-bit tag", "kMaxGcmTagSize", "std::size_t")
TAG_MAX = Limit(16, "tag bytes at most, of any AEAD: a 128-bit tag", "kMaxTagSize", "std::size_t")
CCM_TAG_MIN = Limit(4, "AES-CCM tag bytes at least, an even number up to 16 (SP 800-38C)", "kMinCcmTagSize", "std::size_t")
CHACHAPOLY_TAG = Limit(16, "ChaCha20-Poly1305 tag bytes: Poly1305's 128-bit tag, never truncated (RFC 8439)",
                       "kChaChaPolyTagSize", "std::size_t")
REPLAY_WINDOW_MAX = Limit(64, "counters a session's replay window remembers: one 64-bit bitmap", "kMaxReplayWindow",
                          "std::uint8_t")
SECURITY_VIOLATIONS_MAX = Limit(255, "failed opens before lockout: counted in a byte", "kMaxSecurityViolations",
                                "std::uint8_t")
NONCE_RESERVE_MAX = Limit((1 << 32) - 1, "counter values reserved per nonce store write: a 32-bit field of CryptoPolicy")
MAX_AGE_S_MAX = Limit((1 << 32) - 1, "seconds a key lives: a 32-bit clock")

# The layout
REGION_SIZE_MAX = Limit((1 << 32) - 1, "bytes in a region, a budget or an array: a Cortex-M core's size_t is 32 bits")
CACHE_LINE_MIN = Limit(32, "cache line bytes at least: a session's hot fields (32 B) share one line")
CACHE_LINE_MAX = Limit(256, "cache line bytes at most")
NAME_LENGTH_MAX = Limit(32, "characters in a profile, region or pool name")

ALL: Tuple[Limit, ...] = tuple(value for value in globals().values() if isinstance(value, Limit))
RUNTIME: Tuple[Limit, ...] = tuple(limit for limit in ALL if limit.runtime)


def header() -> str:
    """runtime/include/memplan/limits.hpp, exactly."""
    lines = [
        "// The limits the runtime enforces at init(), the same numbers the generator",
        "// checks a profile against. Rendered from generator/memplan/limits.py, where",
        "// each is stated once: do not edit; regenerate with",
        "//   PYTHONPATH=generator python3 -m memplan.limits > runtime/include/memplan/limits.hpp",
        "// (tests/generator/test_limits.py fails when this file differs).",
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <cstdint>",
        "",
        "namespace memplan {",
        "",
    ]
    for limit in RUNTIME:
        lines.append(f"// {limit.why[0].upper()}{limit.why[1:]}.")
        lines.append(f"inline constexpr {limit.cpp_type} {limit.runtime} = {limit.value};")
    lines += ["", "}  // namespace memplan", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(header())
