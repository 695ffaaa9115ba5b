// The example's console: on Cortex-M, output and exit status over Arm
// semihosting (QEMU: -semihosting-config enable=on,target=native) with direct
// BKPT calls instead of newlib's stdio, which would link malloc into an image
// that promises no heap; on the host, stdio.
#pragma once

#include <cstdint>

#if !defined(__arm__)
#include <cstdio>
#include <cstdlib>

namespace firmware {
inline void write(const char* text) {
  std::fputs(text, stdout);
}
[[noreturn]] inline void exit(int status) {
  std::exit(status);
}
}  // namespace firmware
#else
namespace firmware {

inline std::uint32_t semihost(std::uint32_t operation, const void* argument) {
  register std::uint32_t r0 __asm__("r0") = operation;
  register const void* r1 __asm__("r1") = argument;
  __asm__ __volatile__("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

inline void write(const char* text) {
  semihost(0x04 /* SYS_WRITE0 */, text);
}

// The word the startup paints the main stack with; what still reads so was never written.
constexpr std::uint32_t kStackPaint = 0x5AA5F00Du;

// The deepest the main stack has been since the startup painted it (bytes below its top).
inline std::uint32_t stack_high_water(const std::uint32_t* bottom, const std::uint32_t* top) {
  const volatile std::uint32_t* word = bottom;
  while (word < top && *word == kStackPaint) ++word;
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(top) - reinterpret_cast<std::uintptr_t>(word));
}

[[noreturn]] inline void exit(int status) {
  // SYS_EXIT_EXTENDED carries the status; QEMU returns it as its own.
  const std::uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */,
                                  static_cast<std::uint32_t>(status)};
  semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
  for (;;) {
  }
}

}  // namespace firmware
#endif

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
