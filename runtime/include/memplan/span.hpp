// Minimal spans (C++17 has no std::span): a pointer and a length, nothing owned.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memplan {

struct ByteSpan {
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

struct ConstByteSpan {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;

  constexpr ConstByteSpan() = default;
  constexpr ConstByteSpan(const std::uint8_t* d, std::size_t n) : data(d), size(n) {}
  constexpr ConstByteSpan(ByteSpan s) : data(s.data), size(s.size) {}  // NOLINT(google-explicit-constructor)
};

// A region of layout storage, wiped once by the layout's init().
struct StorageSpan {
  void* data;
  std::size_t size;
};

}  // namespace memplan
