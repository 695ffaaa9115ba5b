// AES-GCM through mbedTLS, as a session AEAD backend (the interface:
// aead.hpp). 96-bit nonces; tags of 12 to 16 bytes; 128-, 192- and 256-bit
// keys.
//
// No heap here: mbedTLS is built without MBEDTLS_CIPHER_C, so
// mbedtls_gcm_setkey() keeps the AES key schedule inside the context.
#pragma once

#include <mbedtls/gcm.h>

#include <cstddef>
#include <cstdint>

#include "memplan/aead.hpp"
#include "memplan/aes_tables.hpp"
#include "memplan/limits.hpp"
#include "memplan/nonce_sequence.hpp"
#include "memplan/span.hpp"

namespace memplan {

struct AesGcm {
  using Context = mbedtls_gcm_context;
  static constexpr std::size_t kNonceSize = memplan::kNonceSize;
  static constexpr std::size_t kMinTag = kMinGcmTagSize;  // SP 800-38D 5.2.1.2: 96 bits and up for general use
  static constexpr std::size_t kMaxTag = kMaxGcmTagSize;
  // SP 800-38D 5.2.1.1: plaintext of at most 2^39 - 256 bits.
  static constexpr std::uint64_t kMaxPlaintext = (std::uint64_t{1} << 36) - 32;

  static constexpr bool valid_key_bits(unsigned bits) noexcept { return bits == 128 || bits == 192 || bits == 256; }
  static constexpr bool valid_tag_size(std::size_t size) noexcept { return size >= kMinTag && size <= kMaxTag; }
  // Once, from Memory::init(): AES tables kept in RAM are filled at boot, not by the first load_key().
  static bool prepare() noexcept { return fill_aes_tables(); }
  static void init(Context& context) noexcept { mbedtls_gcm_init(&context); }
  // mbedtls_gcm_free() zeroizes the key schedule and the GHASH tables.
  static void clear(Context& context) noexcept {
    mbedtls_gcm_free(&context);
    mbedtls_gcm_init(&context);
  }
  static bool set_key(Context& context, ConstByteSpan key) noexcept {
    return mbedtls_gcm_setkey(&context, MBEDTLS_CIPHER_ID_AES, key.data, static_cast<unsigned>(key.size * 8)) == 0;
  }
  static bool seal(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                   ConstByteSpan plaintext, std::uint8_t* out, std::uint8_t* tag, std::size_t tag_size) noexcept {
    return mbedtls_gcm_crypt_and_tag(&context, MBEDTLS_GCM_ENCRYPT, plaintext.size, nonce, kNonceSize, aad.data,
                                     aad.size, plaintext.data, out, tag_size, tag) == 0;
  }
  static AeadOpen open(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                       ConstByteSpan ciphertext, const std::uint8_t* tag, std::size_t tag_size,
                       std::uint8_t* out) noexcept {
    const int rc = mbedtls_gcm_auth_decrypt(&context, ciphertext.size, nonce, kNonceSize, aad.data, aad.size, tag,
                                            tag_size, ciphertext.data, out);
    if (rc == 0) return AeadOpen::Ok;
    return rc == MBEDTLS_ERR_GCM_AUTH_FAILED ? AeadOpen::AuthenticationFailed : AeadOpen::Failed;
  }
};

}  // namespace memplan
