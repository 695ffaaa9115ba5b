// Ownership that survives misuse (SECURITY.md), tried as a hostile caller
// would through the public API: writes through pointers kept past release,
// releases with tokens kept past release, metadata overwritten by something
// else. Built with ASan+UBSan and, as pool_ownership_O2_tests, at -O2
// without sanitizers: the promises hold in every build type.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/memplan.hpp>
#include <utility>

#include "test_support.hpp"

namespace {

using memplan::AllocationCheck;
using memplan::Block;
using memplan::Error;
using memplan_test::all_zero;

constexpr std::uint32_t kBlocks = 6;
constexpr std::uint32_t kBlockSize = 48;  // not a power of two
using Fixture = memplan_test::PoolFixture<kBlocks, kBlockSize>;

// Allocates until `index` comes back (FIFO: after every other free block),
// releasing the others again; returns the block.
Block allocate_until(memplan::BasicPool<memplan::NoLock>& pool, std::uint32_t index) {
  for (std::uint32_t tries = 0; tries < 2 * kBlocks; ++tries) {
    Block block = pool.allocate().value();
    if (block.token.index == index) return block;
    REQUIRE(pool.release(block.token));
  }
  FAIL("block " << index << " never came back");
  return Block{};
}

bool inside(const Fixture& t, const std::uint8_t* data) {
  return data >= t.storage && data + kBlockSize <= t.storage + sizeof t.storage &&
         (data - t.storage) % kBlockSize == 0;
}

}  // namespace

TEST_CASE("a stale write into any byte of a free block is found at the next allocation - and not handed on",
          "[pool][ownership][security]") {
  for (std::uint32_t offset = 0; offset < kBlockSize; ++offset) {
    for (const std::uint8_t value : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
      Fixture t(AllocationCheck::Wiped);
      REQUIRE(t.pool.init());
      Block first = t.pool.allocate().value();
      std::uint8_t* stale = first.data;
      REQUIRE(t.pool.release(first.token));
      stale[offset] = value;  // use after free
      Block next = allocate_until(t.pool, first.token.index);
      CHECK(next.data == stale);
      CHECK(all_zero(next.data, kBlockSize));  // the next owner sees nothing of it
      const auto stats = t.pool.stats();
      CHECK(stats.writes_after_free == 1);
      CHECK(stats.security_violations == 1);
      CHECK(t.pool.health_check());
    }
  }
}

TEST_CASE("without the check, a stale write still cannot steer the pool", "[pool][ownership][security]") {
  // Every byte of every free block overwritten, as a wild stale writer
  // would: no metadata lives there, so allocation is unchanged.
  Fixture t(AllocationCheck::None);
  REQUIRE(t.pool.init());
  Block blocks[kBlocks];
  for (auto& b : blocks) b = t.pool.allocate().value();
  for (auto& b : blocks) REQUIRE(t.pool.release(b.token));
  std::memset(t.storage, 0xFF, sizeof t.storage);
  for (std::uint32_t i = 0; i < kBlocks; ++i) {
    Block b = t.pool.allocate().value();
    CHECK(inside(t, b.data));
    CHECK(b.token.index == blocks[i].token.index);  // FIFO, as if nothing happened
  }
  CHECK(t.pool.allocate().error() == Error::PoolExhausted);
  // The documented limit: with the check off, the bytes reach the next owner.
  CHECK(t.storage[0] == 0xFF);
  CHECK(t.pool.stats().writes_after_free == 0);
}

TEST_CASE("a stale release after the block was handed out again is refused", "[pool][ownership][security]") {
  Fixture t;
  REQUIRE(t.pool.init());
  Block first = t.pool.allocate().value();
  const memplan::BlockToken kept = first.token;  // the first owner's copy
  REQUIRE(t.pool.release(first.token));
  Block second = allocate_until(t.pool, first.token.index);
  REQUIRE(second.data == first.data);
  std::memset(second.data, 0x5C, kBlockSize);

  CHECK(t.pool.release(kept).error() == Error::StaleHandle);
  CHECK(t.pool.release(kept).error() == Error::StaleHandle);  // as often as it is tried
  for (std::uint32_t i = 0; i < kBlockSize; ++i) CHECK(second.data[i] == 0x5C);  // not wiped under its owner
  CHECK(t.pool.stats().security_violations == 2);
  CHECK(t.pool.stats().in_use == 1);
  // No second owner: the block is not listed, so the pool never hands it out.
  for (std::uint32_t i = 0; i + 1 < kBlocks; ++i) CHECK(t.pool.allocate().value().data != second.data);
  CHECK(t.pool.allocate().error() == Error::PoolExhausted);
  REQUIRE(t.pool.release(second.token));
}

