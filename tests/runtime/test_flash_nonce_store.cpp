// The NOR flash nonce store against a simulated part that loses power at
// every single step of a workload, in turn: after each cut and a reboot,
// every slot's recovered mark is at least the last one acknowledged and is a
// mark that was really persisted (never a torn one), the store goes on
// working, and it never breaks a rule of the part (a bit set by a program, a
// unit programmed twice where the part allows one program per erase).
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <memplan/port/flash_nonce_store.hpp>
#include <random>
#include <set>
#include <vector>

#include "simulated_flash.hpp"

namespace {

constexpr std::size_t kSlots = 4;
using Store = memplan::FlashNonceStore<kSlots, memplan::NoLock>;

struct Part {
  const char* name;
  std::uint32_t sectors;
  std::uint32_t sector_size;
  std::uint32_t unit;
  bool reprogrammable;
};

// Small sectors, so a short workload rotates through all of them.
constexpr Part kParts[] = {
    {"4-byte units, reprogrammable", 3, 256, 4, true},
    {"8-byte units, one program per erase", 2, 256, 8, false},
    {"32-byte flash words with ECC (STM32H7-like)", 4, 256, 32, false},
};

// What the workload tried and what the store acknowledged, per slot.
struct Model {
  std::vector<std::set<std::uint64_t>> attempted = std::vector<std::set<std::uint64_t>>(kSlots);
  std::uint64_t acknowledged[kSlots] = {};
  std::uint64_t next[kSlots] = {};
};

// Persists rising marks into random slots until `count` were tried or a
// persist failed (the cut). Returns whether a persist failed.
bool run(Store& store, Model& model, std::mt19937& random, int count) {
  for (int i = 0; i < count; ++i) {
    const auto slot = static_cast<std::uint32_t>(random() % kSlots);
    const std::uint64_t mark = model.next[slot] + 1 + random() % 200;
    model.next[slot] = mark;
    model.attempted[slot].insert(mark);
    if (!store.persist(slot, mark)) return true;
    model.acknowledged[slot] = mark;
  }
  return false;
}

void check_recovered(Store& store, const Model& model) {
  for (std::uint32_t slot = 0; slot < kSlots; ++slot) {
    const std::uint64_t mark = store.load(slot).value();
    CHECK(mark >= model.acknowledged[slot]);
    CHECK((mark == 0 || model.attempted[slot].count(mark) == 1));  // whole, never torn
  }
}

}  // namespace

TEST_CASE("marks persist and come back after a reboot", "[store][flash]") {
  for (const Part& part : kParts) {
    INFO(part.name);
    memplan_test::SimulatedFlash flash(part.sectors, part.sector_size, part.unit, part.reprogrammable);
    Model model;
    std::mt19937 random(7);
    {
      Store store(flash);
      REQUIRE(store.recover());
      for (std::uint32_t slot = 0; slot < kSlots; ++slot) CHECK(store.load(slot).value() == 0);
      CHECK(!run(store, model, random, 200));
      CHECK(store.erases() > 2 * part.sectors);  // rotated round every sector, more than once
    }
    Store rebooted(flash);
    for (std::uint32_t slot = 0; slot < kSlots; ++slot) CHECK(rebooted.load(slot).value() == model.acknowledged[slot]);
    CHECK(flash.rule_breaks == 0);
  }
}

TEST_CASE("a power cut at any step never loses an acknowledged mark nor yields a torn one", "[store][flash][power]") {
  for (const Part& part : kParts) {
    INFO(part.name);
    // How many steps the whole workload takes without a cut.
    std::uint64_t total = 0;
    {
      memplan_test::SimulatedFlash flash(part.sectors, part.sector_size, part.unit, part.reprogrammable);
      Store store(flash);
      Model model;
      std::mt19937 random(11);
      REQUIRE(!run(store, model, random, 60));
      total = flash.steps();
    }
    REQUIRE(total > 100);
    for (std::uint64_t cut = 0; cut < total; ++cut) {
      INFO("cut at step " << cut);
      memplan_test::SimulatedFlash flash(part.sectors, part.sector_size, part.unit, part.reprogrammable,
                                         static_cast<std::uint32_t>(cut + 1));
      Model model;
      std::mt19937 random(11);
      flash.cut_after(cut);
      {
        Store store(flash);
        if (store.recover()) REQUIRE(run(store, model, random, 60));  // the cut stops it
      }
      REQUIRE(flash.off());
      flash.power_on();
      Store rebooted(flash);
      REQUIRE(rebooted.recover());
      check_recovered(rebooted, model);
      // It goes on: more marks, then a second cut somewhere in them, then a reboot.
      for (std::uint32_t slot = 0; slot < kSlots; ++slot) {
        model.next[slot] = std::max(model.next[slot], rebooted.load(slot).value());
        model.acknowledged[slot] = std::max(model.acknowledged[slot], rebooted.load(slot).value());
      }
      flash.cut_after(cut % 37);
      run(rebooted, model, random, 30);
      flash.power_on();
      Store again(flash);
      REQUIRE(again.recover());
      check_recovered(again, model);
      REQUIRE(!run(again, model, random, 10));
      CHECK(flash.rule_breaks == 0);
    }
  }
}

