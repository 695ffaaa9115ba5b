// Allocate+release pairs of fixed-size blocks: memplan's pools against a bare
// intrusive free list (the reference), glibc malloc/free and the locked pool,
// at 0%, 50% and 99% pool fullness. One timed iteration = one pair, so the
// reported time per iteration is the ns per pair.
//
// Names: pool_pair/<subject>/block:<bytes>/full:<percent>,
//        pool_fullness/<subject>/block:<bytes> (0/50/99% timed side by side; the
//        memplan_nolock_control subject times three 99%-full pools instead),
//        pool_side_by_side/block:<bytes> (pool, references and wipe timed side by side) and
//        wipe/<kind>/block:<bytes>  (bench/summarize.py parses them).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <memplan/buffer.hpp>
#include <memplan/pool.hpp>
#include <memplan/pools.hpp>
#include <memplan/port/lock.hpp>
#include <memplan/secure_wipe.hpp>

namespace {

// Enough blocks that 99% full is 253 in use and 3 free, not "1 of 2".
constexpr std::uint32_t kBlocksPerPool = 256;
constexpr std::uint32_t kBlockSizes[] = {64, 256, 1024, 4096};
constexpr std::uint32_t kFullPercents[] = {0, 50, 99};
constexpr std::size_t kStorageAlign = 64;  // a cache line, for every subject alike

struct FreeDeleter {
  void operator()(std::uint8_t* bytes) const noexcept { std::free(bytes); }
};
using AlignedBytes = std::unique_ptr<std::uint8_t, FreeDeleter>;

// Zeroed (so every page is faulted in before timing) and cache-line aligned.
AlignedBytes make_storage(std::size_t size) {
  const std::size_t rounded = (size + kStorageAlign - 1) / kStorageAlign * kStorageAlign;
  AlignedBytes bytes(static_cast<std::uint8_t*>(std::aligned_alloc(kStorageAlign, rounded)));
  if (bytes) std::memset(bytes.get(), 0, rounded);
  return bytes;
}

// The reference, no wipe: a bare intrusive free list, pop head / push head.
// No validation, no statistics, no lock; the link is a block's first word.
class BareFreeList {
 public:
  std::uint8_t* pop() noexcept {
    std::uint8_t* block = head_;
    if (block != nullptr) std::memcpy(&head_, block, sizeof head_);
    return block;
  }
  void push(std::uint8_t* block) noexcept {
    std::memcpy(block, &head_, sizeof head_);
    head_ = block;
  }

 private:
  std::uint8_t* head_ = nullptr;
};

// Subjects of the pair benchmark: acquire() a block's handle (holds()
// false when none is free) and give_back() it (false when the allocator
// refused it). A handle is what the allocator hands out, kept as it comes: a
// pointer, or for memplan the Result holding a Block (pointer and release
// token). Copying the Block out of the Result would time a copy, and on x86
// a store-forwarding stall: the 24-byte copy reads back with one 16-byte load
// what allocate() wrote with three stores (about 10 ns per pair, measured).
inline bool holds(const std::uint8_t* block) noexcept { return block != nullptr; }
inline bool holds(const memplan::Result<memplan::Block>& block) noexcept { return block.has_value(); }
template <class Lock>
bool holds(const memplan::BasicBuffer<Lock>& buffer) noexcept {
  return !buffer.empty();
}

template <bool kWipeWithMemset>
class BareFreeListSubject {
 public:
  using Handle = std::uint8_t*;
  explicit BareFreeListSubject(std::uint32_t block_size)
      : storage_(make_storage(std::size_t{block_size} * kBlocksPerPool)), block_size_(block_size) {
    if (!storage_) return;
    for (std::uint32_t i = kBlocksPerPool; i-- > 0;) list_.push(storage_.get() + std::size_t{i} * block_size_);
  }
  bool ready() const noexcept { return static_cast<bool>(storage_); }
  std::uint8_t* acquire() noexcept { return list_.pop(); }
  bool give_back(std::uint8_t* block) noexcept {
    if (kWipeWithMemset) {
      // The wipe as a plain memset of the block, kept alive the benchmark way.
      std::memset(block, 0, block_size_);
      benchmark::DoNotOptimize(block);
      benchmark::ClobberMemory();
    }
    list_.push(block);
    return true;
  }

