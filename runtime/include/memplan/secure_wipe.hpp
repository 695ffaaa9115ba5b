// A wipe the optimizer cannot remove.
//
// A plain memset before the memory is released is a dead store: nothing reads
// the bytes again, so -O2 may drop it. After the memset, an empty asm statement
// that takes the pointer and clobbers "memory" tells the compiler that unknown
// code may read every byte behind it, so the stores must happen. This is the
// technique of glibc's explicit_bzero and mbedTLS's zeroize fallback, without
// a call through a volatile function pointer on every block.
//
// What a wipe cannot cover: copies the compiler made in registers or on the
// stack, caches of a DMA master, and data a caller copied elsewhere.
#pragma once

#include <cstddef>
#include <cstring>

namespace memplan {

inline void secure_wipe(void* data, std::size_t size) noexcept {
  if (data == nullptr || size == 0) {
    return;
  }
  std::memset(data, 0, size);
  __asm__ __volatile__("" : : "r"(data) : "memory");
}

}  // namespace memplan
