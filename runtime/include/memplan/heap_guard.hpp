// mbedTLS's allocator is memplan's: every call is counted and fails, so a
// hidden heap use (say, MBEDTLS_CIPHER_C switched back on) is an error at
// run time and a counter a test reads, never a silent malloc.
#pragma once

#include <cstdint>

namespace memplan {

// Calls mbedTLS made to calloc since start (all of them refused).
std::uint32_t mbedtls_calloc_calls() noexcept;

}  // namespace memplan
