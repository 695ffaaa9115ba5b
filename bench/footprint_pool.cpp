// The code a firmware pays for one pool on Cortex-M: BasicPool with the
// interrupt lock, compiled for size by bench/footprint.sh. Explicitly
// instantiated so every member is emitted once, under its own name, in its
// own section (-ffunction-sections), and nm can size each one.
#include <memplan/pool.hpp>

template class memplan::BasicPool<memplan::CortexMInterruptLock>;

// The two hot paths as a firmware calls them, so their cost at a call site
// (Result unpacking included) is visible too.
namespace {
alignas(8) std::uint8_t tiny_storage[32 * 64];
memplan::PoolState<32> tiny_state;
memplan::BasicPool<memplan::CortexMInterruptLock> tiny_pool{"tiny",
                                                            tiny_storage,
                                                            64,
                                                            32,
                                                            tiny_state.generations,
                                                            tiny_state.links,
                                                            memplan::usage_bit(memplan::Usage::Key),
                                                            memplan::AllocationCheck::Wiped};
}  // namespace

extern "C" bool footprint_take_block(memplan::Block* out) {
  memplan::Result<memplan::Block> block = tiny_pool.allocate();
  if (!block) return false;
  *out = block.value();
  return true;
}

extern "C" bool footprint_give_block(memplan::BlockToken token) { return static_cast<bool>(tiny_pool.release(token)); }
