// A session table over another AEAD backend, as a product's hardware
// accelerator would plug in, and the table's lock discipline: no port call,
// no cipher work and no key-slot wipe ever runs while the table's lock is
// held (on Cortex-M that would be interrupt latency). The lock here records
// whether it is held; the ports and the backend check it on every call.
//
// The backend is a stand-in, not a cipher: a keyed XOR stream and a keyed
// checksum tag, enough to see keys, nonces, tampering and slots at work.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

namespace {

int held = 0;               // depth of the table's (or a pool's) lock
int calls_under_lock = 0;   // port and backend calls made while it was held
int backend_calls = 0;

void note_call() {
  ++backend_calls;
  if (held != 0) ++calls_under_lock;
}

struct RecordingLock {
  struct Guard {
    explicit Guard(RecordingLock& /*unused*/) noexcept { ++held; }
    ~Guard() { --held; }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
  };
};

struct StandInAccelerator {
  struct Context {
    std::uint8_t key[32];
    std::size_t key_size;
  };
  static constexpr std::size_t kNonceSize = memplan::kNonceSize;
  static constexpr std::size_t kMinTag = 4;
  static constexpr std::size_t kMaxTag = 16;
  static constexpr std::uint64_t kMaxPlaintext = 1u << 20;
  static constexpr bool valid_key_bits(unsigned bits) noexcept { return bits == 128 || bits == 256; }
  static constexpr bool valid_tag_size(std::size_t size) noexcept { return size >= kMinTag && size <= kMaxTag; }
  static void init(Context& context) noexcept { context = Context{}; }
  static void clear(Context& context) noexcept {
    note_call();
    memplan::secure_wipe(&context, sizeof context);
  }
  static bool set_key(Context& context, memplan::ConstByteSpan key) noexcept {
    note_call();
    std::memcpy(context.key, key.data, key.size);
    context.key_size = key.size;
    return true;
  }
  static std::uint8_t stream(const Context& c, const std::uint8_t (&nonce)[memplan::kNonceSize], std::size_t i) {
    return static_cast<std::uint8_t>(c.key[i % c.key_size] ^ nonce[i % memplan::kNonceSize] ^ (i * 131u));
  }
  static void tag_of(const Context& c, const std::uint8_t (&nonce)[memplan::kNonceSize], memplan::ConstByteSpan aad,
                     memplan::ConstByteSpan ciphertext, std::uint8_t* tag, std::size_t tag_size) {
    std::uint32_t h = 2166136261u;
    const auto mix = [&h](std::uint8_t byte) { h = (h ^ byte) * 16777619u; };
    for (std::size_t i = 0; i < c.key_size; ++i) mix(c.key[i]);
    for (std::uint8_t byte : nonce) mix(byte);
    for (std::size_t i = 0; i < aad.size; ++i) mix(aad.data[i]);
    for (std::size_t i = 0; i < ciphertext.size; ++i) mix(ciphertext.data[i]);
    for (std::size_t i = 0; i < tag_size; ++i) {
      mix(static_cast<std::uint8_t>(i));
      tag[i] = static_cast<std::uint8_t>(h >> 24);
    }
  }
  static bool seal(Context& c, const std::uint8_t (&nonce)[memplan::kNonceSize], memplan::ConstByteSpan aad,
                   memplan::ConstByteSpan plaintext, std::uint8_t* out, std::uint8_t* tag, std::size_t tag_size) noexcept {
    note_call();
    for (std::size_t i = 0; i < plaintext.size; ++i) out[i] = plaintext.data[i] ^ stream(c, nonce, i);
    tag_of(c, nonce, aad, {out, plaintext.size}, tag, tag_size);
    return true;
  }
  static memplan::AeadOpen open(Context& c, const std::uint8_t (&nonce)[memplan::kNonceSize], memplan::ConstByteSpan aad,
                                memplan::ConstByteSpan ciphertext, const std::uint8_t* tag, std::size_t tag_size,
                                std::uint8_t* out) noexcept {
    note_call();
    std::uint8_t expected[kMaxTag];
    tag_of(c, nonce, aad, ciphertext, expected, tag_size);
    if (std::memcmp(expected, tag, tag_size) != 0) return memplan::AeadOpen::AuthenticationFailed;
    for (std::size_t i = 0; i < ciphertext.size; ++i) out[i] = ciphertext.data[i] ^ stream(c, nonce, i);
    return memplan::AeadOpen::Ok;
  }
};

class CheckingStore final : public memplan::NonceStore {
 public:
  memplan::Result<std::uint64_t> load(std::uint32_t slot) noexcept override {
    note_call();
    return inner_.load(slot);
  }
  memplan::Status persist(std::uint32_t slot, std::uint64_t mark) noexcept override {
    note_call();
    ++persists;
    return inner_.persist(slot, mark);
  }
  int persists = 0;

