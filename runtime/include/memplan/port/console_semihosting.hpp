// Arm semihosting: text and exit status through the debugger (or QEMU with
// -semihosting-config enable=on,target=native), by BKPT 0xAB. A semihosting
// call with no debugger attached is a HardFault on a real part: for bench
// and CI builds, not for a product in the field (give it a UART console).
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/port/console.hpp"

#if defined(__arm__) && !defined(__linux__)

namespace memplan {

class SemihostingConsole final : public Console {
 public:
  // SYS_WRITE0 of NUL-terminated pieces: no file handle to open first.
  void write(const char* text, std::size_t size) noexcept override {
    char piece[64];
    while (size > 0) {
      const std::size_t n = size < sizeof piece - 1 ? size : sizeof piece - 1;
      for (std::size_t i = 0; i < n; ++i) piece[i] = text[i];
      piece[n] = '\0';
      call(kWrite0, piece);
      text += n;
      size -= n;
    }
  }
  // SYS_EXIT_EXTENDED carries the status (QEMU exits with it).
  [[noreturn]] void exit(int status) noexcept override {
    const std::uint32_t block[2] = {kApplicationExit, static_cast<std::uint32_t>(status)};
    call(kExitExtended, block);
    for (;;) {
    }
  }

 private:
  static constexpr std::uint32_t kWrite0 = 0x04, kExitExtended = 0x20, kApplicationExit = 0x20026;
  static std::uint32_t call(std::uint32_t operation, const void* argument) noexcept {
    register std::uint32_t r0 __asm__("r0") = operation;
    register const void* r1 __asm__("r1") = argument;
    __asm__ __volatile__("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
  }
};

}  // namespace memplan

#endif
