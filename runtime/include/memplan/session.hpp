// AES-GCM sessions over the static layout: a fixed table of session records
// and a fixed array of mbedTLS GCM contexts (key slots). No heap: mbedTLS is
// built without MBEDTLS_CIPHER_C, so mbedtls_gcm_setkey() keeps the AES key
// schedule inside the context and never calls calloc.
//
// Nonces are the runtime's, never the caller's: fixed field (DeviceIdentity)
// followed by the slot's big-endian counter (SP 800-38D 8.2.1). The counter
// of a slot only grows, across keys and across power loss: values are used
// only below a mark persisted through the NonceStore `reserve` values ahead.
//
// States:  Idle --open_session--> Allocated --load_key--> KeyLoaded
//          KeyLoaded --seal/open--> Active --(max_messages|max_age_s)--> Expired
//          KeyLoaded|Active|Expired --rotate_key--> KeyLoaded;  any --close--> Idle
// A session with max_security_violations failed opens is locked
// (SecurityLockout) until rotate_key() replaces its key.
//
// Locking: the table's lock guards records, key slots and statistics; a seal
// or open claims its session (busy) under the lock, runs AES-GCM outside it,
// and finishes under it again. A session serves one operation at a time;
// another call on a busy session is InvalidSessionState ("busy").
#pragma once

#include <mbedtls/gcm.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memplan/buffer.hpp"
#include "memplan/pools.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/port/ports.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"
#include "memplan/session_record.hpp"
#include "memplan/span.hpp"
#include "memplan/workspace.hpp"

namespace memplan {

inline constexpr std::size_t kNonceSize = 12;  // 96-bit IV only
inline constexpr std::size_t kMaxTagSize = 16;
inline constexpr std::size_t kMaxKeySlots = 255;  // SessionRecord::key_slot is a byte
// SP 800-38D 5.2.1.1: plaintext of at most 2^39 - 256 bits.
inline constexpr std::uint64_t kMaxGcmPlaintext = (std::uint64_t{1} << 36) - 32;

// Retired: the slot's generation reached its limit, so the slot is never
// handed out again (a wrapped generation would revive a stale handle).
enum class SessionState : std::uint8_t { Idle = 0, Allocated, KeyLoaded, Active, Expired, Retired };

// A session slot's handles carry a 32-bit generation, bumped on every close:
// at one reconnect a second on one slot it lasts 136 years, at ten a second
// 13.6 years, and then the slot retires instead of wrapping. Tests build with
// a small limit to drive a slot to retirement.
#if !defined(MEMPLAN_SESSION_GENERATION_LIMIT)
#define MEMPLAN_SESSION_GENERATION_LIMIT 0xFFFFFFFFu
#endif
inline constexpr std::uint32_t kSessionGenerationLimit = MEMPLAN_SESSION_GENERATION_LIMIT;
enum class SecurityStatus : std::uint8_t { Secure, KeyRotationRequired, SecurityViolation };
const char* to_string(SessionState state) noexcept;

struct CryptoPolicy {
  std::uint16_t key_bits;
  std::uint8_t tag_size;
  std::uint8_t nonce_fixed_size;
  std::uint8_t nonce_counter_size;
  std::uint32_t nonce_reserve;
  std::uint64_t max_messages;
  std::uint32_t max_age_s;
  std::uint8_t max_security_violations;
};

struct SessionHandle {
  std::uint32_t index = 0xFFFFFFFFu;  // a whole word: two words pass in registers without repacking
  std::uint32_t generation = 0;
};

using Nonce = std::uint8_t[kNonceSize];

// A sealed message in a pool buffer: ciphertext followed by the tag.
template <class Lock>
struct BasicSealedMessage {
  BasicBuffer<Lock> data;  // size() = ciphertext_size + tag_size
  std::uint8_t nonce[kNonceSize];
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
};

template <class Lock>
class BasicSessionTable {
 public:
  constexpr BasicSessionTable(SessionRecord* const* records, std::size_t session_count,
                              mbedtls_gcm_context* key_slots, std::size_t key_slot_count,
                              const CryptoPolicy& policy, BasicPools<Lock>& pools,
                              BasicWorkspace<Lock>& workspace) noexcept
      : records_(records),
        session_count_(session_count),
        key_slots_(key_slots),
        key_slot_count_(key_slot_count),
        policy_(policy),
        pools_(pools),
        workspace_(workspace) {}
  BasicSessionTable(const BasicSessionTable&) = delete;
  BasicSessionTable& operator=(const BasicSessionTable&) = delete;

