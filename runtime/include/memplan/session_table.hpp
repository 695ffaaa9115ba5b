// The session table: a fixed set of session records over the layout's key
// slots, one AEAD backend, and the policy of the profile. No heap.
//
// Nonces are the runtime's, never the caller's (nonce_sequence.hpp).
//
// States:  Idle --open_session--> Allocated --load_key--> KeyLoaded
//          KeyLoaded --seal/open--> Active --(max_messages|max_age_s)--> Expired
//          KeyLoaded|Active|Expired --rotate_key--> KeyLoaded;  any --close--> Idle
// A session with max_security_violations failed opens is locked
// (SecurityLockout) until rotate_key() replaces its key.
//
// Locking: the table's lock (on Cortex-M: interrupts masked) guards the
// records, the key slots' bookkeeping and the statistics, and nothing else
// runs under it: no port call (clock, nonce store), no cipher work (key
// expansion, AEAD), no wipe. An operation that needs one of those claims its
// session (busy) under the lock, does the work outside it and finishes under
// it again. Another call on a busy session is InvalidSessionState ("busy"):
// a retryable error, since nothing waits (a seal may run in an interrupt
// handler). The nonce store may so be called for two slots at once, never
// twice for one slot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/aead_gcm.hpp"
#include "memplan/buffer.hpp"
#include "memplan/key_slots.hpp"
#include "memplan/limits.hpp"
#include "memplan/nonce_sequence.hpp"
#include "memplan/pools.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/port/ports.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"
#include "memplan/session.hpp"
#include "memplan/session_record.hpp"
#include "memplan/span.hpp"
#include "memplan/workspace.hpp"

namespace memplan {

template <class Lock, class Backend = AesGcm>
class BasicSessionTable {
 public:
  using KeyContext = typename Backend::Context;
  static constexpr std::size_t kNonceBytes = Backend::kNonceSize;
  using Nonce = std::uint8_t[kNonceBytes];
  using SealedMessage = BasicSealedMessage<Lock, kNonceBytes>;

  constexpr BasicSessionTable(SessionRecord* const* records, std::size_t session_count, KeyContext* key_slots,
                              std::size_t key_slot_count, const CryptoPolicy& policy, BasicPools<Lock>& pools,
                              BasicWorkspace<Lock>& workspace) noexcept
      : records_(records),
        session_count_(session_count),
        key_slots_(key_slots, key_slot_count),
        policy_(policy),
        nonces_(policy.nonce_fixed_size, policy.nonce_counter_size, policy.nonce_reserve),
        pools_(pools),
        workspace_(workspace) {}
  BasicSessionTable(const BasicSessionTable&) = delete;
  BasicSessionTable& operator=(const BasicSessionTable&) = delete;

  // Validates the policy, wipes records and key slots; once only, before the
  // table is used from other threads or interrupts (as Memory::init()).
  Status init() noexcept {
    {
      typename Lock::Guard guard(lock_);
      if (initialized_ || initializing_) return Failure{Error::AlreadyInitialized, "sessions"};
      if (!policy_valid() || session_count_ == 0 || session_count_ > kMaxSessions || !key_slots_.valid() ||
          records_ == nullptr) {
        return Failure{Error::InvalidArgument, "sessions"};
      }
      initializing_ = true;
    }
    for (std::size_t i = 0; i < session_count_; ++i) {
      secure_wipe(records_[i], sizeof(SessionRecord));
      records_[i]->next_idle = static_cast<std::uint16_t>(i + 1 < session_count_ ? i + 1 : kNoRecord);
    }
    key_slots_.init();
    typename Lock::Guard guard(lock_);
    idle_head_ = 0;
    stats_ = SessionTableStats{};
    initialized_ = true;
    open_indices_ = session_count_;
    return {};
  }

  // The product's ports; required before a key can be loaded. The nonce fixed
  // field is read from the DeviceIdentity here, once.
  Status attach(const SessionPorts& ports) noexcept {
    if (ports.store == nullptr || ports.clock == nullptr || ports.identity == nullptr) {
      return Failure{Error::InvalidArgument, "ports"};
    }
    std::uint8_t fixed_field[kNonceBytes] = {};
    ports.identity->nonce_fixed_field(fixed_field, policy_.nonce_fixed_size);  // a port: outside the lock
    typename Lock::Guard guard(lock_);
    ports_ = ports;
    for (std::size_t i = 0; i < kNonceBytes; ++i) fixed_field_[i] = fixed_field[i];
    return {};
  }