TEST_CASE("a token is good for exactly one release, however often the block is reused",
          "[pool][ownership][security]") {
  memplan_test::PoolFixture<1, 8> t;  // one block: every allocation reuses it
  REQUIRE(t.pool.init());
  memplan::BlockToken tokens[64];
  for (std::uint32_t round = 0; round < 64; ++round) {
    Block b = t.pool.allocate().value();
    tokens[round] = b.token;
    CHECK(b.token.generation.value() == 2u * round + 1u);
    REQUIRE(t.pool.release(b.token));
    CHECK(t.pool.release(b.token).error() == Error::DoubleRelease);
  }
  Block live = t.pool.allocate().value();
  for (const auto& token : tokens) CHECK(t.pool.release(token).error() == Error::StaleHandle);
  CHECK(t.pool.stats().in_use == 1);
  CHECK(t.pool.release(live.token));
}

TEST_CASE("a token from another pool is refused there", "[pool][ownership][security]") {
  Fixture a;
  Fixture b;
  REQUIRE(a.pool.init());
  REQUIRE(b.pool.init());
  Block from_a = a.pool.allocate().value();
  Block from_b = b.pool.allocate().value();  // same index, same generation ...
  REQUIRE(from_a.token.index == from_b.token.index);
  REQUIRE(b.pool.release(from_b.token));
  // ... so the one case a token cannot tell apart is a live block of the same
  // index and generation elsewhere; Buffer carries its pool and never mixes them.
  CHECK(b.pool.release(from_a.token).error() == Error::DoubleRelease);
  memplan_test::PoolFixture<2, 8> small;
  REQUIRE(small.pool.init());
  CHECK(small.pool.release(memplan::BlockToken{kBlocks - 1, {1, 0}}).error() == Error::InvalidHandle);
  REQUIRE(a.pool.release(from_a.token));
}

TEST_CASE("overwritten metadata is detected before a block in use is handed out again",
          "[pool][ownership][security]") {
  Fixture t;
  REQUIRE(t.pool.init());
  Block held = t.pool.allocate().value();
  std::memset(held.data, 0x33, kBlockSize);
  SECTION("the next link names a block in use") {
    t.state.links[1] = static_cast<std::uint16_t>(held.token.index);  // list: 1 -> held
    CHECK(t.pool.allocate().value().token.index == 1);
    CHECK(t.pool.allocate().error() == Error::PoolCorrupted);
  }
  SECTION("a link out of range") {
    t.state.links[1] = 0x7FFF;
    CHECK(t.pool.allocate().value().token.index == 1);
    CHECK(t.pool.allocate().error() == Error::PoolCorrupted);
  }
  // Corruption is sticky: nothing more is handed out, tokens still release.
  CHECK(t.pool.allocate().error() == Error::PoolCorrupted);
  CHECK(t.pool.health_check().error() == Error::PoolCorrupted);
  CHECK(held.data[0] == 0x33);
  CHECK(t.generation(held.token.index) == 1);  // the owner's generation was put back
  CHECK(t.pool.stats().security_violations == 1);
  CHECK(t.pool.release(held.token));
  CHECK(all_zero(held.data, kBlockSize));
}

TEST_CASE("Buffer: the handle is the only way back; its data pointer dies with it", "[pool][ownership][buffer]") {
  memplan_test::Layout<memplan::NoLock> l(memplan_test::kPolicy256);
  REQUIRE(l.init());
  std::uint8_t* stale = nullptr;
  std::uint32_t index = 0;
  {
    auto key = l.pools.allocate(32, memplan::Usage::Key);  // the key pool checks on allocation
    REQUIRE(key);
    stale = key.value().data();
    index = static_cast<std::uint32_t>((stale - l.key_storage) / 32);
    std::memset(stale, 0x99, 32);
  }  // released and wiped here
  CHECK(all_zero(stale, 32));
  stale[31] = 0x01;  // a write through the copy kept past the handle
  memplan::BasicBuffer<memplan::NoLock> next;
  for (std::uint32_t i = 0; i < 16; ++i) {
    auto b = l.pools.allocate(32, memplan::Usage::Key);
    REQUIRE(b);
    if (b.value().data() == stale) {
      next = std::move(b.value());
      break;
    }
  }
  REQUIRE(next.data() == stale);
  CHECK(all_zero(next.data(), 32));
  CHECK(l.key_pool.stats().writes_after_free == 1);
  CHECK(index < 16);
  // A moved-from handle holds no token: resetting it releases nothing.
  memplan::BasicBuffer<memplan::NoLock> moved = std::move(next);
  next.reset();
  CHECK(!moved.empty());
  CHECK(l.key_pool.stats().security_violations == 1);
}
