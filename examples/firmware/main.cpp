// The example firmware, built once per shipped profile for its core and run
// under QEMU: it initializes the generated layout, opens sessions, seals and
// opens messages of several sizes through the pools, checks every result and
// the statistics, prints a short report and its sizing statistics (the dump
// `memplan fit` reads) over semihosting and returns the number of failed
// checks (QEMU exits with it).
//
// MEMPLAN_EXAMPLE_PROFILE is the profile's name (e.g. medium); its generated
// header comes from memplan_add_layout().
#include <cstdint>
#include <cstring>
#include <memplan/heap_guard.hpp>
#include <memplan/memplan.hpp>
#include <memplan/port/flash_nonce_store.hpp>
#include <memplan/port/memory_ports.hpp>
#include <memplan/statistics_dump.hpp>

#include "console.hpp"

#if defined(__arm__) && !defined(__linux__)
extern "C" std::uint32_t __memplan_main_stack_bottom, __memplan_main_stack_top;  // the layout's linker fragment
#endif

#define MEMPLAN_STRINGIFY2(x) #x
#define MEMPLAN_STRINGIFY(x) MEMPLAN_STRINGIFY2(x)
// clang-format off
#include MEMPLAN_STRINGIFY(MEMPLAN_EXAMPLE_PROFILE/layout.hpp)
// clang-format on

namespace layout = memplan::MEMPLAN_EXAMPLE_PROFILE;

namespace {

using firmware::check;
using firmware::failures;

void line(const char* label, std::uint32_t value, const char* unit = "") {
  char text[96];
  char* end = firmware::append(text, label);
  end = firmware::append(end, value);
  end = firmware::append(end, unit);
  firmware::append(end, "\n");
  firmware::write(text);
}

// A clock port driven by the firmware's own tick (no RTC on the QEMU machine).
class TickClock final : public memplan::Clock {
 public:
  memplan::Result<std::uint32_t> now_s() noexcept override { return seconds_; }
  void tick() { ++seconds_; }

 private:
  std::uint32_t seconds_ = 0;
};

// The nonce store a product keeps on NOR flash. The QEMU machines have no
// writable flash, so two sectors of RAM stand in for it, with the part's
// rules (erase to 0xFF, program whole 8-byte units, bits from 1 to 0 only);
// a product implements the same three calls over its flash driver.
class RamFlash final : public memplan::Flash {
 public:
  static constexpr std::uint32_t kSectorSize = 512;
  Geometry geometry() const noexcept override { return Geometry{2, kSectorSize, 8, false}; }
  memplan::Status erase(std::uint32_t sector) noexcept override {
    if (sector >= 2) return memplan::Failure{memplan::Error::StorageFailure, "flash"};
    std::memset(bytes_ + sector * kSectorSize, 0xFF, kSectorSize);
    return {};
  }
  memplan::Status program(std::uint32_t address, const std::uint8_t* bytes, std::size_t size) noexcept override {
    if (address % 8 != 0 || size % 8 != 0 || address + size > sizeof bytes_) {
      return memplan::Failure{memplan::Error::StorageFailure, "flash"};
    }
    for (std::size_t i = 0; i < size; ++i) bytes_[address + i] &= bytes[i];
    return {};
  }
  memplan::Status read(std::uint32_t address, std::uint8_t* out, std::size_t size) noexcept override {
    if (address + size > sizeof bytes_) return memplan::Failure{memplan::Error::StorageFailure, "flash"};
    std::memcpy(out, bytes_ + address, size);
    return {};
  }

