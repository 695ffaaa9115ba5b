// The limits the runtime enforces at init(), the same numbers the generator
// checks a profile against. Rendered from generator/memplan/limits.py, where
// each is stated once: do not edit; regenerate with
//   PYTHONPATH=generator python3 -m memplan.limits > runtime/include/memplan/limits.hpp
// (tests/generator/test_limits.py fails when this file differs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace memplan {

// Pools per profile: Pools::allocate() walks the classes in order, so their number bounds the walk.
inline constexpr std::size_t kMaxPools = 32;
// Block sizes are multiples of 8 B: blocks are 8-byte aligned and wiped 8 bytes at a time.
inline constexpr std::uint32_t kBlockSizeMultiple = 8;
// Bytes per block: larger buffers belong in the workspace.
inline constexpr std::uint32_t kMaxBlockSize = 1048576;
// Blocks per pool: a block's free-list link is 16 bits and 0xFFFF ends the list.
inline constexpr std::uint32_t kMaxPoolBlocks = 65535;
// Workspace buffers hold whole AES blocks (16 B).
inline constexpr std::size_t kWorkspaceBufferMultiple = 16;
// Bytes per workspace buffer.
inline constexpr std::size_t kMaxWorkspaceBuffer = 1048576;
// Sessions per profile: open_session() looks for a free record under the table's lock.
inline constexpr std::size_t kMaxSessions = 1024;
// Key slots per profile: a session record holds its key slot's index in a byte.
inline constexpr std::size_t kMaxKeySlots = 255;
// Nonce bytes of AES-GCM and ChaCha20-Poly1305: the 96-bit IV of SP 800-38D 8.2.1.
inline constexpr std::size_t kNonceSize = 12;
// AES-CCM nonce bytes at least (SP 800-38C: the length field takes the other 15 - n).
inline constexpr std::size_t kMinCcmNonceSize = 7;
// AES-CCM nonce bytes at most, and the longest nonce of any AEAD.
inline constexpr std::size_t kMaxNonceSize = 13;
// Nonce counter bytes at least: 2^32 messages per key before the counter is spent.
inline constexpr std::size_t kMinNonceCounterSize = 4;
// Nonce counter bytes at most: the counter is a 64-bit integer.
inline constexpr std::size_t kMaxNonceCounterSize = 8;
// AES-GCM tag bytes at least: SP 800-38D 5.2.1.2, 96 bits and up for general use.
inline constexpr std::size_t kMinGcmTagSize = 12;
// AES-GCM tag bytes at most: the full 128-bit tag.
inline constexpr std::size_t kMaxGcmTagSize = 16;
// Tag bytes at most, of any AEAD: a 128-bit tag.
inline constexpr std::size_t kMaxTagSize = 16;
// AES-CCM tag bytes at least, an even number up to 16 (SP 800-38C).
inline constexpr std::size_t kMinCcmTagSize = 4;
// ChaCha20-Poly1305 tag bytes: Poly1305's 128-bit tag, never truncated (RFC 8439).
inline constexpr std::size_t kChaChaPolyTagSize = 16;
// Counters a session's replay window remembers: one 64-bit bitmap.
inline constexpr std::uint8_t kMaxReplayWindow = 64;
// Failed opens before lockout: counted in a byte.
inline constexpr std::uint8_t kMaxSecurityViolations = 255;

}  // namespace memplan
