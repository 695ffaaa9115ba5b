// The statistics that size a product (memplan fit reads them): per class the
// peak demand (high water plus overflow), the largest request and the
// request-size histogram; per table the sessions and key slots high waters;
// and the versioned text dump of all of them.
#include <catch2/catch_test_macros.hpp>
#include <memory>
#include <memplan/port/host_ports.hpp>
#include <memplan/statistics_dump.hpp>
#include <string>
#include <utility>

#include "recording_console.hpp"
#include "test_support.hpp"

using memplan::Error;
using memplan::Usage;
using Layout = memplan_test::Layout<memplan::NoLock>;
using Buffer = memplan::BasicBuffer<memplan::NoLock>;

namespace {

const std::uint8_t kKey[32] = {7};
const std::uint8_t kDevice[4] = {0xDE, 0xC0, 0xDE, 0x01};

// A layout whose table has its ports: keys can be loaded.
struct AttachedLayout {
  AttachedLayout() : layout(std::make_unique<Layout>(memplan_test::kPolicy256)) {
    REQUIRE(layout->init());
    REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
  }
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock{1000};
  memplan::FixedIdentity identity{kDevice, 4};
  std::unique_ptr<Layout> layout;
};

}  // namespace

TEST_CASE("the histogram counts each sized request in its class by the share of the block used", "[pools][statistics]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  // small has 256 B blocks: bucket k holds 256 >> (k + 1) < size <= 256 >> k, the last the rest.
  const std::size_t sizes[] = {256, 129, 128, 65, 64, 33, 32, 17, 16, 9, 8, 5, 4, 3, 2, 1};
  for (std::size_t size : sizes) REQUIRE(l.pools.allocate(size, Usage::Message));
  const memplan::PoolStats s = l.small_pool.stats();
  const std::uint32_t expected[memplan::kRequestSizeBuckets] = {2, 2, 2, 2, 2, 2, 2, 2};
  for (std::size_t k = 0; k < memplan::kRequestSizeBuckets; ++k) CHECK(s.request_sizes[k] == expected[k]);
  CHECK(s.largest_request == 256);
  CHECK(s.high_water == 1);  // each buffer died at once
  // The other classes saw none of these requests.
  CHECK(l.large_pool.stats().largest_request == 0);
  CHECK(l.key_pool.stats().request_sizes[0] == 0);
}

TEST_CASE("a request counts in the class it was sized for, wherever it was served", "[pools][statistics]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer held[12];
  for (auto& b : held) b = std::move(l.pools.allocate(200, Usage::Message).value());  // 8 small, 4 spill to large
  CHECK(l.pools.allocate(200, Usage::Message).error() == Error::PoolExhausted);
  const memplan::PoolStats small = l.small_pool.stats();
  CHECK(small.request_sizes[0] == 13);  // 200 of 256: more than half
  CHECK(small.largest_request == 200);
  CHECK(small.high_water == 8);
  CHECK(small.spills == 4);
  CHECK(small.allocation_failures == 1);
  CHECK(small.overflow_high_water == 5);  // four spilled blocks out and one request unserved: demand was 13
  const memplan::PoolStats large = l.large_pool.stats();
  CHECK(large.high_water == 4);
  CHECK(large.largest_request == 0);  // tried on the way, not sized for it
  CHECK(large.request_sizes[0] == 0);
}

TEST_CASE("overflow is outstanding until the spilled block comes back", "[pools][statistics]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer small[8];
  for (auto& b : small) b = std::move(l.pools.allocate(100, Usage::Message).value());
  // Two spills at once, then one at a time: the peak is two, whatever the count of spills.
  {
    Buffer a = std::move(l.pools.allocate(100, Usage::Message).value());
    Buffer b = std::move(l.pools.allocate(100, Usage::Message).value());
    CHECK(a.pool_name() == std::string("large"));
    Buffer moved(std::move(b));  // the move carries the spill: returned once, when `moved` dies
  }
  for (int i = 0; i < 5; ++i) {
    Buffer c = std::move(l.pools.allocate(100, Usage::Message).value());
    CHECK(c.pool_name() == std::string("large"));
  }
  memplan::PoolStats s = l.small_pool.stats();
  CHECK(s.spills == 7);
  CHECK(s.overflow_high_water == 2);
  // A failure while one spill is out: three at once.
  {
    Buffer d[4];
    for (auto& b : d) b = std::move(l.pools.allocate(100, Usage::Message).value());
    CHECK(l.pools.allocate(100, Usage::Message).error() == Error::PoolExhausted);
    s = l.small_pool.stats();
    CHECK(s.overflow_high_water == 5);  // four spilled out and one unserved
  }
  // The block-level API counts its exhaustion the same way.
  CHECK(l.small_pool.allocate().error() == Error::PoolExhausted);
  CHECK(l.small_pool.stats().overflow_high_water == 5);
  CHECK(l.small_pool.stats().allocation_failures == 2);
  for (auto& b : small) b.reset();
  CHECK(l.pools.health_check());
  REQUIRE(l.small_pool.stats().in_use == 0);
}

