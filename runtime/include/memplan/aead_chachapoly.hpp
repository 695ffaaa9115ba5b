// ChaCha20-Poly1305 (RFC 8439) through mbedTLS, as a session AEAD backend
// (the interface: aead.hpp). On cores without AES hardware it runs in
// constant time with no table lookups, and needs about half the
// instructions per byte of AES-GCM in software. 96-bit nonces, 256-bit
// keys, the full 16-byte tag only.
//
// No heap: the context holds the ChaCha20 state and the Poly1305 key.
#pragma once

#include <mbedtls/chachapoly.h>

#include <cstddef>
#include <cstdint>

#include "memplan/aead.hpp"
#include "memplan/limits.hpp"
#include "memplan/span.hpp"

namespace memplan {

struct ChaCha20Poly1305 {
  using Context = mbedtls_chachapoly_context;
  static constexpr std::size_t kNonceSize = memplan::kNonceSize;
  static constexpr std::size_t kMinTag = kChaChaPolyTagSize;
  static constexpr std::size_t kMaxTag = kChaChaPolyTagSize;
  // RFC 8439 2.8: 2^32 - 1 blocks of 64 bytes per nonce (the first block keys Poly1305).
  static constexpr std::uint64_t kMaxPlaintext = ((std::uint64_t{1} << 32) - 2) * 64;

  static constexpr bool valid_key_bits(unsigned bits) noexcept { return bits == 256; }
  static constexpr bool valid_tag_size(std::size_t size) noexcept { return size == kChaChaPolyTagSize; }
  static void init(Context& context) noexcept { mbedtls_chachapoly_init(&context); }
  // mbedtls_chachapoly_free() zeroizes the key and the Poly1305 state.
  static void clear(Context& context) noexcept {
    mbedtls_chachapoly_free(&context);
    mbedtls_chachapoly_init(&context);
  }
  static bool set_key(Context& context, ConstByteSpan key) noexcept {
    return key.size == 32 && mbedtls_chachapoly_setkey(&context, key.data) == 0;
  }
  static bool seal(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                   ConstByteSpan plaintext, std::uint8_t* out, std::uint8_t* tag, std::size_t tag_size) noexcept {
    return tag_size == kChaChaPolyTagSize &&
           mbedtls_chachapoly_encrypt_and_tag(&context, plaintext.size, nonce, aad.data, aad.size, plaintext.data, out,
                                              tag) == 0;
  }
  static AeadOpen open(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                       ConstByteSpan ciphertext, const std::uint8_t* tag, std::size_t tag_size,
                       std::uint8_t* out) noexcept {
    if (tag_size != kChaChaPolyTagSize) return AeadOpen::Failed;
    const int rc = mbedtls_chachapoly_auth_decrypt(&context, ciphertext.size, nonce, aad.data, aad.size, tag,
                                                   ciphertext.data, out);
    if (rc == 0) return AeadOpen::Ok;
    return rc == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED ? AeadOpen::AuthenticationFailed : AeadOpen::Failed;
  }
};

}  // namespace memplan