 private:
  std::uint8_t bytes_[2 * kSectorSize] = {};  // not erased yet: the store formats it
};
RamFlash flash_part;
memplan::FlashNonceStore<layout::config::session_count> nonce_store(flash_part);
TickClock clock_port;
const std::uint8_t device_id[8] = {0x4D, 0x50, 0x4C, 0x4E, 0x31, 0x32, 0x33, 0x34};  // would come from the part's unique ID
memplan::FixedIdentity identity(device_id, layout::crypto_policy.nonce_fixed_size);

std::uint8_t message[layout::config::workspace_buffer_size];

void exercise_session(layout::SessionTable& sessions, memplan::SessionHandle session, std::uint32_t seed) {
  const std::size_t sizes[] = {1, 16, 64, layout::config::workspace_buffer_size / 2,
                               layout::config::workspace_buffer_size};
  const std::uint8_t aad[8] = {'m', 'e', 'm', 'p', 'l', 'a', 'n', 0};
  for (std::size_t n = 0; n < sizeof sizes / sizeof sizes[0]; ++n) {
    const std::size_t size = sizes[n];
    for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<std::uint8_t>(seed + i * 7u);
    auto sealed = sessions.seal(session, {aad, sizeof aad}, {message, size});
    check(sealed.has_value(), "seal");
    if (!sealed) continue;
    auto& m = sealed.value();
    check(m.data.size() == size + layout::config::tag_size, "sealed size");
    check(std::memcmp(m.nonce, device_id, layout::crypto_policy.nonce_fixed_size) == 0, "nonce fixed field");
    if (n == 0 || n == 4) {  // two forgeries per session: below every profile's lockout threshold
      m.data.data()[0] ^= 0x01;
      auto tampered = sessions.open(session, m.nonce, {aad, sizeof aad}, m.data.span());
      check(!tampered && tampered.error() == memplan::Error::AuthenticationFailed, "tamper detected");
      m.data.data()[0] ^= 0x01;  // a forgery takes nothing from the genuine message (nor its place in the replay window)
    }
    auto opened = sessions.open(session, m.nonce, {aad, sizeof aad}, m.data.span());
    check(opened.has_value(), "open");
    if (opened) check(std::memcmp(opened.value().data(), message, size) == 0, "round trip");
    auto again = sessions.open(session, m.nonce, {aad, sizeof aad}, m.data.span());
    if (layout::crypto_policy.replay_window != 0) {
      check(!again && again.error() == memplan::Error::ReplayedNonce, "replay refused");
    } else {
      check(again.has_value(), "no replay window: the product's job");
    }
  }
}

// The wipe the pools and the workspace use writes exactly the bytes asked (every
// size from 8 to 136 B, so both its 16-byte loop and its 8-byte step run), on
// this core's own instructions: Cortex-M runs the asm loop, the host memset.
void check_aligned_wipe() {
  alignas(8) std::uint8_t area[8 + 136 + 8];
  for (std::size_t size = 8; size <= 136; size += 8) {
    std::memset(area, 0xA5, sizeof area);
    memplan::secure_wipe_aligned8(area + 8, size);
    bool exact = true;
    for (std::size_t i = 0; i < sizeof area; ++i) {
      const bool inside = i >= 8 && i < 8 + size;
      exact = exact && area[i] == (inside ? 0x00 : 0xA5);
    }
    check(exact, "secure_wipe_aligned8 wipes exactly its bytes");
  }
}

#if defined(__arm__) && !defined(__linux__)
// One pool shared by the main loop and the SysTick handler, which preempts
// the loop at arbitrary instructions: inside allocate, between release's two
// critical sections, during the wipe. Each side stamps its block and checks
// the stamp before releasing it; the main loop also replays stale tokens.
// A block handed out twice, a dirty block or a stale token accepted fails.
struct InterruptShare {
  volatile bool active = false;
  volatile bool in_crypto = false;  // the main loop is inside seal() or open()
  volatile std::uint32_t during_crypto = 0;
  volatile std::uint32_t rounds = 0;
  volatile std::uint32_t exhausted = 0;
  volatile std::uint32_t failures = 0;
};
InterruptShare share;

bool reads_as(const std::uint8_t* data, std::size_t size, std::uint8_t value) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != value) return false;
  }
  return true;
}

constexpr std::uintptr_t kSysTick = 0xE000E010;  // CSR, then RVR at +4 and CVR at +8
void systick(std::uint32_t control, std::uint32_t reload = 0) {
  auto* registers = reinterpret_cast<volatile std::uint32_t*>(kSysTick);
  registers[1] = reload;
  registers[2] = 0;
  registers[0] = control;
}
}  // namespace

