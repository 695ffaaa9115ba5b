// A NonceStore on NOR flash that survives a power cut at any instant: after
// any cut, recovery returns for every slot a mark at least as high as the
// last one persist() acknowledged, and only marks that were written whole.
//
// The flash holds a log of 20-byte records, each in its own program units
// (never a unit programmed twice, so parts with one program per ECC word
// work too), each with a sequence number and a CRC-32:
//   mark       a slot's new reservation mark (persist)
//   snapshot   a slot's mark, copied when the log moves to a new sector
//   seal       the end of a snapshot: the sector is complete
// Records are appended to the active sector. When it is full, the next
// sector (round robin, so erases spread over all sectors) is erased, gets a
// snapshot of every slot's mark and a seal, and becomes active; the sector
// it replaces is only erased when its turn comes round again, so the marks
// are in a complete sector at every instant. Recovery reads every record,
// keeps each slot's highest mark among those whose CRC holds (a torn record
// never does), continues after the last used position of the newest sealed
// sector, and finishes a rotation a cut interrupted before writing again.
// Marks only grow, so the highest valid one is the newest.
//
// Not reentrant: a persist that finds another one running (an interrupt
// handler's seal during the main loop's) fails with StorageFailure, context
// "busy", and the seal fails closed; the flash work itself runs without the
// lock. Wear: one record per `reserve` seals of a session, one erase per
// (records per sector - sessions - 1) records (bench/README.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/port/flash.hpp"
#include "memplan/port/lock.hpp"
#include "memplan/port/ports.hpp"

namespace memplan {

template <std::size_t Slots, class Lock = DefaultLock>
class FlashNonceStore final : public NonceStore {
  static_assert(Slots >= 1 && Slots <= 255, "a slot index is a byte in a record");

 public:
  static constexpr std::size_t kRecordBytes = 20;  // sequence 4, slot 1, kind 1, spare 2, mark 8, CRC 4
  static constexpr std::size_t kMaxStride = 32;    // a record rounded up to the largest program unit

  explicit FlashNonceStore(Flash& flash) noexcept : flash_(flash) {}
  FlashNonceStore(const FlashNonceStore&) = delete;
  FlashNonceStore& operator=(const FlashNonceStore&) = delete;

  // Reads the log and recovers every slot's mark (formats an empty flash).
  // load() and persist() do it on first use; a boot may call it first.
  Status recover() noexcept {
    if (!enter()) return Failure{Error::StorageFailure, "nonce store busy"};
    const Status status = recover_locked();
    leave();
    return status;
  }

  Result<std::uint64_t> load(std::uint32_t slot) noexcept override {
    if (slot >= Slots) return Failure{Error::InvalidArgument, "slot"};
    if (!enter()) return Failure{Error::StorageFailure, "nonce store busy"};
    const Status ready = ready_ ? Status{} : recover_locked();
    const std::uint64_t mark = marks_[slot];
    leave();
    if (!ready) return Failure{ready.error(), ready.context()};
    return mark;
  }

  Status persist(std::uint32_t slot, std::uint64_t mark) noexcept override {
    if (slot >= Slots) return Failure{Error::InvalidArgument, "slot"};
    if (!enter()) return Failure{Error::StorageFailure, "nonce store busy"};
    Status status = ready_ ? Status{} : recover_locked();
    if (status) status = append_mark(static_cast<std::uint8_t>(slot), mark);
    leave();
    return status;
  }

  // For sizing flash endurance and for tests.
  std::uint32_t records_written() const noexcept { return records_written_; }
  std::uint32_t erases() const noexcept { return erases_; }
  std::uint32_t records_per_sector() const noexcept { return records_per_sector_; }

 private:
  enum Kind : std::uint8_t { kMark = 0xA5, kSnapshot = 0xA6, kSeal = 0xA7 };
  static constexpr std::uint32_t kNoSector = 0xFFFFFFFFu;

