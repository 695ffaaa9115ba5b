// Built twice, at -O2 and at -O3 (see CMakeLists.txt): the wipe on release
// must survive the optimizer. The secrets are written and the block released
// in a function the optimizer sees whole; the storage is then read back.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/buffer.hpp>
#include <memplan/pool.hpp>

namespace {
alignas(32) std::uint8_t storage[4 * 128];
memplan::PoolState<4> state;
memplan::BasicPool<memplan::NoLock> pool{"wipe", storage, 128, 4, state.generations, state.links, 0,
                                         memplan::AllocationCheck::Wiped};

// The secret's last use is the release: a plain memset here would be a dead store.
__attribute__((noinline)) void use_secret_then_release() {
  memplan::Block block = pool.allocate().value();
  for (std::size_t i = 0; i < 128; ++i) block.data[i] = static_cast<std::uint8_t>(0xA5 ^ i);
  static_cast<void>(pool.release(block.token));
}

__attribute__((noinline)) void use_secret_in_buffer() {
  memplan::BasicBuffer<memplan::NoLock> buffer(pool, pool.allocate().value(), 128);
  std::memset(buffer.data(), 0x5C, buffer.capacity());
}

bool all_zero(const std::uint8_t* block) {
  for (std::size_t i = 0; i < 128; ++i) {
    if (block[i] != 0) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("released blocks read as zero after optimized code used them", "[wipe]") {
  REQUIRE(pool.init());
  use_secret_then_release();
  use_secret_in_buffer();
  for (std::size_t b = 0; b < 4; ++b) CHECK(all_zero(storage + b * 128));
  CHECK(pool.health_check());  // which also reads every free block
  CHECK(pool.stats().writes_after_free == 0);
}
