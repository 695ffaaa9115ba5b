// The cost firmware: every operation whose cost on the core memplan keeps as a
// CI baseline, each run once between memplan_probe_begin() and
// memplan_probe_end(). Under QEMU, count_instructions.py counts the
// instructions executed between the two and the longest stretch with
// interrupts masked, and names each measurement by the line this program
// prints after it ("probe <name>"), in order.
//
// What a count includes: everything executed between the probes, that is the
// operation as compiled in its own small function (inlined where the compiler
// inlines it), the calls it makes (memset, libgcc, mbedTLS) and the store of
// its result; not the call to memplan_probe_end (the "calibration" probe,
// which measures nothing, gives that overhead and the counter subtracts it).
//
// The yardstick is a bare intrusive free list under the same interrupt lock,
// with and without newlib's memset on release, in the same image.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include <mbedtls/ccm.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

#include <cost/layout.hpp>

#include "console.hpp"
#include "session_fixture.hpp"

extern "C" {
void memplan_probe_begin();
void memplan_probe_end();
void memplan_known_loop();
void memplan_known_masked();
}

// Outside the anonymous namespace, so the compiler cannot fold their values:
// the yardstick's memset gets its size at run time, as the pool's wipe does.
std::uint32_t bare_block_size = 64;
void* volatile cost_sink = nullptr;
std::size_t volatile cost_size_sink = 0;
memplan::Block block_sink{};  // a pool allocation's result, stored as a caller would keep it

namespace {

namespace layout = memplan::cost;
using Lock = memplan::CortexMInterruptLock;

// Each operation gets a function of its own (every lambda is a type of its
// own, so each instantiation is one function): its code is compiled as at a
// call site in a small function, and a change elsewhere in this file cannot
// move its count through main()'s register allocation.
template <class Operation>
__attribute__((noinline)) void measure(const char* name, Operation&& operation) {
  memplan_probe_begin();
  operation();
  memplan_probe_end();
  firmware::write("probe ");
  firmware::write(name);
  firmware::write("\n");
}

// Room for a result whose construction and destruction are measured apart.
template <class T>
union Slot {
  Slot() noexcept {}
  ~Slot() {}
  T value;
};

using firmware::check;
using firmware::failures;

// The yardstick: an intrusive LIFO free list (the link in the free block),
// no checks, no statistics, under the interrupt lock memplan's pools use.
class BareFreeList {
 public:
  void add(void* block) noexcept { release(block); }
  void* allocate() noexcept {
    Lock::Guard guard(lock_);
    Node* node = head_;
    if (node != nullptr) head_ = node->next;
    return node;
  }
  void release(void* block) noexcept {
    Lock::Guard guard(lock_);
    auto* node = static_cast<Node*>(block);
    node->next = head_;
    head_ = node;
  }
  void release_wiped(void* block) noexcept {
    std::memset(block, 0, bare_block_size);
    release(block);
  }

 private:
  struct Node {
    Node* next;
  };
  Node* head_ = nullptr;
  Lock lock_;
};

alignas(8) std::uint8_t bare_storage[8][64];
BareFreeList bare_list;

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
// The lock-free yardstick of cores with LDREX/STREX (heapless's pool on
// ARMv7-M): a LIFO list whose pop reads the next link between the exclusive
// load and store of the head. Any write to the head in between, or an
// exception entry or return (which clears the local monitor), fails the
// store and the loop retries, so there is no ABA and nothing is masked.
class LlscFreeList {
 public:
  void* allocate() noexcept {
    void* node;
    void* next;
    std::uint32_t failed;
    asm volatile(
        "1: ldrex %[node], [%[head]]\n"
        "   cbz %[node], 2f\n"
        "   ldr %[next], [%[node]]\n"
        "   strex %[failed], %[next], [%[head]]\n"
        "   cmp %[failed], #0\n"
        "   bne 1b\n"
        "2:\n"
        : [node] "=&l"(node), [next] "=&r"(next), [failed] "=&r"(failed)  // cbz takes a low register
        : [head] "r"(&head_)
        : "cc", "memory");
    return node;
  }
  void release(void* block) noexcept {
    void* head;
    std::uint32_t failed;
    asm volatile(
        "1: ldrex %[head], [%[list]]\n"
        "   str %[head], [%[block]]\n"
        "   strex %[failed], %[block], [%[list]]\n"
        "   cmp %[failed], #0\n"
        "   bne 1b\n"
        : [head] "=&r"(head), [failed] "=&r"(failed)
        : [list] "r"(&head_), [block] "r"(block)
        : "cc", "memory");
  }

