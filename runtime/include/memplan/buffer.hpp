// A move-only handle to one pool block: wipes and returns it when it dies.
// It holds the block's release token, so it is the block's only way back to
// its pool; data() is a view whose validity ends with the handle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "memplan/pool.hpp"
#include "memplan/span.hpp"

namespace memplan {

template <class Lock>
class BasicBuffer {
 public:
  constexpr BasicBuffer() noexcept = default;
  // `spilled_from`: the full class the request was sized for, when a larger
  // `pool` served it; told when the block goes back (its sizing statistics).
  BasicBuffer(BasicPool<Lock>& pool, const Block& block, std::size_t length,
              BasicPool<Lock>* spilled_from = nullptr) noexcept
      : pool_(&pool), data_(block.data), length_(length), token_(block.token), spilled_from_(spilled_from) {}

  // A moved-from handle is empty (no pool): the token it keeps can no longer
  // be used by anyone, so it is not cleared (a cleared 12-byte token costs a
  // memset call on Cortex-M0).
  BasicBuffer(BasicBuffer&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)),
        data_(std::exchange(other.data_, nullptr)),
        length_(std::exchange(other.length_, 0)),
        token_(other.token_),
        spilled_from_(std::exchange(other.spilled_from_, nullptr)) {}
  BasicBuffer& operator=(BasicBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      pool_ = std::exchange(other.pool_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      length_ = std::exchange(other.length_, 0);
      token_ = other.token_;
      spilled_from_ = std::exchange(other.spilled_from_, nullptr);
    }
    return *this;
  }
  BasicBuffer(const BasicBuffer&) = delete;
  BasicBuffer& operator=(const BasicBuffer&) = delete;
  ~BasicBuffer() { reset(); }

  // Wipes the block and gives it back to its pool; an empty handle stays empty.
  void reset() noexcept {
    if (pool_ != nullptr) {
      // Cannot fail: the handle is the only holder of the block's token.
      static_cast<void>(pool_->release(token_));
      if (spilled_from_ != nullptr) {
        spilled_from_->note_spill_returned();
        spilled_from_ = nullptr;
      }
      pool_ = nullptr;
      data_ = nullptr;
      length_ = 0;
    }
  }

  // Sets the length in use (at most the capacity); InvalidArgument otherwise.
  Status resize(std::size_t length) noexcept {
    if (pool_ == nullptr || length > capacity()) return Failure{Error::InvalidArgument, nullptr};
    length_ = length;
    return {};
  }

  bool empty() const noexcept { return pool_ == nullptr; }
  explicit operator bool() const noexcept { return pool_ != nullptr; }
  std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return length_; }  // the length requested
  std::size_t capacity() const noexcept { return pool_ != nullptr ? pool_->block_size() : 0; }
  ByteSpan span() const noexcept { return ByteSpan{data_, length_}; }
  ByteSpan block() const noexcept { return ByteSpan{data_, capacity()}; }
  const char* pool_name() const noexcept { return pool_ != nullptr ? pool_->name() : nullptr; }

 private:
  BasicPool<Lock>* pool_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::size_t length_ = 0;
  BlockToken token_{};
  BasicPool<Lock>* spilled_from_ = nullptr;
};

using Buffer = BasicBuffer<DefaultLock>;

}  // namespace memplan