TEST_CASE("a program error without a power loss spends its position and the store goes on", "[store][flash]") {
  for (const Part& part : kParts) {
    INFO(part.name);
    for (std::uint32_t n = 1; n <= 40; ++n) {  // an error on each of the first units: records, snapshots, seals
      memplan_test::SimulatedFlash flash(part.sectors, part.sector_size, part.unit, part.reprogrammable);
      Store store(flash);
      Model model;
      std::mt19937 random(n);
      flash.fail_program(n);
      const bool failed = store.recover() ? run(store, model, random, 60) : true;
      REQUIRE(!flash.off());
      CHECK(failed);
      CHECK(!run(store, model, random, 60));  // no reboot: the same store carries on
      check_recovered(store, model);
      Store rebooted(flash);
      check_recovered(rebooted, model);
      CHECK(flash.rule_breaks == 0);  // the torn unit was never programmed again
    }
  }
}

TEST_CASE("a program error, then a power cut at any step after it", "[store][flash][power]") {
  const Part& part = kParts[1];  // two sectors: a rotation always erases the only other copy
  // Units 1 to 90 cover the format, a sector of marks and the first two
  // rotations (erase, snapshot, seal); the cuts reach the rotation after.
  for (std::uint32_t n = 1; n <= 90; ++n) {
    for (std::uint64_t cut = 0; cut < 160; cut += 1) {
      INFO("program error at unit " << n << ", cut at step " << cut);
      memplan_test::SimulatedFlash flash(part.sectors, part.sector_size, part.unit, part.reprogrammable, n);
      Model model;
      std::mt19937 random(n);
      flash.fail_program(n);
      {
        Store store(flash);
        if (store.recover()) run(store, model, random, 60);
        if (!flash.off()) {
          flash.cut_after(cut);
          run(store, model, random, 60);
        }
      }
      flash.power_on();
      Store rebooted(flash);
      REQUIRE(rebooted.recover());
      check_recovered(rebooted, model);
    }
  }
}

TEST_CASE("bad slots, bad geometry and a busy store are errors", "[store][flash]") {
  memplan_test::SimulatedFlash flash(2, 256, 8, false);
  Store store(flash);
  CHECK(store.persist(kSlots, 5).error() == memplan::Error::InvalidArgument);
  CHECK(store.load(kSlots).error() == memplan::Error::InvalidArgument);
  memplan_test::SimulatedFlash one_sector(1, 256, 8, false);
  CHECK(Store(one_sector).recover().error() == memplan::Error::InvalidArgument);
  memplan_test::SimulatedFlash tiny_sectors(2, 96, 8, false);  // 4 records: no room for 4 slots + seal + one
  CHECK(Store(tiny_sectors).recover().error() == memplan::Error::InvalidArgument);
  memplan_test::SimulatedFlash odd_unit(2, 250, 8, false);
  CHECK(Store(odd_unit).recover().error() == memplan::Error::InvalidArgument);
  memplan_test::SimulatedFlash wide_unit(2, 256, 64, false);
  CHECK(Store(wide_unit).recover().error() == memplan::Error::InvalidArgument);
  // A lower or equal mark is already covered: nothing is written.
  REQUIRE(store.persist(1, 100));
  const std::uint32_t written = store.records_written();
  REQUIRE(store.persist(1, 100));
  REQUIRE(store.persist(1, 40));
  CHECK(store.records_written() == written);
  CHECK(store.load(1).value() == 100);
}

// A flash whose program step lets an "interrupt handler" persist into the
// same store, as a seal in an interrupt during the main loop's persist would.
class InterruptedFlash final : public memplan::Flash {
 public:
  explicit InterruptedFlash(memplan::Flash& inner) : inner_(inner) {}
  Geometry geometry() const noexcept override { return inner_.geometry(); }
  memplan::Status erase(std::uint32_t sector) noexcept override { return inner_.erase(sector); }
  memplan::Status program(std::uint32_t address, const std::uint8_t* bytes, std::size_t size) noexcept override {
    if (store != nullptr) {
      const memplan::Status nested = store->persist(3, 999);
      nested_busy += (!nested && nested.error() == memplan::Error::StorageFailure) ? 1 : 0;
    }
    return inner_.program(address, bytes, size);
  }
  memplan::Status read(std::uint32_t address, std::uint8_t* out, std::size_t size) noexcept override {
    return inner_.read(address, out, size);
  }
  memplan::NonceStore* store = nullptr;
  int nested_busy = 0;

 private:
  memplan::Flash& inner_;
};

TEST_CASE("a persist that interrupts another fails at once and changes nothing", "[store][flash]") {
  memplan_test::SimulatedFlash part(2, 256, 8, false);
  InterruptedFlash flash(part);
  memplan::FlashNonceStore<kSlots, memplan::HostMutexLock> store(flash);
  REQUIRE(store.recover());
  flash.store = &store;
  REQUIRE(store.persist(0, 10));
  flash.store = nullptr;
  CHECK(flash.nested_busy == 1);
  CHECK(store.load(3).value() == 0);  // the nested persist wrote nothing
  CHECK(store.load(0).value() == 10);
  CHECK(part.rule_breaks == 0);
}

TEST_CASE("wear: one record per persist, one erase per sector's worth of records", "[store][flash]") {
  // 4 KiB sectors, 8-byte units: 24-byte records, 170 per sector; with 4
  // slots a rotation copies at most 4 and seals, leaving 165 for marks.
  memplan_test::SimulatedFlash flash(2, 4096, 8, false);
  Store store(flash);
  REQUIRE(store.recover());
  CHECK(store.records_per_sector() == 170);
  for (std::uint64_t i = 1; i <= 10000; ++i) REQUIRE(store.persist(static_cast<std::uint32_t>(i % kSlots), i));
  // The format seals sector 0 (169 marks fit after it); every later sector
  // takes 165: 1 + ceil((10,000 - 169) / 165) erases.
  CHECK(store.erases() == 1 + (10000 - 169 + 164) / 165);
  CHECK(flash.erases == store.erases());
  CHECK(flash.rule_breaks == 0);
}
