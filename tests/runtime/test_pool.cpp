// Pool rules: O(1) allocate/release in FIFO order, release by token, wipe on
// release, statistics and health check. Misuse (stale pointers and tokens) is
// in test_pool_ownership.cpp, generations at their limit in
// test_pool_generations.cpp.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/pool.hpp>

#include "test_support.hpp"

namespace {

using memplan::Error;
using memplan_test::all_zero;
using Fixture = memplan_test::PoolFixture<40, 64>;

}  // namespace

TEST_CASE("a pool must be initialized once", "[pool]") {
  Fixture t;
  CHECK(t.pool.allocate().error() == Error::NotInitialized);
  CHECK(t.pool.release(memplan::BlockToken{0, {1, 0}}).error() == Error::NotInitialized);
  CHECK(t.pool.health_check().error() == Error::NotInitialized);
  REQUIRE(t.pool.init());
  auto block = t.pool.allocate();
  REQUIRE(block);
  block.value().data[0] = 0xAA;
  CHECK(t.pool.init().error() == Error::AlreadyInitialized);
  CHECK(block.value().data[0] == 0xAA);  // the second init reset nothing
  CHECK(t.pool.stats().in_use == 1);
  CHECK(t.pool.stats().security_violations == 0);  // the call before init() was not counted
}

TEST_CASE("init wipes leftovers in the storage and the metadata", "[pool]") {
  Fixture t;
  std::memset(t.storage, 0x5A, sizeof t.storage);
  std::memset(&t.state, 0xA5, sizeof t.state);
  REQUIRE(t.pool.init());
  CHECK(all_zero(t.storage, sizeof t.storage));
  for (std::uint32_t i = 0; i < Fixture::kBlocks; ++i) {
    CHECK(t.generation(i) == 0);
    CHECK(t.state.links[i] == (i + 1 < Fixture::kBlocks ? i + 1 : memplan::kNoBlock));
  }
  CHECK(t.pool.health_check());
}

TEST_CASE("init refuses storage and metadata a pool cannot manage", "[pool]") {
  alignas(8) std::uint8_t storage[8 * 17];
  memplan::PoolState<16> state{};
  const auto refused = [&](std::uint8_t* blocks, std::uint32_t size, std::uint32_t count,
                           memplan::BlockGeneration* generations, std::uint16_t* links) {
    memplan::BasicPool<memplan::NoLock> pool{"bad", blocks, size, count, generations, links, 0,
                                             memplan::AllocationCheck::None};
    return pool.init().error() == Error::InvalidArgument;
  };
  CHECK(refused(storage, 4, 16, state.generations, state.links));        // blocks below 8 bytes
  CHECK(refused(storage, 12, 4, state.generations, state.links));        // not a multiple of 8
  CHECK(refused(nullptr, 8, 16, state.generations, state.links));        // no storage
  CHECK(refused(storage, 8, 0, state.generations, state.links));         // no blocks
  CHECK(refused(storage + 4, 8, 16, state.generations, state.links));    // storage not 8-byte aligned
  CHECK(refused(storage, 8, 16, nullptr, state.links));                  // no generations
  CHECK(refused(storage, 8, 16, state.generations, nullptr));            // no links
  CHECK(refused(storage, 8, 0x10000, state.generations, state.links));   // more blocks than 16-bit links name
  auto* unaligned = reinterpret_cast<memplan::BlockGeneration*>(reinterpret_cast<std::uint8_t*>(state.generations) + 2);
  CHECK(refused(storage, 8, 16, unaligned, state.links));
  auto* odd_links = reinterpret_cast<std::uint16_t*>(reinterpret_cast<std::uint8_t*>(state.links) + 1);
  CHECK(refused(storage, 8, 16, state.generations, odd_links));
}