 private:
  AlignedBytes storage_;
  std::uint32_t block_size_;  // a run-time value, as in the pool: memset is not specialised for it
  BareFreeList list_;
};

template <class Lock, memplan::AllocationCheck kCheck = memplan::AllocationCheck::None>
class MemplanPoolSubject {
 public:
  using Handle = memplan::Result<memplan::Block>;
  explicit MemplanPoolSubject(std::uint32_t block_size)
      : storage_(make_storage(std::size_t{block_size} * kBlocksPerPool)),
        generations_(kBlocksPerPool),
        links_(kBlocksPerPool),
        pool_("bench", storage_.get(), block_size, kBlocksPerPool, generations_.data(), links_.data(),
              memplan::usage_bit(memplan::Usage::Message), kCheck),
        ready_(storage_ && pool_.init()) {}
  bool ready() const noexcept { return ready_; }
  Handle acquire() noexcept { return pool_.allocate(); }
  bool give_back(const Handle& block) noexcept { return static_cast<bool>(pool_.release(block.value().token)); }

 private:
  AlignedBytes storage_;
  std::vector<memplan::BlockGeneration> generations_;
  std::vector<std::uint16_t> links_;
  memplan::BasicPool<Lock> pool_;
  bool ready_;
};

class MallocSubject {
 public:
  using Handle = std::uint8_t*;
  explicit MallocSubject(std::uint32_t block_size) : block_size_(block_size) {}
  bool ready() const noexcept { return true; }
  std::uint8_t* acquire() noexcept { return static_cast<std::uint8_t*>(std::malloc(block_size_)); }
  bool give_back(std::uint8_t* block) noexcept {
    std::free(block);
    return true;
  }

 private:
  std::uint32_t block_size_;
};

// The blocks a pool at `full_percent` holds, taken in an order that leaves
// the free list scrambled: every block is allocated once, then all but the
// held ones are given back in a stride-101 permutation.
std::uint32_t blocks_held_at(std::uint32_t full_percent) noexcept { return kBlocksPerPool * full_percent / 100; }
std::uint32_t scrambled_index(std::uint32_t i) noexcept { return (i * 101u) % kBlocksPerPool; }

template <class Handle, class Acquire, class GiveBack>
bool prefill(std::vector<Handle>& held, std::uint32_t full_percent, Acquire acquire, GiveBack give_back) {
  std::vector<Handle> all;
  all.reserve(kBlocksPerPool);
  for (std::uint32_t i = 0; i < kBlocksPerPool; ++i) {
    all.push_back(acquire());
    if (!holds(all.back())) return false;
  }
  const std::uint32_t keep = blocks_held_at(full_percent);
  for (std::uint32_t i = 0; i < kBlocksPerPool; ++i) {
    Handle& handle = all[scrambled_index(i)];
    if (i < keep) {
      held.push_back(std::move(handle));
    } else if (!give_back(std::move(handle))) {
      return false;
    }
  }
  return true;
}

void report_pairs(benchmark::State& state, std::uint32_t full_percent) {
  state.SetItemsProcessed(state.iterations());
  state.counters["held_blocks"] = static_cast<double>(blocks_held_at(full_percent));
}

// One timed unit: allocate a block, keep it observable, release it.
template <class Subject>
inline bool one_pair(Subject& subject) noexcept {
  typename Subject::Handle block = subject.acquire();
  benchmark::DoNotOptimize(&block);
  return holds(block) && subject.give_back(block);
}

template <class Subject>
bool prepare(Subject& subject, std::vector<typename Subject::Handle>& held, std::uint32_t full_percent) {
  return subject.ready() && prefill(held, full_percent, [&] { return subject.acquire(); },
                                    [&](typename Subject::Handle block) { return subject.give_back(block); });
}

template <class Subject>
void bench_pointer_pairs(benchmark::State& state, std::uint32_t block_size, std::uint32_t full_percent) {
  Subject subject(block_size);
  std::vector<typename Subject::Handle> held;
  if (!prepare(subject, held, full_percent)) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    if (!one_pair(subject)) {
      state.SkipWithError("allocate or release failed");
      break;
    }
  }
  report_pairs(state, full_percent);
  for (const auto& block : held) static_cast<void>(subject.give_back(block));
}