  // Validates the policy, wipes records and key slots; once only.
  Status init() noexcept {
    typename Lock::Guard guard(lock_);
    if (initialized_) return Failure{Error::AlreadyInitialized, "sessions"};
    if (!policy_valid() || session_count_ == 0 || session_count_ > 0xFFFF || key_slot_count_ == 0 ||
        key_slot_count_ > kMaxKeySlots || records_ == nullptr || key_slots_ == nullptr) {
      return Failure{Error::InvalidArgument, "sessions"};
    }
    for (std::size_t i = 0; i < session_count_; ++i) {
      secure_wipe(records_[i], sizeof(SessionRecord));
    }
    for (std::size_t i = 0; i < key_slot_count_; ++i) mbedtls_gcm_init(&key_slots_[i]);
    secure_wipe(key_slot_used_, sizeof key_slot_used_);
    stats_ = SessionTableStats{};
    initialized_ = true;
    return {};
  }

  // The product's ports; required before a key can be loaded. The nonce fixed
  // field is read from the DeviceIdentity here, once.
  Status attach(const SessionPorts& ports) noexcept {
    typename Lock::Guard guard(lock_);
    if (ports.store == nullptr || ports.clock == nullptr || ports.identity == nullptr) {
      return Failure{Error::InvalidArgument, "ports"};
    }
    ports_ = ports;
    // Read once: the fixed field is the device's identity, not per message.
    ports_.identity->nonce_fixed_field(fixed_field_, policy_.nonce_fixed_size);
    return {};
  }

  Result<SessionHandle> open_session() noexcept {
    typename Lock::Guard guard(lock_);
    if (!initialized_) return Failure{Error::NotInitialized, "sessions"};
    for (std::size_t i = 0; i < session_count_; ++i) {
      SessionRecord& r = *records_[i];
      if (r.state == static_cast<std::uint8_t>(SessionState::Idle)) {
        r.state = static_cast<std::uint8_t>(SessionState::Allocated);
        ++stats_.open_sessions;
        return SessionHandle{static_cast<std::uint32_t>(i), r.generation};
      }
    }
    return Failure{Error::NoSessionAvailable, "sessions"};
  }

  // Copies the key into a free key slot (the caller's copy stays the caller's)
  // and resumes the slot's nonce counter from the persisted mark.
  Status load_key(SessionHandle handle, ConstByteSpan key) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return s;
    if (state(*r) != SessionState::Allocated)
      return Failure{Error::InvalidSessionState, to_string(state(*r))};
    if (Status s = check_key(key); !s) return s;
    if (ports_.store == nullptr) return Failure{Error::NotInitialized, "ports"};
    Result<std::uint64_t> mark = ports_.store->load(handle.index);
    if (!mark) return Failure{Error::StorageFailure, "nonce store"};
    Result<std::uint32_t> now = ports_.clock->now_s();
    if (!now) return Failure{Error::ClockFailure, "clock"};
    Result<std::size_t> slot = install_key(key, kMaxKeySlots);
    if (!slot) return Failure{slot.error(), slot.context()};
    r->context = &key_slots_[slot.value()];
    r->key_slot = static_cast<std::uint8_t>(slot.value());
    r->next_counter = mark.value();
    r->reserved_until = mark.value();
    r->messages = 0;
    r->violations = 0;
    r->key_loaded_at_s = now.value();
    r->state = static_cast<std::uint8_t>(SessionState::KeyLoaded);
    return {};
  }

