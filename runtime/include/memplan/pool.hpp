// A fixed-block pool over storage the generated layout owns.
//
// O(1) by construction: allocation pops the head of a free list, release
// validates, wipes and appends at its tail; neither loops over blocks.
//
// Ownership survives misuse (SECURITY.md):
//   - Nothing about a block is kept inside it. Each block's generation (odd:
//     in use) and free-list link live out of band in the layout's pool_state
//     section (pool_state.hpp), and every index read from there is range-
//     checked before use, so a write through a stale pointer into a free block
//     can never steer the pool outside its storage or to a block in use.
//   - A block is released by the token its allocation returned (index and
//     generation), not by address: a copy kept past the release, or one from
//     the block's previous owner, no longer matches and is refused as
//     StaleHandle or DoubleRelease, counted, and changes nothing.
//   - With AllocationCheck::Wiped, a block is handed out only after it is
//     seen to read as wiped: a free block written through a stale pointer is
//     counted (security_violations and writes_after_free), wiped, and then
//     handed out zeroed. Detection at the next allocation, not prevention.
//   - The free list is FIFO: a released block is reused last, so reuse and
//     generations spread over every block, and a stale pointer meets a new
//     owner as late as the pool allows (and is checked first).
//
// Cost (bench/README.md, counted under QEMU): under the lock only the list
// and generation words move. The wipe, the wipe check, the address
// arithmetic and the statistics' high-water test run outside it; release
// takes the lock twice (validate, then append) so that the wipe of a large
// block never adds to interrupt latency.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/pool_state.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"
#include "memplan/wipe_check.hpp"

namespace memplan {

// What a block may hold; a pool allows a set of usages (bit 1 << Usage).
enum class Usage : std::uint8_t { Key = 0, Nonce = 1, Message = 2, Context = 3 };
using UsageMask = std::uint8_t;
constexpr UsageMask usage_bit(Usage usage) noexcept {
  return static_cast<UsageMask>(1u << static_cast<unsigned>(usage));
}
const char* to_string(Usage usage) noexcept;

// What allocation verifies before it hands out a free block.
enum class AllocationCheck : std::uint8_t {
  None = 0,   // trust the wipe done at release
  Wiped = 1,  // the block still reads as wiped (write-after-free detection)
};

struct PoolStats {
  const char* name;
  std::uint32_t block_size;
  std::uint32_t block_count;
  std::uint32_t in_use;
  std::uint32_t high_water;           // most blocks ever in use at once
  std::uint32_t allocation_failures;  // requests for this class that no block could serve (none here, none larger)
  std::uint32_t security_violations;  // stale or invalid release tokens, writes after free, corrupted metadata
  std::uint32_t spills;               // requests for this class served by a larger one because this one was full
  std::uint32_t writes_after_free;    // of the violations: free blocks found written at allocation
  std::uint32_t retired;              // blocks whose generation ran out (kPoolGenerationLimit)
};

template <class Lock>
class BasicPool {
 public:
  static constexpr std::uint32_t kMinBlockSize = 8;  // 8-byte aligned blocks, wiped and checked 8 bytes at a time

  constexpr BasicPool(const char* name, std::uint8_t* storage, std::uint32_t block_size,
                      std::uint32_t block_count, BlockGeneration* generations, std::uint16_t* links,
                      UsageMask usages, AllocationCheck check) noexcept
      : name_(name),
        storage_(storage),
        generations_(generations),
        links_(links),
        block_size_(block_size),
        block_count_(block_count),
        usages_(usages),
        check_(check) {}

  BasicPool(const BasicPool&) = delete;
  BasicPool& operator=(const BasicPool&) = delete;

