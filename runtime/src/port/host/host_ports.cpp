#include "memplan/port/host_ports.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace memplan {

FileNonceStore::FileNonceStore(const char* path, std::size_t slots) noexcept : slots_(slots) {
  // Paths that do not fit leave path_ empty: every call then fails with InvalidArgument.
  if (path != nullptr) {
    const std::size_t length = std::strlen(path);
    if (length < sizeof path_) std::memcpy(path_, path, length + 1);
  }
}

Status FileNonceStore::read_all() noexcept {
  if (loaded_) return {};
  if (path_[0] == '\0' || slots_ == 0 || slots_ > kMaxSlots)
    return Failure{Error::InvalidArgument, "nonce store"};
  const int fd = ::open(path_, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return Failure{Error::StorageFailure, "open"};
    loaded_ = true;  // never written: every mark is 0
    return {};
  }
  unsigned char bytes[kMaxSlots * 8] = {};
  const ssize_t got = ::read(fd, bytes, slots_ * 8);
  ::close(fd);
  if (got != static_cast<ssize_t>(slots_ * 8)) return Failure{Error::StorageFailure, "short file"};
  for (std::size_t slot = 0; slot < slots_; ++slot) {
    std::uint64_t mark = 0;
    for (int b = 7; b >= 0; --b) mark = (mark << 8) | bytes[slot * 8 + static_cast<std::size_t>(b)];
    marks_[slot] = mark;
  }
  loaded_ = true;
  return {};
}

Result<std::uint64_t> FileNonceStore::load(std::uint32_t slot) noexcept {
  if (Status s = read_all(); !s) return Failure{s.error(), s.context()};
  if (slot >= slots_) return Failure{Error::InvalidArgument, "slot"};
  return marks_[slot];
}

Status FileNonceStore::persist(std::uint32_t slot, std::uint64_t mark) noexcept {
  if (Status s = read_all(); !s) return s;
  if (slot >= slots_) return Failure{Error::InvalidArgument, "slot"};
  unsigned char bytes[kMaxSlots * 8] = {};
  for (std::size_t i = 0; i < slots_; ++i) {
    const std::uint64_t value = i == slot ? mark : marks_[i];
    for (std::size_t b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<unsigned char>(value >> (8 * b));
  }
  char temporary[sizeof path_ + 8];
  static_cast<void>(
      std::snprintf(temporary, sizeof temporary, "%s.tmp", path_));  // fits: sized for path_ + ".tmp"
  const int fd = ::open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failure{Error::StorageFailure, "open"};
  const bool written = ::write(fd, bytes, slots_ * 8) == static_cast<ssize_t>(slots_ * 8) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temporary, path_) != 0) {
    ::unlink(temporary);
    return Failure{Error::StorageFailure, "write"};
  }
  marks_[slot] = mark;
  return {};
}

Result<std::uint32_t> SystemClock::now_s() noexcept {
  timespec now{};
  if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return Failure{Error::ClockFailure, "clock_gettime"};
  return static_cast<std::uint32_t>(now.tv_sec);
}

}  // namespace memplan