  // An idle record, taken from the idle list in constant time (no scan
  // under the lock, whatever the number of sessions). The list is LIFO, as
  // the first-idle scan it replaces was: a slot closed and opened again at
  // one reconnect a second still lasts 136 years (kSessionGenerationLimit).
  Result<SessionHandle> open_session() noexcept {
    std::uint32_t open = 0;
    SessionHandle handle;
    {
      typename Lock::Guard guard(lock_);
      if (!initialized_) return Failure{Error::NotInitialized, "sessions"};
      const std::uint16_t index = idle_head_;
      if (index == kNoRecord) return Failure{Error::NoSessionAvailable, "sessions"};
      SessionRecord& r = *records_[index];
      idle_head_ = r.next_idle;
      r.state = static_cast<std::uint8_t>(SessionState::Allocated);
      open = ++stats_.open_sessions;
      handle = SessionHandle{index, r.generation};
    }
    // The high water is tested with interrupts enabled and raised under the
    // lock only when it grows: at most session_count times in a lifetime.
    if (open > load_relaxed(stats_.sessions_high_water)) raise_high_water(stats_.sessions_high_water, open);
    return handle;
  }

  // Copies the key into a free key slot (the caller's copy stays the caller's)
  // and resumes the slot's nonce counter from the persisted mark.
  Status load_key(SessionHandle handle, ConstByteSpan key) noexcept {
    if (Status s = check_key(key); !s) return s;
    if (ports_.store == nullptr) return Failure{Error::NotInitialized, "ports"};
    Result<SessionRecord*> claimed = claim_record(handle);
    if (!claimed) return Failure{claimed.error(), claimed.context()};
    SessionRecord* const r = claimed.value();
    if (state(*r) != SessionState::Allocated) return unclaim(*r, Failure{Error::InvalidSessionState, to_string(state(*r))});
    const std::size_t slot = take_key_slot();  // its own short critical section
    if (slot == kNoKeySlot) return unclaim(*r, Failure{Error::NoKeySlotAvailable, "key slots"});
    // The ports and the key expansion, with the lock released.
    Result<std::uint64_t> mark = ports_.store->load(handle.index);
    Result<std::uint32_t> now = ports_.clock->now_s();
    const Failure failed = !mark ? Failure{Error::StorageFailure, "nonce store"}
                           : !now ? Failure{Error::ClockFailure, "clock"}
                           : !key_slots_.set_key(slot, key) ? Failure{Error::CryptoFailure, "set_key"}
                                                            : Failure{Error{}, nullptr};
    if (failed.error != Error{}) {
      typename Lock::Guard guard(lock_);
      r->busy = 0;
      key_slots_.give_back(slot);  // still empty: set_key() clears on failure, the ports never touched it
      return failed;
    }
    Nonces::resume(r->nonce, mark.value());
    r->replay_highest = 0;  // a new peer's counters: nothing seen yet
    r->replay_seen = 0;
    commit_key(*r, slot, now.value(), false);
    return {};
  }

