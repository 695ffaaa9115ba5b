// The runtime's limits (memplan/limits.hpp, rendered from the generator's
// limits.py) against what init() accepts: a generated layout at every limit
// initializes and works to its last block, session and key slot, and one
// step past each limit is refused at init(). With the generator test that
// refuses one step past each limit in a profile (tests/generator/
// test_limits.py), no profile the generator accepts fails at init().
#include <at_the_limits/layout.hpp>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <deque>
#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>
#include <vector>

namespace limits = memplan::at_the_limits;

TEST_CASE("the profile at every limit is at the runtime's limits", "[limits]") {
  // If the profile or the runtime moves, this names the limit that moved.
  CHECK(limits::config::pool_count == memplan::kMaxPools);
  CHECK(limits::config::pool_most_block_count == memplan::kMaxPoolBlocks);
  CHECK(limits::config::pool_biggest_block_size == memplan::kMaxBlockSize);
  CHECK(limits::config::session_count == memplan::kMaxSessions);
  CHECK(limits::config::key_slot_count == memplan::kMaxKeySlots);
  CHECK(limits::config::workspace_buffer_size == memplan::kMaxWorkspaceBuffer);
  CHECK(limits::config::tag_size == memplan::kMaxGcmTagSize);
  CHECK(limits::crypto_policy.nonce_counter_size == memplan::kMaxNonceCounterSize);
  CHECK(limits::crypto_policy.max_security_violations == memplan::kMaxSecurityViolations);
  CHECK(limits::crypto_policy.replay_window == memplan::kMaxReplayWindow);
}

TEST_CASE("a layout at every limit initializes and serves its last block, session and key slot", "[limits]") {
  auto& memory = limits::memory();
  REQUIRE(memory.init());

  std::vector<memplan::BlockToken> tokens;
  tokens.reserve(memplan::kMaxPoolBlocks);
  for (std::uint32_t i = 0; i < memplan::kMaxPoolBlocks; ++i) {
    auto block = limits::pool_most.allocate();
    REQUIRE(block);
    tokens.push_back(block.value().token);
  }
  CHECK(limits::pool_most.allocate().error() == memplan::Error::PoolExhausted);
  for (const auto& token : tokens) REQUIRE(limits::pool_most.release(token));
  auto biggest = memory.pools.allocate(memplan::kMaxBlockSize, memplan::Usage::Message);
  REQUIRE(biggest);
  CHECK(biggest.value().capacity() == memplan::kMaxBlockSize);

  memplan::InMemoryNonceStore<limits::config::session_count> store;
  memplan::ManualClock clock;
  const std::uint8_t id[4] = {1, 2, 3, 4};
  memplan::FixedIdentity identity(id, 4);
  REQUIRE(memory.sessions.attach({&store, &clock, &identity}));
  std::vector<memplan::SessionHandle> sessions;
  for (std::size_t i = 0; i < memplan::kMaxSessions; ++i) {
    auto session = memory.sessions.open_session();
    REQUIRE(session);
    sessions.push_back(session.value());
  }
  CHECK(memory.sessions.open_session().error() == memplan::Error::NoSessionAvailable);
  const std::uint8_t key[32] = {9};
  for (std::size_t i = 0; i < memplan::kMaxKeySlots; ++i) REQUIRE(memory.sessions.load_key(sessions[i], {key, sizeof key}));
  CHECK(memory.sessions.load_key(sessions[memplan::kMaxKeySlots], {key, sizeof key}).error() ==
        memplan::Error::NoKeySlotAvailable);
  const std::uint8_t text[16] = {1};
  std::uint8_t sealed[16 + memplan::kMaxGcmTagSize] = {};
  std::uint8_t nonce[memplan::kNonceSize] = {};
  const auto last = sessions[memplan::kMaxKeySlots - 1];
  CHECK(memory.sessions.seal(last, {}, {text, sizeof text}, {sealed, sizeof sealed}, nonce).value() == sizeof sealed);
  for (const auto& session : sessions) REQUIRE(memory.sessions.close(session));
}