  // Replaces the key: the new one goes into a spare slot when there is one
  // (the old key stays usable if setkey fails), else over the old slot. The
  // old slot is wiped; violations and the message count start over; the
  // nonce counter continues.
  Status rotate_key(SessionHandle handle, ConstByteSpan key) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return s;
    const SessionState st = state(*r);
    if (r->busy != 0) return Failure{Error::InvalidSessionState, "busy"};
    if (st != SessionState::KeyLoaded && st != SessionState::Active && st != SessionState::Expired) {
      return Failure{Error::InvalidSessionState, to_string(st)};
    }
    if (Status s = check_key(key); !s) return s;
    Result<std::uint32_t> now = ports_.clock->now_s();
    if (!now) return Failure{Error::ClockFailure, "clock"};
    const std::size_t old_slot = r->key_slot;
    Result<std::size_t> slot = install_key(key, old_slot);
    if (!slot) {
      if (!slot_used(old_slot)) {  // rekeyed in place and failed: the old key is gone
        r->context = nullptr;
        r->state = static_cast<std::uint8_t>(SessionState::Allocated);
      }
      return Failure{slot.error(), slot.context()};
    }
    if (slot.value() != old_slot) release_key_slot(old_slot);
    r->context = &key_slots_[slot.value()];
    r->key_slot = static_cast<std::uint8_t>(slot.value());
    r->messages = 0;
    r->violations = 0;
    r->key_loaded_at_s = now.value();
    r->state = static_cast<std::uint8_t>(SessionState::KeyLoaded);
    ++stats_.rotations;
    return {};
  }

  // Wipes the key slot and the record; stale handles to it are then InvalidSession.
  Status close(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return s;
    if (r->busy != 0) return Failure{Error::InvalidSessionState, "busy"};
    if (r->context != nullptr) release_key_slot(r->key_slot);
    const std::uint32_t generation = r->generation;
    secure_wipe(r, sizeof *r);
    --stats_.open_sessions;
    if (generation >= kSessionGenerationLimit) {
      // The next generation would wrap and could equal a stale handle's: retire.
      r->generation = generation;
      r->state = static_cast<std::uint8_t>(SessionState::Retired);
      ++stats_.retired_slots;
      return {};
    }
    r->generation = generation + 1u;
    return {};
  }

  // Seals into `out` (ciphertext then tag); returns the bytes written and the
  // nonce the runtime chose. The cipher runs outside the table's lock (on
  // Cortex-M: with interrupts enabled); the session is marked busy meanwhile.
  Result<std::size_t> seal(SessionHandle handle, ConstByteSpan aad, ConstByteSpan plaintext, ByteSpan out,
                           std::uint8_t (&nonce)[kNonceSize]) noexcept {
    if (out.data == nullptr || out.size < plaintext.size + policy_.tag_size) {
      return Failure{Error::BufferTooSmall, "seal"};
    }
    Result<Claim> claim = claim_seal(handle, aad, plaintext);
    if (!claim) return Failure{claim.error(), claim.context()};
    const int rc = encrypt(claim.value(), aad, plaintext, out.data, nonce);
    return finish_seal(claim.value(), rc, out.data, plaintext.size);
  }

  // Seals into a pool buffer picked by size (usage Message).
  Result<BasicSealedMessage<Lock>> seal(SessionHandle handle, ConstByteSpan aad,
                                        ConstByteSpan plaintext) noexcept {
    Result<Claim> claim = claim_seal(handle, aad, plaintext);
    if (!claim) return Failure{claim.error(), claim.context()};
    Result<BasicBuffer<Lock>> buffer = pools_.allocate(plaintext.size + policy_.tag_size, Usage::Message);
    if (!buffer) {
      release_claim(claim.value());  // the counter it took is spent, never reused
      return Failure{buffer.error(), buffer.context()};
    }
    BasicSealedMessage<Lock> sealed{std::move(buffer.value()), {}, plaintext.size, policy_.tag_size};
    const int rc = encrypt(claim.value(), aad, plaintext, sealed.data.data(), sealed.nonce);
    Result<std::size_t> written = finish_seal(claim.value(), rc, sealed.data.data(), plaintext.size);
    if (!written) return Failure{written.error(), written.context()};  // the buffer wipes itself
    return sealed;
  }

  // Verifies, then decrypts into `out`; returns the plaintext size. On any
  // failure `out` is wiped; a wrong tag counts a security violation.
  Result<std::size_t> open(SessionHandle handle, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                           ConstByteSpan sealed, ByteSpan out) noexcept {
    Result<Claim> claim = claim_open(handle, aad, sealed);
    if (!claim) {
      wipe(out);
      return Failure{claim.error(), claim.context()};
    }
    if (out.data == nullptr || out.size < sealed.size - policy_.tag_size) {
      release_claim(claim.value());
      wipe(out);
      return Failure{Error::BufferTooSmall, "open"};
    }
    const int rc = decrypt(claim.value(), nonce, aad, sealed, out);
    return finish_open(claim.value(), rc, sealed.size - policy_.tag_size);
  }

  // Decrypts into a pool buffer picked by size.
  Result<BasicBuffer<Lock>> open(SessionHandle handle, const std::uint8_t (&nonce)[kNonceSize],
                                 ConstByteSpan aad, ConstByteSpan sealed) noexcept {
    Result<Claim> claim = claim_open(handle, aad, sealed);
    if (!claim) return Failure{claim.error(), claim.context()};
    const std::size_t size = sealed.size - policy_.tag_size;
    Result<BasicBuffer<Lock>> buffer = pools_.allocate(size == 0 ? 1 : size, Usage::Message);
    if (!buffer) {
      release_claim(claim.value());
      return Failure{buffer.error(), buffer.context()};
    }
    static_cast<void>(buffer.value().resize(size));
    const int rc = decrypt(claim.value(), nonce, aad, sealed, buffer.value().block());
    Result<std::size_t> opened = finish_open(claim.value(), rc, size);
    if (!opened) return Failure{opened.error(), opened.context()};  // the buffer wipes itself
    // cppcheck-suppress returnStdMoveLocal ; the value lives inside a Result: moving it out is required
    return std::move(buffer.value());
  }

  Result<SecurityStatus> status(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return Failure{s.error(), s.context()};
    if (r->context == nullptr) return Failure{Error::InvalidSessionState, to_string(state(*r))};
    if (locked(*r)) return SecurityStatus::SecurityViolation;
    Result<bool> due = rotation_due(*r);
    if (!due) return Failure{due.error(), due.context()};
    return due.value() ? SecurityStatus::KeyRotationRequired : SecurityStatus::Secure;
  }

  Result<SessionState> state(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return Failure{s.error(), s.context()};
    return state(*r);
  }

  // The counter the next seal will use (tests and diagnostics).
  Result<std::uint64_t> next_counter(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return Failure{s.error(), s.context()};
    return r->next_counter;
  }

  SessionTableStats stats() const noexcept {
    typename Lock::Guard guard(lock_);
    return stats_;
  }
  const CryptoPolicy& policy() const noexcept { return policy_; }
  std::size_t session_count() const noexcept { return session_count_; }
  std::size_t key_slot_count() const noexcept { return key_slot_count_; }
  bool initialized() const noexcept { return initialized_; }

 private:
  static SessionState state(const SessionRecord& r) noexcept { return static_cast<SessionState>(r.state); }
  static void wipe(ByteSpan span) noexcept { secure_wipe(span.data, span.size); }

  bool policy_valid() const noexcept {
    const unsigned counter_bits = 8u * policy_.nonce_counter_size;
    return (policy_.key_bits == 128 || policy_.key_bits == 192 || policy_.key_bits == 256) &&
           policy_.tag_size >= 12 && policy_.tag_size <= kMaxTagSize &&
           policy_.nonce_fixed_size + policy_.nonce_counter_size == kNonceSize &&
           policy_.nonce_counter_size >= 4 && policy_.nonce_counter_size <= 8 && policy_.nonce_reserve >= 1 &&
           policy_.max_messages >= 1 && policy_.max_messages <= counter_limit(counter_bits) &&
           policy_.max_age_s >= 1 && policy_.max_security_violations >= 1;
  }
  // The last counter value is never used: reaching it means the counter space is spent.
  static constexpr std::uint64_t counter_limit(unsigned bits) noexcept {
    return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  }
  std::uint64_t counter_limit() const noexcept { return counter_limit(8u * policy_.nonce_counter_size); }

  Status find(SessionHandle handle, SessionRecord*& record) const noexcept {
    if (!initialized_) return Failure{Error::NotInitialized, "sessions"};
    if (handle.index >= session_count_) return Failure{Error::InvalidSession, "index"};
    SessionRecord* r = records_[handle.index];
    if (r->generation != handle.generation || state(*r) == SessionState::Idle || state(*r) == SessionState::Retired) {
      return Failure{Error::InvalidSession, "stale handle"};
    }
    record = r;
    return {};
  }

  Status check_key(ConstByteSpan key) const noexcept {
    if (key.data == nullptr) return Failure{Error::NullPointer, "key"};
    if (key.size * 8 != policy_.key_bits) return Failure{Error::InvalidKeySize, "key"};
    return {};
  }

  bool locked(const SessionRecord& r) const noexcept {
    return r.violations >= policy_.max_security_violations;
  }

  Result<bool> rotation_due(const SessionRecord& r) noexcept {
    if (r.messages >= policy_.max_messages) return true;
    Result<std::uint32_t> now = ports_.clock->now_s();
    if (!now) return Failure{Error::ClockFailure, "clock"};
    // Unsigned difference: correct across one wrap of the clock.
    return static_cast<std::uint32_t>(now.value() - r.key_loaded_at_s) >= policy_.max_age_s;
  }

  // Sets the key into a free slot (`fallback` is reused when none is
  // free); on failure the slot it tried is wiped and freed.
  Result<std::size_t> install_key(ConstByteSpan key, std::size_t fallback) noexcept {
    std::size_t slot = kMaxKeySlots;
    for (std::size_t i = 0; i < key_slot_count_; ++i) {
      if (!slot_used(i)) {
        slot = i;
        break;
      }
    }
    const bool in_place = slot == kMaxKeySlots;
    if (in_place) {
      if (fallback >= key_slot_count_) return Failure{Error::NoKeySlotAvailable, "key slots"};
      slot = fallback;
    }
    mbedtls_gcm_context* context = &key_slots_[slot];
    mbedtls_gcm_free(context);  // zeroizes the previous schedule
    mbedtls_gcm_init(context);
    const int rc = mbedtls_gcm_setkey(context, MBEDTLS_CIPHER_ID_AES, key.data, policy_.key_bits);
    if (rc != 0) {
      mbedtls_gcm_free(context);
      mbedtls_gcm_init(context);
      if (in_place) set_slot_used(slot, false);
      return Failure{Error::CryptoFailure, "mbedtls_gcm_setkey"};
    }
    set_slot_used(slot, true);
    return slot;
  }

  void release_key_slot(std::size_t slot) noexcept {
    mbedtls_gcm_free(&key_slots_[slot]);
    secure_wipe(&key_slots_[slot], sizeof(mbedtls_gcm_context));
    mbedtls_gcm_init(&key_slots_[slot]);
    set_slot_used(slot, false);
  }
  bool slot_used(std::size_t slot) const noexcept { return (key_slot_used_[slot / 32] >> (slot % 32)) & 1u; }
  void set_slot_used(std::size_t slot, bool used) noexcept {
    const std::uint32_t bit = 1u << (slot % 32);
    key_slot_used_[slot / 32] = used ? (key_slot_used_[slot / 32] | bit) : (key_slot_used_[slot / 32] & ~bit);
  }

  Status check_lengths(ConstByteSpan aad, std::size_t plaintext_size) const noexcept {
    if (aad.size > workspace_.buffer_size() || plaintext_size > workspace_.buffer_size() ||
        plaintext_size > kMaxGcmPlaintext) {
      return Failure{Error::DataTooLarge, "message"};
    }
    return {};
  }

  // One seal or open in flight on a session: what it needs once the table's
  // lock is released. Rotation and close refuse a busy session, so the
  // context stays valid until the operation finishes.
  struct Claim {
    SessionRecord* record;
    mbedtls_gcm_context* context;
    std::uint64_t counter;
  };

  Status check_usable(SessionRecord& r) const noexcept {
    if (r.busy != 0) return Failure{Error::InvalidSessionState, "busy"};
    if (state(r) == SessionState::Allocated) return Failure{Error::InvalidSessionState, to_string(state(r))};
    if (locked(r)) return Failure{Error::SecurityLockout, "session"};
    return {};
  }

  Result<Claim> claim_seal(SessionHandle handle, ConstByteSpan aad, ConstByteSpan plaintext) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return Failure{s.error(), s.context()};
    if (Status s = check_usable(*r); !s) return Failure{s.error(), s.context()};
    if ((aad.data == nullptr && aad.size != 0) || (plaintext.data == nullptr && plaintext.size != 0)) {
      return Failure{Error::NullPointer, "seal"};
    }
    if (Status s = check_lengths(aad, plaintext.size); !s) return Failure{s.error(), s.context()};
    Result<bool> due = rotation_due(*r);
    if (!due) return Failure{due.error(), due.context()};
    if (due.value() || state(*r) == SessionState::Expired) {
      r->state = static_cast<std::uint8_t>(SessionState::Expired);
      return Failure{Error::KeyRotationRequired, "seal"};
    }
    if (r->next_counter >= counter_limit()) return Failure{Error::NonceExhausted, "seal"};
    if (r->next_counter >= r->reserved_until) {
      // Persist the new mark before using any value below it (fail closed).
      const std::uint64_t room = counter_limit() - r->next_counter;
      const std::uint64_t mark =
          r->next_counter + (policy_.nonce_reserve < room ? policy_.nonce_reserve : room);
      if (Status s = ports_.store->persist(handle.index, mark); !s) {
        return Failure{Error::StorageFailure, "nonce store"};
      }
      r->reserved_until = mark;
    }
    // The counter is spent now: whatever happens next, it is never used again.
    const std::uint64_t counter = r->next_counter++;
    r->busy = 1;
    return Claim{r, r->context, counter};
  }

  Result<Claim> claim_open(SessionHandle handle, ConstByteSpan aad, ConstByteSpan sealed) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (Status s = find(handle, r); !s) return Failure{s.error(), s.context()};
    if (Status s = check_usable(*r); !s) return Failure{s.error(), s.context()};
    if ((aad.data == nullptr && aad.size != 0) || sealed.data == nullptr)
      return Failure{Error::NullPointer, "open"};
    if (sealed.size < policy_.tag_size)
      return Failure{Error::InvalidArgument, "sealed message shorter than its tag"};
    if (Status s = check_lengths(aad, sealed.size - policy_.tag_size); !s)
      return Failure{s.error(), s.context()};
    r->busy = 1;
    return Claim{r, r->context, 0};
  }

  void release_claim(const Claim& claim) noexcept {
    typename Lock::Guard guard(lock_);
    claim.record->busy = 0;
  }

  // Outside the lock: only the claimed session's context is touched.
  int encrypt(const Claim& claim, ConstByteSpan aad, ConstByteSpan plaintext, std::uint8_t* out,
              std::uint8_t (&nonce)[kNonceSize]) noexcept {
    std::memcpy(nonce, fixed_field_, policy_.nonce_fixed_size);
    std::uint64_t counter = claim.counter;
    for (std::size_t i = kNonceSize; i > policy_.nonce_fixed_size; --i) {
      nonce[i - 1] = static_cast<std::uint8_t>(counter & 0xFFu);
      counter >>= 8;
    }
    return mbedtls_gcm_crypt_and_tag(claim.context, MBEDTLS_GCM_ENCRYPT, plaintext.size, nonce, kNonceSize,
                                     aad.data, aad.size, plaintext.data, out, policy_.tag_size,
                                     out + plaintext.size);
  }

  Result<std::size_t> finish_seal(const Claim& claim, int rc, std::uint8_t* out, std::size_t size) noexcept {
    if (rc != 0) secure_wipe(out, size + policy_.tag_size);
    typename Lock::Guard guard(lock_);
    SessionRecord& r = *claim.record;
    r.busy = 0;
    if (rc != 0) return Failure{Error::CryptoFailure, "mbedtls_gcm_crypt_and_tag"};
    ++r.messages;
    r.state = static_cast<std::uint8_t>(SessionState::Active);
    ++stats_.seals;
    return size + policy_.tag_size;
  }

  int decrypt(const Claim& claim, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
              ConstByteSpan sealed, ByteSpan out) noexcept {
    const std::size_t size = sealed.size - policy_.tag_size;
    const int rc = mbedtls_gcm_auth_decrypt(claim.context, size, nonce, kNonceSize, aad.data, aad.size,
                                            sealed.data + size, policy_.tag_size, sealed.data, out.data);
    if (rc != 0) wipe(out);  // mbedTLS zeroizes too; the whole span is ours to clear
    return rc;
  }

  Result<std::size_t> finish_open(const Claim& claim, int rc, std::size_t size) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord& r = *claim.record;
    r.busy = 0;
    if (rc != 0) {
      if (rc != MBEDTLS_ERR_GCM_AUTH_FAILED) return Failure{Error::CryptoFailure, "mbedtls_gcm_auth_decrypt"};
      ++stats_.authentication_failures;
      if (++r.violations == policy_.max_security_violations) ++stats_.lockouts;
      return Failure{Error::AuthenticationFailed, "open"};
    }
    if (state(r) == SessionState::KeyLoaded) r.state = static_cast<std::uint8_t>(SessionState::Active);
    ++stats_.opens;
    return size;
  }

  SessionRecord* const* records_;
  std::size_t session_count_;
  mbedtls_gcm_context* key_slots_;
  std::size_t key_slot_count_;
  CryptoPolicy policy_;
  BasicPools<Lock>& pools_;
  BasicWorkspace<Lock>& workspace_;
  SessionPorts ports_{};
  std::uint8_t fixed_field_[kNonceSize] = {};  // from DeviceIdentity at attach()
  std::uint32_t key_slot_used_[(kMaxKeySlots + 31) / 32] = {};
  SessionTableStats stats_{};
  bool initialized_ = false;
  mutable Lock lock_;
};

using SessionTable = BasicSessionTable<DefaultLock>;
using SealedMessage = BasicSealedMessage<DefaultLock>;

}  // namespace memplan
