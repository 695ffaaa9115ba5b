// Statistics and ownership after a long random sequence of operations,
// against a model kept by the test itself: which blocks are held, each
// block's generation, which free blocks a stale pointer wrote into.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "test_support.hpp"

TEST_CASE("statistics and ownership match a model after random operations", "[pool][model]") {
  constexpr std::uint32_t kBlock = 32;
  constexpr std::uint32_t kCount = 70;
  static memplan_test::PoolFixture<kCount, kBlock> t(memplan::AllocationCheck::Wiped, "model");
  REQUIRE(t.pool.init());

  std::mt19937 random(20261126u);  // fixed seed: a failure replays
  std::vector<memplan::Block> held;
  std::vector<memplan::BlockToken> released;  // tokens kept past their release
  std::uint64_t generation[kCount] = {};
  bool dirty[kCount] = {};
  std::uint32_t high_water = 0;
  std::uint32_t failures = 0;
  std::uint32_t violations = 0;
  std::uint32_t writes_after_free = 0;

  for (int step = 0; step < 20000; ++step) {
    const auto action = random() % 12;
    if (action < 5) {
      auto block = t.pool.allocate();
      if (held.size() == kCount) {
        REQUIRE(block.error() == memplan::Error::PoolExhausted);
        ++failures;
      } else {
        REQUIRE(block);
        const memplan::Block b = block.value();
        REQUIRE(b.data == t.block(b.token.index));
        REQUIRE(generation[b.token.index] % 2 == 0);  // it was free
        generation[b.token.index] += 1;
        REQUIRE(b.token.generation.value() == generation[b.token.index]);
        if (dirty[b.token.index]) {
          ++writes_after_free;
          ++violations;
          dirty[b.token.index] = false;
        }
        REQUIRE(memplan_test::all_zero(b.data, kBlock));
        std::memset(b.data, static_cast<int>(step & 0xFF) | 1, kBlock);
        held.push_back(b);
        high_water = std::max(high_water, static_cast<std::uint32_t>(held.size()));
      }
    } else if (action < 9 && !held.empty()) {
      const std::size_t i = random() % held.size();
      REQUIRE(t.pool.release(held[i].token));
      generation[held[i].token.index] += 1;
      released.push_back(held[i].token);
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (action < 10 && !released.empty()) {
      // A stale release: DoubleRelease if its allocation was the block's
      // last, StaleHandle if the block was handed out since.
      const memplan::BlockToken stale = released[random() % released.size()];
      const auto expected = generation[stale.index] == stale.generation.value() + 1 ? memplan::Error::DoubleRelease
                                                                                    : memplan::Error::StaleHandle;
      REQUIRE(t.pool.release(stale).error() == expected);
      ++violations;
    } else if (!released.empty()) {
      // A stale write into a block that is free now (into a held block it
      // would reach the new owner: detection cannot see that, SECURITY.md).
      const memplan::BlockToken stale = released[random() % released.size()];
      if (generation[stale.index] % 2 == 0) {
        t.block(stale.index)[random() % kBlock] = static_cast<std::uint8_t>(1 + random() % 255);
        dirty[stale.index] = true;
      }
    }
    const auto stats = t.pool.stats();
    REQUIRE(stats.in_use == held.size());
    REQUIRE(stats.high_water == high_water);
    REQUIRE(stats.allocation_failures == failures);
    REQUIRE(stats.security_violations == violations);
    REQUIRE(stats.writes_after_free == writes_after_free);
    if (step % 97 == 0 && std::none_of(std::begin(dirty), std::end(dirty), [](bool d) { return d; })) {
      REQUIRE(t.pool.health_check());
    }
  }
  CHECK(failures > 0);           // the sequence reached exhaustion
  CHECK(writes_after_free > 0);  // found stale writes
  CHECK(violations > writes_after_free);  // and refused stale releases
}
