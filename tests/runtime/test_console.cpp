// The console port's text: numbers without printf, every byte through write().
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <string>

#include "recording_console.hpp"

using memplan_test::RecordingConsole;

TEST_CASE("print writes a C string whole, in one write", "[console]") {
  RecordingConsole console;
  console.print("seal: ok\n");
  CHECK(console.take() == "seal: ok\n");
  CHECK(console.writes() == 1);
  console.print("");
  CHECK(console.take().empty());
}

TEST_CASE("print_decimal writes every unsigned 64-bit value", "[console]") {
  RecordingConsole console;
  const std::uint64_t values[] = {0, 7, 10, 99, 100, 4294967295u, 4294967296u, 18446744073709551615u};
  const char* texts[] = {"0", "7", "10", "99", "100", "4294967295", "4294967296", "18446744073709551615"};
  for (std::size_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
    console.print_decimal(values[i]);
    CHECK(console.take() == texts[i]);
  }
}

TEST_CASE("print_hex writes the digits asked for, 1 to 16", "[console]") {
  RecordingConsole console;
  console.print_hex(0x2000ee0u);
  CHECK(console.take() == "02000ee0");
  console.print_hex(0xABCDu, 2);
  CHECK(console.take() == "cd");  // the low digits: a field of the width asked
  console.print_hex(0x5u, 0);
  CHECK(console.take() == "5");  // at least one digit
  console.print_hex(0x0123456789abcdefull, 20);
  CHECK(console.take() == "0123456789abcdef");  // at most sixteen
}
