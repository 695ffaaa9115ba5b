// AES-256-GCM seal and open through memplan's session table (caller-span
// overloads) against raw mbedtls_gcm_crypt_and_tag / mbedtls_gcm_auth_decrypt
// on a separate GCM context set with the same key, in the same run.
// 12-byte IV, 16-byte tag, no AAD and 16 B of AAD.
//
// The raw baseline reuses one fixed IV: it is the least work a caller of
// mbedTLS can do, so the reported overhead includes the runtime building its
// nonce (fixed field + counter). Never reuse an IV outside a benchmark.
//
// Names: session/<seal|open>/<subject>/bytes:<n>/aad:<n>  (bench/summarize.py parses them).
#include <benchmark/benchmark.h>

#include <mbedtls/gcm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <memplan/memplan.hpp>
#include <memplan/port/memory_ports.hpp>

namespace {

constexpr std::size_t kMessageSizes[] = {64, 256, 1024, 4096};
constexpr std::size_t kAadSizes[] = {0, 16};
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kWorkspaceBufferSize = 4096;  // seal needs buffer_size >= plaintext size
constexpr std::uint8_t kDeviceId[4] = {0xD1, 0xD2, 0xD3, 0xD4};

// Limits far beyond any run (2^48 messages, ~136 years, reserve 4096 counters
// per persist) so rotation never triggers inside the timed loop.
constexpr memplan::CryptoPolicy kPolicy{256, kTagSize, 4, 8, 4096, 0xFFFFFFFFFFFFull, 0xFFFFFFFF, 5};

std::vector<std::uint8_t> pattern(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(seed + i * 7u);
  return bytes;
}

const std::vector<std::uint8_t>& key_bytes() {
  static const std::vector<std::uint8_t> key = pattern(32, 0x42);
  return key;
}

// One session, one key slot, one message pool (unused by the caller-span
// overloads but part of every table), a workspace of 4 KiB buffers.
template <class Lock>
class SessionLayout {
 public:
  SessionLayout()
      : sessions_(record_list_, 1, key_slots_, kKeySlots, kPolicy, pools_, workspace_) {
    const memplan::StorageSpan spans[] = {{message_storage_, sizeof message_storage_},
                                          {workspace_storage_, sizeof workspace_storage_}};
    if (!memplan::init_layout(pools_, workspace_, sessions_, spans, 2)) return;
    if (!sessions_.attach(memplan::SessionPorts{&store_, &clock_, &identity_})) return;
    memplan::Result<memplan::SessionHandle> handle = sessions_.open_session();
    if (!handle) return;
    handle_ = handle.value();
    ready_ = static_cast<bool>(
        sessions_.load_key(handle_, memplan::ConstByteSpan{key_bytes().data(), key_bytes().size()}));
  }
  ~SessionLayout() {
    for (mbedtls_gcm_context& slot : key_slots_) mbedtls_gcm_free(&slot);
  }
  SessionLayout(const SessionLayout&) = delete;
  SessionLayout& operator=(const SessionLayout&) = delete;

  bool ready() const noexcept { return ready_; }
  memplan::BasicSessionTable<Lock>& sessions() noexcept { return sessions_; }
  memplan::SessionHandle handle() const noexcept { return handle_; }

 private:
  static constexpr std::size_t kKeySlots = 1;
  static constexpr std::uint32_t kMessageBlocks = 2;
  static constexpr std::uint32_t kMessageBlockSize = kWorkspaceBufferSize + 64;  // message plus tag, 8-aligned

  alignas(64) std::uint8_t message_storage_[kMessageBlocks * kMessageBlockSize] = {};
  std::uint32_t message_state_[1] = {};
  alignas(64) std::uint8_t workspace_storage_[memplan::BasicWorkspace<Lock>::kBuffers * kWorkspaceBufferSize] = {};
  memplan::SessionRecord record_{};
  memplan::SessionRecord* const record_list_[1] = {&record_};
  mbedtls_gcm_context key_slots_[kKeySlots] = {};
  memplan::BasicPool<Lock> message_pool_{"message", message_storage_, kMessageBlockSize, kMessageBlocks,
                                         message_state_, memplan::usage_bit(memplan::Usage::Message)};
  memplan::BasicPool<Lock>* const pool_list_[1] = {&message_pool_};
  memplan::BasicPools<Lock> pools_{pool_list_, 1};
  memplan::BasicWorkspace<Lock> workspace_{workspace_storage_, kWorkspaceBufferSize};
  memplan::InMemoryNonceStore<1> store_;
  memplan::ManualClock clock_;
  memplan::FixedIdentity identity_{kDeviceId, sizeof kDeviceId};
  memplan::BasicSessionTable<Lock> sessions_;
  memplan::SessionHandle handle_{};
  bool ready_ = false;
};

// The raw baseline: a GCM context of its own, set with the same key.
class RawGcm {
 public:
  RawGcm() {
    mbedtls_gcm_init(&context_);
    ready_ = mbedtls_gcm_setkey(&context_, MBEDTLS_CIPHER_ID_AES, key_bytes().data(),
                                static_cast<unsigned>(key_bytes().size() * 8)) == 0;
  }
  ~RawGcm() { mbedtls_gcm_free(&context_); }
  RawGcm(const RawGcm&) = delete;
  RawGcm& operator=(const RawGcm&) = delete;
  bool ready() const noexcept { return ready_; }
  mbedtls_gcm_context* context() noexcept { return &context_; }

 private:
  mbedtls_gcm_context context_;
  bool ready_ = false;
};

struct Message {
  explicit Message(std::size_t size, std::size_t aad_size)
      : plaintext(pattern(size, 0x11)), aad(pattern(aad_size, 0x77)), sealed(size + kTagSize), opened(size) {}
  memplan::ConstByteSpan aad_span() const noexcept { return {aad.empty() ? nullptr : aad.data(), aad.size()}; }