namespace {

// One step past each limit, on hand-built objects (a generated layout
// cannot be: the generator refuses the profile).
alignas(8) std::uint8_t storage[(std::size_t{memplan::kMaxPoolBlocks} + 1) * 8];
memplan::BlockGeneration generations[std::size_t{memplan::kMaxPoolBlocks} + 1];
std::uint16_t links[std::size_t{memplan::kMaxPoolBlocks} + 1];

memplan::Status pool_init(std::uint32_t block_size, std::uint32_t count) {
  memplan::BasicPool<memplan::NoLock> pool{"limit", storage, block_size, count, generations, links,
                                           memplan::usage_bit(memplan::Usage::Message), memplan::AllocationCheck::None};
  return pool.init();
}

}  // namespace

TEST_CASE("one block past a pool's limits is refused at init()", "[limits]") {
  CHECK(pool_init(8, memplan::kMaxPoolBlocks));
  CHECK(pool_init(8, memplan::kMaxPoolBlocks + 1).error() == memplan::Error::InvalidArgument);
  CHECK(pool_init(memplan::kBlockSizeMultiple, 1));
  CHECK(pool_init(memplan::kBlockSizeMultiple + 4, 1).error() == memplan::Error::InvalidArgument);
  CHECK(pool_init(0, 1).error() == memplan::Error::InvalidArgument);
  CHECK(pool_init(memplan::kMaxBlockSize + memplan::kBlockSizeMultiple, 1).error() == memplan::Error::InvalidArgument);
}

TEST_CASE("one pool past the limit is refused at init()", "[limits]") {
  alignas(8) static std::uint8_t blocks[memplan::kMaxPools + 1][8];
  static memplan::PoolState<1> states[memplan::kMaxPools + 1];
  std::deque<memplan::BasicPool<memplan::NoLock>> pools;  // pools do not move: a deque builds them in place
  std::vector<memplan::BasicPool<memplan::NoLock>*> list;
  for (std::size_t i = 0; i <= memplan::kMaxPools; ++i) {
    pools.emplace_back("p", blocks[i], 8, 1, states[i].generations, states[i].links,
                       memplan::usage_bit(memplan::Usage::Message), memplan::AllocationCheck::None);
  }
  for (auto& pool : pools) list.push_back(&pool);
  memplan::BasicPools<memplan::NoLock> over{list.data(), memplan::kMaxPools + 1};
  CHECK(over.init().error() == memplan::Error::InvalidArgument);
  memplan::BasicPools<memplan::NoLock> at{list.data(), memplan::kMaxPools};
  CHECK(at.init());
}

TEST_CASE("a workspace buffer past its limits is refused at init()", "[limits]") {
  alignas(8) static std::uint8_t buffers[5 * (memplan::kMaxWorkspaceBuffer + memplan::kWorkspaceBufferMultiple)];
  CHECK(memplan::BasicWorkspace<memplan::NoLock>{buffers, memplan::kMaxWorkspaceBuffer}.init());
  CHECK(memplan::BasicWorkspace<memplan::NoLock>{buffers, memplan::kMaxWorkspaceBuffer + memplan::kWorkspaceBufferMultiple}
            .init()
            .error() == memplan::Error::InvalidArgument);
  CHECK(memplan::BasicWorkspace<memplan::NoLock>{buffers, memplan::kWorkspaceBufferMultiple}.init());
  CHECK(memplan::BasicWorkspace<memplan::NoLock>{buffers, memplan::kWorkspaceBufferMultiple + 8}.init().error() ==
        memplan::Error::InvalidArgument);
}

namespace {

memplan::SessionRecord records[memplan::kMaxSessions + 1];
memplan::SessionRecord* record_list[memplan::kMaxSessions + 1];

// A table of `sessions` records and `key_slots` slots of Backend over one policy, initialized.
template <class Backend = memplan::AesGcm>
memplan::Status table_init(std::size_t sessions, std::size_t key_slots, const memplan::CryptoPolicy& policy) {
  static typename Backend::Context contexts[memplan::kMaxKeySlots + 1];
  for (std::size_t i = 0; i <= memplan::kMaxSessions; ++i) record_list[i] = &records[i];
  memplan::BasicSessionTable<memplan::DefaultLock, Backend> table{record_list, sessions, contexts, key_slots, policy,
                                                                  limits::pools, limits::workspace};
  return table.init();
}

}  // namespace

