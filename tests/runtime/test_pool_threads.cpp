// Several threads allocate and release from the same pools (std::mutex
// policy, with the two-phase release the Cortex-M lock uses: validate, wipe
// outside the lock, then list). Run under ThreadSanitizer in CI. Each thread
// stamps its blocks and checks the stamp before release: a block handed out
// twice would be seen. A hostile thread replays stale tokens meanwhile.
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

TEST_CASE("stale tokens replayed while other threads reuse the blocks never release them", "[pool][threads][security]") {
  static memplan_test::PoolFixture<8, 64, memplan::HostMutexLock> t;
  REQUIRE(t.pool.init());
  constexpr int kThreads = 4;
  constexpr int kRounds = 4000;
  std::atomic<int> corrupted{0};
  std::atomic<int> accepted{0};
  std::atomic<std::uint32_t> stale_tries{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      const auto stamp = static_cast<std::uint8_t>(0x20 + w);
      memplan::BlockToken stale[4] = {};
      int kept = 0;
      for (int round = 0; round < kRounds; ++round) {
        auto block = t.pool.allocate();
        if (!block) continue;
        memplan::Block b = block.value();
        if (!memplan_test::all_zero(b.data, 64)) ++corrupted;
        std::memset(b.data, stamp, 64);
        std::this_thread::yield();
        for (int i = 0; i < 64; ++i) {
          if (b.data[i] != stamp) {
            ++corrupted;
            break;
          }
        }
        if (!t.pool.release(b.token)) ++corrupted;
        stale[kept++ % 4] = b.token;
        // Replay an old token (or, early on, an empty one): its block may be
        // anyone's by now.
        stale_tries.fetch_add(1);
        if (t.pool.release(stale[(kept + 1) % 4])) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(corrupted.load() == 0);
  CHECK(accepted.load() == 0);
  const auto stats = t.pool.stats();
  CHECK(stats.in_use == 0);
  CHECK(stats.security_violations == stale_tries.load());
  CHECK(t.pool.health_check());
}

TEST_CASE("sessions sealed and opened from several threads", "[session][threads]") {
  memplan_test::Layout<memplan::HostMutexLock> l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  memplan::InMemoryNonceStore<memplan_test::Layout<memplan::HostMutexLock>::kSessions> store;
  memplan::ManualClock clock;
  const std::uint8_t id[4] = {1, 2, 3, 4};
  memplan::FixedIdentity identity(id, 4);
  REQUIRE(l.sessions.attach({&store, &clock, &identity}));
  constexpr int kThreads = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto session = l.sessions.open_session();
      std::uint8_t key[32] = {static_cast<std::uint8_t>(t)};
      if (!session || !l.sessions.load_key(session.value(), {key, sizeof key})) {
        ++failures;
        return;
      }
      std::uint64_t last = 0;
      for (int i = 0; i < 300; ++i) {
        std::uint8_t text[64];
        std::memset(text, t, sizeof text);
        std::uint8_t out[64 + 16];
        std::uint8_t nonce[12];
        std::uint8_t back[64];
        if (!l.sessions.seal(session.value(), {}, {text, sizeof text}, {out, sizeof out}, nonce) ||
            !l.sessions.open(session.value(), nonce, {}, {out, sizeof out}, {back, sizeof back}) ||
            std::memcmp(back, text, sizeof text) != 0) {
          ++failures;
        }
        std::uint64_t counter = 0;
        for (int b = 4; b < 12; ++b) counter = (counter << 8) | nonce[b];
        if (i > 0 && counter != last + 1) ++failures;  // each session's counter advances by one
        last = counter;
        if (i % 100 == 99 && !l.sessions.rotate_key(session.value(), {key, sizeof key})) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  CHECK(l.sessions.stats().seals == kThreads * 300);
}
