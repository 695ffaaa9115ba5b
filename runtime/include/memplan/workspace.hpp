// The layout's workspace: double-buffered input and output plus a scratch
// buffer, all buffer_size bytes, in one storage array:
//   [input0][input1][output0][output1][scratch]
// One taker at a time holds a lease; a second taker gets NoBufferAvailable
// (it does not wait: firmware must not block in a crypto path). Releasing a
// lease wipes the buffers it exposed and flips to the other half, so
// consecutive leases alternate input0/output0 and input1/output1: a DMA
// engine can fill the next input while the current lease is processed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "memplan/limits.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/result.hpp"
#include "memplan/secure_wipe.hpp"
#include "memplan/span.hpp"

namespace memplan {

template <class Lock>
class BasicWorkspace;

template <class Lock>
class BasicWorkspaceLease {
 public:
  constexpr BasicWorkspaceLease() noexcept = default;
  BasicWorkspaceLease(BasicWorkspaceLease&& other) noexcept
      : workspace_(std::exchange(other.workspace_, nullptr)), half_(other.half_) {}
  BasicWorkspaceLease& operator=(BasicWorkspaceLease&& other) noexcept {
    if (this != &other) {
      reset();
      workspace_ = std::exchange(other.workspace_, nullptr);
      half_ = other.half_;
    }
    return *this;
  }
  BasicWorkspaceLease(const BasicWorkspaceLease&) = delete;
  BasicWorkspaceLease& operator=(const BasicWorkspaceLease&) = delete;
  ~BasicWorkspaceLease() { reset(); }

  void reset() noexcept {
    if (workspace_ != nullptr) std::exchange(workspace_, nullptr)->give_back(half_);
  }
  bool empty() const noexcept { return workspace_ == nullptr; }
  explicit operator bool() const noexcept { return workspace_ != nullptr; }
  ByteSpan input() const noexcept { return buffer(0 + half_); }
  ByteSpan output() const noexcept { return buffer(2 + half_); }
  ByteSpan scratch() const noexcept { return buffer(4); }
  unsigned half() const noexcept { return half_; }

 private:
  friend class BasicWorkspace<Lock>;
  BasicWorkspaceLease(BasicWorkspace<Lock>& workspace, unsigned half) noexcept
      : workspace_(&workspace), half_(half) {}
  ByteSpan buffer(unsigned index) const noexcept {
    return workspace_ != nullptr ? workspace_->buffer(index) : ByteSpan{};
  }

  BasicWorkspace<Lock>* workspace_ = nullptr;
  unsigned half_ = 0;
};

template <class Lock>
class BasicWorkspace {
 public:
  static constexpr unsigned kBuffers = 5;

  constexpr BasicWorkspace(std::uint8_t* storage, std::size_t buffer_size) noexcept
      : storage_(storage), buffer_size_(buffer_size) {}
  BasicWorkspace(const BasicWorkspace&) = delete;
  BasicWorkspace& operator=(const BasicWorkspace&) = delete;

  Status init() noexcept {
    typename Lock::Guard guard(lock_);
    if (initialized_) return Failure{Error::AlreadyInitialized, "workspace"};
    // 8-byte aligned buffers of whole AES blocks: also the cheap wipe's
    // precondition (a generated layout's are cache-line aligned).
    if (storage_ == nullptr || buffer_size_ == 0 || buffer_size_ % kWorkspaceBufferMultiple != 0 ||
        buffer_size_ > kMaxWorkspaceBuffer || reinterpret_cast<std::uintptr_t>(storage_) % 8 != 0) {
      return Failure{Error::InvalidArgument, "workspace"};
    }
    secure_wipe(storage_, buffer_size_ * kBuffers);
    initialized_ = true;
    return {};
  }

  Result<BasicWorkspaceLease<Lock>> acquire() noexcept {
    typename Lock::Guard guard(lock_);
    if (!initialized_) return Failure{Error::NotInitialized, "workspace"};
    if (taken_) {
      ++contention_;
      return Failure{Error::NoBufferAvailable, "workspace"};
    }
    taken_ = true;
    ++leases_;
    return BasicWorkspaceLease<Lock>(*this, active_);
  }

  std::size_t buffer_size() const noexcept { return buffer_size_; }
  bool taken() const noexcept {
    typename Lock::Guard guard(lock_);
    return taken_;
  }
  unsigned active_half() const noexcept {
    typename Lock::Guard guard(lock_);
    return active_;
  }
  std::uint32_t leases() const noexcept {
    typename Lock::Guard guard(lock_);
    return leases_;
  }
  // Acquisitions refused because the workspace was taken.
  std::uint32_t contention() const noexcept {
    typename Lock::Guard guard(lock_);
    return contention_;
  }
  bool initialized() const noexcept { return initialized_; }

 private:
  friend class BasicWorkspaceLease<Lock>;

  ByteSpan buffer(unsigned index) const noexcept {
    return ByteSpan{storage_ + index * buffer_size_, buffer_size_};
  }

  void give_back(unsigned half) noexcept {
    // Only the lease holder touches these buffers until `taken_` clears.
    secure_wipe_aligned8(buffer(0 + half).data, buffer_size_);
    secure_wipe_aligned8(buffer(2 + half).data, buffer_size_);
    secure_wipe_aligned8(buffer(4).data, buffer_size_);
    typename Lock::Guard guard(lock_);
    active_ = half ^ 1u;  // the seed design forgot this flip and always reused half 0
    taken_ = false;
  }

  std::uint8_t* storage_;
  std::size_t buffer_size_;
  bool initialized_ = false;
  bool taken_ = false;
  unsigned active_ = 0;
  std::uint32_t leases_ = 0;
  std::uint32_t contention_ = 0;
  mutable Lock lock_;
};

using Workspace = BasicWorkspace<DefaultLock>;
using WorkspaceLease = BasicWorkspaceLease<DefaultLock>;

}  // namespace memplan