TEST_CASE("one session, key slot or nonce byte past the limits is refused at init()", "[limits]") {
  const memplan::CryptoPolicy policy = limits::crypto_policy;
  CHECK(table_init(memplan::kMaxSessions, memplan::kMaxKeySlots, policy));
  CHECK(table_init(memplan::kMaxSessions + 1, 1, policy).error() == memplan::Error::InvalidArgument);
  CHECK(table_init(1, memplan::kMaxKeySlots + 1, policy).error() == memplan::Error::InvalidArgument);

  memplan::CryptoPolicy changed = policy;
  changed.tag_size = static_cast<std::uint8_t>(memplan::kMaxGcmTagSize + 1);
  CHECK(table_init(1, 1, changed).error() == memplan::Error::InvalidArgument);
  changed.tag_size = static_cast<std::uint8_t>(memplan::kMinGcmTagSize);
  CHECK(table_init(1, 1, changed));
  changed.tag_size = static_cast<std::uint8_t>(memplan::kMinGcmTagSize - 1);
  CHECK(table_init(1, 1, changed).error() == memplan::Error::InvalidArgument);

  changed = policy;  // fixed field + counter = kNonceSize, the counter within its bounds
  changed.nonce_counter_size = static_cast<std::uint8_t>(memplan::kMinNonceCounterSize);
  changed.nonce_fixed_size = static_cast<std::uint8_t>(memplan::kNonceSize - memplan::kMinNonceCounterSize);
  changed.max_messages = 1000;
  CHECK(table_init(1, 1, changed));
  changed.nonce_counter_size = static_cast<std::uint8_t>(memplan::kMinNonceCounterSize - 1);
  changed.nonce_fixed_size = static_cast<std::uint8_t>(memplan::kNonceSize - memplan::kMinNonceCounterSize + 1);
  CHECK(table_init(1, 1, changed).error() == memplan::Error::InvalidArgument);
  changed.nonce_counter_size = static_cast<std::uint8_t>(memplan::kMaxNonceCounterSize + 1);
  changed.nonce_fixed_size = static_cast<std::uint8_t>(memplan::kNonceSize - memplan::kMaxNonceCounterSize - 1);
  CHECK(table_init(1, 1, changed).error() == memplan::Error::InvalidArgument);
}

namespace {

template <class Backend>
memplan::Status aead_table_init(std::uint8_t tag_size, std::uint8_t fixed_size, std::uint8_t counter_size, std::uint16_t key_bits) {
  memplan::CryptoPolicy policy = limits::crypto_policy;
  policy.key_bits = key_bits;
  policy.tag_size = tag_size;
  policy.nonce_fixed_size = fixed_size;
  policy.nonce_counter_size = counter_size;
  policy.max_messages = 1000;
  policy.nonce_reserve = 16;
  return table_init<Backend>(1, 1, policy);
}

}  // namespace

TEST_CASE("each AEAD's tag and nonce limits are refused one step past them at init()", "[limits]") {
  using Ccm7 = memplan::AesCcm<memplan::kMinCcmNonceSize>;
  using Ccm13 = memplan::AesCcm<memplan::kMaxNonceSize>;
  CHECK(aead_table_init<Ccm7>(memplan::kMinCcmTagSize, 0, 7, 128));
  CHECK(aead_table_init<Ccm13>(memplan::kMaxTagSize, 5, 8, 256));
  CHECK(aead_table_init<Ccm7>(memplan::kMinCcmTagSize - 2, 0, 7, 128).error() == memplan::Error::InvalidArgument);
  CHECK(aead_table_init<Ccm13>(memplan::kMaxTagSize + 2, 5, 8, 256).error() == memplan::Error::InvalidArgument);
  CHECK(aead_table_init<Ccm13>(memplan::kMinCcmTagSize + 1, 5, 8, 256).error() == memplan::Error::InvalidArgument);  // odd
  CHECK(aead_table_init<Ccm13>(8, 4, 8, 256).error() == memplan::Error::InvalidArgument);   // a 12-byte nonce for CCM<13>
  CHECK(aead_table_init<Ccm13>(8, 5, 8, 192).error() == memplan::Error::InvalidArgument);   // AES-192-CCM is no choice
  CHECK(aead_table_init<memplan::ChaCha20Poly1305>(memplan::kChaChaPolyTagSize, 4, 8, 256));
  CHECK(aead_table_init<memplan::ChaCha20Poly1305>(memplan::kChaChaPolyTagSize - 4, 4, 8, 256).error() ==
        memplan::Error::InvalidArgument);
  CHECK(aead_table_init<memplan::ChaCha20Poly1305>(memplan::kChaChaPolyTagSize, 4, 8, 128).error() ==
        memplan::Error::InvalidArgument);
}