 private:
  void* head_ = nullptr;
};

LlscFreeList llsc_list;

// After measure_bare_list(): its blocks move to this list (the image's RAM
// has no room for a second set).
void measure_llsc_list() {
  for (std::size_t i = 0; i < 8; ++i) {
    void* const block = bare_list.allocate();
    check(block != nullptr, "bare list");
    llsc_list.release(block);
  }
  llsc_list.release(llsc_list.allocate());
  measure("bare-llsc.allocate", [] { cost_sink = llsc_list.allocate(); });
  void* const block = cost_sink;
  measure("bare-llsc.release", [block] { llsc_list.release(block); });
  measure("bare-llsc.allocate+release", [] { llsc_list.release(llsc_list.allocate()); });
  for (std::size_t i = 0; i < 8; ++i) check(llsc_list.allocate() != nullptr, "llsc list");
  check(llsc_list.allocate() == nullptr, "llsc list empty");
}
#endif

void measure_known() {
  measure("calibration", [] {});
  measure("known.loop", [] { memplan_known_loop(); });
  measure("known.masked", [] { memplan_known_masked(); });
}

void measure_bare_list() {
  for (auto& block : bare_storage) bare_list.add(block);
  void* block = bare_list.allocate();
  bare_list.release(block);  // warm: the same block comes back each time, as from a pool
  measure("bare.allocate", [] { cost_sink = bare_list.allocate(); });
  block = cost_sink;
  measure("bare.release", [block] { bare_list.release(block); });
  measure("bare.allocate+release", [] { bare_list.release(bare_list.allocate()); });
  block = bare_list.allocate();
  measure("bare.release+memset", [block] { bare_list.release_wiped(block); });
  measure("bare.allocate+release+memset", [] { bare_list.release_wiped(bare_list.allocate()); });
}

void measure_pool(const char* allocate, const char* release, const char* pair, memplan::Pool& pool) {
  // Warm: a block has been through the free list, as in a running product.
  auto first = pool.allocate();
  check(first.has_value() && pool.release(first.value().token).has_value(), pool.name());
  measure(allocate, [&pool] { block_sink = pool.allocate().value(); });
  measure(release, [&pool] { cost_size_sink = pool.release(block_sink.token).has_value(); });
  measure(pair, [&pool] { cost_size_sink = pool.release(pool.allocate().value().token).has_value(); });
  check(cost_size_sink == 1, pool.name());
}

void measure_pools() {
  measure_pool("pool64.allocate", "pool64.release", "pool64.allocate+release", layout::pool_tiny);
  measure_pool("pool64checked.allocate", "pool64checked.release", "pool64checked.allocate+release",
               layout::pool_tiny_checked);
  measure_pool("pool96.allocate", "pool96.release", "pool96.allocate+release", layout::pool_odd);
  measure_pool("pool256.allocate", "pool256.release", "pool256.allocate+release", layout::pool_small);
  measure_pool("pool256checked.allocate", "pool256checked.release", "pool256checked.allocate+release",
               layout::pool_small_checked);

  // Pools::allocate by size and usage returns a Buffer; its end releases the block.
  Slot<memplan::Result<memplan::Buffer>> buffer;
  measure("pools.allocate(200, message)", [&buffer] {
    ::new (static_cast<void*>(&buffer.value)) memplan::Result<memplan::Buffer>(layout::pools.allocate(200, memplan::Usage::Message));
  });
  check(buffer.value.has_value() && buffer.value.value().capacity() == 256, "pools.allocate");
  measure("buffer.release", [&buffer] { buffer.value.~Result(); });

  Slot<memplan::Result<memplan::WorkspaceLease>> lease;
  measure("workspace.acquire", [&lease] {
    ::new (static_cast<void*>(&lease.value)) memplan::Result<memplan::WorkspaceLease>(layout::workspace.acquire());
  });
  check(lease.value.has_value(), "workspace.acquire");
  measure("workspace.release", [&lease] { lease.value.~Result(); });
}

std::uint8_t plaintext[1024];
std::uint8_t sealed[1024 + 16];
std::uint8_t opened[1024];
std::uint8_t nonce[memplan::kNonceSize];
// The same cipher without the runtime, for the overhead; and each AEAD's
// backend on its own (one context at a time: the image has 16 KiB of RAM).
union AeadContexts {
  AeadContexts() {}
  mbedtls_gcm_context gcm;
  mbedtls_ccm_context ccm;
  mbedtls_chachapoly_context chachapoly;
} contexts;
mbedtls_gcm_context& raw_context = contexts.gcm;

struct SizedName {
  std::size_t size;
  const char* seal;
  const char* open;
  const char* raw_seal;
  const char* raw_open;
};
constexpr SizedName kSizes[] = {
    {16, "session.seal(16)", "session.open(16)", "raw.gcm_seal(16)", "raw.gcm_open(16)"},
    {64, "session.seal(64)", "session.open(64)", "raw.gcm_seal(64)", "raw.gcm_open(64)"},
    {1024, "session.seal(1024)", "session.open(1024)", "raw.gcm_seal(1024)", "raw.gcm_open(1024)"},
};

void measure_sessions() {
  auto& sessions = layout::sessions;
  check(sessions.attach({&nonce_store, &clock_port, &identity}).has_value(), "attach");
  for (std::size_t i = 0; i < sizeof plaintext; ++i) plaintext[i] = static_cast<std::uint8_t>(i * 7u);

  memplan::SessionHandle handle{};
  // Field by field: at -Os GCC copies an 8-byte struct out of the Result
  // union with a memcpy call on M0, which would count the harness, not the table.
  measure("session.open_session", [&handle, &sessions] {
    const memplan::Result<memplan::SessionHandle> session = sessions.open_session();
    handle.index = session.value().index;
    handle.generation = session.value().generation;
  });
  measure("session.load_key", [&handle, &sessions] {
    cost_size_sink = sessions.load_key(handle, {key, sizeof key}).has_value();
  });
  check(cost_size_sink == 1, "load_key");
  // The first seal after load_key reserves counter values (persists a mark).
  measure("session.seal(16) first after load_key", [&handle, &sessions] {
    cost_size_sink = sessions.seal(handle, {aad, sizeof aad}, {plaintext, 16}, {sealed, sizeof sealed}, nonce).value();
  });
  for (const auto& size : kSizes) {
    measure(size.seal, [&handle, &sessions, &size] {
      cost_size_sink = sessions.seal(handle, {aad, sizeof aad}, {plaintext, size.size}, {sealed, sizeof sealed}, nonce).value();
    });
    measure(size.open, [&handle, &sessions, &size] {
      cost_size_sink = sessions.open(handle, nonce, {aad, sizeof aad}, {sealed, size.size + 16}, {opened, sizeof opened}).value();
    });
    check(std::memcmp(opened, plaintext, size.size) == 0, size.open);
  }
  measure("session.close", [&handle, &sessions] { cost_size_sink = sessions.close(handle).has_value(); });
  check(cost_size_sink == 1, "close");

  mbedtls_gcm_init(&raw_context);
  check(mbedtls_gcm_setkey(&raw_context, MBEDTLS_CIPHER_ID_AES, key, 256) == 0, "raw setkey");
  for (const auto& size : kSizes) {
    measure(size.raw_seal, [&size] {
      cost_size_sink = static_cast<std::size_t>(mbedtls_gcm_crypt_and_tag(&raw_context, MBEDTLS_GCM_ENCRYPT, size.size, nonce,
                                                                          sizeof nonce, aad, sizeof aad, plaintext, sealed, 16,
                                                                          sealed + size.size));
    });
    measure(size.raw_open, [&size] {
      cost_size_sink = static_cast<std::size_t>(mbedtls_gcm_auth_decrypt(&raw_context, size.size, nonce, sizeof nonce, aad,
                                                                         sizeof aad, sealed + size.size, 16, sealed, opened));
    });
    check(cost_size_sink == 0, size.raw_open);
  }
  mbedtls_gcm_free(&raw_context);
}

extern "C" std::uint32_t __stack_top, __stack_size;  // the linker script's stack

// The stack `operation` takes below its caller's frame, in bytes: the stack
// under this frame is painted, the operation runs, and the deepest word it
// changed is found.
template <class Operation>
__attribute__((noinline)) std::size_t stack_of(Operation&& operation) {
  constexpr std::uint32_t kPaint = 0x5EA1ED00u;
  auto* const bottom = reinterpret_cast<std::uint32_t*>(reinterpret_cast<std::uintptr_t>(&__stack_top) -
                                                        reinterpret_cast<std::uintptr_t>(&__stack_size));
  auto* const frame = static_cast<std::uint32_t*>(__builtin_frame_address(0));
  for (volatile std::uint32_t* p = bottom; p < frame - 32; ++p) *p = kPaint;
  operation();
  const volatile std::uint32_t* p = bottom;
  while (p < frame - 32 && *p == kPaint) ++p;
  return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(frame) - reinterpret_cast<std::uintptr_t>(p));
}