  // Wipes the storage, sets every generation to 0 (free) and links all
  // blocks in index order; the pool is then empty. A second call is
  // AlreadyInitialized and changes nothing (blocks may be in use).
  Status init() noexcept {
    typename Lock::Guard guard(lock_);
    if (initialized_) return Failure{Error::AlreadyInitialized, name_};
    if (storage_ == nullptr || generations_ == nullptr || links_ == nullptr || block_count_ == 0 ||
        block_count_ > kMaxPoolBlocks || block_size_ < kMinBlockSize || block_size_ % kMinBlockSize != 0 ||
        reinterpret_cast<std::uintptr_t>(storage_) % kMinBlockSize != 0 ||
        reinterpret_cast<std::uintptr_t>(generations_) % alignof(BlockGeneration) != 0 ||
        reinterpret_cast<std::uintptr_t>(links_) % alignof(std::uint16_t) != 0 ||
        static_cast<std::uint64_t>(block_size_) * block_count_ > SIZE_MAX) {
      return Failure{Error::InvalidArgument, name_};
    }
    secure_wipe_aligned8(storage_, storage_bytes());
    for (std::uint32_t index = 0; index < block_count_; ++index) {
      generations_[index] = BlockGeneration{0, 0};
      links_[index] = static_cast<std::uint16_t>(index + 1 < block_count_ ? index + 1 : kNoBlock);
    }
    head_ = 0;
    tail_ = block_count_ - 1;
    in_use_ = failures_ = violations_ = spills_ = writes_after_free_ = retired_ = 0;
    store_relaxed(high_water_, 0);
    allocatable_ = block_count_;
    releasable_ = block_count_;
    corrupted_ = false;
    initialized_ = true;
    return {};
  }

  // A zeroed block of block_size() bytes and its release token, or
  // PoolExhausted (counted as an allocation failure of this class),
  // NotInitialized, or PoolCorrupted (the pool_state section was written by
  // something else: the pool hands out nothing more; releases still work).
  // The wrappers are inline and the work is in one out-of-line function that
  // returns its error in a register: the Result is built where the caller
  // can see it, and a caller that only tests it pays for nothing more.
  __attribute__((always_inline)) Result<Block> allocate() noexcept { return take_block<true>(); }

  // allocate() without counting an exhaustion: BasicPools accounts for it.
  __attribute__((always_inline)) Result<Block> take() noexcept { return take_block<false>(); }

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

  // Wipes the block the token names and frees it. A token that does not name
  // the block's current allocation is refused, counted as a security
  // violation, and changes nothing: InvalidHandle (no such block, or a
  // generation no allocation gives), DoubleRelease (this allocation was
  // released already), StaleHandle (an earlier allocation's token).
  __attribute__((always_inline)) Status release(BlockToken token) noexcept {
    const Error error = release_token(token.index, token.generation.low, token.generation.high);
    if (__builtin_expect(error == Error{}, 1)) return {};
    return Failure{error, name_};
  }

  // True when `pointer` lies inside this pool's storage (any offset).
  bool owns(const void* pointer) const noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    const auto begin = reinterpret_cast<std::uintptr_t>(storage_);
    return address >= begin && address - begin < storage_bytes();
  }

  PoolStats stats() const noexcept {
    typename Lock::Guard guard(lock_);
    return PoolStats{name_,       block_size_, block_count_, in_use_, load_relaxed(high_water_), failures_,
                     violations_, spills_,     writes_after_free_,   retired_};
  }

  // Verifies the metadata (O(blocks): a diagnostic, not a hot path): the free
  // list is in range, acyclic and ends at its tail; every listed block is
  // free (even generation) and reads as wiped; and every block is in use
  // (odd, counted in in_use), listed or retired. Call it when no release is
  // in flight on another thread or in an interrupt: between its two critical
  // sections a block is none of the three, and the check fails.
  Status health_check() const noexcept {
    typename Lock::Guard guard(lock_);
    if (!initialized_) return Failure{Error::NotInitialized, name_};
    if (corrupted_) return Failure{Error::PoolCorrupted, name_};
    const Failure corrupt{Error::PoolCorrupted, name_};
    std::uint32_t listed = 0;
    std::uint32_t last = kNoBlock;
    for (std::uint32_t index = head_; index != kNoBlock; index = links_[index]) {
      if (index >= block_count_ || ++listed > block_count_) return corrupt;
      if ((generations_[index].low & 1u) != 0 || !reads_as_wiped_aligned8(block_at(index), block_size_)) {
        return corrupt;
      }
      last = index;
    }
    if (listed != 0 && last != tail_) return corrupt;
    std::uint32_t odd = 0;
    std::uint32_t retired = 0;
    for (std::uint32_t index = 0; index < block_count_; ++index) {
      if ((generations_[index].low & 1u) != 0) ++odd;
      if (generations_[index].value() == kPoolGenerationLimit) ++retired;
    }
    if (retired != retired_ || odd != in_use_ || odd + listed + retired != block_count_ ||
        load_relaxed(high_water_) < in_use_) {
      return corrupt;
    }
    return {};
  }