TEST_CASE("every block is handed out once - zeroed, in index order - then the pool is exhausted", "[pool]") {
  Fixture t;
  REQUIRE(t.pool.init());
  memplan::Block blocks[Fixture::kBlocks];
  for (std::uint32_t i = 0; i < Fixture::kBlocks; ++i) {
    auto r = t.pool.allocate();
    REQUIRE(r);
    blocks[i] = r.value();
    CHECK(blocks[i].data == t.block(i));
    CHECK(blocks[i].token.index == i);
    CHECK(blocks[i].token.generation.value() == 1);  // odd: in use
    CHECK(all_zero(blocks[i].data, Fixture::kBlockSize));
    std::memset(blocks[i].data, 0xFF, Fixture::kBlockSize);
  }
  auto full = t.pool.allocate();
  CHECK(full.error() == Error::PoolExhausted);
  CHECK(std::strcmp(full.context(), "test") == 0);
  const auto stats = t.pool.stats();
  CHECK(stats.in_use == Fixture::kBlocks);
  CHECK(stats.high_water == Fixture::kBlocks);
  CHECK(stats.allocation_failures == 1);
  CHECK(stats.security_violations == 0);
  CHECK(t.pool.health_check());
}

TEST_CASE("release wipes the whole block and queues it behind every other free block", "[pool][wipe]") {
  Fixture t;
  REQUIRE(t.pool.init());
  memplan::Block a = t.pool.allocate().value();
  std::memset(a.data, 0xC3, Fixture::kBlockSize);
  REQUIRE(t.pool.release(a.token));
  CHECK(all_zero(a.data, Fixture::kBlockSize));  // nothing of the pool's is kept in a free block
  CHECK(t.generation(a.token.index) == 2);       // even: free
  // FIFO: the 39 never-used blocks come first, then a.
  for (std::uint32_t i = 1; i < Fixture::kBlocks; ++i) CHECK(t.pool.allocate().value().token.index == i);
  memplan::Block again = t.pool.allocate().value();
  CHECK(again.data == a.data);
  CHECK(again.token.generation.value() == 3);
  CHECK(all_zero(again.data, Fixture::kBlockSize));
}

TEST_CASE("bad release tokens are errors - counted - and change nothing", "[pool][security]") {
  Fixture t;
  REQUIRE(t.pool.init());
  memplan::Block a = t.pool.allocate().value();
  memplan::Block b = t.pool.allocate().value();
  std::memset(b.data, 0x11, Fixture::kBlockSize);

  CHECK(t.pool.release(memplan::BlockToken{}).error() == Error::InvalidHandle);  // even generation 0
  CHECK(t.pool.release(memplan::BlockToken{Fixture::kBlocks, {1, 0}}).error() == Error::InvalidHandle);
  CHECK(t.pool.release(memplan::BlockToken{0xFFFFFFFFu, {1, 0}}).error() == Error::InvalidHandle);
  CHECK(t.pool.release(memplan::BlockToken{b.token.index, {2, 0}}).error() == Error::InvalidHandle);  // even
  CHECK(t.pool.release(memplan::BlockToken{b.token.index, {3, 0}}).error() == Error::StaleHandle);    // not issued
  CHECK(t.pool.release(memplan::BlockToken{b.token.index, {1, 1}}).error() == Error::StaleHandle);    // high half
  CHECK(t.pool.release(memplan::BlockToken{5, {1, 0}}).error() == Error::StaleHandle);  // never handed out
  REQUIRE(t.pool.release(a.token));
  CHECK(t.pool.release(a.token).error() == Error::DoubleRelease);

  const auto stats = t.pool.stats();
  CHECK(stats.security_violations == 8);
  CHECK(stats.in_use == 1);
  CHECK(b.data[0] == 0x11);  // the live block is untouched
  CHECK(t.generation(b.token.index) == 1);
  CHECK(t.pool.health_check());
  REQUIRE(t.pool.release(b.token));  // its own token still works
  CHECK(t.pool.stats().in_use == 0);
}

