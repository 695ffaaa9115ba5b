// A console port for tests: keeps what is written, and how many writes did it.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memplan/port/console.hpp>
#include <string>

namespace memplan_test {

class RecordingConsole final : public memplan::Console {
 public:
  void write(const char* text, std::size_t size) noexcept override {
    text_.append(text, size);
    ++writes_;
  }
  [[noreturn]] void exit(int /*status*/) noexcept override { std::abort(); }
  // The text written since the last take().
  std::string take() {
    std::string text;
    text.swap(text_);
    return text;
  }
  int writes() const { return writes_; }

 private:
  std::string text_;
  int writes_ = 0;
};

}  // namespace memplan_test
