// The size classes of one layout: allocation by size and usage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "memplan/buffer.hpp"
#include "memplan/limits.hpp"
#include "memplan/pool.hpp"

namespace memplan {

template <class Lock>
class BasicPools {
 public:
  // `pools` is sorted by block size, ascending (the generator emits it so).
  constexpr BasicPools(BasicPool<Lock>* const* pools, std::size_t count) noexcept
      : pools_(pools), count_(count) {}
  BasicPools(const BasicPools&) = delete;
  BasicPools& operator=(const BasicPools&) = delete;

  Status init() noexcept {
    if (pools_ == nullptr || count_ == 0 || count_ > kMaxPools) return Failure{Error::InvalidArgument, "pools"};
    for (std::size_t i = 0; i + 1 < count_; ++i) {
      if (pools_[i]->block_size() > pools_[i + 1]->block_size())
        return Failure{Error::InvalidArgument, pools_[i]->name()};
    }
    for (std::size_t i = 0; i < count_; ++i) {
      if (Status status = pools_[i]->init(); !status) return status;
    }
    return {};
  }

  // The smallest class allowed for `usage` whose blocks hold `size` bytes.
  // SizeNotSupported: no allowed class is large enough (or size is 0).
  // PoolExhausted: every fitting class is full; context() names the smallest.
  // The statistics of the smallest fitting class (the one the request was
  // sized for) say where the request went: a spill when a larger class
  // served it (until that block comes back), an allocation failure when
  // none could; the larger classes tried on the way count nothing, so the
  // numbers size a product. That class also counts the request's size.
  // The loop runs over the size classes (at most 32), never over blocks.
  Result<BasicBuffer<Lock>> allocate(std::size_t size, Usage usage) noexcept {
    if (size == 0) return Failure{Error::SizeNotSupported, nullptr};
    BasicPool<Lock>* first_fitting = nullptr;
    for (std::size_t i = 0; i < count_; ++i) {
      BasicPool<Lock>& pool = *pools_[i];
      if (!pool.allows(usage) || pool.block_size() < size) continue;
      if (first_fitting == nullptr) {
        first_fitting = &pool;
        pool.note_request(size);
      }
      Result<Block> block = pool.take();
      if (block) {
        if (&pool == first_fitting) return Result<BasicBuffer<Lock>>(std::in_place, pool, block.value(), size);
        first_fitting->note_spill();
        return Result<BasicBuffer<Lock>>(std::in_place, pool, block.value(), size, first_fitting);
      }
      if (block.error() != Error::PoolExhausted) return Failure{block.error(), block.context()};
    }
    if (first_fitting == nullptr) return Failure{Error::SizeNotSupported, to_string(usage)};
    first_fitting->note_failure();
    return Failure{Error::PoolExhausted, first_fitting->name()};
  }

  // Writes up to `capacity` entries; returns the number of classes.
  std::size_t stats(PoolStats* out, std::size_t capacity) const noexcept {
    for (std::size_t i = 0; i < count_ && i < capacity; ++i) out[i] = pools_[i]->stats();
    return count_;
  }

  Status health_check() const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      if (Status status = pools_[i]->health_check(); !status) return status;
    }
    return {};
  }

  std::size_t size() const noexcept { return count_; }
  BasicPool<Lock>& operator[](std::size_t index) const noexcept { return *pools_[index]; }
  bool initialized() const noexcept { return count_ != 0 && pools_[0]->initialized(); }

 private:
  BasicPool<Lock>* const* pools_;
  std::size_t count_;
};

using Pools = BasicPools<DefaultLock>;

}  // namespace memplan
