// Linux host ports: a nonce store backed by a file and the system clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/port/ports.hpp"

namespace memplan {

// Marks of `slots` sessions in one small binary file: 8 bytes per slot,
// little-endian. Each persist writes a temporary file, fsyncs it and renames
// it over the old one, so a power loss leaves the old or the new marks,
// never a torn write. Up to 256 slots.
class FileNonceStore final : public NonceStore {
 public:
  static constexpr std::size_t kMaxSlots = 256;
  FileNonceStore(const char* path, std::size_t slots) noexcept;
  Result<std::uint64_t> load(std::uint32_t slot) noexcept override;
  Status persist(std::uint32_t slot, std::uint64_t mark) noexcept override;

 private:
  Status read_all() noexcept;
  char path_[256] = {};
  std::size_t slots_;
  bool loaded_ = false;
  std::uint64_t marks_[kMaxSlots] = {};
};

// CLOCK_BOOTTIME seconds: monotonic, counts suspend.
class SystemClock final : public Clock {
 public:
  Result<std::uint32_t> now_s() noexcept override;
};

}  // namespace memplan
