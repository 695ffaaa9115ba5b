// Everything a generated layout.hpp and a firmware need from the runtime.
#pragma once

// The layout contract this runtime implements: what a generated layout.hpp
// declares and constructs (storage types and sections, pool block states,
// constructor arguments; docs/layout-abi.md). A generated header names the
// contract it was generated for and refuses to compile against another one.
// Bump it with the generator's LAYOUT_CONTRACT whenever either side changes.
#define MEMPLAN_LAYOUT_CONTRACT 3

#include <cstddef>

#include "memplan/aead_ccm.hpp"
#include "memplan/aead_chachapoly.hpp"
#include "memplan/aead_gcm.hpp"
#include "memplan/buffer.hpp"
#include "memplan/error.hpp"
#include "memplan/pool.hpp"
#include "memplan/pool_state.hpp"
#include "memplan/pools.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/port/ports.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"
#include "memplan/session_table.hpp"
#include "memplan/span.hpp"
#include "memplan/workspace.hpp"

namespace memplan {

namespace detail {
struct Placement {
  std::size_t size;
  std::size_t align;
};

// The bytes a region needs for objects placed in this order, each at its
// alignment, from an aligned start: the generated header's static_assert
// recomputes the generator's plan with the compiler's own sizeof/alignof.
template <std::size_t N>
constexpr std::size_t placed_size(const Placement (&objects)[N]) noexcept {
  std::size_t offset = 0;
  for (const Placement& object : objects) {
    offset = (offset + object.align - 1) / object.align * object.align + object.size;
  }
  return offset;
}
}  // namespace detail

// Wipes every byte of a layout's storage, prepares the AEAD backend (AES
// tables kept in RAM are filled here), then initializes its pools, workspace
// and sessions. Call once, before other threads or interrupts use
// the layout; a second call is AlreadyInitialized and wipes nothing.
template <class Lock, class Backend>
Status init_layout(BasicPools<Lock>& pools, BasicWorkspace<Lock>& workspace,
                   BasicSessionTable<Lock, Backend>& sessions, const StorageSpan* spans,
                   std::size_t span_count) noexcept {
  if (pools.initialized() || workspace.initialized() || sessions.initialized()) {
    return Failure{Error::AlreadyInitialized, "layout"};
  }
  for (std::size_t i = 0; i < span_count; ++i) secure_wipe(spans[i].data, spans[i].size);
  if (!prepare_backend<Backend>()) return Failure{Error::CryptoFailure, "prepare"};
  if (Status s = pools.init(); !s) return s;
  if (Status s = workspace.init(); !s) return s;
  return sessions.init();
}

}  // namespace memplan