  // Replaces the key: the new one goes into a spare slot when there is one
  // (the old key stays usable if setting the new one fails), else over the
  // old slot. The old slot is wiped; violations and the message count start
  // over; the nonce counter continues.
  Status rotate_key(SessionHandle handle, ConstByteSpan key) noexcept {
    if (Status s = check_key(key); !s) return s;
    Result<SessionRecord*> claimed = claim_record(handle);
    if (!claimed) return Failure{claimed.error(), claimed.context()};
    SessionRecord* const r = claimed.value();
    const SessionState seen = state(*r);
    if (seen != SessionState::KeyLoaded && seen != SessionState::Active && seen != SessionState::Expired) {
      return unclaim(*r, Failure{Error::InvalidSessionState, to_string(seen)});
    }
    const std::size_t old_slot = r->key_slot;
    std::size_t slot = take_key_slot();
    if (slot == kNoKeySlot) slot = old_slot;  // in place: the old key is lost if the new one fails
    const bool in_place = slot == old_slot;
    Result<std::uint32_t> now = ports_.clock->now_s();
    if (!now || !key_slots_.set_key(slot, key)) {
      typename Lock::Guard guard(lock_);
      r->busy = 0;
      if (!in_place) {
        key_slots_.give_back(slot);
      } else if (now) {  // set_key() failed over the old key: the session has none now
        r->context = nullptr;
        r->state = static_cast<std::uint8_t>(SessionState::Allocated);
        key_slots_.give_back(slot);
      }
      return now ? Failure{Error::CryptoFailure, "set_key"} : Failure{Error::ClockFailure, "clock"};
    }
    commit_key(*r, slot, now.value(), true);
    if (!in_place) {
      key_slots_.clear(old_slot);  // still taken, and no record points at it: ours to wipe
      typename Lock::Guard guard(lock_);
      key_slots_.give_back(old_slot);
    }
    return {};
  }

  // Wipes the key slot and resets the record; stale handles to it are then
  // InvalidSession.
  Status close(SessionHandle handle) noexcept {
    Result<SessionRecord*> claimed = claim_record(handle);
    if (!claimed) return Failure{claimed.error(), claimed.context()};
    SessionRecord* const r = claimed.value();
    const std::size_t slot = r->context != nullptr ? r->key_slot : kNoKeySlot;
    if (slot != kNoKeySlot) key_slots_.clear(slot);  // the wipe, with the lock released
    r->nonce = NonceCounter{0, 0};
    r->replay_highest = 0;
    r->replay_seen = 0;
    r->messages = 0;
    r->key_loaded_at_s = 0;
    r->violations = 0;
    r->key_slot = 0;
    // The next generation would wrap and could equal a stale handle's: retire.
    // (Other calls read the generation under the lock: it changes under it.)
    const bool retire = r->generation >= kSessionGenerationLimit;
    const std::uint32_t generation = retire ? r->generation : r->generation + 1u;
    const auto slot_bit = key_slots_.locate(slot);  // the bit's word and mask (none for kNoKeySlot), before the lock
    {
      typename Lock::Guard guard(lock_);
      key_slots_.give_back(slot_bit);
      r->context = nullptr;
      r->generation = generation;
      r->state = static_cast<std::uint8_t>(retire ? SessionState::Retired : SessionState::Idle);
      r->busy = 0;
      --stats_.open_sessions;
      if (retire) {
        ++stats_.retired_slots;
      } else {  // back on the idle list: three instructions under the lock
        r->next_idle = idle_head_;
        idle_head_ = static_cast<std::uint16_t>(handle.index);
      }
    }  // the result is built with interrupts enabled
    return {};
  }

  // Seals into `out` (ciphertext then tag); returns the bytes written and the
  // nonce the runtime chose.
  Result<std::size_t> seal(SessionHandle handle, ConstByteSpan aad, ConstByteSpan plaintext, ByteSpan out,
                           Nonce& nonce) noexcept {
    if (out.data == nullptr || out.size < plaintext.size + policy_.tag_size) {
      return Failure{Error::BufferTooSmall, "seal"};
    }
    Claim claim;
    if (const Error refused = claim_seal(handle, aad, plaintext, claim); refused != Error{}) {
      return Failure{refused, claim.why};
    }
    const bool ok = encrypt(claim, aad, plaintext, out.data, nonce);
    return finish_seal(claim, ok, out.data, plaintext.size);
  }

  // Seals into a pool buffer picked by size (usage Message).
  Result<SealedMessage> seal(SessionHandle handle, ConstByteSpan aad, ConstByteSpan plaintext) noexcept {
    Claim claim;
    if (const Error refused = claim_seal_for_buffer(handle, aad, plaintext, claim); refused != Error{}) {
      return Failure{refused, claim.why};
    }
    Result<BasicBuffer<Lock>> buffer = pools_.allocate(plaintext.size + policy_.tag_size, Usage::Message);
    if (!buffer) {
      release_claim(claim);  // the counter it took is spent, never reused
      return Failure{buffer.error(), buffer.context()};
    }
    SealedMessage sealed{std::move(buffer.value()), {}, plaintext.size, policy_.tag_size};
    const bool ok = encrypt(claim, aad, plaintext, sealed.data.data(), sealed.nonce);
    Result<std::size_t> written = finish_seal(claim, ok, sealed.data.data(), plaintext.size);
    if (!written) return Failure{written.error(), written.context()};  // the buffer wipes itself
    return sealed;
  }