// Side by side: on a shared machine, separate cases run seconds apart and
// see different load. Here several subjects are timed in alternating batches
// inside one benchmark, so load hits all of them alike; each reports the
// median over its batches (a preempted batch is an outlier, not a shift).
// The order flips every iteration so drift within an iteration cancels.
using BatchClock = std::chrono::steady_clock;
constexpr int kOpsPerBatch = 256;

double median_of(std::vector<double>& values) {
  if (values.empty()) return 0.0;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// Each batch runs kOpsPerBatch operations and returns false on a failure.
// Returns false (after SkipWithError) if a batch failed; else the median ns
// per operation of each batch function.
template <std::size_t N>
bool time_side_by_side(benchmark::State& state, const std::array<std::function<bool()>, N>& batches,
                       std::array<double, N>& median_ns) {
  std::array<std::vector<double>, N> batch_ns;
  bool forward = true;
  for (auto _ : state) {
    bool failed = false;
    for (std::size_t step = 0; step < N; ++step) {
      const std::size_t index = forward ? step : N - 1 - step;
      const BatchClock::time_point start = BatchClock::now();
      failed |= !batches[index]();
      const BatchClock::time_point stop = BatchClock::now();
      batch_ns[index].push_back(std::chrono::duration<double, std::nano>(stop - start).count() / kOpsPerBatch);
    }
    forward = !forward;
    if (failed) {
      state.SkipWithError("allocate or release failed");
      return false;
    }
  }
  for (std::size_t i = 0; i < N; ++i) median_ns[i] = median_of(batch_ns[i]);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(N * kOpsPerBatch));
  return true;
}

template <class Subject>
std::function<bool()> pair_batch(Subject& subject) {
  return [&subject] {
    bool ok = true;
    for (int op = 0; op < kOpsPerBatch; ++op) ok &= one_pair(subject);
    return ok;
  };
}

// The wipe alone, on one cache-hot block: as the pool's release does it
// (memplan::secure_wipe), or as a plain memset the benchmark keeps alive.
template <bool kSecureWipe>
inline void wipe_once(std::uint8_t* block, std::uint32_t block_size) noexcept {
  if (kSecureWipe) {
    memplan::secure_wipe(block, block_size);
    benchmark::DoNotOptimize(block);
  } else {
    std::memset(block, 0, block_size);
    benchmark::DoNotOptimize(block);
    benchmark::ClobberMemory();
  }
}

template <bool kSecureWipe>
std::function<bool()> wipe_batch(std::uint8_t* block, std::uint32_t block_size) {
  return [block, block_size] {
    for (int op = 0; op < kOpsPerBatch; ++op) wipe_once<kSecureWipe>(block, block_size);
    return true;
  };
}

constexpr std::size_t kFullnessLevels = sizeof kFullPercents / sizeof kFullPercents[0];

// Three subjects, one per fullness, side by side. The control runs three
// identical pools, all 99% full: whatever spread it shows comes from where
// the pools landed in memory and from noise, not from fullness.
template <class Subject, bool kControl = false>
void bench_fullness_side_by_side(benchmark::State& state, std::uint32_t block_size) {
  std::unique_ptr<Subject> subjects[kFullnessLevels];
  std::vector<typename Subject::Handle> held[kFullnessLevels];
  std::array<std::function<bool()>, kFullnessLevels> batches;
  for (std::size_t level = 0; level < kFullnessLevels; ++level) {
    subjects[level] = std::make_unique<Subject>(block_size);
    const std::uint32_t full_percent = kControl ? kFullPercents[kFullnessLevels - 1] : kFullPercents[level];
    if (!prepare(*subjects[level], held[level], full_percent)) {
      state.SkipWithError("setup failed");
      return;
    }
    batches[level] = pair_batch(*subjects[level]);
  }
  std::array<double, kFullnessLevels> median_ns{};
  if (!time_side_by_side(state, batches, median_ns)) return;
  for (std::size_t level = 0; level < kFullnessLevels; ++level) {
    const std::string key = kControl ? "copy" + std::to_string(level) : "full" + std::to_string(kFullPercents[level]);
    state.counters[key + "_ns"] = median_ns[level];
    for (const auto& block : held[level]) static_cast<void>(subjects[level]->give_back(block));
  }
  const auto [best, worst] = std::minmax_element(median_ns.begin(), median_ns.end());
  state.counters["worst_over_best"] = *best > 0.0 ? *worst / *best : 0.0;
}

