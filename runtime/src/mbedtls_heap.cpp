#include <cstddef>
#include <cstdint>

#include "memplan/heap_guard.hpp"

namespace {
// A plain counter: it is a diagnostic (tests read it single-threaded); the
// refusal itself does not depend on it.
std::uint32_t calloc_calls = 0;
}  // namespace

extern "C" void* memplan_mbedtls_calloc(std::size_t /*count*/, std::size_t /*size*/) {
  calloc_calls = calloc_calls + 1;
  return nullptr;
}

extern "C" void memplan_mbedtls_free(void* /*pointer*/) {}

namespace memplan {
std::uint32_t mbedtls_calloc_calls() noexcept { return calloc_calls; }
}  // namespace memplan
