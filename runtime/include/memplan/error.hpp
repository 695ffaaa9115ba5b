// One error vocabulary for the whole runtime: every fallible call returns
// one of these (inside a Result), never throws, never invokes UB.
#pragma once

#include <cstdint>

namespace memplan {

enum class Error : std::uint8_t {
  // Lifecycle
  InvalidArgument = 1,
  AlreadyInitialized,
  NotInitialized,
  // Pools and buffers
  SizeNotSupported,   // no class allowed for the usage is large enough
  PoolExhausted,      // every fitting class is full (Result::context names the last tried)
  NullPointer,        // a null span where data is required
  InvalidHandle,      // release token names no block of this pool, or no allocation
  StaleHandle,        // release token of an earlier allocation of the block
  DoubleRelease,      // release token whose allocation was released already
  PoolCorrupted,      // the pool's out-of-band metadata was overwritten
  NoBufferAvailable,  // workspace already taken
  // Sessions
  InvalidSession,       // handle out of range or stale
  InvalidSessionState,  // call not allowed in the session's current state
  NoSessionAvailable,
  NoKeySlotAvailable,
  InvalidKeySize,
  DataTooLarge,    // beyond the workspace or SP 800-38D limits
  BufferTooSmall,  // caller's output span cannot hold the result
  AuthenticationFailed,
  SecurityLockout,
  KeyRotationRequired,
  NonceExhausted,
  // Ports
  StorageFailure,
  ClockFailure,
  CryptoFailure,  // mbedTLS returned an unexpected error
  // Sessions, continued
  ReplayedNonce,  // open(): a counter the replay window has seen, or one older than the window
};

// A stable, human-readable name ("PoolExhausted"); never null.
const char* to_string(Error error) noexcept;

}  // namespace memplan