 private:
  memplan::InMemoryNonceStore<2> inner_;
};

class CheckingClock final : public memplan::Clock {
 public:
  memplan::Result<std::uint32_t> now_s() noexcept override {
    note_call();
    return seconds;
  }
  std::uint32_t seconds = 10;
};

class CheckingIdentity final : public memplan::DeviceIdentity {
 public:
  void nonce_fixed_field(std::uint8_t* out, std::size_t size) noexcept override {
    note_call();
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(0xF0 + i);
  }
};

struct AcceleratedLayout {
  alignas(8) std::uint8_t message_storage[4 * 256] = {};
  memplan::PoolState<4> message_state = {};
  alignas(8) std::uint8_t workspace_storage[5 * 256] = {};
  memplan::SessionRecord records[2] = {};
  memplan::SessionRecord* const record_list[2] = {&records[0], &records[1]};
  StandInAccelerator::Context key_slots[3] = {};
  memplan::BasicPool<RecordingLock> message_pool{"message", message_storage, 256, 4, message_state.generations,
                                                 message_state.links, memplan::usage_bit(memplan::Usage::Message),
                                                 memplan::AllocationCheck::None};
  memplan::BasicPool<RecordingLock>* const pool_list[1] = {&message_pool};
  memplan::BasicPools<RecordingLock> pools{pool_list, 1};
  memplan::BasicWorkspace<RecordingLock> workspace{workspace_storage, 256};
  memplan::BasicSessionTable<RecordingLock, StandInAccelerator> sessions{
      record_list, 2, key_slots, 3, memplan::CryptoPolicy{256, 8, 4, 8, 4, 1000, 3600, 2, 0}, pools, workspace};
  CheckingStore store;
  CheckingClock clock;
  CheckingIdentity identity;

  AcceleratedLayout() {
    const memplan::StorageSpan spans[] = {{message_storage, sizeof message_storage},
                                          {workspace_storage, sizeof workspace_storage}};
    REQUIRE(memplan::init_layout(pools, workspace, sessions, spans, 2));
    REQUIRE(sessions.attach({&store, &clock, &identity}));
  }
};

const std::uint8_t kKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
const std::uint8_t kOtherKey[32] = {0x55};
const std::uint8_t kText[40] = {'a', 'c', 'c', 'e', 'l'};

}  // namespace

TEST_CASE("a table over another backend seals and opens with its keys and tags", "[session][backend]") {
  AcceleratedLayout l;
  auto s = l.sessions.open_session().value();
  REQUIRE(l.sessions.load_key(s, {kKey, sizeof kKey}));
  auto sealed = l.sessions.seal(s, {}, {kText, sizeof kText});
  REQUIRE(sealed);
  CHECK(sealed.value().tag_size == 8);  // the profile's tag size, within the backend's range
  CHECK(sealed.value().nonce[0] == 0xF0);  // the fixed field from the identity port
  auto opened = l.sessions.open(s, sealed.value().nonce, {}, sealed.value().data.span());
  REQUIRE(opened);
  CHECK(std::memcmp(opened.value().data(), kText, sizeof kText) == 0);
  sealed.value().data.data()[3] ^= 0x40;
  CHECK(l.sessions.open(s, sealed.value().nonce, {}, sealed.value().data.span()).error() ==
        memplan::Error::AuthenticationFailed);
  REQUIRE(l.sessions.rotate_key(s, {kOtherKey, sizeof kOtherKey}));
  CHECK(l.key_slots[0].key_size == 0);  // the old slot was wiped
  CHECK(l.key_slots[1].key[0] == 0x55);
  REQUIRE(l.sessions.close(s));
  for (const auto& slot : l.key_slots) CHECK(slot.key_size == 0);
}

