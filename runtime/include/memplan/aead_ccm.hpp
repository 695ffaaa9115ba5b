// AES-CCM through mbedTLS, as a session AEAD backend (the interface:
// aead.hpp), for the protocols that use it (Matter, Thread, Zigbee, BLE).
// The nonce length is part of the type: kNonce bytes, 7 to 13, leave 15 -
// kNonce bytes for the message length (SP 800-38C A.1), so a 13-byte nonce
// allows messages up to 64 KiB - 1. Tags of 4 to 16 bytes, even; 128- and
// 256-bit keys.
//
// No heap here: without MBEDTLS_CIPHER_C, mbedTLS 3.6 runs CCM over its
// block_cipher module and keeps the AES key schedule inside the context.
#pragma once

#include <mbedtls/ccm.h>

#include <cstddef>
#include <cstdint>

#include "memplan/aead.hpp"
#include "memplan/aes_tables.hpp"
#include "memplan/limits.hpp"
#include "memplan/span.hpp"

namespace memplan {

template <std::size_t kNonce>
struct AesCcm {
  static_assert(kNonce >= kMinCcmNonceSize && kNonce <= kMaxNonceSize, "an AES-CCM nonce has 7 to 13 bytes");

  using Context = mbedtls_ccm_context;
  static constexpr std::size_t kNonceSize = kNonce;
  static constexpr std::size_t kMinTag = kMinCcmTagSize;
  static constexpr std::size_t kMaxTag = kMaxTagSize;
  // The length field's 15 - kNonce bytes, capped where a 64-bit count ends.
  static constexpr std::uint64_t kMaxPlaintext =
      15 - kNonce >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * (15 - kNonce < 8 ? 15 - kNonce : 0))) - 1;

  static constexpr bool valid_key_bits(unsigned bits) noexcept { return bits == 128 || bits == 256; }
  static constexpr bool valid_tag_size(std::size_t size) noexcept {
    return size >= kMinTag && size <= kMaxTag && size % 2 == 0;
  }
  // Once, from Memory::init(): AES tables kept in RAM are filled at boot, not by the first load_key().
  static bool prepare() noexcept { return fill_aes_tables(); }
  static void init(Context& context) noexcept { mbedtls_ccm_init(&context); }
  // mbedtls_ccm_free() zeroizes the key schedule.
  static void clear(Context& context) noexcept {
    mbedtls_ccm_free(&context);
    mbedtls_ccm_init(&context);
  }
  static bool set_key(Context& context, ConstByteSpan key) noexcept {
    return mbedtls_ccm_setkey(&context, MBEDTLS_CIPHER_ID_AES, key.data, static_cast<unsigned>(key.size * 8)) == 0;
  }
  static bool seal(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                   ConstByteSpan plaintext, std::uint8_t* out, std::uint8_t* tag, std::size_t tag_size) noexcept {
    return mbedtls_ccm_encrypt_and_tag(&context, plaintext.size, nonce, kNonceSize, aad.data, aad.size, plaintext.data,
                                       out, tag, tag_size) == 0;
  }
  static AeadOpen open(Context& context, const std::uint8_t (&nonce)[kNonceSize], ConstByteSpan aad,
                       ConstByteSpan ciphertext, const std::uint8_t* tag, std::size_t tag_size,
                       std::uint8_t* out) noexcept {
    const int rc = mbedtls_ccm_auth_decrypt(&context, ciphertext.size, nonce, kNonceSize, aad.data, aad.size,
                                            ciphertext.data, out, tag, tag_size);
    if (rc == 0) return AeadOpen::Ok;
    return rc == MBEDTLS_ERR_CCM_AUTH_FAILED ? AeadOpen::AuthenticationFailed : AeadOpen::Failed;
  }
};

}  // namespace memplan
