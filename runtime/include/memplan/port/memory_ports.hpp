// Ports that keep their state in RAM: for tests, for the QEMU examples, and
// as the shape a product's flash-backed port follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memplan/port/ports.hpp"

namespace memplan {

// Reservation marks in an array (a stand-in for flash); can be told to fail.
// A session table may persist two slots at once (never one slot twice), so
// everything a persist writes is per slot.
template <std::size_t Slots>
class InMemoryNonceStore final : public NonceStore {
 public:
  Result<std::uint64_t> load(std::uint32_t slot) noexcept override {
    if (slot >= Slots || fail_loads_) return Failure{Error::StorageFailure, "load"};
    return marks_[slot];
  }
  Status persist(std::uint32_t slot, std::uint64_t mark) noexcept override {
    if (slot >= Slots || fail_persists_) return Failure{Error::StorageFailure, "persist"};
    marks_[slot] = mark;
    ++persists_[slot];
    return {};
  }
  void set_mark(std::uint32_t slot, std::uint64_t mark) noexcept {
    if (slot < Slots) marks_[slot] = mark;
  }
  std::uint64_t mark(std::uint32_t slot) const noexcept { return slot < Slots ? marks_[slot] : 0; }
  void fail_loads(bool fail) noexcept { fail_loads_ = fail; }
  void fail_persists(bool fail) noexcept { fail_persists_ = fail; }
  std::uint32_t persists() const noexcept {
    std::uint32_t total = 0;
    for (std::uint32_t count : persists_) total += count;
    return total;
  }

 private:
  std::uint64_t marks_[Slots] = {};
  std::uint32_t persists_[Slots] = {};
  bool fail_loads_ = false;
  bool fail_persists_ = false;
};

// A clock the caller advances.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::uint32_t start_s = 0) noexcept : now_(start_s) {}
  Result<std::uint32_t> now_s() noexcept override {
    if (failing_) return Failure{Error::ClockFailure, "manual clock"};
    return now_;
  }
  void advance(std::uint32_t seconds) noexcept { now_ += seconds; }
  void fail(bool failing) noexcept { failing_ = failing; }

 private:
  std::uint32_t now_;
  bool failing_ = false;
};

// A fixed field given as bytes (up to 8), e.g. read from the device's unique ID.
class FixedIdentity final : public DeviceIdentity {
 public:
  FixedIdentity(const std::uint8_t* bytes, std::size_t size) noexcept { set(bytes, size); }
  void set(const std::uint8_t* bytes, std::size_t size) noexcept {
    size_ = size < sizeof bytes_ ? size : sizeof bytes_;
    std::memset(bytes_, 0, sizeof bytes_);
    if (bytes != nullptr) std::memcpy(bytes_, bytes, size_);
  }
  void nonce_fixed_field(std::uint8_t* out, std::size_t size) noexcept override {
    for (std::size_t i = 0; i < size; ++i) out[i] = i < size_ ? bytes_[i] : 0;
  }

 private:
  std::uint8_t bytes_[8] = {};
  std::size_t size_ = 0;
};

}  // namespace memplan