TEST_CASE("a policy the backend cannot serve is refused at init", "[session][backend]") {
  memplan::BasicPools<RecordingLock> no_pools{nullptr, 0};
  std::uint8_t storage[5 * 64];
  memplan::BasicWorkspace<RecordingLock> workspace{storage, 64};
  memplan::SessionRecord record{};
  memplan::SessionRecord* const records[1] = {&record};
  StandInAccelerator::Context slots[1];
  memplan::BasicSessionTable<RecordingLock, StandInAccelerator> wrong_key{
      records, 1, slots, 1, memplan::CryptoPolicy{192, 8, 4, 8, 4, 10, 10, 1, 0}, no_pools, workspace};
  CHECK(wrong_key.init().error() == memplan::Error::InvalidArgument);  // 192-bit keys: not this backend's
  memplan::BasicSessionTable<RecordingLock, StandInAccelerator> wrong_tag{
      records, 1, slots, 1, memplan::CryptoPolicy{128, 2, 4, 8, 4, 10, 10, 1, 0}, no_pools, workspace};
  CHECK(wrong_tag.init().error() == memplan::Error::InvalidArgument);
}

TEST_CASE("no port call, cipher work or key wipe runs under the table's lock", "[session][backend][lock]") {
  AcceleratedLayout l;
  calls_under_lock = 0;
  backend_calls = 0;
  auto a = l.sessions.open_session().value();
  auto b = l.sessions.open_session().value();
  REQUIRE(l.sessions.load_key(a, {kKey, sizeof kKey}));
  REQUIRE(l.sessions.load_key(b, {kOtherKey, sizeof kOtherKey}));
  std::uint8_t out[sizeof kText + 8];
  std::uint8_t back[sizeof kText];
  std::uint8_t nonce[memplan::kNonceSize];
  for (int i = 0; i < 20; ++i) {  // reserve is 4: the store persists every fourth seal
    REQUIRE(l.sessions.seal(a, {}, {kText, sizeof kText}, {out, sizeof out}, nonce));
    REQUIRE(l.sessions.open(a, nonce, {}, {out, sizeof out}, {back, sizeof back}));
    auto sealed = l.sessions.seal(b, {}, {kText, sizeof kText});
    REQUIRE(sealed);
  }
  CHECK(l.store.persists == 10);
  CHECK(l.sessions.status(a).value() == memplan::SecurityStatus::Secure);
  REQUIRE(l.sessions.rotate_key(a, {kOtherKey, sizeof kOtherKey}));
  REQUIRE(l.sessions.rotate_key(b, {kKey, sizeof kKey}));  // into the slot a gave back
  REQUIRE(l.sessions.close(a));
  REQUIRE(l.sessions.close(b));
  CHECK(backend_calls > 100);
  CHECK(calls_under_lock == 0);
  CHECK(held == 0);
}