extern "C" void SysTick_Handler() {
  if (!share.active) return;
  if (share.in_crypto) share.during_crypto = share.during_crypto + 1;
  auto& pool = layout::pools[0];
  auto block = pool.allocate();
  if (!block) {
    share.exhausted = share.exhausted + 1;
    return;
  }
  const memplan::Block b = block.value();
  const std::size_t size = pool.block_size();
  if (!reads_as(b.data, size, 0)) share.failures = share.failures + 1;
  std::memset(b.data, 0xEE, size);
  if (!reads_as(b.data, size, 0xEE)) share.failures = share.failures + 1;
  if (!pool.release(b.token)) share.failures = share.failures + 1;
  share.rounds = share.rounds + 1;
}

namespace {
// The SysTick handler preempts seal and open (and mbedTLS inside them): its
// frames land on the main stack below theirs, which the stack bound adds up
// (stack.interrupts) and the painted stack measures.
void check_crypto_under_interrupts(layout::SessionTable& sessions) {
  auto session = sessions.open_session();
  const std::uint8_t key[32] = {0x3C};
  check(session.has_value() && sessions.load_key(session.value(), {key, layout::config::key_bits / 8u}).has_value(),
        "interrupted crypto: session");
  if (!session) return;
  constexpr std::size_t kSize = layout::config::workspace_buffer_size;
  share.during_crypto = 0;
  share.active = true;
  systick(0x7, 997);
  for (std::uint32_t round = 0; round < 4096 && share.during_crypto < 8; ++round) {  // QEMU ticks in host time
    share.in_crypto = true;
    auto sealed = sessions.seal(session.value(), {}, {message, kSize});
    bool ok = sealed.has_value();
    if (ok) ok = sessions.open(session.value(), sealed.value().nonce, {}, sealed.value().data.span()).has_value();
    share.in_crypto = false;
    check(ok, "interrupted crypto: seal and open");
    if (!ok) break;
  }
  systick(0);
  share.active = false;
  share.rounds = 0;
  line("  interrupts during seal and open: ", share.during_crypto);
  check(share.during_crypto >= 8, "interrupted crypto: the SysTick handler preempted seal and open");
  check(static_cast<bool>(sessions.close(session.value())), "interrupted crypto: close");
}

#if defined(MEMPLAN_EXAMPLE_WORKER_THREAD)
// Runs `entry` in thread mode on the process stack (PSP) at `top`, as an RTOS
// runs a task: an exception taken meanwhile stacks its frame on the thread's
// stack and runs its handler on the main stack. One asm block: between the
// switches no code may touch this function's frame, which stays on the MSP.
void run_on_thread_stack(void (*entry)(), std::uint64_t* top) {
  __asm__ volatile(
      "msr psp, %[top]\n"
      "mrs r4, control\n"
      "orr r4, r4, #2\n"  // SPSEL: thread mode uses the PSP
      "msr control, r4\n"
      "isb\n"
      "blx %[entry]\n"
      "mrs r4, control\n"
      "bic r4, r4, #2\n"  // back on the MSP
      "msr control, r4\n"
      "isb\n"
      :
      : [top] "r"(top), [entry] "r"(entry)
      : "r0", "r1", "r2", "r3", "r4", "r12", "lr", "cc", "memory");
}
#endif

void check_pool_under_interrupts() {
  auto& pool = layout::pools[0];
  const std::size_t size = pool.block_size();
  const std::uint32_t violations_before = pool.stats().security_violations;
  auto held = pool.allocate();  // one long-lived block: nobody else may touch it
  check(held.has_value(), "interrupt test: long-lived block");
  if (!held) return;
  std::memset(held.value().data, 0x77, size);
  std::uint32_t stale_refused = 0;
  memplan::BlockToken previous{};
  share.active = true;
  systick(0x7, 997);  // enable, interrupt, processor clock: every 997 cycles
  std::uint32_t iteration = 0;
  for (; iteration < 1000000 && share.rounds < 2000; ++iteration) {
    auto block = pool.allocate();
    if (!block) continue;
    const memplan::Block b = block.value();
    check(reads_as(b.data, size, 0), "interrupt test: a handed-out block reads as zero");
    std::memset(b.data, 0x11, size);
    check(reads_as(b.data, size, 0x11), "interrupt test: nobody else wrote the block");
    check(static_cast<bool>(pool.release(b.token)), "interrupt test: release");
    if (previous.generation.low != 0) {
      check(!pool.release(previous), "interrupt test: a stale token is refused");
      ++stale_refused;
    }
    previous = b.token;
  }
  systick(0);
  share.active = false;
  line("  interrupt test: main loop rounds ", iteration);
  line("  interrupt test: handler rounds ", share.rounds);
  check(share.rounds >= 2000, "interrupt test: the handler ran");
  check(share.failures == 0, "interrupt test: the handler saw no corruption");
  check(reads_as(held.value().data, size, 0x77), "interrupt test: the long-lived block is intact");
  check(static_cast<bool>(pool.release(held.value().token)), "interrupt test: release the long-lived block");
  const auto stats = pool.stats();
  check(stats.in_use == 0, "interrupt test: every block returned");
  check(stats.security_violations - violations_before == stale_refused, "interrupt test: each stale token counted");
  check(static_cast<bool>(pool.health_check()), "interrupt test: pool health");
}
#endif

// Each class's statistics, one at a time and out of main()'s frame (which the
// deepest call, a seal, sits below): every block back, no bad release.
// Returns the first class's high water.
__attribute__((noinline)) std::uint32_t check_pools_idle(memplan::Pools& pools) {
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const memplan::PoolStats s = pools[p].stats();
    check(s.in_use == 0, "every block returned");
    check(s.security_violations == 0, "no bad releases");
  }
  return pools[0].stats().high_water;
}

