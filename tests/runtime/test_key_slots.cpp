// Key slots: which slots are taken, and that a key set or cleared leaves
// nothing of the previous one. A backend that records what happens to each
// context stands in for the cipher.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/key_slots.hpp>

namespace {

struct RecordingBackend {
  struct Context {
    std::uint8_t key[32];
    std::size_t size;
    int clears;
  };
  static bool refuse_keys;
  static void init(Context& context) noexcept { context = Context{}; }
  static void clear(Context& context) noexcept {
    std::memset(context.key, 0, sizeof context.key);
    context.size = 0;
    ++context.clears;
  }
  static bool set_key(Context& context, memplan::ConstByteSpan key) noexcept {
    if (refuse_keys) {
      context.key[0] = 0xEE;  // a backend that fails half-way: the slot must not keep this
      return false;
    }
    std::memcpy(context.key, key.data, key.size);
    context.size = key.size;
    return true;
  }
};
bool RecordingBackend::refuse_keys = false;

using Slots = memplan::KeySlots<RecordingBackend>;

}  // namespace

TEST_CASE("slots are taken lowest first and given back", "[key_slots]") {
  RecordingBackend::Context contexts[40];
  Slots slots(contexts, 40);
  REQUIRE(slots.valid());
  slots.init();
  for (std::size_t i = 0; i < 40; ++i) CHECK(slots.take() == i);  // across the 32-bit word boundary
  CHECK(slots.take() == memplan::kNoKeySlot);
  slots.give_back(33);
  slots.give_back(5);
  CHECK(slots.taken(6));
  CHECK(!slots.taken(5));
  CHECK(slots.take() == 5);
  CHECK(slots.take() == 33);
  CHECK(slots.take() == memplan::kNoKeySlot);
}

TEST_CASE("every count hands out exactly its slots, never one past the last", "[key_slots]") {
  static RecordingBackend::Context contexts[memplan::kMaxKeySlots];
  for (const std::size_t count : {std::size_t{1}, std::size_t{31}, std::size_t{32}, std::size_t{33}, std::size_t{64},
                                  std::size_t{65}, memplan::kMaxKeySlots}) {
    CAPTURE(count);
    Slots slots(contexts, count);
    REQUIRE(slots.valid());
    slots.init();
    for (std::size_t i = 0; i < count; ++i) REQUIRE(slots.take() == i);
    CHECK(slots.take() == memplan::kNoKeySlot);
    slots.give_back(count - 1);  // the last slot, next to the bits that stand for no slot
    CHECK(slots.take() == count - 1);
    CHECK(slots.take() == memplan::kNoKeySlot);
  }
}

TEST_CASE("a table of slots must exist and fit a byte index", "[key_slots]") {
  RecordingBackend::Context contexts[1];
  CHECK(!Slots(nullptr, 4).valid());
  CHECK(!Slots(contexts, 0).valid());
  CHECK(!Slots(contexts, memplan::kMaxKeySlots + 1).valid());
  CHECK(Slots(contexts, memplan::kMaxKeySlots).valid());
}

TEST_CASE("setting a key clears the slot first; a failed key leaves it cleared", "[key_slots]") {
  RecordingBackend::Context contexts[2];
  Slots slots(contexts, 2);
  slots.init();
  const std::uint8_t key_a[16] = {0xA1, 0xA2};
  const std::uint8_t key_b[32] = {0xB1};
  const std::size_t slot = slots.take();
  REQUIRE(slots.set_key(slot, {key_a, sizeof key_a}));
  CHECK(contexts[slot].size == 16);
  CHECK(contexts[slot].key[1] == 0xA2);
  REQUIRE(slots.set_key(slot, {key_b, sizeof key_b}));
  CHECK(contexts[slot].key[1] == 0);  // nothing of key A
  RecordingBackend::refuse_keys = true;
  CHECK(!slots.set_key(slot, {key_a, sizeof key_a}));
  RecordingBackend::refuse_keys = false;
  CHECK(contexts[slot].key[0] == 0);  // the half-set key is gone too
  CHECK(contexts[slot].size == 0);
  const int clears = contexts[slot].clears;
  slots.clear(slot);
  CHECK(contexts[slot].clears == clears + 1);
  CHECK(slots.taken(slot));  // clearing is not giving back: the holder does that
}
