#include <gateway/layout.hpp>
#include <memplan/port/memory_ports.hpp>

#if !defined(__arm__)
#include <cstdio>
#endif

namespace {
memplan::InMemoryNonceStore<memplan::gateway::config::session_count> store;
memplan::ManualClock clock_port;
const std::uint8_t id[4] = {1, 2, 3, 4};
memplan::FixedIdentity identity(id, sizeof id);
}  // namespace

int main() {
  auto& mem = memplan::gateway::memory();
  if (!mem.init() || !mem.sessions.attach({&store, &clock_port, &identity})) return 1;
  auto session = mem.sessions.open_session();
  const std::uint8_t key[16] = {9};
  if (!session || !mem.sessions.load_key(session.value(), {key, sizeof key})) return 2;
  const std::uint8_t text[300] = {1};
  auto sealed = mem.sessions.seal(session.value(), {}, {text, sizeof text});
  if (!sealed) return 3;
  auto opened = mem.sessions.open(session.value(), sealed.value().nonce, {}, sealed.value().data.span());
  if (!opened || opened.value().size() != sizeof text) return 4;
#if !defined(__arm__)
  // The nonce and ciphertext || tag, for an independent check (python3-cryptography).
  std::printf("sealed ");
  for (std::uint8_t byte : sealed.value().nonce) std::printf("%02x", byte);
  std::printf(" ");
  const auto bytes = sealed.value().data.span();
  for (std::size_t i = 0; i < bytes.size; ++i) std::printf("%02x", bytes.data[i]);
  std::puts("");
  std::puts("gateway: ok");
#endif
  return 0;
}
