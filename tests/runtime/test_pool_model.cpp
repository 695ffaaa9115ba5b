// Statistics after a long random sequence of operations, against a model:
// a set of held blocks, counters kept by the test itself.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "test_support.hpp"

TEST_CASE("statistics match a model after random operations", "[pool][model]") {
  constexpr std::uint32_t kBlock = 32;
  constexpr std::uint32_t kCount = 70;
  alignas(32) static std::uint8_t storage[kBlock * kCount];
  static std::uint32_t state[3];
  memplan::BasicPool<memplan::NoLock> pool{"model", storage, kBlock, kCount, state, 0};
  REQUIRE(pool.init());

  std::mt19937 random(20261126u);  // fixed seed: a failure replays
  std::vector<std::uint8_t*> held;
  std::vector<std::uint8_t*> released;
  std::uint32_t high_water = 0;
  std::uint32_t failures = 0;
  std::uint32_t violations = 0;

  for (int step = 0; step < 20000; ++step) {
    const auto action = random() % 10;
    if (action < 5) {
      auto block = pool.allocate();
      if (held.size() == kCount) {
        REQUIRE(block.error() == memplan::Error::PoolExhausted);
        ++failures;
      } else {
        REQUIRE(block);
        REQUIRE(std::find(held.begin(), held.end(), block.value()) == held.end());
        REQUIRE(memplan_test::all_zero(block.value(), kBlock));
        std::memset(block.value(), static_cast<int>(step & 0xFF) | 1, kBlock);
        held.push_back(block.value());
        high_water = std::max(high_water, static_cast<std::uint32_t>(held.size()));
      }
    } else if (action < 9 && !held.empty()) {
      const std::size_t i = random() % held.size();
      REQUIRE(pool.release(held[i]));
      released.push_back(held[i]);
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (!released.empty()) {
      // A stale pointer: a double release unless it was handed out again.
      std::uint8_t* stale = released[random() % released.size()];
      const bool live = std::find(held.begin(), held.end(), stale) != held.end();
      if (!live) {
        REQUIRE(pool.release(stale).error() == memplan::Error::DoubleRelease);
        ++violations;
        REQUIRE(pool.release(stale + 1).error() == memplan::Error::InteriorPointer);
        ++violations;
      }
    }
    const auto stats = pool.stats();
    REQUIRE(stats.in_use == held.size());
    REQUIRE(stats.high_water == high_water);
    REQUIRE(stats.allocation_failures == failures);
    REQUIRE(stats.security_violations == violations);
    if (step % 97 == 0) REQUIRE(pool.health_check());
  }
  CHECK(failures > 0);    // the sequence reached exhaustion
  CHECK(violations > 0);  // and exercised bad releases
}