  struct Record {
    std::uint32_t sequence;
    std::uint8_t slot;
    std::uint8_t kind;
    std::uint64_t mark;
  };

  // A flag, not a lock held across flash work: the work runs unmasked.
  bool enter() noexcept {
    typename Lock::Guard guard(lock_);
    if (busy_) return false;
    busy_ = true;
    return true;
  }
  void leave() noexcept {
    typename Lock::Guard guard(lock_);
    busy_ = false;
  }

  static std::uint32_t crc32(const std::uint8_t* bytes, std::size_t size) noexcept {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
      crc ^= bytes[i];
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  }

  void encode(const Record& record, std::uint8_t (&out)[kMaxStride]) const noexcept {
    for (auto& byte : out) byte = 0xFF;  // padding programs no bit
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(record.sequence >> (8 * i));
    out[4] = record.slot;
    out[5] = record.kind;
    out[6] = 0;
    out[7] = 0;
    for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<std::uint8_t>(record.mark >> (8 * i));
    const std::uint32_t crc = crc32(out, 16);
    for (int i = 0; i < 4; ++i) out[16 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  }

  // False for an erased position (all 0xFF), a torn record or another's.
  static bool decode(const std::uint8_t* in, Record& record) noexcept {
    std::uint32_t crc = 0;
    for (int i = 0; i < 4; ++i) crc |= std::uint32_t{in[16 + i]} << (8 * i);
    if (crc != crc32(in, 16)) return false;
    record.sequence = 0;
    for (int i = 0; i < 4; ++i) record.sequence |= std::uint32_t{in[i]} << (8 * i);
    record.slot = in[4];
    record.kind = in[5];
    record.mark = 0;
    for (int i = 0; i < 8; ++i) record.mark |= std::uint64_t{in[8 + i]} << (8 * i);
    return record.kind == kMark || record.kind == kSnapshot || record.kind == kSeal;
  }

  static bool erased(const std::uint8_t* in, std::size_t size) noexcept {
    for (std::size_t i = 0; i < size; ++i) {
      if (in[i] != 0xFF) return false;
    }
    return true;
  }

  std::uint32_t address(std::uint32_t sector, std::uint32_t index) const noexcept {
    return sector * geometry_.sector_size + index * stride_;
  }

  Status check_geometry() noexcept {
    geometry_ = flash_.geometry();
    const std::uint32_t unit = geometry_.program_unit;
    if (geometry_.sector_count < 2 || unit == 0 || unit > kMaxStride || geometry_.sector_size % unit != 0) {
      return Failure{Error::InvalidArgument, "flash geometry"};
    }
    stride_ = static_cast<std::uint32_t>((kRecordBytes + unit - 1) / unit * unit);
    records_per_sector_ = geometry_.sector_size / stride_;
    // A sector holds a snapshot of every slot, its seal, and room to append.
    if (records_per_sector_ < Slots + 2) return Failure{Error::InvalidArgument, "flash sector too small"};
    return {};
  }

  Status recover_locked() noexcept {
    if (Status s = check_geometry(); !s) return s;
    for (auto& mark : marks_) mark = 0;
    std::uint32_t newest_sequence = 0;
    std::uint32_t active = kNoSector;
    std::uint32_t active_seal = 0;
    std::uint32_t active_end = 0;
    for (std::uint32_t sector = 0; sector < geometry_.sector_count; ++sector) {
      std::uint32_t used = 0;  // positions up to the last one not erased
      std::uint32_t seal = 0;  // the sector's seal, 0 if none
      for (std::uint32_t index = 0; index < records_per_sector_; ++index) {
        std::uint8_t bytes[kMaxStride];
        if (!flash_.read(address(sector, index), bytes, stride_)) return Failure{Error::StorageFailure, "flash read"};
        if (erased(bytes, stride_)) continue;
        used = index + 1;
        Record record{};
        if (!decode(bytes, record)) continue;  // torn by a cut, or partly erased
        if (record.sequence > newest_sequence) newest_sequence = record.sequence;
        if (record.kind == kSeal) {
          if (record.sequence > seal) seal = record.sequence;
        } else if (record.slot < Slots && record.mark > marks_[record.slot]) {
          marks_[record.slot] = record.mark;
        }
      }
      if (seal > active_seal) {
        active = sector;
        active_seal = seal;
        active_end = used;
      }
    }
    sequence_ = newest_sequence + 1;
    ready_ = true;
    if (active == kNoSector) {
      // Never formatted (or cut before the first seal): nothing was ever
      // acknowledged, so a snapshot of what was found is a complete start.
      active_ = geometry_.sector_count - 1;
      pending_rotation_ = true;
      return rotate();
    }
    // Appends continue after the last used position. A rotation a cut
    // interrupted started because this sector was full: it restarts (erasing
    // its half-written target again) at the next persist.
    active_ = active;
    position_ = active_end;
    pending_rotation_ = false;
    return {};
  }

  // Programs one record at the next position of `sector`; the position is
  // spent whatever happens (a torn unit is never programmed again).
  Status write_record(std::uint32_t sector, std::uint32_t& position, const Record& record) noexcept {
    std::uint8_t bytes[kMaxStride];
    encode(record, bytes);
    const std::uint32_t at = address(sector, position++);
    ++sequence_;
    ++records_written_;
    if (!flash_.program(at, bytes, stride_)) return Failure{Error::StorageFailure, "flash program"};
    std::uint8_t check[kMaxStride];
    if (!flash_.read(at, check, stride_)) return Failure{Error::StorageFailure, "flash read"};
    for (std::uint32_t i = 0; i < stride_; ++i) {
      if (check[i] != bytes[i]) return Failure{Error::StorageFailure, "flash verify"};
    }
    return {};
  }

  // Moves the log to the next sector: erase it, snapshot every slot, seal.
  // Until the seal is written the active sector stays the old one.
  Status rotate() noexcept {
    const std::uint32_t target = (active_ + 1) % geometry_.sector_count;
    pending_rotation_ = true;
    ++erases_;
    if (!flash_.erase(target)) return Failure{Error::StorageFailure, "flash erase"};
    std::uint32_t position = 0;
    std::uint8_t copied = 0;
    for (std::size_t slot = 0; slot < Slots; ++slot) {
      if (marks_[slot] == 0) continue;
      const Record snapshot{sequence_, static_cast<std::uint8_t>(slot), kSnapshot, marks_[slot]};
      if (Status s = write_record(target, position, snapshot); !s) return s;
      ++copied;
    }
    if (Status s = write_record(target, position, Record{sequence_, copied, kSeal, 0}); !s) return s;
    active_ = target;
    position_ = position;
    pending_rotation_ = false;
    return {};
  }

  Status append_mark(std::uint8_t slot, std::uint64_t mark) noexcept {
    if (mark <= marks_[slot]) return {};  // marks only grow: already covered
    if (pending_rotation_ || position_ >= records_per_sector_) {
      if (Status s = rotate(); !s) return s;
    }
    if (Status s = write_record(active_, position_, Record{sequence_, slot, kMark, mark}); !s) return s;
    marks_[slot] = mark;
    return {};
  }

  Flash& flash_;
  Flash::Geometry geometry_{};
  std::uint32_t stride_ = 0;
  std::uint32_t records_per_sector_ = 0;
  std::uint32_t active_ = 0;
  std::uint32_t position_ = 0;
  std::uint32_t sequence_ = 1;
  std::uint64_t marks_[Slots] = {};
  std::uint32_t records_written_ = 0;
  std::uint32_t erases_ = 0;
  bool ready_ = false;
  bool pending_rotation_ = false;
  bool busy_ = false;
  mutable Lock lock_;
};

}  // namespace memplan
