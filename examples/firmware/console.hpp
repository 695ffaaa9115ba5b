// The example's console: on Cortex-M, output and exit status over Arm
// semihosting (QEMU: -semihosting-config enable=on,target=native) with direct
// BKPT calls instead of newlib's stdio, which would link malloc into an image
// that promises no heap; on the host, stdio.
#pragma once

#include <cstdint>

#if defined(__arm__) && !defined(__linux__)
#include <memplan/port/console_semihosting.hpp>
#else
#include <memplan/port/host_ports.hpp>
#endif

namespace firmware {

// The runtime's console port: semihosting on the core (QEMU prints it and
// exits with the status), stdio on the host.
#if defined(__arm__) && !defined(__linux__)
using PlatformConsole = memplan::SemihostingConsole;
#else
using PlatformConsole = memplan::StdioConsole;
#endif
inline PlatformConsole console_instance;
inline PlatformConsole& console() {
  return console_instance;
}

// Out of line: the cost firmware's measure() calls it right after a probe,
// and an inlined copy would change the registers the probe's caller keeps.
__attribute__((noinline)) inline void write(const char* text) {
  console().print(text);
}
[[noreturn]] inline void exit(int status) {
  console().exit(status);
}

// The word the startup paints the main stack with; what still reads so was never written.
constexpr std::uint32_t kStackPaint = 0x5AA5F00Du;

// The deepest a painted stack has been since it was painted (bytes below its top).
inline std::uint32_t stack_high_water(const std::uint32_t* bottom, const std::uint32_t* top) {
  const volatile std::uint32_t* word = bottom;
  while (word < top && *word == kStackPaint) ++word;
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(top) - reinterpret_cast<std::uintptr_t>(word));
}

}  // namespace firmware

namespace firmware {

// Decimal without printf: appends `value` to `out` (which must have room for 11 characters).
inline char* append(char* out, std::uint32_t value) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
  return out;
}

inline char* append(char* out, const char* text) {
  while (*text != '\0') *out++ = *text++;
  *out = '\0';
  return out;
}

// The firmware's checks: a failed one prints "FAIL: <what>" and is counted;
// main() returns the count, which QEMU exits with.
inline int failures = 0;
inline void check(bool ok, const char* what) {
  if (!ok) {
    ++failures;
    write("FAIL: ");
    write(what);
    write("\n");
  }
}

}  // namespace firmware
