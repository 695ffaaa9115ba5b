// Allocation by size and usage, Buffer handles, and the layout's init.
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <type_traits>
#include <utility>

#include "test_support.hpp"

using memplan::Error;
using memplan::Usage;
using memplan_test::all_zero;
using Layout = memplan_test::Layout<memplan::NoLock>;
using Buffer = memplan::BasicBuffer<memplan::NoLock>;

static_assert(!std::is_copy_constructible_v<Buffer>, "buffers are move-only");
static_assert(!std::is_copy_assignable_v<Buffer>, "buffers are move-only");
static_assert(std::is_nothrow_move_constructible_v<Buffer>, "moves cannot fail");

TEST_CASE("the smallest class allowed for the usage that fits is chosen", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  CHECK(l.pools.allocate(32, Usage::Key).value().pool_name() == std::string("key"));
  CHECK(l.pools.allocate(12, Usage::Nonce).value().pool_name() == std::string("key"));
  CHECK(l.pools.allocate(1, Usage::Message).value().pool_name() ==
        std::string("small"));  // key class not allowed
  CHECK(l.pools.allocate(256, Usage::Message).value().pool_name() == std::string("small"));
  CHECK(l.pools.allocate(257, Usage::Message).value().pool_name() == std::string("large"));
  CHECK(l.pools.allocate(64, Usage::Context).value().pool_name() == std::string("large"));
  auto buffer = l.pools.allocate(100, Usage::Message);
  REQUIRE(buffer);
  CHECK(buffer.value().size() == 100);
  CHECK(buffer.value().capacity() == 256);
  CHECK(buffer.value().span().size == 100);
  CHECK(buffer.value().block().size == 256);
  CHECK(all_zero(buffer.value().data(), 256));
}

TEST_CASE("sizes no allowed class holds are SizeNotSupported", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  CHECK(l.pools.allocate(33, Usage::Key).error() == Error::SizeNotSupported);
  CHECK(l.pools.allocate(4225, Usage::Message).error() == Error::SizeNotSupported);
  CHECK(l.pools.allocate(0, Usage::Message).error() == Error::SizeNotSupported);
}

TEST_CASE("exhaustion falls back to larger classes - then names the class", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer held[12];
  for (auto& b : held) b = std::move(l.pools.allocate(200, Usage::Message).value());
  CHECK(held[7].pool_name() == std::string("small"));
  CHECK(held[8].pool_name() == std::string("large"));  // small is full
  auto none = l.pools.allocate(200, Usage::Message);
  CHECK(none.error() == Error::PoolExhausted);
  CHECK(std::strcmp(none.context(), "small") == 0);
  auto key = l.pools.allocate(16, Usage::Key);  // other classes are unaffected
  CHECK(key);
  memplan::PoolStats stats[4];
  REQUIRE(l.pools.stats(stats, 4) == 3);
  CHECK(stats[1].in_use == 8);
  CHECK(stats[1].spills == 4);  // the requests sized for small that large served
  CHECK(stats[1].allocation_failures == 1);  // the one no class could serve
  CHECK(stats[2].in_use == 4);
  CHECK(stats[2].allocation_failures == 0);  // tried on the way, not the class the requests were sized for
  CHECK(stats[2].spills == 0);
}

TEST_CASE("a buffer wipes and returns its block when it dies", "[buffer][wipe]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  std::uint8_t* data = nullptr;
  {
    auto b = l.pools.allocate(256, Usage::Message);
    data = b.value().data();
    std::memset(data, 0xEE, 256);
    CHECK(l.small_pool.stats().in_use == 1);
  }
  CHECK(l.small_pool.stats().in_use == 0);
  CHECK(all_zero(data, 256));  // every byte: the pool keeps nothing inside a free block
  CHECK(l.pools.health_check());
}

