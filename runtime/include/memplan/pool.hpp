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
// block never adds to interrupt latency. With the interrupt lock the critical
// sections are assembly: at most 16 instructions masked on every Cortex-M.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "memplan/limits.hpp"
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

// The request-size histogram's buckets, relative to the block size: bucket k
// (k < 7) counts sizes with block_size >> (k + 1) < size <= block_size >> k,
// the last every smaller size. Bucket 0 is "more than half the block used".
inline constexpr std::size_t kRequestSizeBuckets = 8;

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
  // Sizing (memplan fit): this class's peak demand was high_water + overflow_high_water.
  std::uint32_t overflow_high_water;  // most requests for this class outstanding at once beyond its blocks (spilled or failed)
  std::uint32_t largest_request;      // bytes: the largest sized request (Pools::allocate) this class was the first fit for
  std::uint32_t request_sizes[kRequestSizeBuckets];  // those requests by size (kRequestSizeBuckets)
};

template <class Lock>
class BasicPool {
 public:

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
        block_count_ > kMaxPoolBlocks || block_size_ == 0 || block_size_ % kBlockSizeMultiple != 0 ||
        block_size_ > kMaxBlockSize || reinterpret_cast<std::uintptr_t>(storage_) % kBlockSizeMultiple != 0 ||
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
    overflow_ = overflow_high_water_ = largest_request_ = 0;
    for (std::uint32_t& count : request_sizes_) count = 0;
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
  // failure when no class could serve it, a spill when a larger one did
  // (outstanding until the larger class's block comes back: the buffer
  // calls note_spill_returned()). Both are demand beyond the blocks.
  __attribute__((noinline, cold)) void note_failure() noexcept {
    typename Lock::Guard guard(lock_);
    count_failure();
  }
  __attribute__((noinline)) void note_spill() noexcept {
    typename Lock::Guard guard(lock_);
    ++spills_;
    if (++overflow_ > overflow_high_water_) overflow_high_water_ = overflow_;
  }
  __attribute__((noinline)) void note_spill_returned() noexcept {
    typename Lock::Guard guard(lock_);
    --overflow_;
  }

  // For BasicPools: a request of `size` bytes (1 to block_size()) that this
  // class was the first fit for, wherever it was served. The bucket is found
  // with shifts (no divide on Cortex-M0), outside the lock.
  __attribute__((noinline)) void note_request(std::size_t size) noexcept {
    std::uint32_t bucket = 0;
    for (std::uint32_t bound = block_size_ >> 1; bucket + 1 < kRequestSizeBuckets && size <= bound; bound >>= 1) {
      ++bucket;
    }
    const auto bytes = static_cast<std::uint32_t>(size);
    typename Lock::Guard guard(lock_);
    ++request_sizes_[bucket];
    if (bytes > largest_request_) largest_request_ = bytes;
  }

  // Wipes the block the token names and frees it. A token that does not name
  // the block's current allocation is refused, counted as a security
  // violation, and changes nothing: InvalidHandle (no such block, or a
  // generation no allocation gives), DoubleRelease (this allocation was
  // released already), StaleHandle (an earlier allocation's token).
  __attribute__((always_inline)) Status release(const BlockToken& token) noexcept {
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
    PoolStats stats{name_,   block_size_,        block_count_, in_use_,      load_relaxed(high_water_),
                    failures_, violations_,      spills_,      writes_after_free_, retired_,
                    overflow_high_water_, largest_request_, {}};
    for (std::size_t i = 0; i < kRequestSizeBuckets; ++i) stats.request_sizes[i] = request_sizes_[i];
    return stats;
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
    std::uint32_t low = 0;  // the block's generation, low word, after the pop
    std::uint32_t in_use = 0;
    const std::uint32_t index = pop(low, in_use);
    if (__builtin_expect(index == kNotTaken, 0)) return why_not_taken<kCountFailure>();
    // A listed block is free (even): the pop made it odd, in use. Even now
    // means it was odd, in use: the metadata was overwritten.
    if (__builtin_expect((low & 1u) == 0, 0)) return corrupted(index, low);
    if (in_use > load_relaxed(high_water_)) raise_high_water(in_use);
    std::uint8_t* const data = block_at(index);
    if (check_ == AllocationCheck::Wiped && !reads_as_wiped_aligned8(data, block_size_)) written_after_free(data);
    // Only a release with this block's current (odd) generation writes
    // `high`, and none has been handed out: no lock needed to read it.
    out = Block{data, BlockToken{index, BlockGeneration{low, generations_[index].high}}};
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
    // The generation that frees it: even, one past the token's. Two cases
    // take the slow path: a carry into the high word (low = 2^32 - 1) and
    // the block's last allocation (kPoolGenerationLimit), once in 2^31
    // releases of a block at most.
    const std::uint32_t freed_low = low + 1u;
    if (__builtin_expect(rare_release(low), 0)) return release_rare(index, low, high);
    // From here a second release of the token fails.
    if (__builtin_expect(!free_generation(generations_[index], low, high, freed_low), 0)) {
      return refuse_token(generations_[index], freed_low, high);
    }
    // The block is no one's now: neither listed nor valid for any token.
    // Wipe it with interrupts enabled, then list it.
    secure_wipe_aligned8(block_at(index), block_size_);
    links_[index] = kNoBlock;
    const std::uint32_t old_head = push(index);
    if (__builtin_expect(old_head >= block_count_ && old_head != kNoBlock, 0)) note_corrupted_head();
    return Error{};
  }

