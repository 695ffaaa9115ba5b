// Critical sections as a compile-time policy. A policy is a type with a
// nested `Guard` (RAII: entered in the constructor, left in the destructor)
// and a constexpr default constructor, so pools stay constant-initialized.
//
//   NoLock               single-threaded firmware or tests: costs nothing
//   HostMutexLock        Linux host: std::mutex
//   CortexMInterruptLock Cortex-M: save PRIMASK, disable IRQs, restore; safe
//                        from interrupt handlers and when nested
//
// DefaultLock picks one per build: MEMPLAN_SINGLE_THREADED forces NoLock.
#pragma once

#include <cstdint>

#if !defined(__arm__) || defined(__linux__)
#include <mutex>
#define MEMPLAN_HAVE_HOST_MUTEX 1
#endif

namespace memplan {

struct NoLock {
  struct Guard {
    explicit Guard(NoLock& /*unused*/) noexcept {}
  };
};

#if defined(MEMPLAN_HAVE_HOST_MUTEX)
class HostMutexLock {
 public:
  constexpr HostMutexLock() noexcept = default;
  class Guard {
   public:
    explicit Guard(HostMutexLock& lock) noexcept : lock_(lock.mutex_) { lock_.lock(); }
    ~Guard() { lock_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    std::mutex& lock_;
  };

 private:
  std::mutex mutex_;
};
#endif

#if defined(__arm__) && !defined(__linux__)
class CortexMInterruptLock {
 public:
  constexpr CortexMInterruptLock() noexcept = default;
  class Guard {
   public:
    // The "memory" clobbers are the compiler barrier: no load or store of
    // pool state moves out of the critical section.
    explicit Guard(CortexMInterruptLock& /*unused*/) noexcept {
      __asm__ __volatile__("mrs %0, primask" : "=r"(primask_) : : "memory");
      __asm__ __volatile__("cpsid i" : : : "memory");
    }
    ~Guard() { __asm__ __volatile__("msr primask, %0" : : "r"(primask_) : "memory"); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    std::uint32_t primask_ = 0;
  };
};
#endif

#if defined(MEMPLAN_SINGLE_THREADED)
using DefaultLock = NoLock;
#elif defined(__arm__) && !defined(__linux__)
using DefaultLock = CortexMInterruptLock;
#else
using DefaultLock = HostMutexLock;
#endif

}  // namespace memplan
