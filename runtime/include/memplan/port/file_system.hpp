// The file operations the host's FileNonceStore makes, as a small port: the
// product (and the tests) can put any layer under the store, for example one
// that fails a chosen call or models what a power cut keeps. Each call has
// the POSIX meaning and return convention (-1 and errno on failure).
#pragma once

#include <cstddef>

namespace memplan {

class FileSystem {
 public:
  virtual int open(const char* path, int flags, unsigned mode) noexcept = 0;
  virtual long read(int fd, void* data, std::size_t size) noexcept = 0;
  virtual long write(int fd, const void* data, std::size_t size) noexcept = 0;
  virtual int fsync(int fd) noexcept = 0;
  virtual int close(int fd) noexcept = 0;
  virtual int rename(const char* from, const char* to) noexcept = 0;
  virtual int unlink(const char* path) noexcept = 0;

 protected:
  FileSystem() = default;
  FileSystem(const FileSystem&) = default;
  FileSystem& operator=(const FileSystem&) = default;
  ~FileSystem() = default;
};

// The operating system's calls (Linux host).
class PosixFileSystem final : public FileSystem {
 public:
  int open(const char* path, int flags, unsigned mode) noexcept override;
  long read(int fd, void* data, std::size_t size) noexcept override;
  long write(int fd, const void* data, std::size_t size) noexcept override;
  int fsync(int fd) noexcept override;
  int close(int fd) noexcept override;
  int rename(const char* from, const char* to) noexcept override;
  int unlink(const char* path) noexcept override;
};

PosixFileSystem& posix_file_system() noexcept;

}  // namespace memplan