  // Verifies, then decrypts into `out`; returns the plaintext size. On any
  // failure `out` is wiped; a wrong tag counts a security violation. With a
  // replay window, a counter seen before or older than the window is
  // ReplayedNonce (counted); a message moves the window only once authentic.
  Result<std::size_t> open(SessionHandle handle, const Nonce& nonce, ConstByteSpan aad,
                           ConstByteSpan sealed, ByteSpan out) noexcept {
    Claim claim;
    if (const Error refused = claim_open(handle, nonce, aad, sealed, claim); refused != Error{}) {
      wipe(out);
      return Failure{refused, claim.why};
    }
    if (out.data == nullptr || out.size < sealed.size - policy_.tag_size) {
      release_claim(claim);
      wipe(out);
      return Failure{Error::BufferTooSmall, "open"};
    }
    const AeadOpen result = decrypt(claim, nonce, aad, sealed, out);
    return finish_open(claim, result, sealed.size - policy_.tag_size);
  }

  // Decrypts into a pool buffer picked by size.
  Result<BasicBuffer<Lock>> open(SessionHandle handle, const Nonce& nonce, ConstByteSpan aad,
                                 ConstByteSpan sealed) noexcept {
    Claim claim;
    if (const Error refused = claim_open(handle, nonce, aad, sealed, claim); refused != Error{}) {
      return Failure{refused, claim.why};
    }
    const std::size_t size = sealed.size - policy_.tag_size;
    Result<BasicBuffer<Lock>> buffer = pools_.allocate(size == 0 ? 1 : size, Usage::Message);
    if (!buffer) {
      release_claim(claim);
      return Failure{buffer.error(), buffer.context()};
    }
    static_cast<void>(buffer.value().resize(size));
    const AeadOpen result = decrypt(claim, nonce, aad, sealed, buffer.value().block());
    Result<std::size_t> opened = finish_open(claim, result, size);
    if (!opened) return Failure{opened.error(), opened.context()};  // the buffer wipes itself
    // cppcheck-suppress returnStdMoveLocal ; the value lives inside a Result: moving it out is required
    return std::move(buffer.value());
  }

  Result<SecurityStatus> status(SessionHandle handle) noexcept {
    Result<std::uint32_t> now = ports_.clock != nullptr ? ports_.clock->now_s() : Result<std::uint32_t>(0u);
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (const Refusal why = lookup(handle, r); why != Refusal::None) return refused(why, SessionState::Idle);
    if (r->busy != 0) return Failure{Error::InvalidSessionState, "busy"};  // its fields are the running call's
    if (r->context == nullptr) return Failure{Error::InvalidSessionState, to_string(state(*r))};
    if (locked(*r)) return SecurityStatus::SecurityViolation;
    if (!now) return Failure{Error::ClockFailure, "clock"};
    return rotation_due(*r, now.value()) ? SecurityStatus::KeyRotationRequired : SecurityStatus::Secure;
  }

  Result<SessionState> state(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (const Refusal why = lookup(handle, r); why != Refusal::None) return refused(why, SessionState::Idle);
    return state(*r);
  }

  // The counter the next seal will use (tests and diagnostics). A busy
  // session's counter is its running call's: InvalidSessionState then.
  Result<std::uint64_t> next_counter(SessionHandle handle) noexcept {
    typename Lock::Guard guard(lock_);
    SessionRecord* r = nullptr;
    if (const Refusal why = lookup(handle, r); why != Refusal::None) return refused(why, SessionState::Idle);
    if (r->busy != 0) return Failure{Error::InvalidSessionState, "busy"};
    return r->nonce.next;
  }

