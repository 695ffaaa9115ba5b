#include "memplan/port/host_ports.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace memplan {

FileNonceStore::FileNonceStore(const char* path, std::size_t slots, FileSystem& files) noexcept
    : files_(files), slots_(slots) {
  // Paths that do not fit leave path_ empty: every call then fails with InvalidArgument.
  if (path != nullptr) {
    const std::size_t length = std::strlen(path);
    if (length < sizeof path_) std::memcpy(path_, path, length + 1);
  }
}

Status FileNonceStore::read_all() noexcept {
  if (loaded_) return {};
  if (path_[0] == '\0' || slots_ == 0 || slots_ > kMaxSlots) return Failure{Error::InvalidArgument, "nonce store"};
  const int fd = files_.open(path_, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno != ENOENT) return Failure{Error::StorageFailure, "open"};
    loaded_ = true;  // never written: every mark is 0
    return {};
  }
  // One byte more than expected, so a longer file is seen as the wrong shape.
  unsigned char bytes[kMaxSlots * 8 + 1] = {};
  const std::size_t wanted = slots_ * 8 + 1;
  std::size_t got = 0;
  bool failed = false;
  while (got < wanted) {
    const long n = files_.read(fd, bytes + got, wanted - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed = n < 0;
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  if (files_.close(fd) != 0 || failed) return Failure{Error::StorageFailure, "read"};
  if (got != slots_ * 8) return Failure{Error::StorageFailure, "file of another size"};
  for (std::size_t slot = 0; slot < slots_; ++slot) {
    std::uint64_t mark = 0;
    for (int b = 7; b >= 0; --b) mark = (mark << 8) | bytes[slot * 8 + static_cast<std::size_t>(b)];
    marks_[slot] = mark;
  }
  loaded_ = true;
  return {};
}

Result<std::uint64_t> FileNonceStore::load(std::uint32_t slot) noexcept {
  const std::lock_guard<std::mutex> guard(mutex_);
  if (Status s = read_all(); !s) return Failure{s.error(), s.context()};
  if (slot >= slots_) return Failure{Error::InvalidArgument, "slot"};
  return marks_[slot];
}

Status FileNonceStore::write_file(const char* path, const unsigned char* bytes, std::size_t size) noexcept {
  const int fd = files_.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failure{Error::StorageFailure, "open"};
  std::size_t done = 0;
  while (done < size) {
    const long n = files_.write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool synced = done == size && files_.fsync(fd) == 0;
  const bool closed = files_.close(fd) == 0;  // NFS and friends report write errors here
  if (!synced || !closed) return Failure{Error::StorageFailure, done == size ? "fsync" : "write"};
  return {};
}

Status FileNonceStore::sync_folder() noexcept {
  char folder[sizeof path_] = ".";
  if (const char* slash = std::strrchr(path_, '/'); slash != nullptr) {
    const auto length = static_cast<std::size_t>(slash - path_);
    std::memcpy(folder, path_, length == 0 ? 1 : length);  // "/file" lives in "/"
    folder[length == 0 ? 1 : length] = '\0';
  }
  const int fd = files_.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return Failure{Error::StorageFailure, "open folder"};
  const bool synced = files_.fsync(fd) == 0;
  const bool closed = files_.close(fd) == 0;
  if (!synced || !closed) return Failure{Error::StorageFailure, "fsync folder"};
  return {};
}

Status FileNonceStore::persist(std::uint32_t slot, std::uint64_t mark) noexcept {
  const std::lock_guard<std::mutex> guard(mutex_);
  if (Status s = read_all(); !s) return s;
  if (slot >= slots_) return Failure{Error::InvalidArgument, "slot"};
  unsigned char bytes[kMaxSlots * 8] = {};
  for (std::size_t i = 0; i < slots_; ++i) {
    const std::uint64_t value = i == slot ? mark : marks_[i];
    for (std::size_t b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<unsigned char>(value >> (8 * b));
  }
  char temporary[sizeof path_ + 8];
  static_cast<void>(std::snprintf(temporary, sizeof temporary, "%s.tmp", path_));  // fits: sized for path_ + ".tmp"
  if (Status s = write_file(temporary, bytes, slots_ * 8); !s) {
    static_cast<void>(files_.unlink(temporary));
    return s;
  }
  if (files_.rename(temporary, path_) != 0) {
    static_cast<void>(files_.unlink(temporary));
    return Failure{Error::StorageFailure, "rename"};
  }
  // The new file is in place but the rename may still be only in the page
  // cache: until the folder is synced, a power cut can bring back the old
  // marks. Fail (no reservation granted) rather than claim durability.
  if (Status s = sync_folder(); !s) return s;
  marks_[slot] = mark;
  return {};
}

void StdioConsole::write(const char* text, std::size_t size) noexcept {
  static_cast<void>(std::fwrite(text, 1, size, stdout));  // a console has no one to report its own failure to
}

void StdioConsole::exit(int status) noexcept {
  std::exit(status);
}

Result<std::uint32_t> SystemClock::now_s() noexcept {
  timespec now{};
  if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return Failure{Error::ClockFailure, "clock_gettime"};
  return static_cast<std::uint32_t>(now.tv_sec);
}

}  // namespace memplan
