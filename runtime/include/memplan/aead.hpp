// What a session AEAD backend is. A backend is a type with
//   using Context = ...;                    the per-key state a key slot holds
//   static constexpr std::size_t kNonceSize;         the nonce bytes it takes
//   static constexpr std::size_t kMinTag, kMaxTag;   the tag sizes it produces
//   static constexpr std::uint64_t kMaxPlaintext;    bytes per message
//   static bool valid_key_bits(unsigned), valid_tag_size(std::size_t)
//   static void init(Context&), clear(Context&)    clear() zeroizes the key
//   static bool set_key(Context&, ConstByteSpan key)
//   static bool seal(Context&, nonce, aad, plaintext, out, tag, tag_size)
//   static AeadOpen open(Context&, nonce, aad, ciphertext, tag, tag_size, out)
// all noexcept, no heap, the nonce an array of kNonceSize bytes; optionally
//   static bool prepare()      work done once, from Memory::init(), before any
//                              key (the AES backends fill RAM tables there)
// memplan's backends: AesGcm (aead_gcm.hpp), AesCcm<nonce bytes> (aead_ccm.hpp) and
// ChaCha20Poly1305 (aead_chachapoly.hpp). A product's hardware accelerator
// plugs in as another such type (tests/runtime/test_session_backend.cpp
// shows one).
#pragma once

#include <cstdint>
#include <type_traits>

namespace memplan {

// What a backend's open() found: Failed is an error of the cipher itself
// (never expected), AuthenticationFailed a message that is not authentic.
enum class AeadOpen : std::uint8_t { Ok, AuthenticationFailed, Failed };

namespace detail {
template <class Backend, class = void>
struct HasPrepare : std::false_type {};
template <class Backend>
struct HasPrepare<Backend, std::void_t<decltype(Backend::prepare())>> : std::true_type {};
}  // namespace detail

// The backend's once-at-init work, for backends that have any.
template <class Backend>
bool prepare_backend() noexcept {
  if constexpr (detail::HasPrepare<Backend>::value) {
    return Backend::prepare();
  } else {
    return true;
  }
}

}  // namespace memplan
