// Where a firmware's text goes and how it ends, without the C library's
// stdio: newlib's printf, and even its write() through --specs=rdimon.specs,
// link malloc, which `memplan check-elf` refuses in a Cortex-M image. The
// product fills the interface in for its UART or the ITM's stimulus port
// (write the bytes; block or drop when the FIFO is full, the product's
// choice: docs/guide.md has both); the runtime brings SemihostingConsole (a
// debugger or QEMU, console_semihosting.hpp) and, on the host, StdioConsole
// (host_ports.hpp). Numbers print without printf, from a buffer on the stack.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memplan {

class Console {
 public:
  virtual void write(const char* text, std::size_t size) noexcept = 0;
  // Ends the program: with `status` where the platform reports one
  // (semihosting, the host); elsewhere it stops the core.
  [[noreturn]] virtual void exit(int status) noexcept = 0;

  // A NUL-terminated text.
  void print(const char* text) noexcept {
    std::size_t size = 0;
    while (text[size] != '\0') ++size;
    write(text, size);
  }
  void print_decimal(std::uint64_t value) noexcept {
    char digits[20];  // 2^64 - 1 has 20
    std::size_t n = sizeof digits;
    do {
      digits[--n] = static_cast<char>('0' + value % 10u);
      value /= 10u;
    } while (value != 0);
    write(digits + n, sizeof digits - n);
  }
  // `digits` hex digits (1 to 16; more are cut to 16), most significant first, without "0x".
  void print_hex(std::uint64_t value, unsigned digits = 8) noexcept {
    char text[16];
    const unsigned count = digits == 0 ? 1u : (digits > 16u ? 16u : digits);
    for (unsigned i = 0; i < count; ++i) {
      text[count - 1 - i] = "0123456789abcdef"[value & 0xFu];
      value >>= 4u;
    }
    write(text, count);
  }

 protected:
  Console() = default;
  Console(const Console&) = default;
  Console& operator=(const Console&) = default;
  ~Console() = default;
};

}  // namespace memplan
