// Known answers through the runtime: the NIST GCM vectors shipped in the
// mbedTLS source (tests/suites/test_suite_gcm.aes*.data). The runtime only
// does 96-bit IVs and 12..16-byte tags; other vectors are checked against the
// project's mbedTLS build directly, and the counts are printed. Wycheproof's
// vectors for every AEAD: test_wycheproof.cpp.
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
  Bytes key, iv, aad, plaintext, ciphertext, tag;
  bool valid = true;
};

struct Counts {
  int passed = 0;
  int rejected_by_policy = 0;
};

using Layout = memplan_test::Layout<memplan::NoLock>;

// Runs one vector through a fresh layout whose policy matches its key and tag size.
void run(const Vector& v, bool encrypt, Counts& counts) {
  if (v.iv.size() != memplan::kNonceSize || v.tag.size() < 12 || v.tag.size() > 16 ||
      v.plaintext.size() > Layout::kBuffer || v.ciphertext.size() > Layout::kBuffer ||
      v.aad.size() > Layout::kBuffer) {
    ++counts.rejected_by_policy;
    return;
  }
  if (encrypt && big_endian(v.iv.data() + 4, 8) == ~std::uint64_t{0}) {
    ++counts.rejected_by_policy;  // the last counter value is never used (NonceExhausted)
    return;
  }
  const memplan::CryptoPolicy policy{static_cast<std::uint16_t>(v.key.size() * 8),
                                     static_cast<std::uint8_t>(v.tag.size()),
                                     4,
                                     8,
                                     16,
                                     1000,
                                     3600,
                                     3,
                                     0};
  auto layout = std::make_unique<Layout>(policy);
  REQUIRE(layout->init());
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock;
  memplan::FixedIdentity identity(v.iv.data(), 4);  // the IV's first 4 bytes are the fixed field
  REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
  auto session = layout->sessions.open_session().value();
  store.set_mark(session.index, big_endian(v.iv.data() + 4, 8));  // ... and the rest the counter
  REQUIRE(layout->sessions.load_key(session, {v.key.data(), v.key.size()}));
  const memplan::ConstByteSpan aad{v.aad.data(), v.aad.size()};

  if (encrypt) {
    Bytes out(v.plaintext.size() + v.tag.size());
    std::uint8_t nonce[memplan::kNonceSize];
    auto written = layout->sessions.seal(session, aad, {v.plaintext.data(), v.plaintext.size()},
                                         {out.data(), out.size()}, nonce);
    REQUIRE(written);
    REQUIRE(Bytes(nonce, nonce + 12) == v.iv);
    Bytes expected = v.ciphertext;
    expected.insert(expected.end(), v.tag.begin(), v.tag.end());
    REQUIRE(out == expected);
  } else {
    Bytes sealed = v.ciphertext;
    sealed.insert(sealed.end(), v.tag.begin(), v.tag.end());
    Bytes out(v.ciphertext.size() + 1, 0xEE);
    std::uint8_t nonce[memplan::kNonceSize];
    std::copy(v.iv.begin(), v.iv.end(), nonce);
    auto opened =
        layout->sessions.open(session, nonce, aad, {sealed.data(), sealed.size()}, {out.data(), out.size()});
    if (v.valid) {
      REQUIRE(opened);
      REQUIRE(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.value())) == v.plaintext);
    } else {
      REQUIRE(opened.error() == memplan::Error::AuthenticationFailed);
      REQUIRE(memplan_test::all_zero(out.data(), out.size()));  // nothing released, the output wiped
    }
  }
  ++counts.passed;
}

// Splits `name:"a":"b":128:...` after the function name into its fields.
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  for (std::size_t i = line.find(':') + 1; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ':') {
      if (field.size() >= 2 && field.front() == '"') field = field.substr(1, field.size() - 2);
      out.push_back(field.empty() ? "-" : field);
      field.clear();
    } else {
      field += line[i];
    }
  }
  return out;
}

}  // namespace