  // Whether releasing odd generation low word `low` carries into the high
  // word or may reach the limit. With the shipped limit (low word 2^32 - 2)
  // that is low = 2^32 - 3 or 2^32 - 1, which one compare finds.
  static constexpr bool rare_release(std::uint32_t low) noexcept {
    constexpr std::uint32_t kLimitLow = static_cast<std::uint32_t>(kPoolGenerationLimit);
    if constexpr (kLimitLow == 0xFFFFFFFEu) {
      return low + 3u < 4u;
    } else {
      return low + 1u == 0 || low + 1u == kLimitLow;
    }
  }

  // release_token() when the freed generation carries into its high word or
  // reaches the limit. The same steps, with the generic lock.
  __attribute__((noinline, cold)) Error release_rare(std::uint32_t index, std::uint32_t low, std::uint32_t high) noexcept {
    const std::uint32_t freed_low = low + 1u;
    const std::uint32_t freed_high = freed_low == 0 ? high + 1u : high;
    BlockGeneration& generation = generations_[index];
    {
      typename Lock::Guard guard(lock_);
      if (generation.low != low || generation.high != high) {
        ++violations_;
        return generation.low == freed_low && generation.high == freed_high ? Error::DoubleRelease
                                                                             : Error::StaleHandle;
      }
      generation.low = freed_low;
      generation.high = freed_high;
    }
    secure_wipe_aligned8(block_at(index), block_size_);
    if (BlockGeneration{freed_low, freed_high}.value() == kPoolGenerationLimit) {
      // Its last allocation: it retires instead of being listed, so its
      // generation never wraps back to one an old token holds.
      typename Lock::Guard guard(lock_);
      --in_use_;
      ++retired_;
      return Error{};
    }
    // As release_token() lists a block; not shared with it, because sharing
    // the three lines moves its hot path's branches (one more instruction on
    // M7 -O2, counted).
    links_[index] = kNoBlock;
    const std::uint32_t old_head = push(index);
    if (old_head >= block_count_ && old_head != kNoBlock) note_corrupted_head();
    return Error{};
  }

  // The three critical sections. With the interrupt lock on Cortex-M they
  // are Thumb-1 assembly (every core from M0 up runs it), so the longest
  // masked stretch is what is written here (16 instructions in pop(), 9 and
  // 13 in release), not what register allocation makes of it: GCC at -Os
  // spills PRIMASK to the stack inside the C++ versions (20 on M0).
  static constexpr std::uint32_t kNotTaken = 0xFFFFFFFFu;
#if defined(__arm__) && defined(__thumb__) && !defined(__linux__)
  static constexpr bool kThumbCriticalSections = std::is_same_v<Lock, CortexMInterruptLock>;
  // The assembly reaches these members as `ldr rX, [this, #offset]`: Thumb-1
  // encodes word offsets up to 124.
  static constexpr bool thumb_reachable(std::size_t offset) noexcept { return offset % 4 == 0 && offset <= 124; }
#else
  static constexpr bool kThumbCriticalSections = false;
#endif

