// The NOR flash a product keeps its nonce reservations in, as the runtime
// needs it: erase a sector to all 0xFF, program whole units (bits only go
// from 1 to 0), read. Addresses are offsets into the area given to memplan;
// sector i starts at i * sector_size. The product implements it over its
// flash driver (internal flash, or an SPI NOR part).
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/result.hpp"

namespace memplan {

class Flash {
 public:
  struct Geometry {
    std::uint32_t sector_count;  // at least 2
    std::uint32_t sector_size;   // bytes, a multiple of program_unit
    std::uint32_t program_unit;  // bytes programmed at once: 1 to 32 (a flash word with ECC)
    // Whether a unit may be programmed a second time (clearing more bits).
    // Parts with ECC per flash word (STM32H7, for one) allow one program per
    // erase; the nonce store never programs a unit twice, so it works on both.
    bool reprogrammable;
  };

  virtual Geometry geometry() const noexcept = 0;
  virtual Status erase(std::uint32_t sector) noexcept = 0;
  // `address` and `size` are multiples of program_unit, inside one sector.
  virtual Status program(std::uint32_t address, const std::uint8_t* bytes, std::size_t size) noexcept = 0;
  virtual Status read(std::uint32_t address, std::uint8_t* out, std::size_t size) noexcept = 0;

 protected:
  Flash() = default;
  Flash(const Flash&) = default;
  Flash& operator=(const Flash&) = default;
  ~Flash() = default;
};

}  // namespace memplan
