// The nonces of one session slot: the device's fixed field, then the slot's
// counter, big-endian (SP 800-38D 8.2.1 deterministic construction; the same
// shape for AES-CCM's 7 to 13 bytes and ChaCha20-Poly1305's 12). The
// counter only grows, across keys and power loss: a value is used only below
// a mark persisted through the NonceStore `reserve` values ahead, and a key
// load resumes from the persisted mark. No cipher here: the rules, testable
// alone (tests/runtime/test_nonce_sequence.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memplan/limits.hpp"


namespace memplan {

// A slot's counter state, kept in its SessionRecord.
struct NonceCounter {
  std::uint64_t next;            // the counter of the next seal
  std::uint64_t reserved_until;  // counters below this are persisted as reserved
};

// A counter taken for one seal. When `persist_mark` is not 0 the mark must
// be persisted before `counter` is used (fail closed when it cannot be).
struct NonceClaim {
  std::uint64_t counter;
  std::uint64_t persist_mark;
};

template <std::size_t kSize>
class BasicNonceSequence {
  static_assert(kSize >= kMinNonceCounterSize && kSize <= kMaxNonceSize, "a nonce of 4 to 13 bytes");

 public:
  static constexpr std::size_t kNonceBytes = kSize;

  constexpr BasicNonceSequence(std::uint8_t fixed_size, std::uint8_t counter_size, std::uint32_t reserve) noexcept
      : fixed_size_(fixed_size),
        counter_size_(counter_size),
        reserve_(reserve),
        limit_(counter_size >= 8 ? ~std::uint64_t{0}
                                 : (std::uint64_t{1} << (8u * (counter_size < 8 ? counter_size : 0u))) - 1) {}

  // A nonce of fixed field + counter, a counter of 4 to 8 bytes (at least
  // 2^32 messages per key), at least one value reserved at a time.
  constexpr bool valid() const noexcept {
    return fixed_size_ + counter_size_ == kSize && counter_size_ >= kMinNonceCounterSize &&
           counter_size_ <= kMaxNonceCounterSize && reserve_ >= 1;
  }

  // The first counter value never used: reaching it means the counter space
  // is spent (NonceExhausted), so the last value is never used either.
  constexpr std::uint64_t limit() const noexcept { return limit_; }

  // By the one call that holds the session (busy): spends the next counter
  // into `claimed`, or returns false when the counter space is spent
  // (NonceExhausted). A counter at or past the persisted mark comes with the
  // mark to persist first.
  bool claim(NonceCounter& state, NonceClaim& claimed) const noexcept {
    const std::uint64_t next = state.next;
    // Common case: inside the reservation. A reservation above `next` was
    // persisted by this sequence, so it is at most limit(): no limit test.
    if (next < state.reserved_until) {
      claimed = NonceClaim{next, 0};
      state.next = next + 1;
      return true;
    }
    if (next >= limit()) return false;
    const std::uint64_t room = limit() - next;
    claimed = NonceClaim{next, next + (reserve_ < room ? reserve_ : room)};
    state.next = next + 1;
    return true;
  }

  // Once the claim's mark is persisted.
  static void persisted(NonceCounter& state, const NonceClaim& claimed) noexcept {
    if (claimed.persist_mark > state.reserved_until) state.reserved_until = claimed.persist_mark;
  }

  // On a key load: resume from the persisted mark, reserving nothing yet.
  static void resume(NonceCounter& state, std::uint64_t persisted_mark) noexcept {
    state.next = persisted_mark;
    state.reserved_until = persisted_mark;
  }

  // Outside the lock: the nonce of `counter`. The common shape (4-byte
  // fixed field, 8-byte counter) is two byte reversals and three word
  // copies; other shapes take a byte at a time.
  void format(const std::uint8_t* fixed_field, std::uint64_t counter, std::uint8_t (&nonce)[kSize]) const noexcept {
    if constexpr (kSize == 12) {
      if (counter_size_ == 8) {
        std::memcpy(nonce, fixed_field, 4);
        const std::uint32_t high = __builtin_bswap32(static_cast<std::uint32_t>(counter >> 32));
        const std::uint32_t low = __builtin_bswap32(static_cast<std::uint32_t>(counter));
        std::memcpy(nonce + 4, &high, 4);
        std::memcpy(nonce + 8, &low, 4);
        return;
      }
    }
    std::memcpy(nonce, fixed_field, fixed_size_);
    for (std::size_t i = kSize; i > fixed_size_; --i) {
      nonce[i - 1] = static_cast<std::uint8_t>(counter & 0xFFu);
      counter >>= 8;
    }
  }

  // The counter a nonce of this shape carries (its last counter_size bytes, big-endian).
  std::uint64_t counter_of(const std::uint8_t (&nonce)[kSize]) const noexcept {
    std::uint64_t counter = 0;
    for (std::size_t i = fixed_size_; i < kSize; ++i) counter = (counter << 8) | nonce[i];
    return counter;
  }

  std::uint8_t fixed_size() const noexcept { return fixed_size_; }
  std::uint8_t counter_size() const noexcept { return counter_size_; }
  std::uint32_t reserve() const noexcept { return reserve_; }

 private:
  std::uint8_t fixed_size_;
  std::uint8_t counter_size_;
  std::uint32_t reserve_;
  std::uint64_t limit_;  // computed once: no 64-bit shift per seal
};

using NonceSequence = BasicNonceSequence<kNonceSize>;  // AES-GCM and ChaCha20-Poly1305

}  // namespace memplan
