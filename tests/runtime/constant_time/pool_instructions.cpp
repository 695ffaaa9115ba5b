// Run under callgrind by check_pool_instructions.py: counts the instructions
// of 1000 allocate+release pairs (the wipe and the allocation-time wipe check
// included) with the pool 0%, 50% and 99% full. O(1) means the counts are identical, not merely close.
#include <valgrind/callgrind.h>

#include <cstdint>
#include <memplan/pool.hpp>

namespace {
constexpr std::uint32_t kBlock = 256;
constexpr std::uint32_t kCount = 200;
alignas(32) std::uint8_t storage[kBlock * kCount];
memplan::PoolState<kCount> state;

__attribute__((noinline)) void measured_pairs(memplan::BasicPool<memplan::NoLock>& pool) {
  for (int i = 0; i < 1000; ++i) {
    memplan::Block block = pool.allocate().value();
    block.data[0] = 1;
    static_cast<void>(pool.release(block.token));
  }
}

void at_fullness(std::uint32_t percent, const char* label) {
  memplan::BasicPool<memplan::NoLock> pool{"bench", storage, kBlock, kCount, state.generations, state.links, 0,
                                           memplan::AllocationCheck::Wiped};
  static_cast<void>(pool.init());
  for (std::uint32_t i = 0; i < kCount * percent / 100; ++i) static_cast<void>(pool.allocate());
  // One pair outside the measurement, so every measured pair takes the free-list path.
  static_cast<void>(pool.release(pool.allocate().value().token));
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  measured_pairs(pool);
  CALLGRIND_STOP_INSTRUMENTATION;
  CALLGRIND_DUMP_STATS_AT(label);
}
}  // namespace

int main() {
  at_fullness(0, "full-0");
  at_fullness(50, "full-50");
  at_fullness(99, "full-99");
  return 0;
}