TEST_CASE("the table keeps the most sessions and key slots held at once", "[session][statistics]") {
  AttachedLayout attached;
  Layout* const l = attached.layout.get();
  memplan::SessionHandle handles[3];
  for (auto& h : handles) {
    h = l->sessions.open_session().value();
    REQUIRE(l->sessions.load_key(h, {kKey, 32}));
  }
  memplan::SessionTableStats s = l->sessions.stats();
  CHECK(s.sessions_high_water == 3);
  CHECK(s.key_slots_high_water == 3);
  // A rotation holds a spare slot next to the old one for a moment.
  REQUIRE(l->sessions.rotate_key(handles[0], {kKey, 32}));
  s = l->sessions.stats();
  CHECK(s.key_slots_high_water == 4);
  // A session without a key holds no slot; closing gives slots back.
  const memplan::SessionHandle bare = l->sessions.open_session().value();
  REQUIRE(l->sessions.close(bare));
  for (auto h : handles) REQUIRE(l->sessions.close(h));
  s = l->sessions.stats();
  CHECK(s.open_sessions == 0);
  CHECK(s.sessions_high_water == 4);
  CHECK(s.key_slots_high_water == 4);
  // Slots come back: four sessions again hold four, and the high water stays.
  memplan::SessionHandle four[4];
  for (auto& h : four) {
    h = l->sessions.open_session().value();
    REQUIRE(l->sessions.load_key(h, {kKey, 32}));
  }
  CHECK(l->sessions.stats().key_slots_high_water == 4);
  // A fifth key slot is taken only with five held at once: a rotation beside four loaded keys.
  REQUIRE(l->sessions.rotate_key(four[3], {kKey, 32}));
  CHECK(l->sessions.stats().key_slots_high_water == 5);
  for (auto h : four) REQUIRE(l->sessions.close(h));
  CHECK(l->sessions.stats().sessions_high_water == 4);
}

TEST_CASE("the dump prints every class and the table in format 1", "[statistics][dump]") {
  AttachedLayout attached;
  Layout* const l = attached.layout.get();
  const memplan::SessionHandle h = l->sessions.open_session().value();
  REQUIRE(l->sessions.load_key(h, {kKey, 32}));
  Buffer kept = std::move(l->pools.allocate(40, Usage::Message).value());
  REQUIRE(l->pools.allocate(4000, Usage::Message));
  memplan_test::RecordingConsole console;
  memplan::print_statistics(console, "test", l->pools, l->sessions);
  CHECK(console.take() ==
        "memplan-statistics 1 layout=test\n"
        "pool name=key block_size=32 block_count=16 in_use=0 high_water=0 overflow_high_water=0 failures=0 spills=0 "
        "largest_request=0 request_sizes=0,0,0,0,0,0,0,0\n"
        "pool name=small block_size=256 block_count=8 in_use=1 high_water=1 overflow_high_water=0 failures=0 "
        "spills=0 largest_request=40 request_sizes=0,0,1,0,0,0,0,0\n"
        "pool name=large block_size=4224 block_count=4 in_use=0 high_water=1 overflow_high_water=0 failures=0 "
        "spills=0 largest_request=4000 request_sizes=1,0,0,0,0,0,0,0\n"
        "sessions count=4 high_water=1 key_slots=5 key_slots_high_water=1\n"
        "memplan-statistics end\n");
}