  // Takes the head of the free list, adds one to its generation's low word
  // (a free block's is even: now odd, in use) and counts it in use. Returns
  // its index, the low word now and in_use now; or kNotTaken, changing
  // nothing, when the head is not below allocatable_.
  __attribute__((always_inline)) std::uint32_t pop(std::uint32_t& low, std::uint32_t& in_use) noexcept {
#if defined(__arm__) && defined(__thumb__) && !defined(__linux__)
    if constexpr (kThumbCriticalSections) {
      static_assert(thumb_reachable(offsetof(BasicPool, head_)) && thumb_reachable(offsetof(BasicPool, allocatable_)) &&
                        thumb_reachable(offsetof(BasicPool, tail_)) && thumb_reachable(offsetof(BasicPool, in_use_)),
                    "the pool's critical sections address these members with Thumb-1 immediate offsets");
      std::uint32_t index = 0;
      std::uint32_t primask = 0;
      __asm__ __volatile__(
          "  .syntax unified\n"
          "  mrs   %[pm], primask\n"
          "  cpsid i\n"
          "  ldr   %[index], [%[self], %[head]]\n"
          "  ldr   %[t], [%[self], %[allocatable]]\n"
          "  cmp   %[index], %[t]\n"
          "  bhs   1f\n"
          "  lsls  %[t], %[index], #3\n"
          "  ldr   %[low], [%[generations], %[t]]\n"
          "  adds  %[low], %[low], #1\n"
          "  str   %[low], [%[generations], %[t]]\n"
          "  lsls  %[t], %[index], #1\n"
          "  ldrh  %[t], [%[links], %[t]]\n"
          "  str   %[t], [%[self], %[head]]\n"
          "  ldr   %[t], [%[self], %[in_use]]\n"
          "  adds  %[t], %[t], #1\n"
          "  str   %[t], [%[self], %[in_use]]\n"
          "  msr   primask, %[pm]\n"
          "  b     2f\n"
          "1:\n"
          "  msr   primask, %[pm]\n"
          "  movs  %[index], #0\n"
          "  mvns  %[index], %[index]\n"  // kNotTaken
          "2:\n"
          : [index] "=&l"(index), [low] "=&l"(low), [t] "=&l"(in_use), [pm] "=&r"(primask)
          : [self] "l"(this), [generations] "l"(generations_), [links] "l"(links_),
            [head] "i"(offsetof(BasicPool, head_)), [allocatable] "i"(offsetof(BasicPool, allocatable_)),
            [in_use] "i"(offsetof(BasicPool, in_use_))
          : "cc", "memory");
      return index;
    }
#endif
    typename Lock::Guard guard(lock_);
    const std::uint32_t index = head_;
    if (index >= allocatable_) return kNotTaken;
    low = generations_[index].low + 1u;
    generations_[index].low = low;
    head_ = links_[index];  // range-checked when it is popped
    in_use = ++in_use_;
    return index;
  }

  // Frees a generation if it is still the token's, by storing its new low
  // word (no carry: release_rare() has those); false, changing nothing, when
  // it is not the token's.
  __attribute__((always_inline)) bool free_generation(BlockGeneration& generation, std::uint32_t low,
                                                      std::uint32_t high, std::uint32_t freed_low) noexcept {
#if defined(__arm__) && defined(__thumb__) && !defined(__linux__)
    if constexpr (kThumbCriticalSections) {
      std::uint32_t differs = 0;
      std::uint32_t primask = 0;
      __asm__ __volatile__(
          "  .syntax unified\n"
          "  mrs   %[pm], primask\n"
          "  cpsid i\n"
          "  ldr   %[t], [%[generation]]\n"
          "  subs  %[t], %[t], %[low]\n"
          "  bne   1f\n"
          "  ldr   %[t], [%[generation], #4]\n"
          "  subs  %[t], %[t], %[high]\n"
          "  bne   1f\n"
          "  str   %[freed_low], [%[generation]]\n"
          "1:\n"
          "  msr   primask, %[pm]\n"
          : [t] "=&l"(differs), [pm] "=&r"(primask)
          : [generation] "l"(&generation), [low] "l"(low), [high] "l"(high), [freed_low] "l"(freed_low)
          : "cc", "memory");
      return differs == 0;
    }
#endif
    typename Lock::Guard guard(lock_);
    if (generation.low != low || generation.high != high) return false;
    generation.low = freed_low;
    return true;
  }

