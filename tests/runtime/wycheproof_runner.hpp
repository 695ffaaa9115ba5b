// One Wycheproof AEAD vector through the session table's public API, with no
// heap and no test framework, so the host test (test_wycheproof.cpp) and the
// Cortex-M firmware (tests/firmware/wycheproof_firmware.cpp) run the same
// code. A vector whose parameters a policy of the AEAD can express is opened
// (a valid one must decrypt, an invalid one must be refused with the output
// wiped) and, when valid, sealed with the runtime choosing the vector's nonce
// (its fixed field from the identity port, its counter from the nonce
// store's mark): the bytes must be the vector's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

#include "test_support.hpp"
#include "vector_text.hpp"

namespace memplan_test {

struct AeadVector {
  unsigned id;
  const std::uint8_t* key;
  std::size_t key_size;
  const std::uint8_t* iv;
  std::size_t iv_size;
  const std::uint8_t* aad;
  std::size_t aad_size;
  const std::uint8_t* msg;
  std::size_t msg_size;
  const std::uint8_t* ct;  // ct_size = msg_size
  const std::uint8_t* tag;
  std::size_t tag_size;
  bool valid;
};

struct VectorCounts {
  int total = 0;
  int opened = 0;             // through open(): valid ones decrypted, invalid ones refused
  int invalid_refused = 0;    // of those, invalid vectors refused with the output wiped
  int sealed = 0;             // valid ones also sealed to the vector's bytes
  int refused_by_policy = 0;  // parameters no policy of this AEAD can express
};

namespace wycheproof_detail {

// Room for any one test layout at a time (they differ in their key slots only).
constexpr std::size_t kArena = sizeof(Layout<memplan::NoLock, memplan::AesGcm>) + 1024;
alignas(64) inline unsigned char arena[kArena];
inline std::uint8_t sealed[Layout<memplan::NoLock>::kBuffer + 16];
inline std::uint8_t out[Layout<memplan::NoLock>::kBuffer + 16];

}  // namespace wycheproof_detail

// Runs one vector for `Backend`; returns nullptr, or what went wrong.
template <class Backend>
const char* run_aead_vector(const AeadVector& v, VectorCounts& counts) {
  using LayoutType = Layout<memplan::NoLock, Backend>;
  using Table = memplan::BasicSessionTable<memplan::NoLock, Backend>;
  static_assert(sizeof(LayoutType) <= wycheproof_detail::kArena, "the arena holds every test layout");
  constexpr std::size_t kNonce = Backend::kNonceSize;
  // The nonce as the runtime builds it: a fixed field, then a counter of 4 to 8 bytes.
  constexpr std::size_t kCounter = kNonce > 8 ? 8 : kNonce;
  constexpr std::size_t kFixed = kNonce - kCounter;
  if (v.iv_size != kNonce || !Backend::valid_tag_size(v.tag_size) ||
      !Backend::valid_key_bits(static_cast<unsigned>(v.key_size * 8)) || v.msg_size > LayoutType::kBuffer ||
      v.aad_size > LayoutType::kBuffer || v.msg_size > Backend::kMaxPlaintext) {
    ++counts.refused_by_policy;
    return nullptr;
  }
  const memplan::CryptoPolicy policy{static_cast<std::uint16_t>(v.key_size * 8), static_cast<std::uint8_t>(v.tag_size),
                                     static_cast<std::uint8_t>(kFixed), static_cast<std::uint8_t>(kCounter),
                                     16, 1000, 3600, 3, 0};
  struct Destroy {
    LayoutType* layout;
    ~Destroy() { layout->~LayoutType(); }
  } owner{::new (static_cast<void*>(wycheproof_detail::arena)) LayoutType(policy)};
  LayoutType& layout = *owner.layout;
  memplan::InMemoryNonceStore<LayoutType::kSessions> store;
  memplan::ManualClock clock;
  memplan::FixedIdentity identity(v.iv, kFixed);
  if (!layout.init() || !layout.sessions.attach({&store, &clock, &identity})) return "layout init";
  auto session = layout.sessions.open_session();
  if (!session) return "open_session";
  const std::uint64_t counter = big_endian(v.iv + kFixed, kCounter);
  store.set_mark(session.value().index, counter);
  if (!layout.sessions.load_key(session.value(), {v.key, v.key_size})) return "load_key";
  const memplan::ConstByteSpan aad{v.aad, v.aad_size};

  std::uint8_t* const sealed = wycheproof_detail::sealed;
  std::uint8_t* const out = wycheproof_detail::out;
  if (v.msg_size > 0) std::memcpy(sealed, v.ct, v.msg_size);
  std::memcpy(sealed + v.msg_size, v.tag, v.tag_size);
  std::memset(out, 0xEE, v.msg_size + 1);
  typename Table::Nonce nonce;
  std::memcpy(nonce, v.iv, kNonce);
  auto opened =
      layout.sessions.open(session.value(), nonce, aad, {sealed, v.msg_size + v.tag_size}, {out, v.msg_size + 1});
  if (v.valid) {
    if (!opened) return "a valid vector did not open";
    if (opened.value() != v.msg_size || (v.msg_size > 0 && std::memcmp(out, v.msg, v.msg_size) != 0)) {
      return "a valid vector opened to other bytes";
    }
  } else {
    if (opened || opened.error() != memplan::Error::AuthenticationFailed) return "an invalid vector was not refused";
    if (!all_zero(out, v.msg_size + 1)) return "an invalid vector left bytes in the output";
    ++counts.invalid_refused;
  }
  ++counts.opened;

  // The last counter value is never used (NonceExhausted): such a vector is opened only.
  const bool last_counter = counter == (kCounter >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * kCounter)) - 1);
  if (!v.valid || last_counter) return nullptr;
  typename Table::Nonce chosen;
  auto written = layout.sessions.seal(session.value(), aad, {v.msg, v.msg_size}, {out, v.msg_size + v.tag_size}, chosen);
  if (!written || written.value() != v.msg_size + v.tag_size) return "seal";
  if (std::memcmp(chosen, v.iv, kNonce) != 0) return "the runtime chose another nonce";
  if (std::memcmp(out, sealed, v.msg_size + v.tag_size) != 0) return "sealed to other bytes";
  ++counts.sealed;
  return nullptr;
}

// AES-CCM's nonce length is part of the backend's type: one per length.
template <std::size_t kNonce = memplan::kMinCcmNonceSize>
const char* run_ccm_vector(const AeadVector& v, VectorCounts& counts) {
  if constexpr (kNonce <= memplan::kMaxNonceSize) {
    if (v.iv_size == kNonce) return run_aead_vector<memplan::AesCcm<kNonce>>(v, counts);
    return run_ccm_vector<kNonce + 1>(v, counts);
  } else {
    ++counts.refused_by_policy;  // a nonce length CCM does not have
    return nullptr;
  }
}

}  // namespace memplan_test