__attribute__((noinline)) void check_every_request_served(memplan::Pools& pools) {
  for (std::size_t p = 0; p < pools.size(); ++p) check(pools[p].stats().allocation_failures == 0, "every request served");
}

}  // namespace

#if defined(MEMPLAN_EXAMPLE_WORKER_THREAD)
// The profile's thread (stack.threads): check-elf bounds it over the call graph
// with one exception frame, and its stack from the layout is painted and measured.
extern "C" void worker_thread() {
  check_crypto_under_interrupts(layout::memory().sessions);
}
#endif

int main() {
  check_aligned_wipe();
  // Real parts power up with leftovers in RAM that no startup code clears
  // (the layout is NOLOAD); QEMU's RAM starts zeroed and would hide a missing
  // wipe, so leave a pattern in every storage array first.
  for (const auto& span : layout::storage_spans) std::memset(span.data, 0xA5, span.size);
  auto& mem = layout::memory();
  check(static_cast<bool>(mem.init()), "layout init");
  for (const auto& span : layout::storage_spans) {
    bool metadata = false;  // pool metadata is set up, not zero: health_check() below reads it
    for (std::size_t p = 0; p < layout::pools.size(); ++p) metadata = metadata || layout::pools[p].metadata() == span.data;
    // Key slots hold their AEAD's initial state (ChaCha20's "no keystream
    // left" count is not zero) and session records their idle list's links;
    // the rest of the storage is zero: no byte of the leftovers' pattern
    // survives anywhere.
    const bool key_slots = span.data == static_cast<const void*>(layout::key_slots) ||
                           span.data == static_cast<const void*>(layout::session_slots);
    const auto* bytes = static_cast<const std::uint8_t*>(span.data);
    bool zero = true, no_leftover = true;
    for (std::size_t i = 0; i < span.size; ++i) {
      zero = zero && bytes[i] == 0;
      no_leftover = no_leftover && bytes[i] != 0xA5;
    }
    check(zero || metadata || (key_slots && no_leftover), "init wiped the power-up leftovers");
  }
  check(static_cast<bool>(mem.pools.health_check()), "pool metadata set up from the leftovers");
  check(mem.init().error() == memplan::Error::AlreadyInitialized, "second init refused");
  check(static_cast<bool>(mem.sessions.attach({&nonce_store, &clock_port, &identity})), "attach ports");

  constexpr std::size_t kSessions = layout::config::session_count < 4 ? layout::config::session_count : 4;
  memplan::SessionHandle handles[kSessions];
  constexpr std::size_t kKeyBytes = layout::config::key_bits / 8u;
  for (std::size_t s = 0; s < kSessions; ++s) {
    auto handle = mem.sessions.open_session();
    check(handle.has_value(), "open session");
    if (!handle) return failures;
    handles[s] = handle.value();
    // Key material arrives in a key-class block (say, from a key exchange) and
    // is wiped with it when the handle dies; the session keeps its own copy.
    auto key = mem.pools.allocate(kKeyBytes, memplan::Usage::Key);
    check(key.has_value(), "key block");
    if (!key) return failures;
    for (std::size_t i = 0; i < kKeyBytes; ++i)
      key.value().data()[i] = static_cast<std::uint8_t>(0xA0 + s * 16 + i);
    check(static_cast<bool>(mem.sessions.load_key(handles[s], key.value().span())), "load key");
  }
  for (std::size_t s = 0; s < kSessions; ++s) {
    exercise_session(mem.sessions, handles[s], static_cast<std::uint32_t>(s));
    clock_port.tick();
    // Lockout threshold not reached: each session saw one failed open per size (5).
  }
  std::uint8_t next_key[32] = {0x55};
  check(static_cast<bool>(mem.sessions.rotate_key(handles[0], {next_key, kKeyBytes})), "rotate");
  memplan::secure_wipe(next_key, sizeof next_key);
  exercise_session(mem.sessions, handles[0], 99);
  for (auto handle : handles) check(static_cast<bool>(mem.sessions.close(handle)), "close");

  firmware::write("memplan example firmware: profile " MEMPLAN_STRINGIFY(MEMPLAN_EXAMPLE_PROFILE) "\n");
  const std::uint32_t key_high_water = check_pools_idle(mem.pools);
  const auto session_stats = mem.sessions.stats();
  line("  sessions: seals ", session_stats.seals);
  line("  sessions: opens ", session_stats.opens);
  line("  sessions: replays refused ", session_stats.replays);
  line("  sessions: rejected forgeries ", session_stats.authentication_failures);
  line("  mbedTLS calloc calls: ", memplan::mbedtls_calloc_calls());
  check(session_stats.seals == (kSessions + 1) * 5, "seal count");
  check(session_stats.authentication_failures == (kSessions + 1) * 2, "forgeries rejected");
  check(session_stats.replays == (layout::crypto_policy.replay_window != 0 ? (kSessions + 1) * 5 : 0), "replays refused");
  check(key_high_water == 1, "key blocks staged one at a time and wiped");
  check(memplan::mbedtls_calloc_calls() == 0, "no heap");
  check(static_cast<bool>(mem.pools.health_check()), "pool health");
#if defined(__arm__) && !defined(__linux__)
  check_crypto_under_interrupts(mem.sessions);
  check_pool_under_interrupts();
#endif
#if defined(MEMPLAN_EXAMPLE_WORKER_THREAD)
  {
    namespace stacks = layout::stacks;
    std::uint64_t* const bottom = stacks::thread_0_bottom();
    auto* const words = reinterpret_cast<std::uint32_t*>(bottom);
    auto* const top = reinterpret_cast<std::uint32_t*>(bottom + stacks::thread_0_size / sizeof(std::uint64_t));
    for (volatile std::uint32_t* word = words; word < top; ++word) *word = firmware::kStackPaint;
    run_on_thread_stack(worker_thread, bottom + stacks::thread_0_size / sizeof(std::uint64_t));
    line("  stack worker_thread: high water ", firmware::stack_high_water(words, top));
  }
#endif
#if defined(__arm__) && !defined(__linux__)
  // The main stack's measured depth, for tests/firmware/stack_high_water.py to hold against check-elf's bound.
  line("  stack main: high water ", firmware::stack_high_water(&__memplan_main_stack_bottom, &__memplan_main_stack_top));
#endif
  // What the run needed, for `memplan fit` (docs/statistics.md), one line
  // per pool; no request may have gone unserved, whatever the profile.
  memplan::print_statistics(firmware::console(), layout::config::profile_name, mem.pools, mem.sessions);
  check_every_request_served(mem.pools);
  line(failures == 0 ? "result: ok, failed checks " : "result: FAILED, failed checks ",
       static_cast<std::uint32_t>(failures));
  return failures;
}