// The pool against its references, side by side at 50% full: the bare list,
// the bare list with a memset on release, the pool without and with the
// allocation-time wipe check, and the wipe and a plain memset alone. "Pool
// without the wipe" is then pool_ns - secure_wipe_ns of the same moment.
void bench_pool_side_by_side(benchmark::State& state, std::uint32_t block_size) {
  constexpr std::uint32_t kFullPercent = 50;
  BareFreeListSubject<false> bare(block_size);
  BareFreeListSubject<true> bare_memset(block_size);
  MemplanPoolSubject<memplan::NoLock> pool(block_size);
  MemplanPoolSubject<memplan::NoLock, memplan::AllocationCheck::Wiped> pool_checked(block_size);
  std::vector<std::uint8_t*> held_bare[2];
  std::vector<memplan::Result<memplan::Block>> held_pool[2];
  AlignedBytes wipe_storage = make_storage(block_size);
  if (!prepare(bare, held_bare[0], kFullPercent) || !prepare(bare_memset, held_bare[1], kFullPercent) ||
      !prepare(pool, held_pool[0], kFullPercent) || !prepare(pool_checked, held_pool[1], kFullPercent) ||
      !wipe_storage) {
    state.SkipWithError("setup failed");
    return;
  }
  static constexpr const char* kNames[] = {"bare_ns",         "bare_memset_ns", "pool_ns", "pool_checked_ns",
                                           "secure_wipe_ns",  "plain_memset_ns"};
  const std::array<std::function<bool()>, 6> batches = {
      pair_batch(bare), pair_batch(bare_memset), pair_batch(pool), pair_batch(pool_checked),
      wipe_batch<true>(wipe_storage.get(), block_size), wipe_batch<false>(wipe_storage.get(), block_size)};
  std::array<double, 6> median_ns{};
  if (!time_side_by_side(state, batches, median_ns)) return;
  for (std::size_t i = 0; i < median_ns.size(); ++i) state.counters[kNames[i]] = median_ns[i];
}

// The handle path: Pools::allocate(size, Usage) picks the class, the Buffer
// wipes and returns the block when it dies. Four classes (64 B .. 4 KiB), all
// for messages, so a 4 KiB request walks past the three smaller ones.
template <class Lock>
class PoolsLayout {
 public:
  PoolsLayout() : generations_(kClasses * kBlocksPerPool), links_(kClasses * kBlocksPerPool) {
    for (std::size_t i = 0; i < kClasses; ++i) {
      storage_[i] = make_storage(std::size_t{kBlockSizes[i]} * kBlocksPerPool);
      if (!storage_[i]) return;
      pools_[i] = std::make_unique<memplan::BasicPool<Lock>>(
          "bench", storage_[i].get(), kBlockSizes[i], kBlocksPerPool, generations_.data() + i * kBlocksPerPool,
          links_.data() + i * kBlocksPerPool, memplan::usage_bit(memplan::Usage::Message),
          memplan::AllocationCheck::None);
      pool_list_[i] = pools_[i].get();
    }
    ready_ = static_cast<bool>(size_classes_.init());
  }
  bool ready() const noexcept { return ready_; }
  memplan::BasicPools<Lock>& pools() noexcept { return size_classes_; }

 private:
  static constexpr std::size_t kClasses = sizeof kBlockSizes / sizeof kBlockSizes[0];

  AlignedBytes storage_[kClasses];
  std::vector<memplan::BlockGeneration> generations_;
  std::vector<std::uint16_t> links_;
  std::unique_ptr<memplan::BasicPool<Lock>> pools_[kClasses];
  memplan::BasicPool<Lock>* pool_list_[kClasses] = {};
  memplan::BasicPools<Lock> size_classes_{pool_list_, kClasses};  // after pool_list_: it keeps the pointer
  bool ready_ = false;
};

