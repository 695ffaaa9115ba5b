// What a pool knows about its blocks, kept out of band: in the layout's
// pool_state section, never inside a block, so a write through a stale
// pointer into a free block can change neither the free list nor a block's
// state (docs/layout-abi.md, SECURITY.md).
//
// Per block, 10 bytes:
//   generation  64 bits, odd while the block is in use, even while it is
//               free; allocation makes it odd, release makes it even again.
//               It is the block's state and the check on a release token.
//   link        16 bits, the index of the next free block (kNoBlock: none).
//
// Why 64 bits: a token names its block's allocation, so a generation must not
// repeat within the product's life. One block allocated 1,000 times a second
// (a busy message pool whose reuse all lands on one block) reaches 2^31
// allocations, the end of a 32-bit odd generation, in 25 days; 2^63 takes 292
// million years, and at one allocation per nanosecond 292 years. A block
// whose generation would run out is retired instead (never handed out again,
// counted in PoolStats::retired), so even then a wrapped generation never
// validates a stale token. The halves are separate words so that allocation,
// which turns an even generation odd and so never carries, writes one word.
#pragma once

#include <cstdint>

#include "memplan/limits.hpp"

#ifndef MEMPLAN_POOL_GENERATION_LIMIT
// The even generation at which a block retires: 2^64 - 2 by default, after
// 2^63 - 1 allocations. Test builds narrow it to drive a block past the end.
#define MEMPLAN_POOL_GENERATION_LIMIT 0xFFFFFFFFFFFFFFFEull
#endif

namespace memplan {

inline constexpr std::uint64_t kPoolGenerationLimit = MEMPLAN_POOL_GENERATION_LIMIT;
static_assert(kPoolGenerationLimit % 2 == 0 && kPoolGenerationLimit >= 2,
              "MEMPLAN_POOL_GENERATION_LIMIT must be an even generation of at least 2");

// Blocks per pool: links are 16-bit and 0xFFFF means "no block".
inline constexpr std::uint16_t kNoBlock = 0xFFFFu;

struct BlockGeneration {
  std::uint32_t low;
  std::uint32_t high;

  constexpr std::uint64_t value() const noexcept { return (std::uint64_t{high} << 32) | low; }
  static constexpr BlockGeneration of(std::uint64_t value) noexcept {
    return BlockGeneration{static_cast<std::uint32_t>(value), static_cast<std::uint32_t>(value >> 32)};
  }
};

// The metadata of one pool of kBlocks blocks, as the generated layout
// declares it: sizeof is 10 * kBlocks rounded up to 4 on every ABI memplan
// plans for (the generator's planner computes the same).
template <std::uint32_t kBlocks>
struct PoolState {
  static_assert(kBlocks >= 1 && kBlocks <= kMaxPoolBlocks, "a pool has 1 to 65,535 blocks");
  BlockGeneration generations[kBlocks];
  std::uint16_t links[kBlocks];
};

// What releases a block: its index and the generation its allocation gave
// it. A copy kept past the release (or a forged one) no longer matches the
// block's generation and is refused as StaleHandle; it changes nothing.
// A value-initialized token (`BlockToken{}`: generation 0, even) names no
// allocation. Trivial, so a Result<Block> is filled in place without a copy.
struct BlockToken {
  std::uint32_t index;
  BlockGeneration generation;
};

// A block as allocate() hands it out: its bytes, zeroed, and its token.
struct Block {
  std::uint8_t* data;
  BlockToken token;
};

}  // namespace memplan
