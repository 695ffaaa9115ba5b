// The ports a session table needs from the product: where the nonce counter's
// reservation mark persists, what time it is, and the device's nonce fixed
// field. Interfaces (a vtable, no RTTI, no heap) so that a firmware can plug
// in its flash driver without templates spreading through its code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/result.hpp"

namespace memplan {

// Persists, per session slot, the first counter value NOT yet reserved. The
// runtime persists a new mark before it uses any counter below it, and on a
// key load resumes from the persisted mark, so no counter value is used twice
// even if power fails at any instant.
class NonceStore {
 public:
  virtual Result<std::uint64_t> load(std::uint32_t slot) noexcept = 0;  // 0 when never stored
  virtual Status persist(std::uint32_t slot, std::uint64_t mark) noexcept = 0;

 protected:
  NonceStore() = default;
  NonceStore(const NonceStore&) = default;
  NonceStore& operator=(const NonceStore&) = default;
  ~NonceStore() = default;
};

// Seconds from any fixed origin; only differences are used (key age).
class Clock {
 public:
  virtual Result<std::uint32_t> now_s() noexcept = 0;

 protected:
  Clock() = default;
  Clock(const Clock&) = default;
  Clock& operator=(const Clock&) = default;
  ~Clock() = default;
};

// The fixed field of every nonce (SP 800-38D 8.2.1): unique per device, so
// two devices that share a key never share a nonce. Read once, by attach().
class DeviceIdentity {
 public:
  virtual void nonce_fixed_field(std::uint8_t* out, std::size_t size) noexcept = 0;

 protected:
  DeviceIdentity() = default;
  DeviceIdentity(const DeviceIdentity&) = default;
  DeviceIdentity& operator=(const DeviceIdentity&) = default;
  ~DeviceIdentity() = default;
};

struct SessionPorts {
  NonceStore* store = nullptr;
  Clock* clock = nullptr;
  DeviceIdentity* identity = nullptr;
};

}  // namespace memplan
