// The layout's key slots: one AEAD context per slot (an expanded key), and
// which slots are taken. Taking and giving back a slot is bookkeeping (a bit,
// done under the session table's lock); setting a key and clearing a slot is
// cipher work and a wipe, done outside it by whoever holds the slot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/limits.hpp"
#include "memplan/span.hpp"

namespace memplan {

inline constexpr std::size_t kNoKeySlot = kMaxKeySlots;  // SessionRecord::key_slot is a byte

template <class Backend>
class KeySlots {
 public:
  using Context = typename Backend::Context;

  constexpr KeySlots(Context* contexts, std::size_t count) noexcept
      : contexts_(contexts), count_(count), words_(count <= kMaxKeySlots ? (count + 31) / 32 : 0) {}

  bool valid() const noexcept { return contexts_ != nullptr && count_ != 0 && count_ <= kMaxKeySlots; }

  // Once, before use: every context empty, every slot free. The bits past
  // the last slot read as taken, so take() needs no bound test per bit.
  void init() noexcept {
    for (std::size_t i = 0; i < count_; ++i) Backend::init(contexts_[i]);
    for (std::size_t word = 0; word < kWords; ++word) {
      const std::size_t first = word * 32;
      used_[word] = first >= count_ ? ~0u : count_ - first >= 32 ? 0u : ~0u << (count_ - first);
    }
  }

  // Bookkeeping (under the table's lock): the first free slot, now taken, or
  // kNoKeySlot when every slot is taken. One word per 32 slots is looked at;
  // the lowest free bit is found with a multiply and a 32-byte table, since
  // Cortex-M0 has no count-trailing-zeros instruction (__builtin_ctz would
  // call libgcc with interrupts masked).
  std::size_t take() noexcept {
    for (std::size_t word = 0; word < words_; ++word) {
      const std::uint32_t free_bits = ~used_[word];
      if (free_bits == 0) continue;
      const std::uint32_t lowest = free_bits & (0u - free_bits);
      used_[word] |= lowest;
      return word * 32 + kLowestBit[(lowest * 0x077CB531u) >> 27];
    }
    return kNoKeySlot;
  }
  void give_back(std::size_t slot) noexcept { used_[slot / 32] &= ~bit(slot); }
  // A slot's bit, located ahead of a critical section that gives it back
  // (kNoKeySlot: an empty mask, so giving it back changes nothing and the
  // critical section needs no branch).
  struct SlotBit {
    std::uint32_t* word;
    std::uint32_t mask;
  };
  SlotBit locate(std::size_t slot) noexcept {
    if (slot >= count_) return SlotBit{&used_[0], 0};
    return SlotBit{&used_[slot / 32], bit(slot)};
  }
  static void give_back(SlotBit slot) noexcept { *slot.word &= ~slot.mask; }
  bool taken(std::size_t slot) const noexcept { return (used_[slot / 32] & bit(slot)) != 0; }

  // Cipher work (outside the lock, by the holder of the slot).
  bool set_key(std::size_t slot, ConstByteSpan key) noexcept {
    Backend::clear(contexts_[slot]);
    if (Backend::set_key(contexts_[slot], key)) return true;
    Backend::clear(contexts_[slot]);
    return false;
  }
  void clear(std::size_t slot) noexcept { Backend::clear(contexts_[slot]); }

  Context& context(std::size_t slot) noexcept { return contexts_[slot]; }
  std::size_t count() const noexcept { return count_; }

 private:
  static constexpr std::uint32_t bit(std::size_t slot) noexcept { return 1u << (slot % 32); }
  // De Bruijn sequence 0x077CB531: (2^n * it) >> 27 differs for every n.
  static constexpr std::uint8_t kLowestBit[32] = {0,  1,  28, 2,  29, 14, 24, 3,  30, 22, 20, 15, 25, 17, 4,  8,
                                                  31, 27, 13, 23, 21, 19, 16, 7,  26, 12, 18, 6,  11, 5,  10, 9};

  static constexpr std::size_t kWords = (kMaxKeySlots + 31) / 32;
  Context* contexts_;
  std::size_t count_;
  std::size_t words_;  // words of used_ that hold slots
  std::uint32_t used_[kWords] = {};
};

}  // namespace memplan