  const char* name() const noexcept { return name_; }
  std::uint32_t block_size() const noexcept { return block_size_; }
  std::uint32_t block_count() const noexcept { return block_count_; }
  UsageMask usages() const noexcept { return usages_; }
  AllocationCheck allocation_check() const noexcept { return check_; }
  // Where the pool's metadata starts (the layout's PoolState object), for
  // diagnostics that walk the layout's storage.
  const void* metadata() const noexcept { return generations_; }
  bool allows(Usage usage) const noexcept { return (usages_ & usage_bit(usage)) != 0; }
  bool initialized() const noexcept { return initialized_; }

 private:
  // One body for both: the count of a failure is a constant, so allocate()'s
  // path costs what it cost before take() existed (counted: bench/cortex_m).
  // Writes `out` and returns Error{} (0), or returns the error.
  template <bool kCountFailure>
  __attribute__((noinline)) Error take_into(Block& out) noexcept {
    BlockGeneration* const generations = generations_;
    std::uint32_t index = 0;
    std::uint32_t low = 0;
    std::uint32_t in_use = 0;
    {
      typename Lock::Guard guard(lock_);
      index = head_;
      // 0 before init() and once corrupted: the failure path says which.
      if (__builtin_expect(index >= allocatable_, 0)) return fail<kCountFailure>();
      low = generations[index].low;
      head_ = links_[index];  // range-checked when it is popped
      // A listed block is free (even): odd makes it in use. An odd one here
      // means the metadata was overwritten: corrupted() puts it back.
      generations[index].low = low + 1u;
      in_use = ++in_use_;
    }
    if (__builtin_expect((low & 1u) != 0, 0)) return corrupted(index, low);
    if (in_use > load_relaxed(high_water_)) raise_high_water(in_use);
    std::uint8_t* const data = block_at(index);
    if (check_ == AllocationCheck::Wiped && !reads_as_wiped_aligned8(data, block_size_)) written_after_free(data);
    out.data = data;
    out.token.index = index;
    out.token.generation.low = low + 1u;
    // Only a release with this block's current (odd) generation writes
    // `high`, and none has been handed out: no lock needed to read it.
    out.token.generation.high = generations[index].high;
    return Error{};
  }

  // The Result is the caller's (C++17 guaranteed elision) and take_into()
  // writes the block straight into it: no copy of the Block on the way.
  template <bool kCountFailure>
  __attribute__((always_inline)) Result<Block> take_block() noexcept {
    return Result<Block>(FilledInPlace{}, [this](Block& out) { return take_into<kCountFailure>(out); }, name_);
  }

  // The work of release(); the token comes in registers, the error goes out in one.
  __attribute__((noinline)) Error release_token(std::uint32_t index, std::uint32_t low, std::uint32_t high) noexcept {
    // releasable_ is 0 until init(): a token never reaches uninitialized state.
    if (index >= releasable_ || (low & 1u) == 0) return refuse(initialized_ ? Error::InvalidHandle : Error::NotInitialized);
    BlockGeneration& generation = generations_[index];
    // The generation that frees it: even, one past the token's (low is odd,
    // so only low = 2^32 - 1 carries).
    const std::uint32_t freed_low = low + 1u;
    const std::uint32_t freed_high = freed_low == 0 ? high + 1u : high;
    // The block's last allocation: it retires instead of being listed, so
    // its generation never wraps back to one an old token holds.
    const bool retiring = freed_low == static_cast<std::uint32_t>(kPoolGenerationLimit) &&
                          freed_high == static_cast<std::uint32_t>(kPoolGenerationLimit >> 32);
    {
      typename Lock::Guard guard(lock_);
      if (__builtin_expect(generation.low != low || generation.high != high, 0)) {
        ++violations_;
        return generation.low == freed_low && generation.high == freed_high ? Error::DoubleRelease
                                                                             : Error::StaleHandle;
      }
      generation.low = freed_low;  // from here a second release of the token fails
      generation.high = freed_high;
      if (__builtin_expect(retiring, 0)) {
        --in_use_;
        ++retired_;
      }
    }
    // The block is no one's now: neither listed nor valid for any token.
    // Wipe it with interrupts enabled.
    secure_wipe_aligned8(block_at(index), block_size_);
    if (retiring) return Error{};  // counted above, never listed again
    links_[index] = kNoBlock;
    const std::uint32_t count = block_count_;
    typename Lock::Guard guard(lock_);
    if (head_ >= count) {
      if (__builtin_expect(head_ != kNoBlock, 0)) mark_corrupted();  // a head taken from overwritten links
      head_ = index;
    } else {
      links_[tail_] = static_cast<std::uint16_t>(index);
    }
    tail_ = index;
    --in_use_;
    return Error{};
  }