  SessionTableStats stats() const noexcept {
    typename Lock::Guard guard(lock_);
    return stats_;
  }
  const CryptoPolicy& policy() const noexcept { return policy_; }
  std::size_t session_count() const noexcept { return session_count_; }
  std::size_t key_slot_count() const noexcept { return key_slots_.count(); }
  bool initialized() const noexcept { return initialized_; }

 private:
  static SessionState state(const SessionRecord& r) noexcept { return static_cast<SessionState>(r.state); }
  static void wipe(ByteSpan span) noexcept { secure_wipe(span.data, span.size); }

  bool policy_valid() const noexcept {
    return Backend::valid_key_bits(policy_.key_bits) && Backend::valid_tag_size(policy_.tag_size) &&
           policy_.tag_size <= kMaxTagSize && nonces_.valid() &&
           policy_.max_messages >= 1 && policy_.max_messages <= nonces_.limit() && policy_.max_age_s >= 1 &&
           policy_.max_security_violations >= 1 && policy_.replay_window <= kMaxReplayWindow;
  }

  // Why a call on a session is refused, decided under the lock in a register;
  // the Failure it becomes is built once the lock is released.
  enum class Refusal : std::uint8_t { None, NotInitialized, BadIndex, Stale, Busy, WrongState, Locked };

  // Under the lock: the record a handle names, if it still names it.
  __attribute__((always_inline)) Refusal lookup(SessionHandle handle, SessionRecord*& record) const noexcept {
    // One compare: before init() no index is below open_indices_ (0).
    if (handle.index >= open_indices_) return initialized_ ? Refusal::BadIndex : Refusal::NotInitialized;
    SessionRecord* r = records_[handle.index];
    if (r->generation != handle.generation || state(*r) == SessionState::Idle || state(*r) == SessionState::Retired) {
      return Refusal::Stale;
    }
    record = r;
    return Refusal::None;
  }

  __attribute__((noinline, cold)) static Failure refused(Refusal why, SessionState seen) noexcept {
    switch (why) {
      case Refusal::NotInitialized: return Failure{Error::NotInitialized, "sessions"};
      case Refusal::BadIndex: return Failure{Error::InvalidSession, "index"};
      case Refusal::Stale: return Failure{Error::InvalidSession, "stale handle"};
      case Refusal::Busy: return Failure{Error::InvalidSessionState, "busy"};
      case Refusal::WrongState: return Failure{Error::InvalidSessionState, to_string(seen)};
      case Refusal::Locked: return Failure{Error::SecurityLockout, "session"};
      case Refusal::None: break;
    }
    return Failure{Error::InvalidArgument, "sessions"};
  }

  Status check_key(ConstByteSpan key) const noexcept {
    if (key.data == nullptr) return Failure{Error::NullPointer, "key"};
    if (key.size * 8 != policy_.key_bits) return Failure{Error::InvalidKeySize, "key"};
    return {};
  }

  bool locked(const SessionRecord& r) const noexcept { return r.violations >= policy_.max_security_violations; }

  bool rotation_due(const SessionRecord& r, std::uint32_t now) const noexcept {
    // Unsigned difference: correct across one wrap of the clock.
    return r.messages >= policy_.max_messages || static_cast<std::uint32_t>(now - r.key_loaded_at_s) >= policy_.max_age_s;
  }

  bool lengths_fit(ConstByteSpan aad, std::size_t plaintext_size) const noexcept {
    return aad.size <= workspace_.buffer_size() && plaintext_size <= workspace_.buffer_size() &&
           plaintext_size <= Backend::kMaxPlaintext;
  }

  // One seal or open in flight on a session: what it needs once the table's
  // lock is released. Rotation and close refuse a busy session, so the
  // context stays valid until the operation finishes. The claim functions
  // fill one in the caller's frame and return Error{} or why they refused
  // (with `why`, the Failure's context): an Error comes back in a register
  // where a Result<Claim> would be built and copied through memory.
  struct Claim {
    SessionRecord* record = nullptr;
    KeyContext* context = nullptr;
    std::uint64_t counter = 0;  // a seal's nonce counter, spent
    const char* why = nullptr;
  };

  __attribute__((always_inline)) static Error refuse(Claim& claim, Failure failure) noexcept {
    claim.why = failure.context;
    return failure.error;
  }

