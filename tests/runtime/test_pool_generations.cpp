// A block whose generation would run out retires: never listed again,
// counted, and no token of it ever validates again. Built twice: with the
// shipped limit (2^64 - 2: a block's generation is set near it by hand,
// since 2^63 allocations cannot be driven) and with
// MEMPLAN_POOL_GENERATION_LIMIT=6, where three allocations drive a block to
// the end through the public API alone.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <memplan/pool.hpp>

#include "test_support.hpp"

namespace {

using memplan::Error;
using memplan::kPoolGenerationLimit;

// Allocations each block gets before it retires.
constexpr std::uint64_t kAllocationsPerBlock = kPoolGenerationLimit / 2;

}  // namespace

TEST_CASE("the generation limit is even and sized for a product's life", "[pool][generations]") {
  STATIC_REQUIRE(kPoolGenerationLimit % 2 == 0);
#if MEMPLAN_POOL_GENERATION_LIMIT == 0xFFFFFFFFFFFFFFFEull
  // 2^63 - 1 allocations of one block: 292 years at one a nanosecond.
  STATIC_REQUIRE(kAllocationsPerBlock == 0x7FFFFFFFFFFFFFFFull);
#endif
}

TEST_CASE("a block retires at its last generation and is never handed out again", "[pool][generations]") {
  memplan_test::PoolFixture<2, 16> t;
  REQUIRE(t.pool.init());
  if (kPoolGenerationLimit > 64) {
    // Block 0 as if it had been allocated 2^63 - 2 times: free, one short of the end.
    t.state.generations[0] = memplan::BlockGeneration::of(kPoolGenerationLimit - 2);
  }
  memplan::BlockToken tokens[3] = {};
  std::uint32_t kept = 0;
  // Drive block 0 to the end; block 1 takes turns with it (FIFO).
  for (;;) {
    memplan::Block block = t.pool.allocate().value();
    if (block.token.index == 1) {
      REQUIRE(t.pool.release(block.token));
      continue;
    }
    tokens[kept++ % 3] = block.token;
    block.data[0] = 0x7E;
    REQUIRE(t.pool.release(block.token));
    if (t.pool.stats().retired == 1) break;
    REQUIRE(kept < 8);
  }
  CHECK(t.generation(0) == kPoolGenerationLimit);
  CHECK(t.block(0)[0] == 0);  // wiped like any other release
  // Its tokens never validate again, and the pool goes on with block 1 alone.
  for (const auto& token : tokens) {
    if (token.generation.value() != 0) CHECK(!t.pool.release(token));
  }
  memplan::Block block = t.pool.allocate().value();
  CHECK(block.token.index == 1);
  CHECK(t.pool.allocate().error() == Error::PoolExhausted);
  REQUIRE(t.pool.release(block.token));
  CHECK(t.pool.health_check());
  // Block 1 runs out too (in the narrowed build within a few rounds): then
  // the pool is exhausted for good, and says so.
  if (kPoolGenerationLimit > 64) t.state.generations[1] = memplan::BlockGeneration::of(kPoolGenerationLimit - 2);
  for (std::uint32_t round = 0; t.pool.stats().retired < 2; ++round) {
    REQUIRE(round < 3);
    memplan::Block last = t.pool.allocate().value();
    REQUIRE(t.pool.release(last.token));
  }
  CHECK(t.pool.allocate().error() == Error::PoolExhausted);
  const auto stats = t.pool.stats();
  CHECK(stats.retired == 2);
  CHECK(stats.in_use == 0);
  CHECK(stats.allocation_failures == 2);
  CHECK(t.pool.health_check());
}

TEST_CASE("a generation that carries into its high word still matches exactly", "[pool][generations]") {
  memplan_test::PoolFixture<1, 8> t;
  REQUIRE(t.pool.init());
  if (kPoolGenerationLimit < 0x100000000ull) return;  // the narrowed build has no high word to carry into
  t.state.generations[0] = memplan::BlockGeneration{0xFFFFFFFEu, 0};
  memplan::Block block = t.pool.allocate().value();
  CHECK(block.token.generation.low == 0xFFFFFFFFu);
  CHECK(block.token.generation.high == 0);
  const memplan::BlockToken old = block.token;
  REQUIRE(t.pool.release(block.token));
  CHECK(t.generation(0) == 0x100000000ull);  // the carry
  memplan::Block next = t.pool.allocate().value();
  CHECK(next.token.generation.value() == 0x100000001ull);
  CHECK(t.pool.release(old).error() == Error::StaleHandle);
  CHECK(t.pool.release(memplan::BlockToken{0, {0x00000001u, 0}}).error() == Error::StaleHandle);  // low half alone
  CHECK(t.pool.release(next.token));
}
