// Session handles never revive. Built twice (tests/runtime/CMakeLists.txt):
// with the product's 32-bit generation, where a slot cycled past the old
// 16-bit wrap still refuses its first handle, and with the generation limit
// narrowed to 5 (MEMPLAN_SESSION_GENERATION_LIMIT), where a slot driven to
// the limit retires instead of wrapping, and every handle it ever gave out
// stays InvalidSession.
#include <catch2/catch_test_macros.hpp>
#include <memory>
#include <vector>

#include "test_support.hpp"

using memplan::Error;
using memplan::SessionState;
using Layout = memplan_test::Layout<memplan::NoLock>;

namespace {

const std::uint8_t kKey[32] = {7};
const std::uint8_t kDevice[4] = {0xDE, 0xC0, 0xDE, 0x02};

struct Table {
  Table() : layout(new Layout(memplan_test::kPolicy256)) {
    REQUIRE(layout->init());
    REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
  }
  memplan::BasicSessionTable<memplan::NoLock>& sessions() { return layout->sessions; }
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock{1000};
  memplan::FixedIdentity identity{kDevice, 4};
  std::unique_ptr<Layout> layout;

  // Every slot but the one just opened, held open.
  std::vector<memplan::SessionHandle> hold_the_others() {
    std::vector<memplan::SessionHandle> held;
    for (std::size_t i = 1; i < Layout::kSessions; ++i) held.push_back(sessions().open_session().value());
    return held;
  }
};

}  // namespace

#if MEMPLAN_SESSION_GENERATION_LIMIT == 0xFFFFFFFFu

TEST_CASE("a slot cycled past 65,536 closes still refuses its first handle", "[session][generation]") {
  Table t;
  const memplan::SessionHandle first = t.sessions().open_session().value();
  const auto held = t.hold_the_others();  // so the one slot comes back every time
  REQUIRE(t.sessions().load_key(first, {kKey, 32}));
  REQUIRE(t.sessions().close(first));
  memplan::SessionHandle latest{};
  for (std::uint32_t cycle = 0; cycle < (1u << 16) + 1; ++cycle) {
    latest = t.sessions().open_session().value();
    REQUIRE(latest.index == first.index);  // the only idle slot
    REQUIRE(t.sessions().close(latest));
  }
  CHECK(latest.generation == (1u << 16) + 1);  // a 16-bit generation would be back at 1, and 0 next
  latest = t.sessions().open_session().value();
  CHECK(t.sessions().state(first).error() == Error::InvalidSession);
  CHECK(t.sessions().close(first).error() == Error::InvalidSession);
  CHECK(t.sessions().state(latest).value() == SessionState::Allocated);
  CHECK(t.sessions().stats().retired_slots == 0);
}

#else

TEST_CASE("a slot whose generation reaches the limit retires and never revives a handle", "[session][generation]") {
  static_assert(memplan::kSessionGenerationLimit == 5, "this test is built with the limit narrowed to 5");
  Table t;
  std::vector<memplan::SessionHandle> given;
  auto first = t.sessions().open_session();
  REQUIRE(first);
  std::vector<memplan::SessionHandle> others = t.hold_the_others();  // the slot at index 0 cycles alone
  REQUIRE(t.sessions().close(first.value()));
  for (std::uint32_t cycle = 1; cycle <= memplan::kSessionGenerationLimit; ++cycle) {
    auto handle = t.sessions().open_session();
    REQUIRE(handle);
    REQUIRE(handle.value().index == 0);
    REQUIRE(handle.value().generation == cycle);
    given.push_back(handle.value());
    REQUIRE(t.sessions().load_key(handle.value(), {kKey, 32}));
    REQUIRE(t.sessions().close(handle.value()));
  }
  CHECK(t.sessions().stats().retired_slots == 1);
  CHECK(t.layout->records[0].state == static_cast<std::uint8_t>(SessionState::Retired));
  for (const auto& stale : given) {
    CHECK(t.sessions().state(stale).error() == Error::InvalidSession);
    CHECK(t.sessions().close(stale).error() == Error::InvalidSession);
    CHECK(t.sessions().load_key(stale, {kKey, 32}).error() == Error::InvalidSession);
  }
  given.push_back(first.value());
  // The retired slot is never idle again: the others, closed, are handed out, then none is left.
  for (const auto& handle : others) REQUIRE(t.sessions().close(handle));
  others.clear();
  for (std::size_t i = 1; i < Layout::kSessions; ++i) {
    auto handle = t.sessions().open_session();
    REQUIRE(handle);
    CHECK(handle.value().index != 0);
    others.push_back(handle.value());
  }
  CHECK(t.sessions().open_session().error() == Error::NoSessionAvailable);
  for (const auto& handle : others) CHECK(t.sessions().close(handle));
  CHECK(t.sessions().stats().open_sessions == 0);
}

#endif