// The project's mbedTLS build (its config: no CIPHER_C, AES-NI or ROM tables)
// against a vector, through the GCM API directly: for vectors the runtime's
// policy refuses (every NIST vector in the 3.6.6 data files has a 128-bit IV).
bool raw_gcm_matches(const Vector& v, bool encrypt) {
  mbedtls_gcm_context context;
  mbedtls_gcm_init(&context);
  bool ok = mbedtls_gcm_setkey(&context, MBEDTLS_CIPHER_ID_AES, v.key.data(),
                               static_cast<unsigned>(v.key.size() * 8)) == 0;
  if (ok && encrypt) {
    Bytes out(v.plaintext.size()), tag(v.tag.size());
    ok = mbedtls_gcm_crypt_and_tag(&context, MBEDTLS_GCM_ENCRYPT, v.plaintext.size(), v.iv.data(),
                                   v.iv.size(), v.aad.data(), v.aad.size(), v.plaintext.data(), out.data(),
                                   tag.size(), tag.data()) == 0 &&
         out == v.ciphertext && tag == v.tag;
  } else if (ok) {
    Bytes out(v.ciphertext.size());
    const int rc =
        mbedtls_gcm_auth_decrypt(&context, v.ciphertext.size(), v.iv.data(), v.iv.size(), v.aad.data(),
                                 v.aad.size(), v.tag.data(), v.tag.size(), v.ciphertext.data(), out.data());
    ok = v.valid ? (rc == 0 && out == v.plaintext) : (rc == MBEDTLS_ERR_GCM_AUTH_FAILED);
  }
  mbedtls_gcm_free(&context);
  return ok;
}

TEST_CASE("NIST GCM vectors from the mbedTLS source - through the runtime where its policy allows", "[kat]") {
  Counts counts;
  int lines = 0;
  int raw_checked = 0;
  for (const char* bits : {"128", "192", "256"}) {
    for (const char* direction : {"en", "de"}) {
      const std::string path = std::string(MEMPLAN_MBEDTLS_SOURCE_DIR) + "/tests/suites/test_suite_gcm.aes" +
                               bits + "_" + direction + ".data";
      std::ifstream file(path);
      INFO(path);
      REQUIRE(file.good());
      for (std::string line; std::getline(file, line);) {
        Vector v;
        bool encrypt = true;
        if (line.rfind("gcm_encrypt_and_tag:", 0) == 0) {
          const auto f = fields(line);  // id key src iv add dst tag_bits tag init
          REQUIRE(f.size() == 9);
          v = Vector{hex(f[1]), hex(f[3]), hex(f[4]), hex(f[2]), hex(f[5]), hex(f[7]), true};
        } else if (line.rfind("gcm_decrypt_and_verify:", 0) == 0) {
          const auto f = fields(line);  // id key src iv add tag_bits tag result pt init
          REQUIRE(f.size() == 10);
          const bool valid = f[7] != "FAIL";
          v = Vector{hex(f[1]), hex(f[3]), hex(f[4]), valid ? hex(f[8]) : Bytes{},
                     hex(f[2]), hex(f[6]), valid};
          encrypt = false;
        } else {
          continue;
        }
        ++lines;
        INFO(line);
        const int refused = counts.rejected_by_policy;
        run(v, encrypt, counts);
        if (counts.rejected_by_policy != refused) {
          REQUIRE(raw_gcm_matches(v, encrypt));
          ++raw_checked;
        }
      }
    }
  }
  std::printf(
      "NIST GCM vectors: %d read, %d through the runtime, %d refused by its policy (IV != 96 bits or tag < "
      "12 B) "
      "and checked against the project's mbedTLS build directly\n",
      lines, counts.passed, raw_checked);
  CHECK(lines == 1008);
  CHECK(counts.passed + raw_checked == lines);
}


TEST_CASE("mbedTLS never called calloc during the vectors", "[kat][heap]") {
  CHECK(memplan::mbedtls_calloc_calls() == 0);
}