  // A claimed record takes the key just set in `slot`: its message count
  // and violations start over, and it is released. The session is busy, so
  // its fields are this call's; only what other calls read (its key, state
  // and busy flag) changes under the lock.
  __attribute__((always_inline)) void commit_key(SessionRecord& r, std::size_t slot, std::uint32_t loaded_at_s,
                                                 bool rotation) noexcept {
    r.key_slot = static_cast<std::uint8_t>(slot);
    r.messages = 0;
    r.violations = 0;
    r.key_loaded_at_s = loaded_at_s;
    KeyContext* const context = &key_slots_.context(slot);
    typename Lock::Guard guard(lock_);
    r.context = context;
    r.state = static_cast<std::uint8_t>(SessionState::KeyLoaded);
    r.busy = 0;
    if (rotation) ++stats_.rotations;
  }

  // take() hands out the lowest free slot, so slot i is taken only while
  // slots 0 to i - 1 are held: the highest slot ever taken, plus one, is the
  // most slots held at once. Tested outside the lock, as open_session()'s.
  std::size_t take_key_slot() noexcept {
    std::size_t slot = kNoKeySlot;
    {
      typename Lock::Guard guard(lock_);
      slot = key_slots_.take();
    }
    const auto held = static_cast<std::uint32_t>(slot + 1);
    if (slot != kNoKeySlot && held > load_relaxed(stats_.key_slots_high_water)) {
      raise_high_water(stats_.key_slots_high_water, held);
    }
    return slot;
  }

  // Sizing statistics written under the lock and read outside it: relaxed
  // atomics, plain loads and stores on every Cortex-M.
  static std::uint32_t load_relaxed(const std::uint32_t& word) noexcept { return __atomic_load_n(&word, __ATOMIC_RELAXED); }
  __attribute__((noinline, cold)) void raise_high_water(std::uint32_t& word, std::uint32_t value) noexcept {
    typename Lock::Guard guard(lock_);
    if (value > word) __atomic_store_n(&word, value, __ATOMIC_RELAXED);
  }

  // Whether a claimed session can take a seal or an open. Its state and
  // violation count change only under a claim, so the claim's holder reads
  // them without the lock.
  Refusal usable(const SessionRecord& r) const noexcept {
    if (state(r) == SessionState::Allocated) return Refusal::WrongState;
    if (locked(r)) return Refusal::Locked;
    return Refusal::None;
  }

  // Under the lock only the claim: the session becomes busy, so its counter,
  // message count and key are this call's until it finishes. The clock, the
  // policy, the counter and the reservation mark are handled after, with the
  // lock released.
  __attribute__((always_inline)) Error claim_seal(SessionHandle handle, ConstByteSpan aad, ConstByteSpan plaintext,
                                                 Claim& claim) noexcept {
    if ((aad.data == nullptr && aad.size != 0) || (plaintext.data == nullptr && plaintext.size != 0)) {
      return refuse(claim, Failure{Error::NullPointer, "seal"});
    }
    if (!lengths_fit(aad, plaintext.size)) return refuse(claim, Failure{Error::DataTooLarge, "message"});
    Result<SessionRecord*> claimed = claim_record(handle);
    if (!claimed) return refuse(claim, Failure{claimed.error(), claimed.context()});
    SessionRecord& r = *claimed.value();
    claim.record = &r;
    // One test for the common case, a session with a key that can seal.
    if (static_cast<std::uint8_t>(r.state - static_cast<std::uint8_t>(SessionState::KeyLoaded)) > 1 || locked(r)) {
      return refuse(claim, unclaim(r, cannot_seal(r)));
    }
    claim.context = static_cast<KeyContext*>(r.context);
    // A session with a key has its ports: attach() set all three, never null.
    const Result<std::uint32_t> now = ports_.clock->now_s();
    if (!now) {
      release_claim(claim);
      return refuse(claim, Failure{Error::ClockFailure, "clock"});
    }
    if (rotation_due(r, now.value())) {
      typename Lock::Guard guard(lock_);
      r.state = static_cast<std::uint8_t>(SessionState::Expired);
      r.busy = 0;
      return refuse(claim, Failure{Error::KeyRotationRequired, "seal"});
    }
    // The counter is spent now: whatever happens next, it is never used again.
    NonceClaim nonce;
    if (!nonces_.claim(r.nonce, nonce)) {
      release_claim(claim);
      return refuse(claim, Failure{Error::NonceExhausted, "seal"});
    }
    claim.counter = nonce.counter;
    if (nonce.persist_mark != 0) {
      if (!ports_.store->persist(handle.index, nonce.persist_mark)) {
        // Fail closed: the mark stays where it was, and the counter, never
        // used, is given back (the session is busy: nobody took another).
        r.nonce.next = nonce.counter;
        release_claim(claim);
        return refuse(claim, Failure{Error::StorageFailure, "nonce store"});
      }
      Nonces::persisted(r.nonce, nonce);  // still ours: the session is busy
    }
    return Error{};
  }