  std::vector<std::uint8_t> plaintext;
  std::vector<std::uint8_t> aad;
  std::vector<std::uint8_t> sealed;  // ciphertext then tag
  std::vector<std::uint8_t> opened;
  std::uint8_t nonce[memplan::kNonceSize] = {};
};

void report(benchmark::State& state, std::size_t size) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

template <class Lock>
void bench_runtime_seal(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  auto layout = std::make_unique<SessionLayout<Lock>>();
  Message message(size, aad_size);
  if (!layout->ready()) {
    state.SkipWithError("session setup failed");
    return;
  }
  memplan::BasicSessionTable<Lock>& sessions = layout->sessions();
  const memplan::ConstByteSpan aad = message.aad_span();
  const memplan::ConstByteSpan plaintext{message.plaintext.data(), size};
  const memplan::ByteSpan out{message.sealed.data(), message.sealed.size()};
  for (auto _ : state) {
    memplan::Result<std::size_t> written = sessions.seal(layout->handle(), aad, plaintext, out, message.nonce);
    if (!written) {
      state.SkipWithError(memplan::to_string(written.error()));
      break;
    }
  }
  report(state, size);
}

void bench_raw_seal(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  RawGcm raw;
  Message message(size, aad_size);
  if (!raw.ready()) {
    state.SkipWithError("mbedtls_gcm_setkey failed");
    return;
  }
  const std::uint8_t* aad = message.aad_span().data;
  for (auto _ : state) {
    const int rc = mbedtls_gcm_crypt_and_tag(raw.context(), MBEDTLS_GCM_ENCRYPT, size, message.nonce,
                                             memplan::kNonceSize, aad, aad_size, message.plaintext.data(),
                                             message.sealed.data(), kTagSize, message.sealed.data() + size);
    if (rc != 0) {
      state.SkipWithError("mbedtls_gcm_crypt_and_tag failed");
      break;
    }
  }
  report(state, size);
}

// Open needs an authentic message: the session seals one before timing, and
// the raw context (same key) must open it too, or the comparison is off.
template <class Lock>
bool seal_once(SessionLayout<Lock>& layout, Message& message) {
  memplan::Result<std::size_t> written =
      layout.sessions().seal(layout.handle(), message.aad_span(),
                             memplan::ConstByteSpan{message.plaintext.data(), message.plaintext.size()},
                             memplan::ByteSpan{message.sealed.data(), message.sealed.size()}, message.nonce);
  return written && written.value() == message.sealed.size();
}

template <class Lock>
void bench_runtime_open(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  auto layout = std::make_unique<SessionLayout<Lock>>();
  Message message(size, aad_size);
  if (!layout->ready() || !seal_once(*layout, message)) {
    state.SkipWithError("session setup failed");
    return;
  }
  memplan::BasicSessionTable<Lock>& sessions = layout->sessions();
  const memplan::ConstByteSpan aad = message.aad_span();
  const memplan::ConstByteSpan sealed{message.sealed.data(), message.sealed.size()};
  const memplan::ByteSpan out{message.opened.data(), message.opened.size()};
  for (auto _ : state) {
    memplan::Result<std::size_t> opened = sessions.open(layout->handle(), message.nonce, aad, sealed, out);
    if (!opened) {
      state.SkipWithError(memplan::to_string(opened.error()));
      break;
    }
  }
  report(state, size);
}

void bench_raw_open(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  auto layout = std::make_unique<SessionLayout<memplan::NoLock>>();  // only to seal the message
  RawGcm raw;
  Message message(size, aad_size);
  if (!layout->ready() || !raw.ready() || !seal_once(*layout, message)) {
    state.SkipWithError("setup failed");
    return;
  }
  const std::uint8_t* aad = message.aad_span().data;
  for (auto _ : state) {
    const int rc = mbedtls_gcm_auth_decrypt(raw.context(), size, message.nonce, memplan::kNonceSize, aad, aad_size,
                                            message.sealed.data() + size, kTagSize, message.sealed.data(),
                                            message.opened.data());
    if (rc != 0) {
      state.SkipWithError("mbedtls_gcm_auth_decrypt failed");
      break;
    }
  }
  report(state, size);
}

using SessionFunction = void (*)(benchmark::State&, std::size_t, std::size_t);

struct SessionSubject {
  const char* operation;
  const char* name;
  SessionFunction run;
};

// Raw first, then the runtime with no lock (the target), then with the host
// mutex (what memplan::SessionTable costs on Linux).
constexpr SessionSubject kSubjects[] = {
    {"seal", "raw_mbedtls", bench_raw_seal},
    {"seal", "memplan_nolock", bench_runtime_seal<memplan::NoLock>},
    {"seal", "memplan_mutex", bench_runtime_seal<memplan::HostMutexLock>},
    {"open", "raw_mbedtls", bench_raw_open},
    {"open", "memplan_nolock", bench_runtime_open<memplan::NoLock>},
    {"open", "memplan_mutex", bench_runtime_open<memplan::HostMutexLock>},
};

void register_benchmarks() {
  for (const SessionSubject& subject : kSubjects) {
    for (std::size_t size : kMessageSizes) {
      for (std::size_t aad_size : kAadSizes) {
        const std::string name = std::string("session/") + subject.operation + "/" + subject.name +
                                 "/bytes:" + std::to_string(size) + "/aad:" + std::to_string(aad_size);
        const SessionFunction run = subject.run;
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run(state, size, aad_size); });
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