  // Under the lock: why the head could not be taken.
  template <bool kCountFailure>
  Error fail() noexcept {
    if (!initialized_) return Error::NotInitialized;
    if (corrupted_) return Error::PoolCorrupted;
    if (head_ == kNoBlock) {
      if constexpr (kCountFailure) ++failures_;
      return Error::PoolExhausted;
    }
    mark_corrupted();  // a head out of range came from the links
    return Error::PoolCorrupted;
  }

  __attribute__((noinline, cold)) Error corrupted(std::uint32_t index, std::uint32_t low) noexcept {
    typename Lock::Guard guard(lock_);
    generations_[index].low = low;  // the block taken was someone else's: it stays theirs
    --in_use_;
    mark_corrupted();
    return Error::PoolCorrupted;
  }

  // Under the lock: the list can no longer be trusted, so nothing more is
  // handed out from it. Releases go on (tokens are checked against the
  // generations, not the list), so owners can still wipe their blocks.
  void mark_corrupted() noexcept {
    ++violations_;
    corrupted_ = true;
    head_ = kNoBlock;
    allocatable_ = 0;
  }

  __attribute__((noinline)) void raise_high_water(std::uint32_t in_use) noexcept {
    typename Lock::Guard guard(lock_);
    if (in_use > load_relaxed(high_water_)) store_relaxed(high_water_, in_use);
  }

  __attribute__((noinline, cold)) void written_after_free(std::uint8_t* data) noexcept {
    secure_wipe_aligned8(data, block_size_);
    typename Lock::Guard guard(lock_);
    ++violations_;
    ++writes_after_free_;
  }

  __attribute__((noinline, cold)) Error refuse(Error error) noexcept {
    if (error == Error::NotInitialized) return error;  // no statistics to count in yet
    typename Lock::Guard guard(lock_);
    ++violations_;
    return error;
  }

  // Words read outside the lock: relaxed atomics, which are plain loads and
  // stores on every Cortex-M (no read-modify-write needed).
  static std::uint32_t load_relaxed(const std::uint32_t& word) noexcept {
    return __atomic_load_n(&word, __ATOMIC_RELAXED);
  }
  static void store_relaxed(std::uint32_t& word, std::uint32_t value) noexcept {
    __atomic_store_n(&word, value, __ATOMIC_RELAXED);
  }

  std::size_t storage_bytes() const noexcept { return static_cast<std::size_t>(block_size_) * block_count_; }
  // A multiply, never a divide: tokens carry indices, so no address is ever
  // turned back into an index (no libgcc divide on Cortex-M0).
  std::uint8_t* block_at(std::uint32_t index) const noexcept {
    return storage_ + static_cast<std::size_t>(index) * block_size_;
  }

  const char* name_;
  std::uint8_t* storage_;
  BlockGeneration* generations_;
  std::uint16_t* links_;
  std::uint32_t block_size_;
  std::uint32_t block_count_;
  UsageMask usages_;
  AllocationCheck check_;
  bool initialized_ = false;
  bool corrupted_ = false;
  std::uint32_t allocatable_ = 0;  // block_count_ once initialized; 0 before, and once corrupted
  std::uint32_t releasable_ = 0;   // block_count_ once initialized; 0 before
  std::uint32_t head_ = kNoBlock;
  std::uint32_t tail_ = kNoBlock;
  std::uint32_t in_use_ = 0;
  std::uint32_t high_water_ = 0;
  std::uint32_t failures_ = 0;
  std::uint32_t violations_ = 0;
  std::uint32_t spills_ = 0;
  std::uint32_t writes_after_free_ = 0;
  std::uint32_t retired_ = 0;
  mutable Lock lock_;
};

using Pool = BasicPool<DefaultLock>;

}  // namespace memplan
