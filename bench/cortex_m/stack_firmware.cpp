// The stack firmware: the stack each public operation takes on the core, two
// ways. Every operation is an extern "C" function of its own (noinline), so
// `memplan stack` can bound it as an entry point over the call graph GCC
// wrote; and main() runs each once on a painted stack and prints how deep it
// wrote ("stack <operation>: <bytes>"). operation_stacks.py puts the two side
// by side per core (bench/README.md) and fails when a measurement exceeds its
// bound. The session operations use the cost profile's AES-256-GCM; each
// AEAD's backend runs as a session calls it; messages are 256 B.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

#include <cost/layout.hpp>

#include "console.hpp"
#include "session_fixture.hpp"

namespace layout = memplan::cost;

namespace {

constexpr std::size_t kMessage = 256;  // mbedTLS streams: the stack does not grow with the length
std::uint8_t plaintext[kMessage];
std::uint8_t sealed[kMessage + 16];
std::uint8_t opened[kMessage];
std::uint8_t nonce[memplan::kNonceSize];
memplan::SessionHandle handle{};
memplan::Block block{};
// One backend context at a time (the image has 16 KiB of RAM).
union AeadContexts {
  AeadContexts() {}
  memplan::AesGcm::Context gcm;
  memplan::AesCcm<13>::Context ccm;
  memplan::ChaCha20Poly1305::Context chachapoly;
} contexts;
// Pools::allocate's result, constructed and ended by the operations themselves
// (raw storage: a static object with a destructor would register it at exit).
using BufferResult = memplan::Result<memplan::Buffer>;
std::aligned_storage_t<sizeof(BufferResult), alignof(BufferResult)> buffer_slot;

}  // namespace

std::size_t volatile stack_sink = 0;

// The operations, each an entry point of the analysis.
extern "C" {
__attribute__((noinline)) void memplan_stack_pool_allocate() {
  block = layout::pool_tiny.allocate().value();
}
__attribute__((noinline)) void memplan_stack_pool_release() {
  stack_sink = layout::pool_tiny.release(block.token).has_value();
}
__attribute__((noinline)) void memplan_stack_pools_allocate() {
  ::new (static_cast<void*>(&buffer_slot)) BufferResult(layout::pools.allocate(200, memplan::Usage::Message));
}
__attribute__((noinline)) void memplan_stack_buffer_release() {
  std::launder(reinterpret_cast<BufferResult*>(&buffer_slot))->~BufferResult();
}
__attribute__((noinline)) void memplan_stack_session_load_key() {
  stack_sink = layout::sessions.load_key(handle, {key, sizeof key}).has_value();
}
__attribute__((noinline)) void memplan_stack_session_seal() {
  stack_sink = layout::sessions.seal(handle, {aad, sizeof aad}, {plaintext, kMessage}, {sealed, sizeof sealed}, nonce).value();
}
__attribute__((noinline)) void memplan_stack_session_open() {
  stack_sink = layout::sessions.open(handle, nonce, {aad, sizeof aad}, {sealed, sizeof sealed}, {opened, sizeof opened}).value();
}
}

namespace {

template <class Backend>
typename Backend::Context& context_of() {
  return *reinterpret_cast<typename Backend::Context*>(&contexts);
}

template <class Backend>
__attribute__((noinline)) void backend_seal() {
  static std::uint8_t backend_nonce[Backend::kNonceSize];
  stack_sink = Backend::seal(context_of<Backend>(), backend_nonce, {aad, sizeof aad}, {plaintext, kMessage}, sealed, sealed + kMessage, 16);
}
template <class Backend>
__attribute__((noinline)) void backend_open() {
  static std::uint8_t backend_nonce[Backend::kNonceSize];
  stack_sink = static_cast<std::size_t>(
      Backend::open(context_of<Backend>(), backend_nonce, {aad, sizeof aad}, {sealed, kMessage}, sealed + kMessage, 16, opened));
}

}  // namespace