TEST_CASE("health check finds corrupted metadata", "[pool]") {
  Fixture t;
  REQUIRE(t.pool.init());
  memplan::Block a = t.pool.allocate().value();
  memplan::Block b = t.pool.allocate().value();
  memplan::Block held = t.pool.allocate().value();
  REQUIRE(t.pool.release(a.token));
  REQUIRE(t.pool.release(b.token));
  REQUIRE(t.pool.health_check());
  SECTION("a write into a free block after release") {
    a.data[10] = 1;
    CHECK(t.pool.health_check().error() == Error::PoolCorrupted);
  }
  SECTION("a link out of range") {
    t.state.links[Fixture::kBlocks - 1] = Fixture::kBlocks;
    CHECK(!t.pool.health_check());
  }
  SECTION("a cycle in the free list") {
    t.state.links[b.token.index] = static_cast<std::uint16_t>(a.token.index);
    CHECK(!t.pool.health_check());
  }
  SECTION("a listed block marked in use") {
    t.state.generations[a.token.index].low |= 1u;
    CHECK(!t.pool.health_check());
  }
  SECTION("a block in use marked free") {
    t.state.generations[held.token.index].low += 1u;
    CHECK(!t.pool.health_check());
  }
  SECTION("a list cut short") {
    t.state.links[10] = memplan::kNoBlock;
    CHECK(!t.pool.health_check());
  }
}

TEST_CASE("high-water mark and in-use follow allocations", "[pool]") {
  Fixture t;
  REQUIRE(t.pool.init());
  memplan::Block held[5];
  for (auto& h : held) h = t.pool.allocate().value();
  for (int i = 0; i < 3; ++i) REQUIRE(t.pool.release(held[i].token));
  auto stats = t.pool.stats();
  CHECK(stats.in_use == 2);
  CHECK(stats.high_water == 5);
  CHECK(stats.block_size == Fixture::kBlockSize);
  CHECK(stats.block_count == Fixture::kBlocks);
  CHECK(stats.writes_after_free == 0);
  CHECK(stats.retired == 0);
  CHECK(std::strcmp(stats.name, "test") == 0);
}

TEST_CASE("usage masks and the allocation check are the pool's settings", "[pool]") {
  Fixture t;
  CHECK(t.pool.allows(memplan::Usage::Message));
  CHECK(!t.pool.allows(memplan::Usage::Key));
  CHECK(t.pool.allocation_check() == memplan::AllocationCheck::Wiped);
  CHECK(std::strcmp(memplan::to_string(memplan::Usage::Nonce), "nonce") == 0);
}

TEST_CASE("blocks that are not a power of two are addressed by multiplication", "[pool]") {
  memplan_test::PoolFixture<4, 24> t;
  REQUIRE(t.pool.init());
  memplan::Block a = t.pool.allocate().value();
  memplan::Block b = t.pool.allocate().value();
  CHECK(b.data == a.data + 24);
  CHECK(t.pool.release(b.token));
  CHECK(t.pool.release(b.token).error() == Error::DoubleRelease);
  CHECK(t.pool.allocate().value().data == t.block(2));
  CHECK(t.pool.health_check());
}

TEST_CASE("a pool of 65,535 blocks uses every 16-bit link", "[pool]") {
  static memplan_test::PoolFixture<0xFFFF, 8> t;
  REQUIRE(t.pool.init());
  std::uint32_t last = 0;
  for (std::uint32_t i = 0; i < 0xFFFF; ++i) {
    auto block = t.pool.allocate();
    REQUIRE(block);
    last = block.value().token.index;
  }
  CHECK(last == 0xFFFE);
  CHECK(t.pool.allocate().error() == Error::PoolExhausted);
  REQUIRE(t.pool.release(memplan::BlockToken{0xFFFE, {1, 0}}));
  CHECK(t.pool.allocate().value().token.index == 0xFFFE);
  CHECK(t.pool.health_check());
}
