// A wipe the optimizer cannot remove.
//
// A plain memset before the memory is released is a dead store: nothing reads
// the bytes again, so -O2 may drop it. After the memset, an empty asm statement
// that takes the pointer and clobbers "memory" tells the compiler that unknown
// code may read every byte behind it, so the stores must happen. This is the
// technique of glibc's explicit_bzero and mbedTLS's zeroize fallback, without
// a call through a volatile function pointer on every block.
//
// secure_wipe_aligned8() is the same promise for memory the runtime lays out
// itself (pool blocks, workspace buffers): 8-byte aligned, a multiple of 8
// bytes. On Cortex-M it stores two zero registers per `stmia` in an asm loop
// the compiler cannot see into, remove or turn back into a memset call: a
// 64 B block costs 20 instructions where newlib's memset costs 62 to 75
// (bench/README.md, counted under QEMU). Elsewhere it is secure_wipe().
//
// What a wipe cannot cover: copies the compiler made in registers or on the
// stack, caches of a DMA master, and data a caller copied elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memplan {

inline void secure_wipe(void* data, std::size_t size) noexcept {
  if (data == nullptr || size == 0) {
    return;
  }
  std::memset(data, 0, size);
  __asm__ __volatile__("" : : "r"(data) : "memory");
}

// `data` 8-byte aligned, `size` a multiple of 8 (0 does nothing). The caller
// guarantees both (pools and the workspace check them at init()).
inline void secure_wipe_aligned8(void* data, std::size_t size) noexcept {
#if defined(__arm__) && defined(__thumb__)
  if (size == 0) return;
  // Thumb-1 only, so Cortex-M0 runs it too: 16 bytes per loop, after one
  // 8-byte store when size is an odd number of 8-byte words. stmia takes its
  // list in ascending register order, hence the fixed r2/r3; they are the
  // only scratch, so the function needs no stack frame.
  register std::uint32_t zero_low __asm__("r2");
  register std::uint32_t zero_high __asm__("r3");
  auto* cursor = static_cast<std::uint8_t*>(data);
  std::size_t left = size;
  __asm__ __volatile__(
      "  .syntax unified\n"  // GCC hands Thumb-1 inline asm over in divided syntax
      "  lsrs  %[z1], %[left], #4\n"  // bit 3 of size into C: an odd number of 8-byte words
      "  movs  %[z0], #0\n"           // movs leaves C alone
      "  movs  %[z1], #0\n"
      "  bcc   1f\n"
      "  stmia %[cursor]!, {%[z0], %[z1]}\n"
      "  subs  %[left], %[left], #8\n"
      "  beq   2f\n"
      "1:\n"
      "  stmia %[cursor]!, {%[z0], %[z1]}\n"
      "  stmia %[cursor]!, {%[z0], %[z1]}\n"
      "  subs  %[left], %[left], #16\n"
      "  bne   1b\n"
      "2:\n"
      : [cursor] "+l"(cursor), [left] "+l"(left), [z0] "=&l"(zero_low), [z1] "=&l"(zero_high)
      :
      : "cc", "memory");
#else
  secure_wipe(data, size);
#endif
}

}  // namespace memplan
