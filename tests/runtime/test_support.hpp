// A small hand-written layout for runtime tests: three size classes with
// different usages, a workspace and a session table, with NoLock or the
// default lock. Generated layouts are tested in test_generated_layout.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

namespace memplan_test {

inline bool all_zero(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

template <class Lock, class Backend = memplan::AesGcm>
struct Layout {
  static constexpr std::size_t kSessions = 4;
  static constexpr std::size_t kKeySlots = 5;  // one spare for rotation
  static constexpr std::size_t kBuffer = 4096;

  alignas(32) std::uint8_t key_storage[16 * 32] = {};
  alignas(32) std::uint8_t small_storage[8 * 256] = {};
  alignas(32) std::uint8_t large_storage[4 * 4224] = {};  // 4 KiB messages plus tag
  memplan::PoolState<16> key_state = {};
  memplan::PoolState<8> small_state = {};
  memplan::PoolState<4> large_state = {};
  alignas(32) std::uint8_t workspace_storage[5 * kBuffer] = {};
  memplan::SessionRecord records[kSessions] = {};
  memplan::SessionRecord* const record_list[kSessions] = {&records[0], &records[1], &records[2], &records[3]};
  typename Backend::Context key_slots[kKeySlots] = {};

  memplan::BasicPool<Lock> key_pool{
      "key",
      key_storage,
      32,
      16,
      key_state.generations,
      key_state.links,
      static_cast<memplan::UsageMask>(memplan::usage_bit(memplan::Usage::Key) |
                                      memplan::usage_bit(memplan::Usage::Nonce)),
      memplan::AllocationCheck::Wiped};
  memplan::BasicPool<Lock> small_pool{"small",
                                      small_storage,
                                      256,
                                      8,
                                      small_state.generations,
                                      small_state.links,
                                      memplan::usage_bit(memplan::Usage::Message),
                                      memplan::AllocationCheck::None};
  memplan::BasicPool<Lock> large_pool{
      "large",
      large_storage,
      4224,
      4,
      large_state.generations,
      large_state.links,
      static_cast<memplan::UsageMask>(memplan::usage_bit(memplan::Usage::Message) |
                                      memplan::usage_bit(memplan::Usage::Context)),
      memplan::AllocationCheck::Wiped};
  memplan::BasicPool<Lock>* const pool_list[3] = {&key_pool, &small_pool, &large_pool};
  memplan::BasicPools<Lock> pools{pool_list, 3};
  memplan::BasicWorkspace<Lock> workspace{workspace_storage, kBuffer};
  memplan::BasicSessionTable<Lock, Backend> sessions;

  explicit Layout(const memplan::CryptoPolicy& policy)
      : sessions(record_list, kSessions, key_slots, kKeySlots, policy, pools, workspace) {}
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
  ~Layout() {
    for (auto& slot : key_slots) Backend::clear(slot);
  }

  memplan::Status init() {
    const memplan::StorageSpan spans[] = {{key_storage, sizeof key_storage},
                                          {small_storage, sizeof small_storage},
                                          {large_storage, sizeof large_storage},
                                          {workspace_storage, sizeof workspace_storage}};
    return memplan::init_layout(pools, workspace, sessions, spans, 4);
  }
};

// One pool over its own storage and metadata, for the pool tests.
template <std::uint32_t kCount, std::uint32_t kBlock, class Lock = memplan::NoLock>
struct PoolFixture {
  static constexpr std::uint32_t kBlocks = kCount;
  static constexpr std::uint32_t kBlockSize = kBlock;
  alignas(32) std::uint8_t storage[kBlock * kCount] = {};
  memplan::PoolState<kCount> state = {};
  memplan::BasicPool<Lock> pool;

  explicit PoolFixture(memplan::AllocationCheck check = memplan::AllocationCheck::Wiped, const char* name = "test")
      : pool{name,         storage, kBlock, kCount, state.generations, state.links,
             memplan::usage_bit(memplan::Usage::Message), check} {}
  PoolFixture(const PoolFixture&) = delete;
  PoolFixture& operator=(const PoolFixture&) = delete;

  std::uint8_t* block(std::uint32_t index) { return storage + static_cast<std::size_t>(index) * kBlock; }
  std::uint64_t generation(std::uint32_t index) const { return state.generations[index].value(); }
};

inline constexpr memplan::CryptoPolicy kPolicy256{256, 16, 4, 8, 16, 1000, 3600, 3, 0};

}  // namespace memplan_test
