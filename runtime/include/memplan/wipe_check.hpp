// Does a free block still read as wiped? The allocation-time check of
// write-after-free detection (pool.hpp): a release wipes every block, so a
// non-zero byte in a free block was written through a stale pointer.
//
// Memory the runtime lays out itself: 8-byte aligned, a multiple of 8 bytes
// (pools check both at init()). It reads every word, without an early exit,
// so its time does not depend on where a stale write landed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memplan {

inline bool reads_as_wiped_aligned8(const void* data, std::size_t size) noexcept {
#if defined(__arm__) && defined(__thumb__)
  if (size == 0) return true;
  // Thumb-1 only, as secure_wipe_aligned8: 16 bytes per loop, after one
  // 8-byte load when size is an odd number of 8-byte words. ldmia takes its
  // list in ascending register order, hence the fixed r2/r3.
  register std::uint32_t word_low __asm__("r2");
  register std::uint32_t word_high __asm__("r3");
  const auto* cursor = static_cast<const std::uint8_t*>(data);
  std::size_t left = size;
  std::uint32_t seen = 0;
  __asm__ __volatile__(
      "  .syntax unified\n"
      "  lsls  %[w0], %[left], #28\n"  // bit 3 of size into N: an odd number of 8-byte words
      "  bpl   1f\n"
      "  ldmia %[cursor]!, {%[w0], %[w1]}\n"
      "  orrs  %[seen], %[w0]\n"
      "  orrs  %[seen], %[w1]\n"
      "  subs  %[left], %[left], #8\n"
      "  beq   2f\n"
      "1:\n"
      "  ldmia %[cursor]!, {%[w0], %[w1]}\n"
      "  orrs  %[seen], %[w0]\n"
      "  orrs  %[seen], %[w1]\n"
      "  ldmia %[cursor]!, {%[w0], %[w1]}\n"
      "  orrs  %[seen], %[w0]\n"
      "  orrs  %[seen], %[w1]\n"
      "  subs  %[left], %[left], #16\n"
      "  bne   1b\n"
      "2:\n"
      : [cursor] "+l"(cursor), [left] "+l"(left), [seen] "+l"(seen), [w0] "=&l"(word_low),
        [w1] "=&l"(word_high)
      :
      : "cc", "memory");
  return seen == 0;
#else
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  std::uint64_t seen = 0;
  for (std::size_t offset = 0; offset < size; offset += sizeof seen) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + offset, sizeof word);
    seen |= word;
  }
  return seen == 0;
#endif
}

}  // namespace memplan