// One AEAD's backend sealing 64 B and 1 KiB, as a session's seal calls it
// (the advice table of docs/aead-choice.md reads these counts), and the stack
// its 1 KiB seal takes (printed, not part of the baseline).
template <class Backend>
void measure_backend(const char* seal64, const char* seal1024, const char* stack, unsigned key_bits, std::size_t tag) {
  auto& context = *reinterpret_cast<typename Backend::Context*>(&contexts);
  Backend::init(context);
  check(Backend::set_key(context, {key, key_bits / 8u}), stack);
  static std::uint8_t backend_nonce[Backend::kNonceSize];
  measure(seal64, [&context, tag] {
    cost_size_sink = Backend::seal(context, backend_nonce, {aad, sizeof aad}, {plaintext, 64}, sealed, sealed + 64, tag);
  });
  measure(seal1024, [&context, tag] {
    cost_size_sink = Backend::seal(context, backend_nonce, {aad, sizeof aad}, {plaintext, 1024}, sealed, sealed + 1024, tag);
  });
  check(cost_size_sink == 1, seal1024);
  const std::size_t bytes = stack_of([&context, tag] {
    cost_size_sink = Backend::seal(context, backend_nonce, {aad, sizeof aad}, {plaintext, 1024}, sealed, sealed + 1024, tag);
  });
  char text[80];
  char* end = firmware::append(text, "stack ");
  end = firmware::append(end, stack);
  end = firmware::append(end, ": ");
  end = firmware::append(end, static_cast<std::uint32_t>(bytes));
  firmware::append(end, " B\n");
  firmware::write(text);
  Backend::clear(context);
}

