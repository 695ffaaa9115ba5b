// The four shipped profiles, generated at build time by memplan_add_layout(),
// used the way a firmware uses them: memplan::<profile>::memory().
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <large/layout.hpp>
#include <medium/layout.hpp>
#include <memplan/heap_guard.hpp>
#include <memplan/port/memory_ports.hpp>
#include <micro/layout.hpp>
#include <small/layout.hpp>

namespace {
bool aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}
}  // namespace

TEST_CASE("the medium layout holds exactly the seed design's pools", "[layout]") {
  namespace m = memplan::medium;
  CHECK(sizeof m::pool_tiny_storage == std::size_t{32} * 64);
  CHECK(sizeof m::pool_small_storage == std::size_t{16} * 256);
  CHECK(sizeof m::pool_medium_storage == std::size_t{8} * 1024);
  CHECK(sizeof m::pool_large_storage == std::size_t{4} * 4096);
  CHECK(sizeof m::workspace_storage == std::size_t{5} * 2048);
  CHECK(sizeof m::key_slots / sizeof m::key_slots[0] == 8);
  CHECK(sizeof m::session_slots / sizeof m::session_slots[0] == 8);
  CHECK(aligned(m::pool_tiny_storage, 32));
  CHECK(sizeof m::pool_tiny_state == std::size_t{32} * 10);  // a 64-bit generation and a 16-bit link per block
  CHECK(m::pool_tiny.allocation_check() == memplan::AllocationCheck::Wiped);  // key and nonce: on by default
  CHECK(m::pool_large.allocation_check() == memplan::AllocationCheck::None);
  CHECK(aligned(m::workspace_storage, 32));
  CHECK(aligned(&m::session_slots[1], 32));
  CHECK(m::config::sram_budget == std::size_t{48} * 1024);
}

TEST_CASE("memory() initializes once - wiping leftovers", "[layout]") {
  namespace m = memplan::medium;
  std::memset(m::pool_small_storage, 0x3C, sizeof m::pool_small_storage);  // RAM powers up dirty
  auto& mem = m::memory();
  REQUIRE(mem.init());
  for (auto byte : m::pool_small_storage) REQUIRE(byte == 0);
  CHECK(mem.init().error() == memplan::Error::AlreadyInitialized);

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
  REQUIRE(mem.sessions.load_key(session, {key, sizeof key}));
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
  CHECK(memplan::micro::config::key_bits == 128);
  CHECK(memplan::large::config::pool_count == 5);
}