TEST_CASE("moves transfer ownership; moved-from handles are empty and harmless", "[buffer]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer a = std::move(l.pools.allocate(10, Usage::Message).value());
  std::uint8_t* data = a.data();
  Buffer b(std::move(a));
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(a.data() == nullptr);
  CHECK(a.capacity() == 0);
  CHECK(b.data() == data);
  a.reset();  // harmless
  Buffer c;
  c = std::move(b);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(c.data() == data);
  CHECK(l.small_pool.stats().in_use == 1);
  Buffer d = std::move(l.pools.allocate(10, Usage::Message).value());
  c = std::move(d);  // c's old block is released first
  CHECK(l.small_pool.stats().in_use == 1);
  c = std::move(c);  // self-move keeps the block  NOLINT
  CHECK(!c.empty());
  c.reset();
  CHECK(l.small_pool.stats().in_use == 0);
  CHECK(l.small_pool.stats().security_violations == 0);
}

TEST_CASE("buffer resize stays within the block", "[buffer]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer b = std::move(l.pools.allocate(10, Usage::Message).value());
  CHECK(b.resize(256));
  CHECK(b.size() == 256);
  CHECK(b.resize(257).error() == Error::InvalidArgument);
  Buffer empty;
  CHECK(empty.resize(1).error() == Error::InvalidArgument);
}

TEST_CASE("a corrupted class is reported, not skipped", "[pools][security]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  l.small_state.links[0] = 0x7777;  // something else wrote the small class's metadata
  CHECK(l.pools.allocate(100, Usage::Message).value().pool_name() == std::string("small"));
  auto next = l.pools.allocate(100, Usage::Message);
  CHECK(next.error() == Error::PoolCorrupted);
  CHECK(std::strcmp(next.context(), "small") == 0);
  CHECK(l.pools.health_check().error() == Error::PoolCorrupted);
}

TEST_CASE("the layout initializes once and wipes its storage", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  std::memset(l.small_storage, 0x77, sizeof l.small_storage);
  std::memset(l.workspace_storage, 0x77, sizeof l.workspace_storage);
  REQUIRE(l.init());
  CHECK(all_zero(l.small_storage, sizeof l.small_storage));
  CHECK(all_zero(l.workspace_storage, sizeof l.workspace_storage));
  auto held = l.pools.allocate(10, Usage::Message);
  std::memset(held.value().data(), 0x42, 10);
  CHECK(l.init().error() == Error::AlreadyInitialized);
  CHECK(held.value().data()[0] == 0x42);
}

TEST_CASE("pools must be sorted by block size", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  memplan::BasicPool<memplan::NoLock>* const reversed[2] = {&l.large_pool, &l.small_pool};
  memplan::BasicPools<memplan::NoLock> bad{reversed, 2};
  CHECK(bad.init().error() == Error::InvalidArgument);
}

TEST_CASE("a result can be reassigned: the buffer it held is released and wiped", "[pools][result]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  auto status = l.pools.allocate(200, Usage::Message);
  REQUIRE(status);
  std::uint8_t* first = status.value().data();
  std::memset(first, 0x5A, 256);
  status = l.pools.allocate(16, Usage::Key);  // reuse the variable for another request
  REQUIRE(status);
  CHECK(status.value().capacity() == 32);
  CHECK(l.small_pool.stats().in_use == 0);  // the first block went back to its pool ...
  CHECK(all_zero(first, 256));              // ... wiped
  status = memplan::Failure{Error::PoolExhausted, "test"};
  CHECK(status.error() == Error::PoolExhausted);
  memplan::PoolStats stats[3];
  REQUIRE(l.pools.stats(stats, 3) == 3);
  CHECK(stats[0].in_use == 0);  // and the key block too, when a failure replaced it
  memplan::Status plain = memplan::Failure{Error::NullPointer, nullptr};
  plain = {};
  CHECK(plain);
}

TEST_CASE("a direct allocate on a full class counts a failure there; spills only through Pools", "[pools]") {
  Layout l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  Buffer held[8];
  for (auto& b : held) b = std::move(l.pools.allocate(200, Usage::Message).value());
  CHECK(l.small_pool.allocate().error() == Error::PoolExhausted);
  CHECK(l.small_pool.stats().allocation_failures == 1);
  CHECK(l.small_pool.stats().spills == 0);
}