  // The pool-buffer seal's claim: one copy of the claim's code for it.
  __attribute__((noinline)) Error claim_seal_for_buffer(SessionHandle handle, ConstByteSpan aad,
                                                        ConstByteSpan plaintext, Claim& claim) noexcept {
    return claim_seal(handle, aad, plaintext, claim);
  }

  Error claim_open(SessionHandle handle, const Nonce& nonce, ConstByteSpan aad, ConstByteSpan sealed,
                   Claim& claim) noexcept {
    if ((aad.data == nullptr && aad.size != 0) || sealed.data == nullptr) {
      return refuse(claim, Failure{Error::NullPointer, "open"});
    }
    if (sealed.size < policy_.tag_size) {
      return refuse(claim, Failure{Error::InvalidArgument, "sealed message shorter than its tag"});
    }
    if (!lengths_fit(aad, sealed.size - policy_.tag_size)) return refuse(claim, Failure{Error::DataTooLarge, "message"});
    if (const Error refused = claim_session(handle, claim); refused != Error{}) return refused;
    if (policy_.replay_window != 0) {
      // The session is claimed: its window is this call's to read.
      claim.counter = nonces_.counter_of(nonce);
      if (replayed(*claim.record, claim.counter)) {
        typename Lock::Guard guard(lock_);
        claim.record->busy = 0;
        ++stats_.replays;
        return refuse(claim, Failure{Error::ReplayedNonce, "replay window"});
      }
    }
    return Error{};
  }

  // Whether the window has seen `counter`, or it is older than the window.
  bool replayed(const SessionRecord& r, std::uint64_t counter) const noexcept {
    if (counter > r.replay_highest) return false;
    const std::uint64_t age = r.replay_highest - counter;
    return age >= policy_.replay_window || ((r.replay_seen >> age) & 1u) != 0;
  }

  // An authentic message's counter joins the window (bit i: highest - i seen).
  static void accept_counter(SessionRecord& r, std::uint64_t counter) noexcept {
    if (counter > r.replay_highest) {
      const std::uint64_t shift = counter - r.replay_highest;
      r.replay_seen = (shift >= 64 ? 0 : r.replay_seen << shift) | 1u;
      r.replay_highest = counter;
    } else {
      r.replay_seen |= std::uint64_t{1} << (r.replay_highest - counter);
    }
  }

  // The record a handle names, made busy: from here its fields are this
  // call's. Under the lock only the handle and the busy flag are looked at.
  __attribute__((always_inline)) Result<SessionRecord*> claim_record(SessionHandle handle) noexcept {
    SessionRecord* r = nullptr;
    Refusal why = Refusal::None;
    {
      typename Lock::Guard guard(lock_);
      why = lookup(handle, r);
      if (why == Refusal::None && r->busy != 0) why = Refusal::Busy;
      if (why == Refusal::None) r->busy = 1;
    }
    if (why != Refusal::None) return refused(why, SessionState::Idle);
    return r;
  }

  // Gives a claimed record back unchanged, with the reason.
  Failure unclaim(SessionRecord& r, Failure why) noexcept {
    typename Lock::Guard guard(lock_);
    r.busy = 0;
    return why;
  }

