// Wycheproof's AEAD vectors (tests/vectors/wycheproof/, Apache-2.0) through
// the session table's public API, for each AEAD a profile can choose:
// AES-GCM, AES-CCM (every nonce length 7 to 13) and ChaCha20-Poly1305.
// Every vector whose parameters a policy can express is opened (a valid one
// decrypts, an invalid one is refused with the output wiped) and, when valid,
// sealed with the runtime choosing the vector's nonce (its fixed field from
// the identity port, its counter from the nonce store's mark). The others
// (nonce or tag sizes the AEAD or the policy refuses) are counted; the counts
// are printed per file.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <memplan/heap_guard.hpp>
#include "test_support.hpp"
#include "vector_text.hpp"

namespace {

using memplan_test::big_endian;
using memplan_test::Bytes;
using memplan_test::hex;

struct Vector {
  std::string id;
  Bytes key, iv, aad, plaintext, ciphertext, tag;
  bool valid = true;
};

struct Counts {
  int total = 0;
  int opened = 0;              // through open(): valid ones decrypted, invalid ones refused
  int invalid_refused = 0;     // of those, invalid vectors refused with the output wiped
  int sealed = 0;              // valid ones also sealed to the vector's bytes
  int refused_by_policy = 0;   // parameters no policy of this AEAD can express
};

std::vector<Vector> read(const char* path) {
  std::ifstream file(path);
  INFO(path);
  REQUIRE(file.good());
  std::vector<Vector> vectors;
  for (std::string line; std::getline(file, line);) {
    std::istringstream in(line);
    std::string id, key_bits, iv_bits, tag_bits, result, key, iv, aad, msg, ct, tag;
    in >> id >> key_bits >> iv_bits >> tag_bits >> result >> key >> iv >> aad >> msg >> ct >> tag;
    vectors.push_back(Vector{id, hex(key), hex(iv), hex(aad), hex(msg), hex(ct), hex(tag), result != "invalid"});
  }
  return vectors;
}

// One vector through a fresh table whose backend and policy fit it.
template <class Backend>
void run(const Vector& v, Counts& counts) {
  using Layout = memplan_test::Layout<memplan::NoLock, Backend>;
  constexpr std::size_t kNonce = Backend::kNonceSize;
  // The nonce as the runtime builds it: a fixed field, then a counter of 4 to 8 bytes.
  constexpr std::size_t kCounter = kNonce - (kNonce > 8 ? kNonce - 8 : 0);
  constexpr std::size_t kFixed = kNonce - kCounter;
  if (v.iv.size() != kNonce || !Backend::valid_tag_size(v.tag.size()) ||
      !Backend::valid_key_bits(static_cast<unsigned>(v.key.size() * 8)) || v.plaintext.size() > Layout::kBuffer ||
      v.ciphertext.size() > Layout::kBuffer || v.aad.size() > Layout::kBuffer ||
      v.ciphertext.size() > Backend::kMaxPlaintext) {
    ++counts.refused_by_policy;
    return;
  }
  INFO("Wycheproof tcId " << v.id);
  const memplan::CryptoPolicy policy{static_cast<std::uint16_t>(v.key.size() * 8),
                                     static_cast<std::uint8_t>(v.tag.size()),
                                     static_cast<std::uint8_t>(kFixed),
                                     static_cast<std::uint8_t>(kCounter),
                                     16,
                                     1000,
                                     3600,
                                     3,
                                     0};
  auto layout = std::make_unique<Layout>(policy);
  REQUIRE(layout->init());
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock;
  memplan::FixedIdentity identity(v.iv.data(), kFixed);
  REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
  auto session = layout->sessions.open_session().value();
  const std::uint64_t counter = big_endian(v.iv.data() + kFixed, kCounter);
  store.set_mark(session.index, counter);
  REQUIRE(layout->sessions.load_key(session, {v.key.data(), v.key.size()}));
  const memplan::ConstByteSpan aad{v.aad.data(), v.aad.size()};

  Bytes sealed = v.ciphertext;
  sealed.insert(sealed.end(), v.tag.begin(), v.tag.end());
  Bytes out(v.ciphertext.size() + 1, 0xEE);
  typename memplan::BasicSessionTable<memplan::NoLock, Backend>::Nonce nonce;
  std::copy(v.iv.begin(), v.iv.end(), nonce);
  auto opened = layout->sessions.open(session, nonce, aad, {sealed.data(), sealed.size()}, {out.data(), out.size()});
  if (v.valid) {
    REQUIRE(opened);
    REQUIRE(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.value())) == v.plaintext);
  } else {
    REQUIRE(!opened);
    REQUIRE(opened.error() == memplan::Error::AuthenticationFailed);
    REQUIRE(memplan_test::all_zero(out.data(), out.size()));  // nothing released, the output wiped
    ++counts.invalid_refused;
  }
  ++counts.opened;

  // The last counter value is never used (NonceExhausted): such a vector is opened only.
  const bool last_counter = counter == (kCounter >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * kCounter)) - 1);
  if (!v.valid || last_counter) return;
  Bytes written(v.plaintext.size() + v.tag.size());
  typename memplan::BasicSessionTable<memplan::NoLock, Backend>::Nonce chosen;
  auto size = layout->sessions.seal(session, aad, {v.plaintext.data(), v.plaintext.size()},
                                    {written.data(), written.size()}, chosen);
  REQUIRE(size);
  REQUIRE(Bytes(chosen, chosen + kNonce) == v.iv);
  REQUIRE(written == sealed);
  ++counts.sealed;
}