void measure_aeads() {
  measure_backend<memplan::AesGcm>("aead.aes-128-gcm.seal(64)", "aead.aes-128-gcm.seal(1024)", "aes-128-gcm seal(1024)", 128, 16);
  measure_backend<memplan::AesGcm>("aead.aes-256-gcm.seal(64)", "aead.aes-256-gcm.seal(1024)", "aes-256-gcm seal(1024)", 256, 16);
  measure_backend<memplan::AesCcm<13>>("aead.aes-128-ccm.seal(64)", "aead.aes-128-ccm.seal(1024)", "aes-128-ccm seal(1024)", 128, 8);
  measure_backend<memplan::AesCcm<13>>("aead.aes-256-ccm.seal(64)", "aead.aes-256-ccm.seal(1024)", "aes-256-ccm seal(1024)", 256, 16);
  measure_backend<memplan::ChaCha20Poly1305>("aead.chacha20-poly1305.seal(64)", "aead.chacha20-poly1305.seal(1024)",
                                             "chacha20-poly1305 seal(1024)", 256, 16);
}

}  // namespace

int main() {
  check(layout::memory().init().has_value(), "layout init");
  measure_known();
  measure_bare_list();
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
  measure_llsc_list();
#endif
  measure_pools();
  measure_sessions();
  measure_aeads();
  firmware::write(failures == 0 ? "result: ok\n" : "result: FAILED\n");
  return failures;
}
