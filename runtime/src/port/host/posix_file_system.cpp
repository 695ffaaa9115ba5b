#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "memplan/port/file_system.hpp"

namespace memplan {

int PosixFileSystem::open(const char* path, int flags, unsigned mode) noexcept {
  return ::open(path, flags, static_cast<mode_t>(mode));
}
long PosixFileSystem::read(int fd, void* data, std::size_t size) noexcept {
  return ::read(fd, data, size);
}
long PosixFileSystem::write(int fd, const void* data, std::size_t size) noexcept {
  return ::write(fd, data, size);
}
int PosixFileSystem::fsync(int fd) noexcept {
  return ::fsync(fd);
}
int PosixFileSystem::close(int fd) noexcept {
  return ::close(fd);
}
int PosixFileSystem::rename(const char* from, const char* to) noexcept {
  return std::rename(from, to);
}
int PosixFileSystem::unlink(const char* path) noexcept {
  return ::unlink(path);
}

PosixFileSystem& posix_file_system() noexcept {
  static PosixFileSystem system;
  return system;
}

}  // namespace memplan