  // Appends a wiped block at the tail of the free list and counts it free.
  // Returns the head the list had (kNoBlock: it was empty).
  __attribute__((always_inline)) std::uint32_t push(std::uint32_t index) noexcept {
    const std::uint32_t count = block_count_;
#if defined(__arm__) && defined(__thumb__) && !defined(__linux__)
    if constexpr (kThumbCriticalSections) {
      std::uint32_t old_head = 0;
      std::uint32_t scratch = 0;
      std::uint32_t primask = 0;
      __asm__ __volatile__(
          "  .syntax unified\n"
          "  mrs   %[pm], primask\n"
          "  cpsid i\n"
          "  ldr   %[head_was], [%[self], %[head]]\n"
          "  cmp   %[head_was], %[count]\n"
          "  bhs   1f\n"
          "  ldr   %[t], [%[self], %[tail]]\n"
          "  lsls  %[t], %[t], #1\n"
          "  strh  %[index], [%[links], %[t]]\n"
          "  b     2f\n"
          "1:\n"
          "  str   %[index], [%[self], %[head]]\n"
          "2:\n"
          "  str   %[index], [%[self], %[tail]]\n"
          "  ldr   %[t], [%[self], %[in_use]]\n"
          "  subs  %[t], %[t], #1\n"
          "  str   %[t], [%[self], %[in_use]]\n"
          "  msr   primask, %[pm]\n"
          : [head_was] "=&l"(old_head), [t] "=&l"(scratch), [pm] "=&r"(primask)
          : [self] "l"(this), [links] "l"(links_), [index] "l"(index), [count] "l"(count),
            [head] "i"(offsetof(BasicPool, head_)), [tail] "i"(offsetof(BasicPool, tail_)),
            [in_use] "i"(offsetof(BasicPool, in_use_))
          : "cc", "memory");
      return old_head;
    }
#endif
    typename Lock::Guard guard(lock_);
    const std::uint32_t old_head = head_;
    if (old_head >= count) {
      head_ = index;
    } else {
      links_[tail_] = static_cast<std::uint16_t>(index);
    }
    tail_ = index;
    --in_use_;
    return old_head;
  }

  // Why pop() took nothing, decided under the lock.
  template <bool kCountFailure>
  __attribute__((noinline)) Error why_not_taken() noexcept {
    typename Lock::Guard guard(lock_);
    return fail<kCountFailure>();
  }

  __attribute__((noinline, cold)) Error refuse_token(const BlockGeneration& generation, std::uint32_t freed_low,
                                                     std::uint32_t freed_high) noexcept {
    typename Lock::Guard guard(lock_);
    ++violations_;
    return generation.low == freed_low && generation.high == freed_high ? Error::DoubleRelease : Error::StaleHandle;
  }

  // push() found a head that is neither a block nor kNoBlock: it came from
  // overwritten links, and push() has replaced it.
  __attribute__((noinline, cold)) void note_corrupted_head() noexcept {
    typename Lock::Guard guard(lock_);
    const std::uint32_t head = head_;
    mark_corrupted();
    head_ = head;  // the block push() listed stays listed
  }

  // Under the lock: why the head could not be taken. (A block released
  // since then is listed now; the pool was exhausted all the same.)
  template <bool kCountFailure>
  Error fail() noexcept {
    if (!initialized_) return Error::NotInitialized;
    if (corrupted_) return Error::PoolCorrupted;
    if (head_ != kNoBlock && head_ >= block_count_) {
      mark_corrupted();  // a head out of range came from the links
      return Error::PoolCorrupted;
    }
    if constexpr (kCountFailure) count_failure();
    return Error::PoolExhausted;
  }

  // Under the lock: a request no block could serve, one more than the
  // requests beyond the blocks outstanding now.
  void count_failure() noexcept {
    ++failures_;
    if (overflow_ + 1u > overflow_high_water_) overflow_high_water_ = overflow_ + 1u;
  }

  __attribute__((noinline, cold)) Error corrupted(std::uint32_t index, std::uint32_t low) noexcept {
    typename Lock::Guard guard(lock_);
    generations_[index].low = low - 1u;  // the block taken was someone else's: it stays theirs
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
  std::uint32_t overflow_ = 0;  // spilled blocks of this class's requests, not yet returned
  std::uint32_t overflow_high_water_ = 0;
  std::uint32_t largest_request_ = 0;
  std::uint32_t request_sizes_[kRequestSizeBuckets] = {};
  mutable Lock lock_;
};

using Pool = BasicPool<DefaultLock>;

}  // namespace memplan
