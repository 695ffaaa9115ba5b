// A fixed-block pool over storage the generated layout owns.
//
// O(1) by construction: allocation pops the head of an intrusive free list
// (the link is the first 4 bytes of a free block) or, while the pool has never
// been full, takes the next never-used block from a bump index, so init() need
// not thread a list through every block. Release validates, wipes and pushes.
// Neither path loops over blocks.
//
// Bad releases are detected in every build type with a state bitmap, one bit
// per block (1 = in use), kept outside the blocks so a use-after-free write
// cannot forge it. It costs count/8 bytes (4 B for 32 blocks) and one
// load+mask per release; an owner tag per block would cost 4 B per block and
// a header inside the block, which breaks the "block_size bytes usable" rule.
// Range and alignment checks catch foreign and interior pointers before the
// bitmap is touched, so a hostile pointer never indexes out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "memplan/port/lock.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"

namespace memplan {

// What a block may hold; a pool allows a set of usages (bit 1 << Usage).
enum class Usage : std::uint8_t { Key = 0, Nonce = 1, Message = 2, Context = 3 };
using UsageMask = std::uint8_t;
constexpr UsageMask usage_bit(Usage usage) noexcept {
  return static_cast<UsageMask>(1u << static_cast<unsigned>(usage));
}
const char* to_string(Usage usage) noexcept;

struct PoolStats {
  const char* name;
  std::uint32_t block_size;
  std::uint32_t block_count;
  std::uint32_t in_use;
  std::uint32_t high_water;           // most blocks ever in use at once
  std::uint32_t allocation_failures;  // requests for this class that no block could serve (none here, none larger)
  std::uint32_t security_violations;  // bad releases: null, foreign, interior, double
  std::uint32_t spills;               // requests for this class served by a larger one because this one was full
};

template <class Lock>
class BasicPool {
 public:
  static constexpr std::uint32_t kNoBlock = 0xFFFFFFFFu;
  static constexpr std::uint32_t kMinBlockSize = 8;  // link word, 8-byte aligned blocks

  constexpr BasicPool(const char* name, std::uint8_t* storage, std::uint32_t block_size,
                      std::uint32_t block_count, std::uint32_t* state_words, UsageMask usages) noexcept
      : name_(name),
        storage_(storage),
        state_(state_words),
        block_size_(block_size),
        block_shift_(shift_of(block_size)),
        block_count_(block_count),
        usages_(usages) {}

  BasicPool(const BasicPool&) = delete;
  BasicPool& operator=(const BasicPool&) = delete;

  // Wipes the storage and the state bits; the pool is then empty. A second
  // call is AlreadyInitialized and changes nothing (blocks may be in use).
  Status init() noexcept {
    typename Lock::Guard guard(lock_);
    if (initialized_) return Failure{Error::AlreadyInitialized, name_};
    if (storage_ == nullptr || state_ == nullptr || block_count_ == 0 || block_size_ < kMinBlockSize ||
        reinterpret_cast<std::uintptr_t>(storage_) % kMinBlockSize != 0 || block_size_ % kMinBlockSize != 0 ||
        block_count_ == kNoBlock) {
      return Failure{Error::InvalidArgument, name_};
    }
    secure_wipe(storage_, storage_bytes());
    secure_wipe(state_, state_word_count() * sizeof(std::uint32_t));
    free_head_ = kNoBlock;
    bump_ = 0;
    in_use_ = high_water_ = failures_ = violations_ = spills_ = 0;
    initialized_ = true;
    return {};
  }

  // A zeroed block of block_size() bytes, or PoolExhausted (counted as an
  // allocation failure of this class) / NotInitialized.
  // (The wrappers are forced inline: at -Os GCC would otherwise add a call.)
  __attribute__((always_inline)) Result<std::uint8_t*> allocate() noexcept { return take_block<true>(); }

  // For BasicPools, which decides where a full class's request went: a
  // failure when no class could serve it, a spill when a larger one did.
  void note_failure() noexcept {
    typename Lock::Guard guard(lock_);
    ++failures_;
  }
  void note_spill() noexcept {
    typename Lock::Guard guard(lock_);
    ++spills_;
  }

