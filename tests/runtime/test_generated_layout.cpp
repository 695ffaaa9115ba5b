// The four shipped profiles, generated at build time by memplan_add_layout(),
// used the way a firmware uses them: memplan::<profile>::memory().
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <vector>
#include <large/layout.hpp>
#include <medium/layout.hpp>
#include <memplan/heap_guard.hpp>
#include <memplan/port/memory_ports.hpp>
#include <micro/layout.hpp>
#include <small/layout.hpp>

namespace {

// Every block a pool hands out until it is exhausted: as many as the profile
// says, each inside the pool's own storage, one block size apart, none twice.
template <std::size_t kStorage>
void serves_its_storage(memplan::Pool& pool, const std::uint8_t (&storage)[kStorage], std::uint32_t block_size,
                        std::uint32_t block_count) {
  CAPTURE(pool.name());
  CHECK(pool.block_size() == block_size);
  std::vector<memplan::Block> blocks;
  for (;;) {
    auto block = pool.allocate();
    if (!block) {
      CHECK(block.error() == memplan::Error::PoolExhausted);
      break;
    }
    blocks.push_back(block.value());
  }
  CHECK(blocks.size() == block_count);
  std::vector<std::size_t> offsets;
  for (const auto& block : blocks) {
    REQUIRE(block.data >= storage);
    REQUIRE(block.data + block_size <= storage + kStorage);
    offsets.push_back(static_cast<std::size_t>(block.data - storage));
  }
  std::sort(offsets.begin(), offsets.end());
  for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == i * block_size);
  for (const auto& block : blocks) REQUIRE(pool.release(block.token));
}

}  // namespace

TEST_CASE("memory() initializes once - wiping leftovers", "[layout]") {
  namespace m = memplan::medium;
  std::memset(m::pool_small_storage, 0x3C, sizeof m::pool_small_storage);  // RAM powers up dirty
  auto& mem = m::memory();
  REQUIRE(mem.init());
  for (auto byte : m::pool_small_storage) REQUIRE(byte == 0);
  CHECK(mem.init().error() == memplan::Error::AlreadyInitialized);

  // Each pool serves its own storage with the profile's sizes and counts.
  serves_its_storage(m::pool_tiny, m::pool_tiny_storage, m::config::pool_tiny_block_size, m::config::pool_tiny_block_count);
  serves_its_storage(m::pool_small, m::pool_small_storage, m::config::pool_small_block_size, m::config::pool_small_block_count);
  serves_its_storage(m::pool_medium, m::pool_medium_storage, m::config::pool_medium_block_size,
                     m::config::pool_medium_block_count);
  serves_its_storage(m::pool_large, m::pool_large_storage, m::config::pool_large_block_size, m::config::pool_large_block_count);
  // Key and nonce pools check a free block still reads as wiped (the profile's default).
  CHECK(m::pool_tiny.allocation_check() == memplan::AllocationCheck::Wiped);
  CHECK(m::pool_large.allocation_check() == memplan::AllocationCheck::None);

  auto key = mem.pools.allocate(32, memplan::Usage::Key);
  REQUIRE(key);
  CHECK(std::strcmp(key.value().pool_name(), "tiny") == 0);
  auto msg = mem.pools.allocate(3000, memplan::Usage::Message);
  CHECK(std::strcmp(msg.value().pool_name(), "large") == 0);
  CHECK(mem.pools.allocate(5000, memplan::Usage::Message).error() == memplan::Error::SizeNotSupported);
  memplan::PoolStats stats[4];
  REQUIRE(mem.pools.stats(stats, 4) == 4);
  CHECK(stats[0].in_use == 1);
  CHECK(stats[3].in_use == 1);
  auto lease = mem.workspace.acquire();
  CHECK(lease);
  CHECK(lease.value().input().size == 2048);
}

TEST_CASE("sessions of a generated layout seal and open", "[layout][session]") {
  namespace s = memplan::small;
  auto& mem = s::memory();
  REQUIRE(mem.init());
  memplan::InMemoryNonceStore<s::config::session_count> store;
  memplan::ManualClock clock;
  const std::uint8_t id[4] = {1, 2, 3, 4};
  memplan::FixedIdentity identity(id, 4);
  REQUIRE(mem.sessions.attach({&store, &clock, &identity}));
  auto session = mem.sessions.open_session().value();
  std::uint8_t key[32] = {7};
  REQUIRE(mem.sessions.load_key(session, {key, s::config::key_bits / 8}));  // AES-128-CCM: 16 bytes
  const std::uint8_t text[100] = {42};
  auto sealed = mem.sessions.seal(session, {}, {text, sizeof text});
  REQUIRE(sealed);
  auto opened = mem.sessions.open(session, sealed.value().nonce, {}, sealed.value().data.span());
  REQUIRE(opened);
  CHECK(std::memcmp(opened.value().data(), text, sizeof text) == 0);
  REQUIRE(mem.sessions.close(session));
  CHECK(memplan::mbedtls_calloc_calls() == 0);
}

TEST_CASE("every shipped layout initializes", "[layout]") {
  CHECK(memplan::micro::memory().init());
  CHECK(memplan::large::memory().init());
}
