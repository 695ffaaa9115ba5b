#include "memplan/error.hpp"

namespace memplan {

const char* to_string(Error error) noexcept {
  switch (error) {
    case Error::InvalidArgument: return "InvalidArgument";
    case Error::AlreadyInitialized: return "AlreadyInitialized";
    case Error::NotInitialized: return "NotInitialized";
    case Error::SizeNotSupported: return "SizeNotSupported";
    case Error::PoolExhausted: return "PoolExhausted";
    case Error::NullPointer: return "NullPointer";
    case Error::InvalidHandle: return "InvalidHandle";
    case Error::StaleHandle: return "StaleHandle";
    case Error::DoubleRelease: return "DoubleRelease";
    case Error::PoolCorrupted: return "PoolCorrupted";
    case Error::NoBufferAvailable: return "NoBufferAvailable";
    case Error::InvalidSession: return "InvalidSession";
    case Error::InvalidSessionState: return "InvalidSessionState";
    case Error::NoSessionAvailable: return "NoSessionAvailable";
    case Error::NoKeySlotAvailable: return "NoKeySlotAvailable";
    case Error::InvalidKeySize: return "InvalidKeySize";
    case Error::DataTooLarge: return "DataTooLarge";
    case Error::BufferTooSmall: return "BufferTooSmall";
    case Error::AuthenticationFailed: return "AuthenticationFailed";
    case Error::SecurityLockout: return "SecurityLockout";
    case Error::KeyRotationRequired: return "KeyRotationRequired";
    case Error::NonceExhausted: return "NonceExhausted";
    case Error::StorageFailure: return "StorageFailure";
    case Error::ClockFailure: return "ClockFailure";
    case Error::CryptoFailure: return "CryptoFailure";
    case Error::ReplayedNonce: return "ReplayedNonce";
  }
  return "UnknownError";
}

}  // namespace memplan
