// mbedTLS's allocator is memplan's (cmake/mbedtls/memplan_mbedtls_heap.c):
// every call is counted and fails, so a hidden heap use (say,
// MBEDTLS_CIPHER_C switched back on) is an error, never a silent malloc.
#pragma once

#include <cstdint>

extern "C" std::uint32_t memplan_mbedtls_calloc_calls(void);

namespace memplan {

// Calls mbedTLS made to calloc since start (all of them refused).
inline std::uint32_t mbedtls_calloc_calls() noexcept {
  return memplan_mbedtls_calloc_calls();
}

}  // namespace memplan
