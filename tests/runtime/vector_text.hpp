// Reading known-answer vectors written as text: hex fields ('-' for empty)
// and big-endian counters, for the GCM and Wycheproof vector tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memplan_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(const std::string& text) {
  Bytes out;
  if (text == "-") return out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline std::uint64_t big_endian(const std::uint8_t* data, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | data[i];
  return value;
}

}  // namespace memplan_test