  // allocate() without counting an exhaustion: the caller accounts for it.
  __attribute__((always_inline)) Result<std::uint8_t*> take() noexcept { return take_block<false>(); }

 private:
  // One body for both: the count of a failure is a constant, so allocate()'s
  // path costs what it cost before take() existed (counted: bench/cortex_m).
  template <bool kCountFailure>
  Result<std::uint8_t*> take_block() noexcept {
    typename Lock::Guard guard(lock_);
    if (!initialized_) return Failure{Error::NotInitialized, name_};
    std::uint32_t index = 0;
    if (free_head_ != kNoBlock) {
      index = free_head_;
      std::uint8_t* block = block_at(index);
      free_head_ = read_link(block);
      write_link(block, 0);  // the rest was wiped on release
    } else if (bump_ < block_count_) {
      index = bump_++;
    } else {
      if constexpr (kCountFailure) ++failures_;
      return Failure{Error::PoolExhausted, name_};
    }
    state_[index / 32] |= bit(index);
    if (++in_use_ > high_water_) high_water_ = in_use_;
    return block_at(index);
  }

 public:
  // Wipes the block and returns it. Bad pointers are reported, counted as
  // security violations and change nothing.
  Status release(void* pointer) noexcept {
    std::uint32_t index = 0;
    if constexpr (Lock::kWipeInsideLock) {
      // A mutex (or no lock): one critical section is cheapest.
      typename Lock::Guard guard(lock_);
      if (Status s = unmark(pointer, index); !s) return s;
      secure_wipe_aligned8(block_at(index), block_size_);
      push(index);
      return {};
    } else {
      {
        typename Lock::Guard guard(lock_);
        if (Status s = unmark(pointer, index); !s) return s;
      }
      // Interrupts masked: wipe outside the critical section, or a 4 KiB
      // wipe would add its whole duration to interrupt latency. The block's
      // bit is already clear, so a concurrent second release of it is seen.
      secure_wipe_aligned8(block_at(index), block_size_);
      typename Lock::Guard guard(lock_);
      push(index);
      return {};
    }
  }

  // True when `pointer` lies inside this pool's storage (any offset).
  bool owns(const void* pointer) const noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    const auto begin = reinterpret_cast<std::uintptr_t>(storage_);
    return address >= begin && address - begin < storage_bytes();
  }

  PoolStats stats() const noexcept {
    typename Lock::Guard guard(lock_);
    return PoolStats{name_, block_size_, block_count_, in_use_, high_water_, failures_, violations_, spills_};
  }

  // Verifies the free list and the bitmap agree (O(blocks): a diagnostic, not
  // a hot path): every listed block is in range, free and listed once, listed +
  // in use = ever used, the bitmap counts in_use blocks, and every free block
  // reads as zero past its link.
  Status health_check() const noexcept {
    typename Lock::Guard guard(lock_);
    if (!initialized_) return Failure{Error::NotInitialized, name_};
    std::uint32_t listed = 0;
    for (std::uint32_t index = free_head_; index != kNoBlock;) {
      if (index >= bump_ || (state_[index / 32] & bit(index)) != 0 || ++listed > bump_) {
        return Failure{Error::InvalidArgument, name_};
      }
      const std::uint8_t* block = block_at(index);
      for (std::uint32_t i = sizeof(std::uint32_t); i < block_size_; ++i) {
        if (block[i] != 0) return Failure{Error::InvalidArgument, name_};
      }
      index = read_link(block);
    }
    std::uint32_t marked = 0;
    for (std::uint32_t word = 0; word < state_word_count(); ++word) {
      marked += static_cast<std::uint32_t>(__builtin_popcount(state_[word]));
    }
    if (listed + in_use_ != bump_ || marked != in_use_ || high_water_ < in_use_) {
      return Failure{Error::InvalidArgument, name_};
    }
    return {};
  }

