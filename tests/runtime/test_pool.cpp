// Pool rules: O(1) allocate/release, bad releases detected and counted,
// wipe on release, statistics and health check.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/pool.hpp>

namespace {

struct TestPool {
  static constexpr std::uint32_t kBlock = 64;
  static constexpr std::uint32_t kCount = 40;  // two state words, the second partial
  alignas(32) std::uint8_t storage[kBlock * kCount] = {};
  std::uint32_t state[2] = {};
  memplan::BasicPool<memplan::NoLock> pool{"test", storage, kBlock,
                                           kCount, state,   memplan::usage_bit(memplan::Usage::Message)};
};

bool all_zero(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a pool must be initialized once", "[pool]") {
  TestPool t;
  CHECK(t.pool.allocate().error() == memplan::Error::NotInitialized);
  CHECK(t.pool.release(t.storage).error() == memplan::Error::NotInitialized);
  REQUIRE(t.pool.init());
  auto block = t.pool.allocate();
  REQUIRE(block);
  block.value()[0] = 0xAA;
  const auto again = t.pool.init();
  CHECK(again.error() == memplan::Error::AlreadyInitialized);
  CHECK(block.value()[0] == 0xAA);  // the second init reset nothing
  CHECK(t.pool.stats().in_use == 1);
}

TEST_CASE("init wipes leftovers in the storage", "[pool]") {
  TestPool t;
  std::memset(t.storage, 0x5A, sizeof t.storage);
  t.state[0] = 0xFFFFFFFFu;
  REQUIRE(t.pool.init());
  CHECK(all_zero(t.storage, sizeof t.storage));
  CHECK(t.state[0] == 0);
}

TEST_CASE("init refuses storage a pool cannot manage", "[pool]") {
  std::uint8_t storage[64];
  std::uint32_t state[1];
  memplan::BasicPool<memplan::NoLock> tiny_blocks{"bad", storage, 4, 16, state, 0};
  CHECK(tiny_blocks.init().error() == memplan::Error::InvalidArgument);
  memplan::BasicPool<memplan::NoLock> no_storage{"bad", nullptr, 64, 1, state, 0};
  CHECK(no_storage.init().error() == memplan::Error::InvalidArgument);
  memplan::BasicPool<memplan::NoLock> odd_blocks{"bad", storage, 12, 4, state, 0};
  CHECK(odd_blocks.init().error() == memplan::Error::InvalidArgument);
}

TEST_CASE("every block is handed out once - zeroed - then the pool is exhausted", "[pool]") {
  TestPool t;
  REQUIRE(t.pool.init());
  std::uint8_t* blocks[TestPool::kCount];
  for (auto& block : blocks) {
    auto r = t.pool.allocate();
    REQUIRE(r);
    block = r.value();
    CHECK(all_zero(block, TestPool::kBlock));
    std::memset(block, 0xFF, TestPool::kBlock);
  }
  for (std::uint32_t i = 0; i < TestPool::kCount; ++i) {
    CHECK(blocks[i] == t.storage + i * TestPool::kBlock);  // distinct, in bounds
  }
  auto full = t.pool.allocate();
  CHECK(full.error() == memplan::Error::PoolExhausted);
  CHECK(std::strcmp(full.context(), "test") == 0);
  const auto stats = t.pool.stats();
  CHECK(stats.in_use == TestPool::kCount);
  CHECK(stats.high_water == TestPool::kCount);
  CHECK(stats.allocation_failures == 1);
  CHECK(t.pool.health_check());
}

TEST_CASE("a released block is wiped before it is handed out again", "[pool][wipe]") {
  TestPool t;
  REQUIRE(t.pool.init());
  std::uint8_t* block = t.pool.allocate().value();
  std::memset(block, 0xC3, TestPool::kBlock);
  REQUIRE(t.pool.release(block));
  // Only the free-list link (first 4 bytes) may be non-zero while free.
  CHECK(all_zero(block + 4, TestPool::kBlock - 4));
  std::uint8_t* again = t.pool.allocate().value();
  CHECK(again == block);  // LIFO reuse
  CHECK(all_zero(again, TestPool::kBlock));
}

TEST_CASE("bad releases are errors - counted - and change nothing", "[pool][security]") {
  TestPool t;
  REQUIRE(t.pool.init());
  std::uint8_t* a = t.pool.allocate().value();
  std::uint8_t* b = t.pool.allocate().value();
  std::memset(b, 0x11, TestPool::kBlock);
  std::uint8_t foreign[64];

  CHECK(t.pool.release(nullptr).error() == memplan::Error::NullPointer);
  CHECK(t.pool.release(foreign).error() == memplan::Error::ForeignPointer);
  CHECK(t.pool.release(t.storage + sizeof t.storage).error() ==
        memplan::Error::ForeignPointer);  // one past the end
  CHECK(t.pool.release(t.storage - 1).error() == memplan::Error::ForeignPointer);
  CHECK(t.pool.release(b + 1).error() == memplan::Error::InteriorPointer);
  CHECK(t.pool.release(b + TestPool::kBlock - 1).error() == memplan::Error::InteriorPointer);
  CHECK(t.pool.release(t.storage + 5 * TestPool::kBlock).error() ==
        memplan::Error::DoubleRelease);  // never handed out
  REQUIRE(t.pool.release(a));
  CHECK(t.pool.release(a).error() == memplan::Error::DoubleRelease);

  const auto stats = t.pool.stats();
  CHECK(stats.security_violations == 8);
  CHECK(stats.in_use == 1);
  CHECK(b[0] == 0x11);  // the live block is untouched
  CHECK(t.pool.health_check());
  // The free list is intact: a is handed out once, then fresh blocks follow.
  CHECK(t.pool.allocate().value() == a);
  CHECK(t.pool.allocate().value() == t.storage + 2 * TestPool::kBlock);
}

TEST_CASE("health check finds a corrupted free list", "[pool]") {
  TestPool t;
  REQUIRE(t.pool.init());
  std::uint8_t* a = t.pool.allocate().value();
  std::uint8_t* b = t.pool.allocate().value();
  REQUIRE(t.pool.release(a));
  REQUIRE(t.pool.release(b));
  REQUIRE(t.pool.health_check());
  SECTION("a write into a free block after release (use after free)") {
    a[10] = 1;
    CHECK(!t.pool.health_check());
  }
  SECTION("a link pointing outside the used blocks") {
    const std::uint32_t bad = 39;
    std::memcpy(b, &bad, sizeof bad);
    CHECK(!t.pool.health_check());
  }
  SECTION("a cycle in the free list") {
    const std::uint32_t self = 1;  // b is block 1 and the head
    std::memcpy(b, &self, sizeof self);
    CHECK(!t.pool.health_check());
  }
  SECTION("a state bit flipped") {
    t.state[1] |= 1u;
    CHECK(!t.pool.health_check());
  }
}

TEST_CASE("high-water mark and in-use follow allocations", "[pool]") {
  TestPool t;
  REQUIRE(t.pool.init());
  std::uint8_t* held[5];
  for (auto& h : held) h = t.pool.allocate().value();
  for (int i = 0; i < 3; ++i) REQUIRE(t.pool.release(held[i]));
  auto stats = t.pool.stats();
  CHECK(stats.in_use == 2);
  CHECK(stats.high_water == 5);
  CHECK(stats.block_size == TestPool::kBlock);
  CHECK(stats.block_count == TestPool::kCount);
  CHECK(std::strcmp(stats.name, "test") == 0);
}

TEST_CASE("usage masks", "[pool]") {
  TestPool t;
  CHECK(t.pool.allows(memplan::Usage::Message));
  CHECK(!t.pool.allows(memplan::Usage::Key));
  CHECK(std::strcmp(memplan::to_string(memplan::Usage::Nonce), "nonce") == 0);
}

TEST_CASE("storage that is not 8-byte aligned is refused", "[pool]") {
  alignas(8) std::uint8_t storage[8 * 17];
  std::uint32_t state[1];
  memplan::BasicPool<memplan::NoLock> misaligned{"bad", storage + 4, 8, 16, state, 0};
  CHECK(misaligned.init().error() == memplan::Error::InvalidArgument);
}

TEST_CASE("blocks that are not a power of two are found by division", "[pool]") {
  alignas(8) std::uint8_t storage[24 * 4] = {};
  std::uint32_t state[1];
  memplan::BasicPool<memplan::NoLock> pool{"odd", storage, 24, 4, state, 0};
  REQUIRE(pool.init());
  std::uint8_t* a = pool.allocate().value();
  std::uint8_t* b = pool.allocate().value();
  CHECK(b == a + 24);
  CHECK(pool.release(b + 8).error() == memplan::Error::InteriorPointer);
  CHECK(pool.release(b));
  CHECK(pool.release(b).error() == memplan::Error::DoubleRelease);
  CHECK(pool.allocate().value() == b);
  CHECK(pool.health_check());
}
