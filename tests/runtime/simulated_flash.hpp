// NOR flash in RAM for the nonce store's tests: erase to 0xFF, program whole
// units clearing bits only, and a power cut at any chosen step. A step is the
// erase of a sector or the program of one unit; a cut during a step leaves it
// half done (a unit with some of its bits cleared, a sector partly erased),
// and the flash then refuses everything until power_on(). It also fails the
// test's checks when the store breaks a rule of the part: a bit set by a
// program, a unit programmed twice on a part that allows one program per
// erase, an address out of line.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <memplan/port/flash.hpp>

namespace memplan_test {

class SimulatedFlash final : public memplan::Flash {
 public:
  SimulatedFlash(std::uint32_t sectors, std::uint32_t sector_size, std::uint32_t unit, bool reprogrammable,
                 std::uint32_t seed = 1)
      : geometry_{sectors, sector_size, unit, reprogrammable},
        bytes_(std::size_t{sectors} * sector_size, 0xFF),
        programmed_(bytes_.size() / unit, false),
        random_(seed) {}

  Geometry geometry() const noexcept override { return geometry_; }

  memplan::Status erase(std::uint32_t sector) noexcept override {
    if (off_ || sector >= geometry_.sector_count) return fail();
    const std::size_t begin = std::size_t{sector} * geometry_.sector_size;
    if (cut_now()) {  // partly erased: a prefix of the sector is 0xFF, the rest as it was
      const std::size_t done = random_() % geometry_.sector_size;
      for (std::size_t i = 0; i < done; ++i) bytes_[begin + i] = 0xFF;
      return fail();
    }
    for (std::size_t i = 0; i < geometry_.sector_size; ++i) bytes_[begin + i] = 0xFF;
    for (std::size_t u = begin / geometry_.program_unit; u < (begin + geometry_.sector_size) / geometry_.program_unit; ++u) {
      programmed_[u] = false;
    }
    ++erases;
    return {};
  }

  memplan::Status program(std::uint32_t address, const std::uint8_t* bytes, std::size_t size) noexcept override {
    if (off_) return fail();
    const std::uint32_t unit = geometry_.program_unit;
    if (address % unit != 0 || size % unit != 0 || address + size > bytes_.size() ||
        address / geometry_.sector_size != (address + size - 1) / geometry_.sector_size) {
      ++rule_breaks;
      return fail();
    }
    for (std::size_t offset = 0; offset < size; offset += unit) {
      const std::size_t u = (address + offset) / unit;
      if (programmed_[u] && !geometry_.reprogrammable) ++rule_breaks;
      for (std::size_t i = 0; i < unit; ++i) {
        if ((bytes[offset + i] & ~bytes_[address + offset + i]) != 0) ++rule_breaks;  // a 0 -> 1 bit
      }
      const bool transient = fail_programs_ > 0 && --fail_programs_ == 0;
      if (cut_now() || transient) {  // this unit torn: some of the bits it should clear are cleared
        for (std::size_t i = 0; i < unit; ++i) {
          bytes_[address + offset + i] &= static_cast<std::uint8_t>(bytes[offset + i] | random_());
        }
        programmed_[u] = true;
        return fail();
      }
      for (std::size_t i = 0; i < unit; ++i) bytes_[address + offset + i] &= bytes[offset + i];
      programmed_[u] = true;
    }
    return {};
  }

  memplan::Status read(std::uint32_t address, std::uint8_t* out, std::size_t size) noexcept override {
    if (off_ || address + size > bytes_.size()) return fail();
    for (std::size_t i = 0; i < size; ++i) out[i] = bytes_[address + i];
    return {};
  }

  // The program of the `n`-th unit from now tears and fails, power staying on
  // (a program error the part reports).
  void fail_program(std::uint32_t n) { fail_programs_ = n; }
  // Power fails during the step after `steps` more complete ones.
  void cut_after(std::uint64_t steps) { cut_at_ = steps_ + steps + 1; }
  void power_on() { off_ = false; cut_at_ = 0; }
  bool off() const { return off_; }
  std::uint64_t steps() const { return steps_; }

  std::uint32_t erases = 0;
  std::uint32_t rule_breaks = 0;

 private:
  bool cut_now() {
    ++steps_;
    if (cut_at_ == 0 || steps_ != cut_at_) return false;
    off_ = true;
    return true;
  }
  static memplan::Status fail() { return memplan::Failure{memplan::Error::StorageFailure, "flash"}; }

  Geometry geometry_;
  std::vector<std::uint8_t> bytes_;
  std::vector<bool> programmed_;
  std::mt19937 random_;
  std::uint64_t steps_ = 0;
  std::uint64_t cut_at_ = 0;
  std::uint32_t fail_programs_ = 0;
  bool off_ = false;
};

}  // namespace memplan_test