  const char* name() const noexcept { return name_; }
  std::uint32_t block_size() const noexcept { return block_size_; }
  std::uint32_t block_count() const noexcept { return block_count_; }
  UsageMask usages() const noexcept { return usages_; }
  bool allows(Usage usage) const noexcept { return (usages_ & usage_bit(usage)) != 0; }
  bool initialized() const noexcept { return initialized_; }

 private:
  static constexpr std::uint32_t bit(std::uint32_t index) noexcept { return 1u << (index % 32); }
  // log2(block_size) for a power of two, else 0 (blocks are at least 8 bytes, so 0 is free to mean "divide").
  static constexpr std::uint8_t shift_of(std::uint32_t size) noexcept {
    if (size == 0 || (size & (size - 1u)) != 0) return 0;
    std::uint8_t shift = 0;
    while ((1u << shift) != size) ++shift;
    return shift;
  }
  // The free-list link lives in the first 4 bytes of a free block. Blocks are
  // 8-byte aligned (init() checks), and saying so lets the compiler turn these
  // memcpy calls into single loads and stores even on Cortex-M0 at -Os: no
  // library call inside the critical section, and no aliasing questions.
  static std::uint32_t read_link(const std::uint8_t* block) noexcept {
    std::uint32_t value = 0;
    std::memcpy(&value, __builtin_assume_aligned(block, kMinBlockSize), sizeof value);
    return value;
  }
  static void write_link(std::uint8_t* block, std::uint32_t value) noexcept {
    // The analyzer loses track of non-null through __builtin_assume_aligned;
    // every block pointer here is inside storage_, which init() checked.
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    std::memcpy(__builtin_assume_aligned(block, kMinBlockSize), &value, sizeof value);
  }
  std::size_t storage_bytes() const noexcept { return static_cast<std::size_t>(block_size_) * block_count_; }
  std::uint32_t state_word_count() const noexcept { return (block_count_ + 31) / 32; }
  std::uint8_t* block_at(std::uint32_t index) const noexcept {
    return storage_ + static_cast<std::size_t>(index) * block_size_;
  }

  // Under the lock: validates a release and clears the block's in-use bit.
  Status unmark(const void* pointer, std::uint32_t& index) noexcept {
    if (!initialized_) return Failure{Error::NotInitialized, name_};
    const Error error = classify(pointer, index);
    if (error != Error{}) {
      ++violations_;
      return Failure{error, name_};
    }
    state_[index / 32] &= ~bit(index);
    return {};
  }

  // Under the lock: puts a wiped block at the head of the free list.
  void push(std::uint32_t index) noexcept {
    write_link(block_at(index), free_head_);
    free_head_ = index;
    --in_use_;
  }

  Error classify(const void* pointer, std::uint32_t& index) const noexcept {
    if (pointer == nullptr) return Error::NullPointer;
    if (!owns(pointer)) return Error::ForeignPointer;
    const std::size_t offset =
        reinterpret_cast<std::uintptr_t>(pointer) - reinterpret_cast<std::uintptr_t>(storage_);
    // Power-of-two blocks (every shipped profile) avoid a division: on
    // Cortex-M0 that is a libgcc call inside the critical section.
    const std::size_t within = block_shift_ != 0 ? offset & (block_size_ - 1u) : offset % block_size_;
    if (within != 0) return Error::InteriorPointer;
    index = static_cast<std::uint32_t>(block_shift_ != 0 ? offset >> block_shift_ : offset / block_size_);
    if ((state_[index / 32] & bit(index)) == 0) return Error::DoubleRelease;
    return Error{};
  }

  const char* name_;
  std::uint8_t* storage_;
  std::uint32_t* state_;
  std::uint32_t block_size_;
  std::uint8_t block_shift_;
  std::uint32_t block_count_;
  UsageMask usages_;
  bool initialized_ = false;
  std::uint32_t free_head_ = kNoBlock;
  std::uint32_t bump_ = 0;
  std::uint32_t in_use_ = 0;
  std::uint32_t high_water_ = 0;
  std::uint32_t failures_ = 0;
  std::uint32_t violations_ = 0;
  std::uint32_t spills_ = 0;
  mutable Lock lock_;
};

using Pool = BasicPool<DefaultLock>;

}  // namespace memplan
