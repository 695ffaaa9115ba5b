// Wycheproof's AEAD vectors (tests/vectors/wycheproof/, Apache-2.0) through
// the session table's public API, for each AEAD a profile can choose:
// AES-GCM, AES-CCM (every nonce length 7 to 13) and ChaCha20-Poly1305, by
// the runner the Cortex-M firmware uses too (wycheproof_runner.hpp). The
// counts are printed per file.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <memplan/heap_guard.hpp>
#include "vector_text.hpp"
#include "wycheproof_runner.hpp"

namespace {

using memplan_test::AeadVector;
using memplan_test::Bytes;
using memplan_test::hex;
using memplan_test::VectorCounts;

struct Vector {
  unsigned id;
  Bytes key, iv, aad, msg, ct, tag;
  bool valid;
  AeadVector view() const {
    return AeadVector{id,         key.data(), key.size(), iv.data(), iv.size(), aad.data(), aad.size(),
                      msg.data(), msg.size(), ct.data(),  tag.data(), tag.size(), valid};
  }
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
    vectors.push_back(Vector{static_cast<unsigned>(std::stoul(id)), hex(key), hex(iv), hex(aad), hex(msg), hex(ct),
                             hex(tag), result != "invalid"});
  }
  return vectors;
}

// Every vector of a file through `run_one`; the counts printed and returned.
template <class Run>
VectorCounts run_file(const char* name, const char* path, Run run_one) {
  VectorCounts counts;
  for (const auto& v : read(path)) {
    ++counts.total;
    INFO("Wycheproof " << name << " tcId " << v.id);
    REQUIRE(v.ct.size() == v.msg.size());
    if (const char* failure = run_one(v.view(), counts); failure != nullptr) FAIL_CHECK(failure);
  }
  std::printf("Wycheproof %s: %d tests, %d opened through the runtime (%d invalid ones refused, output wiped), "
              "%d also sealed, %d refused by policy\n",
              name, counts.total, counts.opened, counts.invalid_refused, counts.sealed, counts.refused_by_policy);
  CHECK(memplan::mbedtls_calloc_calls() == 0);  // no AEAD touched the heap
  CHECK(counts.invalid_refused > 0);
  CHECK(counts.opened + counts.refused_by_policy == counts.total);
  return counts;
}

}  // namespace

TEST_CASE("Wycheproof AES-GCM through seal and open", "[kat][wycheproof]") {
  const VectorCounts counts = run_file("AES-GCM", MEMPLAN_WYCHEPROOF_DIR "/aes_gcm_test.txt",
                                       memplan_test::run_aead_vector<memplan::AesGcm>);
  CHECK(counts.total == 316);
  CHECK(counts.opened == 197);  // every 96-bit-IV vector with a 12..16 B tag
  CHECK(counts.sealed == 113);
}

TEST_CASE("Wycheproof AES-CCM through seal and open, every nonce length", "[kat][wycheproof]") {
  const VectorCounts counts =
      run_file("AES-CCM", MEMPLAN_WYCHEPROOF_DIR "/aes_ccm_test.txt", memplan_test::run_ccm_vector<>);
  CHECK(counts.total == 552);
  CHECK(counts.opened == 324);  // 128- and 256-bit keys, nonces of 7 to 13 bytes, even tags of 4 to 16 bytes
  CHECK(counts.sealed == 270);
}

TEST_CASE("Wycheproof ChaCha20-Poly1305 through seal and open", "[kat][wycheproof]") {
  const VectorCounts counts = run_file("ChaCha20-Poly1305", MEMPLAN_WYCHEPROOF_DIR "/chacha20_poly1305_test.txt",
                                       memplan_test::run_aead_vector<memplan::ChaCha20Poly1305>);
  CHECK(counts.total == 325);
  CHECK(counts.opened == 316);  // every 96-bit nonce
  CHECK(counts.sealed == 256);
}
