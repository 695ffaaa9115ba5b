// Several threads allocate and release from the same pools (std::mutex
// policy). Run under ThreadSanitizer in CI. Each thread stamps its blocks and
// checks the stamp before release: a block handed out twice would be seen.
#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "test_support.hpp"

TEST_CASE("pools and the workspace under concurrent use", "[pool][threads]") {
  memplan_test::Layout<memplan::HostMutexLock> l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  constexpr int kThreads = 4;
  constexpr int kRounds = 3000;
  std::atomic<int> corrupted{0};
  std::atomic<int> leases{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto stamp = static_cast<std::uint8_t>(0x10 + t);
      for (int round = 0; round < kRounds; ++round) {
        auto buffer = l.pools.allocate(static_cast<std::size_t>(1 + (round * 37 + t * 101) % 4000),
                                       memplan::Usage::Message);
        if (!buffer) continue;  // exhaustion under contention is allowed
        auto& b = buffer.value();
        if (!memplan_test::all_zero(b.data(), b.capacity())) ++corrupted;
        std::memset(b.data(), stamp, b.size());
        std::this_thread::yield();
        for (std::size_t i = 0; i < b.size(); ++i) {
          if (b.data()[i] != stamp) {
            ++corrupted;
            break;
          }
        }
        if (round % 16 == 0) {
          auto lease = l.workspace.acquire();
          if (lease) {
            ++leases;
            std::memset(lease.value().scratch().data, stamp, 64);
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(corrupted.load() == 0);
  CHECK(leases.load() > 0);
  CHECK(l.pools.health_check());
  memplan::PoolStats stats[3];
  l.pools.stats(stats, 3);
  for (const auto& s : stats) {
    CHECK(s.in_use == 0);
    CHECK(s.security_violations == 0);
  }
}