extern "C" {
__attribute__((noinline)) void memplan_stack_aes_gcm_seal() { backend_seal<memplan::AesGcm>(); }
__attribute__((noinline)) void memplan_stack_aes_gcm_open() { backend_open<memplan::AesGcm>(); }
__attribute__((noinline)) void memplan_stack_aes_ccm_seal() { backend_seal<memplan::AesCcm<13>>(); }
__attribute__((noinline)) void memplan_stack_aes_ccm_open() { backend_open<memplan::AesCcm<13>>(); }
__attribute__((noinline)) void memplan_stack_chacha20_poly1305_seal() { backend_seal<memplan::ChaCha20Poly1305>(); }
__attribute__((noinline)) void memplan_stack_chacha20_poly1305_open() { backend_open<memplan::ChaCha20Poly1305>(); }
}

namespace {

extern "C" std::uint32_t __stack_top, __stack_size;  // the linker script's stack (sections.ld)

// How deep `operation` writes below the stack pointer it is called with: the
// stack under this frame is painted, the operation runs (a call through a
// pointer: the stack pointer at the call is the one read), and the deepest
// word that changed is found. Nothing else runs meanwhile (no interrupt is
// enabled in this firmware).
__attribute__((noinline)) std::uint32_t stack_of(void (*volatile operation)()) {
  auto* const bottom = reinterpret_cast<std::uint32_t*>(reinterpret_cast<std::uintptr_t>(&__stack_top) -
                                                        reinterpret_cast<std::uintptr_t>(&__stack_size));
  std::uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (volatile std::uint32_t* word = bottom; word < sp; ++word) *word = firmware::kStackPaint;
  void (*const call)() = operation;
  __asm__ volatile("mov %0, sp" : "=r"(sp));  // the stack pointer the call starts from
  call();
  return firmware::stack_high_water(bottom, sp);
}

void report(const char* name, void (*operation)()) {
  const std::uint32_t bytes = stack_of(operation);
  char text[96];
  char* end = firmware::append(text, "stack ");
  end = firmware::append(end, name);
  end = firmware::append(end, ": ");
  end = firmware::append(end, bytes);
  firmware::append(end, "\n");
  firmware::write(text);
}

template <class Backend>
void report_backend(const char* seal, const char* open, void (*sealer)(), void (*opener)(), unsigned key_bits) {
  auto& context = context_of<Backend>();
  Backend::init(context);
  firmware::check(Backend::set_key(context, {key, key_bits / 8u}), seal);
  report(seal, sealer);
  report(open, opener);
  firmware::check(stack_sink == static_cast<std::size_t>(memplan::AeadOpen::Ok), open);
  Backend::clear(context);
}

}  // namespace

int main() {
  using firmware::check;
  check(layout::memory().init().has_value(), "layout init");
  check(layout::sessions.attach({&nonce_store, &clock_port, &identity}).has_value(), "attach");
  const memplan::Result<memplan::SessionHandle> session = layout::sessions.open_session();
  check(session.has_value(), "open_session");
  handle.index = session.value().index;
  handle.generation = session.value().generation;
  for (std::size_t i = 0; i < sizeof plaintext; ++i) plaintext[i] = static_cast<std::uint8_t>(i * 7u);

  report("pool.allocate", memplan_stack_pool_allocate);
  report("pool.release", memplan_stack_pool_release);
  report("pools.allocate", memplan_stack_pools_allocate);
  report("buffer.release", memplan_stack_buffer_release);
  report("session.load_key", memplan_stack_session_load_key);
  check(stack_sink == 1, "load_key");
  report("session.seal", memplan_stack_session_seal);
  check(stack_sink == kMessage + 16, "seal");
  report("session.open", memplan_stack_session_open);
  check(stack_sink == kMessage && std::memcmp(opened, plaintext, kMessage) == 0, "open");
  report_backend<memplan::AesGcm>("aes-256-gcm.seal", "aes-256-gcm.open", memplan_stack_aes_gcm_seal, memplan_stack_aes_gcm_open, 256);
  report_backend<memplan::AesCcm<13>>("aes-256-ccm.seal", "aes-256-ccm.open", memplan_stack_aes_ccm_seal, memplan_stack_aes_ccm_open,
                                      256);
  report_backend<memplan::ChaCha20Poly1305>("chacha20-poly1305.seal", "chacha20-poly1305.open",
                                            memplan_stack_chacha20_poly1305_seal, memplan_stack_chacha20_poly1305_open, 256);
  firmware::write(firmware::failures == 0 ? "result: ok\n" : "result: FAILED\n");
  return firmware::failures;
}