  // Why a claimed session that is not KeyLoaded or Active, or is locked,
  // cannot seal (in the order claim_session() and an expired session report).
  __attribute__((noinline, cold)) Failure cannot_seal(const SessionRecord& r) const noexcept {
    const Refusal why = usable(r);
    if (why != Refusal::None) return refused(why, SessionState::Allocated);
    return Failure{Error::KeyRotationRequired, "seal"};
  }

  // A usable session, claimed.
  __attribute__((always_inline)) Error claim_session(SessionHandle handle, Claim& claim) noexcept {
    Result<SessionRecord*> claimed = claim_record(handle);
    if (!claimed) return refuse(claim, Failure{claimed.error(), claimed.context()});
    SessionRecord* const r = claimed.value();
    claim.record = r;
    const Refusal why = usable(*r);
    if (why != Refusal::None) return refuse(claim, unclaim(*r, refused(why, SessionState::Allocated)));
    claim.context = static_cast<KeyContext*>(r->context);
    return Error{};
  }

  void release_claim(const Claim& claim) noexcept {
    typename Lock::Guard guard(lock_);
    claim.record->busy = 0;
  }

  // Outside the lock: only the claimed session's context is touched.
  __attribute__((always_inline)) bool encrypt(const Claim& claim, ConstByteSpan aad, ConstByteSpan plaintext, std::uint8_t* out,
               Nonce& nonce) noexcept {
    nonces_.format(fixed_field_, claim.counter, nonce);
    return Backend::seal(*claim.context, nonce, aad, plaintext, out, out + plaintext.size, policy_.tag_size);
  }

  __attribute__((always_inline)) Result<std::size_t> finish_seal(const Claim& claim, bool ok, std::uint8_t* out,
                                                                std::size_t size) noexcept {
    SessionRecord& r = *claim.record;
    if (!ok) {
      secure_wipe(out, size + policy_.tag_size);
      typename Lock::Guard guard(lock_);
      r.busy = 0;
      return Failure{Error::CryptoFailure, "seal"};
    }
    ++r.messages;
    typename Lock::Guard guard(lock_);
    r.state = static_cast<std::uint8_t>(SessionState::Active);
    r.busy = 0;
    ++stats_.seals;
    return size + policy_.tag_size;
  }

  AeadOpen decrypt(const Claim& claim, const Nonce& nonce, ConstByteSpan aad,
                   ConstByteSpan sealed, ByteSpan out) noexcept {
    const std::size_t size = sealed.size - policy_.tag_size;
    const AeadOpen result =
        Backend::open(*claim.context, nonce, aad, {sealed.data, size}, sealed.data + size, policy_.tag_size, out.data);
    if (result != AeadOpen::Ok) wipe(out);  // the backend may clear it too; the whole span is ours to clear
    return result;
  }

  Result<std::size_t> finish_open(const Claim& claim, AeadOpen result, std::size_t size) noexcept {
    SessionRecord& r = *claim.record;
    if (result == AeadOpen::Ok && policy_.replay_window != 0) accept_counter(r, claim.counter);  // still ours
    typename Lock::Guard guard(lock_);
    r.busy = 0;
    if (result == AeadOpen::Failed) return Failure{Error::CryptoFailure, "open"};
    if (result == AeadOpen::AuthenticationFailed) {
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
  std::size_t open_indices_ = 0;  // session_count_ once init() succeeded, 0 before
  static constexpr std::uint16_t kNoRecord = 0xFFFF;
  static_assert(kMaxSessions < kNoRecord, "a record index and the end of the idle list fit 16 bits");
  std::uint16_t idle_head_ = kNoRecord;  // idle records, linked through next_idle
  KeySlots<Backend> key_slots_;
  CryptoPolicy policy_;
  using Nonces = BasicNonceSequence<kNonceBytes>;
  Nonces nonces_;
  BasicPools<Lock>& pools_;
  BasicWorkspace<Lock>& workspace_;
  SessionPorts ports_{};
  std::uint8_t fixed_field_[kNonceBytes] = {};  // from DeviceIdentity at attach()
  SessionTableStats stats_{};
  bool initialized_ = false;
  bool initializing_ = false;
  mutable Lock lock_;
};

using SessionTable = BasicSessionTable<DefaultLock>;
using SealedMessage = SessionTable::SealedMessage;

}  // namespace memplan