TEST_CASE("a call on a session busy outside the lock is refused, and retrying later works", "[session][backend][lock]") {
  AcceleratedLayout l;
  auto s = l.sessions.open_session().value();
  REQUIRE(l.sessions.load_key(s, {kKey, sizeof kKey}));
  // The record says busy, as while a seal, a key load or a close of it runs
  // outside the lock: every other call on it fails at once.
  l.records[s.index].busy = 1;
  std::uint8_t out[sizeof kText + 8];
  std::uint8_t nonce[memplan::kNonceSize];
  CHECK(l.sessions.seal(s, {}, {kText, sizeof kText}, {out, sizeof out}, nonce).error() ==
        memplan::Error::InvalidSessionState);
  CHECK(l.sessions.rotate_key(s, {kKey, sizeof kKey}).error() == memplan::Error::InvalidSessionState);
  CHECK(l.sessions.close(s).error() == memplan::Error::InvalidSessionState);
  CHECK(l.sessions.next_counter(s).error() == memplan::Error::InvalidSessionState);  // the running call's
  l.records[s.index].busy = 0;
  CHECK(l.sessions.next_counter(s).value() == 0);  // nothing spent
  CHECK(l.sessions.seal(s, {}, {kText, sizeof kText}, {out, sizeof out}, nonce));
}

namespace {

// A backend with once-at-init work (as the AES backends fill RAM tables there).
int prepare_calls = 0;
bool prepare_result = true;
struct PreparingAccelerator : StandInAccelerator {
  static bool prepare() noexcept {
    ++prepare_calls;
    return prepare_result;
  }
};

}  // namespace

TEST_CASE("init prepares a backend that has work to do once, and a failed preparation fails init", "[session][backend]") {
  static_assert(memplan::detail::HasPrepare<PreparingAccelerator>::value);
  static_assert(!memplan::detail::HasPrepare<StandInAccelerator>::value);
  static_assert(memplan::detail::HasPrepare<memplan::AesGcm>::value && memplan::detail::HasPrepare<memplan::AesCcm<13>>::value);
  static_assert(!memplan::detail::HasPrepare<memplan::ChaCha20Poly1305>::value);  // no tables to fill
  alignas(8) std::uint8_t storage[5 * 64] = {};
  alignas(8) std::uint8_t blocks[2 * 64] = {};
  memplan::PoolState<2> state = {};
  memplan::BasicPool<RecordingLock> pool{"message", blocks, 64, 2, state.generations, state.links,
                                         memplan::usage_bit(memplan::Usage::Message), memplan::AllocationCheck::None};
  memplan::BasicPool<RecordingLock>* const pool_list[1] = {&pool};
  memplan::BasicPools<RecordingLock> pools{pool_list, 1};
  memplan::BasicWorkspace<RecordingLock> workspace{storage, 64};
  memplan::SessionRecord record{};
  memplan::SessionRecord* const records[1] = {&record};
  PreparingAccelerator::Context slots[1];
  memplan::BasicSessionTable<RecordingLock, PreparingAccelerator> sessions{
      records, 1, slots, 1, memplan::CryptoPolicy{128, 8, 4, 8, 4, 10, 10, 1, 0}, pools, workspace};
  const memplan::StorageSpan spans[] = {{storage, sizeof storage}, {blocks, sizeof blocks}};
  prepare_calls = 0;
  prepare_result = false;
  CHECK(memplan::init_layout(pools, workspace, sessions, spans, 2).error() == memplan::Error::CryptoFailure);
  CHECK(prepare_calls == 1);
  CHECK((!pools.initialized() && !workspace.initialized() && !sessions.initialized()));  // init can be called again
  prepare_result = true;
  CHECK(memplan::init_layout(pools, workspace, sessions, spans, 2));
  CHECK(prepare_calls == 2);
  CHECK(memplan::init_layout(pools, workspace, sessions, spans, 2).error() == memplan::Error::AlreadyInitialized);
  CHECK(prepare_calls == 2);
}

TEST_CASE("the AES backends' preparation succeeds whatever tables mbedTLS was built with", "[session][backend]") {
  CHECK(memplan::prepare_backend<memplan::AesGcm>());
  CHECK(memplan::prepare_backend<memplan::AesCcm<13>>());
  CHECK(memplan::prepare_backend<memplan::ChaCha20Poly1305>());
}
