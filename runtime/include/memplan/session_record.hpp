// The per-session state the layout stores. The runtime owns the fields; the
// generated layout wraps a record in a cache-aligned slot and static_asserts
// its size and the offsets below, so the generator's per-target size table
// and this struct cannot drift apart unnoticed.
#pragma once

#include <cstdint>

#include "memplan/nonce_sequence.hpp"

namespace memplan {

struct SessionRecord {
  // Hot: read and written by every seal/open; kept within the first cache line.
  void* context;          // the key slot's AEAD context in use, or null
  NonceCounter nonce;     // the slot's counter and its persisted mark
  std::uint64_t messages; // messages sealed under the current key
  // Cold: touched on key load, rotation, close and failures.
  std::uint32_t key_loaded_at_s;  // clock port time of the last key load
  std::uint32_t generation;       // bumped on close so stale handles are rejected; never wraps (the slot retires)
  std::uint8_t state;             // SessionState
  std::uint8_t violations;        // failed opens since the key was loaded
  std::uint8_t key_slot;          // index into the layout's key slots
  std::uint8_t busy;              // an operation runs on this session outside the table's lock
  std::uint16_t next_idle;        // the idle list's next record (0xFFFF: none)
  // The replay window (CryptoPolicy::replay_window): the highest nonce
  // counter open() accepted, and bit i set when counter highest - i was.
  std::uint64_t replay_highest;
  std::uint64_t replay_seen;
};

}  // namespace memplan
