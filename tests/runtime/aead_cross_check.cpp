// The runtime's AEADs against an independent implementation: this program
// seals messages with nonces the runtime chooses (`seal`), and opens
// messages sealed elsewhere (`open`, from standard input);
// cross_check_aead.py drives it against Debian's python3-cryptography
// (OpenSSL). One line per message, fields in hex ('-' for empty):
//   aead key_bits tag_size nonce_size key nonce aad sealed plaintext
// where `sealed` is the ciphertext followed by the tag. `open` prints
// "ok" or "refused <error>" per line and exits 1 if a line fails to parse.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <memplan/heap_guard.hpp>
#include <memplan/memplan.hpp>

#include "test_support.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string hex(const std::uint8_t* data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out.empty() ? "-" : out;
}

bool unhex(const std::string& text, Bytes& out) {
  out.clear();
  if (text == "-") return true;
  if (text.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    const int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0) return false;
    out.push_back(static_cast<std::uint8_t>(high * 16 + low));
  }
  return true;
}

template <class Backend>
struct Table {
  using Layout = memplan_test::Layout<memplan::NoLock, Backend>;
  static constexpr std::size_t kNonce = Backend::kNonceSize;
  static constexpr std::size_t kCounter = kNonce > 8 ? 8 : kNonce;  // as wide as the nonce allows
  static constexpr std::size_t kFixed = kNonce - kCounter;

  std::unique_ptr<Layout> layout;
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock;
  std::uint8_t fixed[8] = {0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8};
  memplan::FixedIdentity identity{fixed, kFixed};
  memplan::SessionHandle session{};

  bool start(const Bytes& key, std::size_t tag_size, std::uint64_t first_counter) {
    const memplan::CryptoPolicy policy{static_cast<std::uint16_t>(key.size() * 8), static_cast<std::uint8_t>(tag_size),
                                       static_cast<std::uint8_t>(kFixed), static_cast<std::uint8_t>(kCounter), 16,
                                       1000, 3600, 200, 0};
    layout = std::make_unique<Layout>(policy);
    if (!layout->init() || !layout->sessions.attach({&store, &clock, &identity})) return false;
    auto opened = layout->sessions.open_session();
    if (!opened) return false;
    session = opened.value();
    store.set_mark(session.index, first_counter);
    return static_cast<bool>(layout->sessions.load_key(session, {key.data(), key.size()}));
  }
};

// Messages of several lengths, with and without associated data, each with the nonce the runtime chose.
template <class Backend>
bool seal_some(const char* aead, unsigned key_bits, std::size_t tag_size) {
  Table<Backend> table;
  Bytes key(key_bits / 8);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x40 + i * 7);
  if (!table.start(key, tag_size, 0x0102030405ull)) return false;  // a counter well inside every width
  for (const std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                                   std::size_t{64}, std::size_t{255}, std::size_t{1024}}) {
    for (const std::size_t aad_length : {std::size_t{0}, std::size_t{13}}) {
      Bytes plaintext(length), aad(aad_length), sealed(length + tag_size);
      for (std::size_t i = 0; i < length; ++i) plaintext[i] = static_cast<std::uint8_t>(i * 31 + length);
      for (std::size_t i = 0; i < aad_length; ++i) aad[i] = static_cast<std::uint8_t>(0xA0 + i);
      typename memplan::BasicSessionTable<memplan::NoLock, Backend>::Nonce nonce;
      auto written = table.layout->sessions.seal(table.session, {aad.data(), aad.size()},
                                                 {plaintext.data(), plaintext.size()}, {sealed.data(), sealed.size()}, nonce);
      if (!written) return false;
      std::printf("%s %u %zu %zu %s %s %s %s %s\n", aead, key_bits, tag_size, Table<Backend>::kNonce,
                  hex(key.data(), key.size()).c_str(), hex(nonce, sizeof nonce).c_str(), hex(aad.data(), aad.size()).c_str(),
                  hex(sealed.data(), sealed.size()).c_str(), hex(plaintext.data(), plaintext.size()).c_str());
    }
  }
  return true;
}

template <class Backend>
std::string open_one(const Bytes& key, std::size_t tag_size, const Bytes& nonce_bytes, const Bytes& aad,
                     const Bytes& sealed, const Bytes& expected) {
  Table<Backend> table;
  if (nonce_bytes.size() != Backend::kNonceSize || !table.start(key, tag_size, 0)) return "refused setup";
  typename memplan::BasicSessionTable<memplan::NoLock, Backend>::Nonce nonce;
  std::copy(nonce_bytes.begin(), nonce_bytes.end(), nonce);
  Bytes out(sealed.size() + 1, 0xEE);
  auto opened = table.layout->sessions.open(table.session, nonce, {aad.data(), aad.size()},
                                            {sealed.data(), sealed.size()}, {out.data(), out.size()});
  if (!opened) return std::string("refused ") + memplan::to_string(opened.error());
  return Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.value())) == expected ? "ok" : "wrong plaintext";
}

std::string open_line(const std::string& line) {
  std::istringstream in(line);
  std::string aead, key_text, nonce_text, aad_text, sealed_text, plain_text;
  unsigned key_bits = 0;
  std::size_t tag_size = 0, nonce_size = 0;
  in >> aead >> key_bits >> tag_size >> nonce_size >> key_text >> nonce_text >> aad_text >> sealed_text >> plain_text;
  Bytes key, nonce, aad, sealed, plaintext;
  if (!in || !unhex(key_text, key) || !unhex(nonce_text, nonce) || !unhex(aad_text, aad) || !unhex(sealed_text, sealed) ||
      !unhex(plain_text, plaintext)) {
    return "";
  }
  if (aead == "gcm") return open_one<memplan::AesGcm>(key, tag_size, nonce, aad, sealed, plaintext);
  if (aead == "chachapoly") return open_one<memplan::ChaCha20Poly1305>(key, tag_size, nonce, aad, sealed, plaintext);
  if (aead == "ccm" && nonce_size == 13) return open_one<memplan::AesCcm<13>>(key, tag_size, nonce, aad, sealed, plaintext);
  if (aead == "ccm" && nonce_size == 7) return open_one<memplan::AesCcm<7>>(key, tag_size, nonce, aad, sealed, plaintext);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "seal") {
    const bool ok = seal_some<memplan::AesGcm>("gcm", 128, 16) && seal_some<memplan::AesGcm>("gcm", 192, 12) &&
                    seal_some<memplan::AesGcm>("gcm", 256, 16) && seal_some<memplan::AesCcm<13>>("ccm", 128, 8) &&
                    seal_some<memplan::AesCcm<13>>("ccm", 256, 16) && seal_some<memplan::AesCcm<7>>("ccm", 128, 4) &&
                    seal_some<memplan::ChaCha20Poly1305>("chachapoly", 256, 16);
    return ok && memplan::mbedtls_calloc_calls() == 0 ? 0 : 1;
  }
  if (command == "open") {
    for (std::string line; std::getline(std::cin, line);) {
      const std::string result = open_line(line);
      if (result.empty()) {
        std::fprintf(stderr, "aead_cross_check: cannot read line: %s\n", line.c_str());
        return 1;
      }
      std::printf("%s\n", result.c_str());
    }
    return memplan::mbedtls_calloc_calls() == 0 ? 0 : 1;
  }
  std::fprintf(stderr, "usage: aead_cross_check seal | open < lines\n");
  return 2;
}
