// An expected-like result without exceptions: either a value or an Error,
// plus an optional static context string (e.g. the pool class that was
// exhausted). Accessing the wrong alternative is a contract violation that
// traps deterministically instead of reading garbage.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "memplan/error.hpp"

namespace memplan {

namespace detail {
[[noreturn]] inline void result_contract_violation() noexcept {
  __builtin_trap();
}
}  // namespace detail

// Tag type to build a failed Result: `return Failure{Error::PoolExhausted, "tiny"};`
struct Failure {
  Error error;
  const char* context = nullptr;  // static storage duration or null
};

// Tag to build a Result whose value a function writes in place.
struct FilledInPlace {};

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");

 public:
  // Implicit on purpose: `return value;` and `return Failure{...};` read naturally.
  Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT(google-explicit-constructor)
      : has_value_(true) {
    ::new (static_cast<void*>(&storage_.value)) T(std::move(value));
  }
  Result(Failure failure) noexcept  // NOLINT(google-explicit-constructor)
      : has_value_(false) {
    storage_.failure = failure;
  }
  // The value built in place from `args`: no temporary to move from and destroy.
  template <class... Args>
  explicit Result(std::in_place_t /*tag*/, Args&&... args) noexcept : has_value_(true) {
    ::new (static_cast<void*>(&storage_.value)) T(std::forward<Args>(args)...);
  }
  Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) : has_value_(other.has_value_) {
    if (has_value_) {
      ::new (static_cast<void*>(&storage_.value)) T(std::move(other.storage_.value));
    } else {
      storage_.failure = other.storage_.failure;
    }
  }
  // `fill(T&)` writes the value into the Result's own storage and returns
  // Error{} (0), or returns the error (and the Result holds it, with
  // `context`). For hot paths whose value would otherwise be copied twice.
  template <class Fill>
  __attribute__((always_inline)) Result(FilledInPlace /*tag*/, Fill&& fill, const char* context) noexcept
      : has_value_(true) {
    static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_default_constructible_v<T>,
                  "a value written in place must need no construction or destruction");
    ::new (static_cast<void*>(&storage_.value)) T;  // default-initialized: fill() writes every field
    const Error error = std::forward<Fill>(fill)(storage_.value);
    if (error != Error{}) {
      has_value_ = false;
      storage_.failure = Failure{error, context};
    }
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  // A status variable can be reused: the value held before (a Buffer, say)
  // is destroyed first, so a held block is released and wiped, not leaked.
  Result& operator=(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this == &other) return *this;
    if (has_value_) storage_.value.~T();
    has_value_ = other.has_value_;
    if (has_value_) {
      ::new (static_cast<void*>(&storage_.value)) T(std::move(other.storage_.value));
    } else {
      storage_.failure = other.storage_.failure;
    }
    return *this;
  }
  ~Result() {
    if (has_value_) {
      storage_.value.~T();
    }
  }

  bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }

  T& value() & noexcept {
    if (!has_value_) detail::result_contract_violation();
    return storage_.value;
  }
  const T& value() const& noexcept {
    if (!has_value_) detail::result_contract_violation();
    return storage_.value;
  }
  T&& value() && noexcept {
    if (!has_value_) detail::result_contract_violation();
    return std::move(storage_.value);
  }
  T* operator->() noexcept { return &value(); }
  T& operator*() & noexcept { return value(); }

  Error error() const noexcept {
    if (has_value_) detail::result_contract_violation();
    return storage_.failure.error;
  }
  // Static string naming what failed (e.g. a pool class), or null.
  const char* context() const noexcept { return has_value_ ? nullptr : storage_.failure.context; }

 private:
  union Storage {
    Storage() noexcept {}
    ~Storage() {}
    T value;
    Failure failure;
  } storage_;
  bool has_value_;
};

// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(Failure failure) noexcept  // NOLINT(google-explicit-constructor)
      : failure_(failure), has_value_(false) {}

  bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }
  Error error() const noexcept {
    if (has_value_) detail::result_contract_violation();
    return failure_.error;
  }
  const char* context() const noexcept { return has_value_ ? nullptr : failure_.context; }

 private:
  Failure failure_{Error::InvalidArgument, nullptr};
  bool has_value_ = true;
};

using Status = Result<void>;

}  // namespace memplan
