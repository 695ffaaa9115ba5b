// The vocabulary of sessions: handles, states, the crypto policy from the
// profile, statistics, and the sealed message in a pool buffer. The table
// that runs them is session_table.hpp; its parts are nonce_sequence.hpp,
// key_slots.hpp and one AEAD backend (aead_gcm.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/buffer.hpp"
#include "memplan/limits.hpp"
#include "memplan/nonce_sequence.hpp"

namespace memplan {

// Retired: the slot's generation reached its limit, so the slot is never
// handed out again (a wrapped generation would revive a stale handle).
enum class SessionState : std::uint8_t { Idle = 0, Allocated, KeyLoaded, Active, Expired, Retired };
const char* to_string(SessionState state) noexcept;

// A session slot's handles carry a 32-bit generation, bumped on every close:
// at one reconnect a second on one slot it lasts 136 years, at ten a second
// 13.6 years, and then the slot retires instead of wrapping. Tests build with
// a small limit to drive a slot to retirement.
#if !defined(MEMPLAN_SESSION_GENERATION_LIMIT)
#define MEMPLAN_SESSION_GENERATION_LIMIT 0xFFFFFFFFu
#endif
inline constexpr std::uint32_t kSessionGenerationLimit = MEMPLAN_SESSION_GENERATION_LIMIT;

enum class SecurityStatus : std::uint8_t { Secure, KeyRotationRequired, SecurityViolation };

struct CryptoPolicy {
  std::uint16_t key_bits;
  std::uint8_t tag_size;
  std::uint8_t nonce_fixed_size;
  std::uint8_t nonce_counter_size;
  std::uint32_t nonce_reserve;
  std::uint64_t max_messages;
  std::uint32_t max_age_s;
  std::uint8_t max_security_violations;
  // open() refuses a nonce counter it has accepted before or one more than
  // replay_window below the highest it has accepted (the sliding window of
  // IPsec and DTLS); 0 leaves replay to the product. Up to kMaxReplayWindow.
  std::uint8_t replay_window;
};

struct SessionHandle {
  std::uint32_t index = 0xFFFFFFFFu;  // a whole word: two words pass in registers without repacking
  std::uint32_t generation = 0;
};

using Nonce = std::uint8_t[kNonceSize];  // of AES-GCM and ChaCha20-Poly1305; a table's own: SessionTable::Nonce

// A sealed message in a pool buffer: ciphertext followed by the tag.
template <class Lock, std::size_t kNonceBytes = kNonceSize>
struct BasicSealedMessage {
  BasicBuffer<Lock> data;  // size() = ciphertext_size + tag_size
  std::uint8_t nonce[kNonceBytes];
  std::size_t ciphertext_size;
  std::size_t tag_size;
};

struct SessionTableStats {
  std::uint32_t open_sessions;
  std::uint32_t seals;
  std::uint32_t opens;
  std::uint32_t authentication_failures;
  std::uint32_t lockouts;
  std::uint32_t rotations;
  std::uint32_t retired_slots;  // slots whose generation reached its limit (see kSessionGenerationLimit)
  std::uint32_t replays;        // opens refused by the replay window (ReplayedNonce)
  // Sizing (memplan fit): the most at once since init().
  std::uint32_t sessions_high_water;   // sessions open
  std::uint32_t key_slots_high_water;  // key slots held (a rotation holds a spare beside the old one for a moment)
};

}  // namespace memplan
