// Linux host ports: a nonce store backed by a file, the system clock, and stdio as the console.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "memplan/port/console.hpp"
#include "memplan/port/file_system.hpp"
#include "memplan/port/ports.hpp"

namespace memplan {

// Marks of `slots` sessions in one small binary file: 8 bytes per slot,
// little-endian. A persist writes the whole file to `<path>.tmp`, fsyncs it,
// closes it, renames it over `<path>` and fsyncs the folder, checking every
// step: only then is the rename itself durable, so persist() succeeds only
// once a power cut can no longer bring the old marks back, and a cut at any
// earlier point leaves the old file or the new one, never a torn one. A step
// that fails makes persist() fail (the reservation is not granted) and
// leaves the cached marks as they were. Up to 256 slots; a file of another
// size than `slots` marks is a StorageFailure, never read as zeros. All
// slots share the file, and a session table may persist two slots at once:
// a mutex serializes the calls (the file write is no interrupt's business).
class FileNonceStore final : public NonceStore {
 public:
  static constexpr std::size_t kMaxSlots = 256;
  FileNonceStore(const char* path, std::size_t slots, FileSystem& files = posix_file_system()) noexcept;
  Result<std::uint64_t> load(std::uint32_t slot) noexcept override;
  Status persist(std::uint32_t slot, std::uint64_t mark) noexcept override;

 private:
  Status read_all() noexcept;
  Status write_file(const char* path, const unsigned char* bytes, std::size_t size) noexcept;
  Status sync_folder() noexcept;
  std::mutex mutex_;
  FileSystem& files_;
  char path_[256] = {};
  std::size_t slots_;
  bool loaded_ = false;
  std::uint64_t marks_[kMaxSlots] = {};
};

// Standard output and std::exit (which flushes it).
class StdioConsole final : public Console {
 public:
  void write(const char* text, std::size_t size) noexcept override;
  [[noreturn]] void exit(int status) noexcept override;
};

// CLOCK_BOOTTIME seconds: monotonic, counts suspend.
class SystemClock final : public Clock {
 public:
  Result<std::uint32_t> now_s() noexcept override;
};

}  // namespace memplan