template <class Lock>
void bench_handle_pairs(benchmark::State& state, std::uint32_t block_size, std::uint32_t full_percent) {
  PoolsLayout<Lock> layout;
  using Buffer = memplan::BasicBuffer<Lock>;
  std::vector<Buffer> held;
  const auto acquire = [&]() -> Buffer {
    memplan::Result<Buffer> buffer = layout.pools().allocate(block_size, memplan::Usage::Message);
    return buffer ? std::move(buffer.value()) : Buffer{};
  };
  const auto give_back = [](Buffer buffer) { return static_cast<bool>(buffer); };  // dies here
  if (!layout.ready() || !prefill(held, full_percent, acquire, give_back)) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    memplan::Result<Buffer> buffer = layout.pools().allocate(block_size, memplan::Usage::Message);
    if (!buffer) {
      state.SkipWithError("allocate failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.value().data());
  }  // the Buffer dies at the end of each iteration: wipe + release
  report_pairs(state, full_percent);
}

template <bool kSecureWipe>
void bench_wipe(benchmark::State& state, std::uint32_t block_size) {
  AlignedBytes storage = make_storage(block_size);
  std::uint8_t* block = storage.get();
  if (block == nullptr) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) wipe_once<kSecureWipe>(block, block_size);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(block_size));
}

using PairFunction = void (*)(benchmark::State&, std::uint32_t, std::uint32_t);

struct PairSubject {
  const char* name;
  PairFunction run;
};

// Order matters only for reading the console output; summarize.py pairs by name.
constexpr PairSubject kPairSubjects[] = {
    {"bare_free_list", bench_pointer_pairs<BareFreeListSubject<false>>},
    {"bare_free_list_memset", bench_pointer_pairs<BareFreeListSubject<true>>},
    {"memplan_nolock", bench_pointer_pairs<MemplanPoolSubject<memplan::NoLock>>},
    {"memplan_nolock_checked",
     bench_pointer_pairs<MemplanPoolSubject<memplan::NoLock, memplan::AllocationCheck::Wiped>>},
    {"memplan_mutex", bench_pointer_pairs<MemplanPoolSubject<memplan::HostMutexLock>>},
    {"malloc_free", bench_pointer_pairs<MallocSubject>},
    {"pools_handle_nolock", bench_handle_pairs<memplan::NoLock>},
    {"pools_handle_mutex", bench_handle_pairs<memplan::HostMutexLock>},
};

using FullnessFunction = void (*)(benchmark::State&, std::uint32_t);

struct FullnessSubject {
  const char* name;
  FullnessFunction run;
};

// Two controls: the bare list cannot depend on fullness, and the pool control
// times three equally full pools; their spreads are the method's noise floor.
constexpr FullnessSubject kFullnessSubjects[] = {
    {"memplan_nolock", bench_fullness_side_by_side<MemplanPoolSubject<memplan::NoLock>>},
    {"memplan_mutex", bench_fullness_side_by_side<MemplanPoolSubject<memplan::HostMutexLock>>},
    {"bare_free_list", bench_fullness_side_by_side<BareFreeListSubject<false>>},
    {"memplan_nolock_control", bench_fullness_side_by_side<MemplanPoolSubject<memplan::NoLock>, true>},
};

void register_benchmarks() {
  for (const PairSubject& subject : kPairSubjects) {
    for (std::uint32_t block_size : kBlockSizes) {
      for (std::uint32_t full_percent : kFullPercents) {
        const std::string name = std::string("pool_pair/") + subject.name + "/block:" + std::to_string(block_size) +
                                 "/full:" + std::to_string(full_percent);
        const PairFunction run = subject.run;
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
          run(state, block_size, full_percent);
        });
      }
    }
  }
  for (const FullnessSubject& subject : kFullnessSubjects) {
    for (std::uint32_t block_size : kBlockSizes) {
      const std::string name = std::string("pool_fullness/") + subject.name + "/block:" + std::to_string(block_size);
      const FullnessFunction run = subject.run;
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run(state, block_size); });
    }
  }
  for (std::uint32_t block_size : kBlockSizes) {
    benchmark::RegisterBenchmark(("pool_side_by_side/block:" + std::to_string(block_size)).c_str(),
                                 [=](benchmark::State& state) { bench_pool_side_by_side(state, block_size); });
  }
  for (std::uint32_t block_size : kBlockSizes) {
    const std::string suffix = "/block:" + std::to_string(block_size);
    benchmark::RegisterBenchmark(("wipe/plain_memset" + suffix).c_str(),
                                 [=](benchmark::State& state) { bench_wipe<false>(state, block_size); });
    benchmark::RegisterBenchmark(("wipe/secure_wipe" + suffix).c_str(),
                                 [=](benchmark::State& state) { bench_wipe<true>(state, block_size); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