void report(const char* name, const Counts& counts) {
  std::printf("Wycheproof %s: %d tests, %d opened through the runtime (%d invalid ones refused, output wiped), "
              "%d also sealed, %d refused by policy\n",
              name, counts.total, counts.opened, counts.invalid_refused, counts.sealed, counts.refused_by_policy);
}

// AES-CCM's nonce length is part of the backend's type: one per length.
template <std::size_t kNonce>
void run_ccm(const Vector& v, Counts& counts) {
  if constexpr (kNonce <= memplan::kMaxNonceSize) {
    if (v.iv.size() == kNonce) {
      run<memplan::AesCcm<kNonce>>(v, counts);
      return;
    }
    run_ccm<kNonce + 1>(v, counts);
  } else {
    ++counts.refused_by_policy;  // a nonce length CCM does not have
  }
}

}  // namespace

// Every vector of a file through `run_one`; the counts printed and returned.
template <class Run>
Counts run_file(const char* name, const char* path, Run run_one) {
  Counts counts;
  for (const auto& v : read(path)) {
    ++counts.total;
    run_one(v, counts);
  }
  report(name, counts);
  CHECK(memplan::mbedtls_calloc_calls() == 0);  // no AEAD touched the heap
  CHECK(counts.invalid_refused > 0);
  CHECK(counts.opened + counts.refused_by_policy == counts.total);
  return counts;
}

TEST_CASE("Wycheproof AES-GCM through seal and open", "[kat][wycheproof]") {
  const Counts counts = run_file("AES-GCM", MEMPLAN_WYCHEPROOF_DIR "/aes_gcm_test.txt", run<memplan::AesGcm>);
  CHECK(counts.total == 316);
  CHECK(counts.opened == 197);  // every 96-bit-IV vector with a 12..16 B tag
}

TEST_CASE("Wycheproof AES-CCM through seal and open, every nonce length", "[kat][wycheproof]") {
  const Counts counts =
      run_file("AES-CCM", MEMPLAN_WYCHEPROOF_DIR "/aes_ccm_test.txt", run_ccm<memplan::kMinCcmNonceSize>);
  CHECK(counts.total == 552);
  CHECK(counts.opened == 324);  // 128- and 256-bit keys, nonces of 7 to 13 bytes, even tags of 4 to 16 bytes
}

TEST_CASE("Wycheproof ChaCha20-Poly1305 through seal and open", "[kat][wycheproof]") {
  const Counts counts = run_file("ChaCha20-Poly1305", MEMPLAN_WYCHEPROOF_DIR "/chacha20_poly1305_test.txt",
                                 run<memplan::ChaCha20Poly1305>);
  CHECK(counts.total == 325);
  CHECK(counts.opened == 316);  // every 96-bit nonce
}
