// AES-256-GCM seal and open through memplan's session table (caller-span
// overloads) against raw mbedtls_gcm_crypt_and_tag / mbedtls_gcm_auth_decrypt
// on a separate GCM context set with the same key, in the same run.
// 12-byte IV, 16-byte tag, no AAD and 16 B of AAD.
//
// The raw baseline reuses one fixed IV: it is the least work a caller of
// mbedTLS can do, so the reported overhead includes the runtime building its
// nonce (fixed field + counter). Never reuse an IV outside a benchmark.
//
// Names: session/<seal|open>/<subject>/bytes:<n>/aad:<n> (one path per case) and
//        session_side_by_side/<seal|open>/memplan_nolock/bytes:<n>/aad:<n> (raw and runtime
//        timed side by side; counters raw_ns, memplan_ns, overhead_pct).
//        bench/summarize.py parses them.
#include <benchmark/benchmark.h>

#include <mbedtls/gcm.h>

#include <algorithm>
#include <chrono>
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
constexpr memplan::CryptoPolicy kPolicy{256, kTagSize, 4, 8, 4096, 0xFFFFFFFFFFFFull, 0xFFFFFFFF, 5, 0};

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
  memplan::PoolState<kMessageBlocks> message_state_ = {};
  alignas(64) std::uint8_t workspace_storage_[memplan::BasicWorkspace<Lock>::kBuffers * kWorkspaceBufferSize] = {};
  memplan::SessionRecord record_{};
  memplan::SessionRecord* const record_list_[1] = {&record_};
  mbedtls_gcm_context key_slots_[kKeySlots] = {};
  memplan::BasicPool<Lock> message_pool_{"message",
                                         message_storage_,
                                         kMessageBlockSize,
                                         kMessageBlocks,
                                         message_state_.generations,
                                         message_state_.links,
                                         memplan::usage_bit(memplan::Usage::Message),
                                         memplan::AllocationCheck::None};
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

enum class Path { Raw, Runtime };

// Seal: the runtime and the raw context each write their own message.
template <class Lock>
class SealCase {
 public:
  SealCase(std::size_t size, std::size_t aad_size)
      : layout_(std::make_unique<SessionLayout<Lock>>()), runtime_(size, aad_size), raw_(size, aad_size) {}
  bool ready() const noexcept { return layout_->ready() && gcm_.ready(); }
  const char* error() const noexcept { return error_; }

  template <Path kPath>
  bool once() noexcept {
    if constexpr (kPath == Path::Runtime) {
      memplan::Result<std::size_t> written =
          layout_->sessions().seal(layout_->handle(), runtime_.aad_span(),
                                   memplan::ConstByteSpan{runtime_.plaintext.data(), runtime_.plaintext.size()},
                                   memplan::ByteSpan{runtime_.sealed.data(), runtime_.sealed.size()}, runtime_.nonce);
      if (!written) error_ = memplan::to_string(written.error());
      return static_cast<bool>(written);
    } else {
      const std::size_t size = raw_.plaintext.size();
      const bool ok = mbedtls_gcm_crypt_and_tag(gcm_.context(), MBEDTLS_GCM_ENCRYPT, size, raw_.nonce,
                                                memplan::kNonceSize, raw_.aad_span().data, raw_.aad.size(),
                                                raw_.plaintext.data(), raw_.sealed.data(), kTagSize,
                                                raw_.sealed.data() + size) == 0;
      if (!ok) error_ = "mbedtls_gcm_crypt_and_tag failed";
      return ok;
    }
  }

 private:
  std::unique_ptr<SessionLayout<Lock>> layout_;
  RawGcm gcm_;
  Message runtime_;
  Message raw_;
  const char* error_ = "setup failed";
};

// Open: one authentic message, sealed by the session before timing, opened
// by both; the raw context (same key) must accept it, or the comparison is off.
template <class Lock>
class OpenCase {
 public:
  OpenCase(std::size_t size, std::size_t aad_size)
      : layout_(std::make_unique<SessionLayout<Lock>>()), message_(size, aad_size), raw_opened_(size) {
    if (!layout_->ready() || !gcm_.ready()) return;
    memplan::Result<std::size_t> written = layout_->sessions().seal(
        layout_->handle(), message_.aad_span(),
        memplan::ConstByteSpan{message_.plaintext.data(), message_.plaintext.size()},
        memplan::ByteSpan{message_.sealed.data(), message_.sealed.size()}, message_.nonce);
    ready_ = written && written.value() == message_.sealed.size() && once<Path::Raw>() && once<Path::Runtime>();
  }
  bool ready() const noexcept { return ready_; }
  const char* error() const noexcept { return error_; }

  template <Path kPath>
  bool once() noexcept {
    const std::size_t size = message_.plaintext.size();
    if constexpr (kPath == Path::Runtime) {
      memplan::Result<std::size_t> opened = layout_->sessions().open(
          layout_->handle(), message_.nonce, message_.aad_span(),
          memplan::ConstByteSpan{message_.sealed.data(), message_.sealed.size()},
          memplan::ByteSpan{message_.opened.data(), message_.opened.size()});
      if (!opened) error_ = memplan::to_string(opened.error());
      return static_cast<bool>(opened);
    } else {
      const bool ok = mbedtls_gcm_auth_decrypt(gcm_.context(), size, message_.nonce, memplan::kNonceSize,
                                               message_.aad_span().data, message_.aad.size(),
                                               message_.sealed.data() + size, kTagSize, message_.sealed.data(),
                                               raw_opened_.data()) == 0;
      if (!ok) error_ = "mbedtls_gcm_auth_decrypt failed";
      return ok;
    }
  }

 private:
  std::unique_ptr<SessionLayout<Lock>> layout_;
  RawGcm gcm_;
  Message message_;
  std::vector<std::uint8_t> raw_opened_;
  bool ready_ = false;
  const char* error_ = "setup failed";
};

template <class Case, Path kPath>
void bench_single(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  Case test(size, aad_size);
  if (!test.ready()) {
    state.SkipWithError(test.error());
    return;
  }
  for (auto _ : state) {
    if (!test.template once<kPath>()) {
      state.SkipWithError(test.error());
      break;
    }
  }
  report(state, size);
}

// Raw and runtime, side by side: timed in alternating batches inside one
// benchmark, so load from other processes hits both alike; each reports the
// median over its batches (a preempted batch is an outlier, not a shift).
// The order flips every iteration so drift within an iteration cancels.
using BatchClock = std::chrono::steady_clock;
constexpr std::size_t kBatchPlaintextBytes = 32 * 1024;  // ~0.2 ms per batch at every size

double median_of(std::vector<double>& values) {
  if (values.empty()) return 0.0;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

template <class Case, Path kPath>
double time_batch(Case& test, int messages, bool& failed) noexcept {
  const BatchClock::time_point start = BatchClock::now();
  for (int i = 0; i < messages; ++i) failed |= !test.template once<kPath>();
  const BatchClock::time_point stop = BatchClock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() / messages;
}

template <class Case>
void bench_side_by_side(benchmark::State& state, std::size_t size, std::size_t aad_size) {
  Case test(size, aad_size);
  if (!test.ready()) {
    state.SkipWithError(test.error());
    return;
  }
  const int messages = static_cast<int>(std::max<std::size_t>(4, kBatchPlaintextBytes / size));
  std::vector<double> raw_ns;
  std::vector<double> runtime_ns;
  bool raw_first = true;
  for (auto _ : state) {
    bool failed = false;
    if (raw_first) {
      raw_ns.push_back(time_batch<Case, Path::Raw>(test, messages, failed));
      runtime_ns.push_back(time_batch<Case, Path::Runtime>(test, messages, failed));
    } else {
      runtime_ns.push_back(time_batch<Case, Path::Runtime>(test, messages, failed));
      raw_ns.push_back(time_batch<Case, Path::Raw>(test, messages, failed));
    }
    raw_first = !raw_first;
    if (failed) {
      state.SkipWithError(test.error());
      break;
    }
  }
  const double raw = median_of(raw_ns);
  const double runtime = median_of(runtime_ns);
  state.counters["raw_ns"] = raw;
  state.counters["memplan_ns"] = runtime;
  state.counters["overhead_pct"] = raw > 0.0 ? (runtime - raw) / raw * 100.0 : 0.0;
  state.SetItemsProcessed(state.iterations() * 2 * messages);
}

using SessionFunction = void (*)(benchmark::State&, std::size_t, std::size_t);

struct SessionSubject {
  const char* kind;  // "session" (one path per case) or "session_side_by_side"
  const char* operation;
  const char* name;
  SessionFunction run;
};

// Raw first, then the runtime with no lock (the target), then with the host
// mutex (what memplan::SessionTable costs on Linux); then the two side by side.
constexpr SessionSubject kSubjects[] = {
    {"session", "seal", "raw_mbedtls", bench_single<SealCase<memplan::NoLock>, Path::Raw>},
    {"session", "seal", "memplan_nolock", bench_single<SealCase<memplan::NoLock>, Path::Runtime>},
    {"session", "seal", "memplan_mutex", bench_single<SealCase<memplan::HostMutexLock>, Path::Runtime>},
    {"session", "open", "raw_mbedtls", bench_single<OpenCase<memplan::NoLock>, Path::Raw>},
    {"session", "open", "memplan_nolock", bench_single<OpenCase<memplan::NoLock>, Path::Runtime>},
    {"session", "open", "memplan_mutex", bench_single<OpenCase<memplan::HostMutexLock>, Path::Runtime>},
    {"session_side_by_side", "seal", "memplan_nolock", bench_side_by_side<SealCase<memplan::NoLock>>},
    {"session_side_by_side", "open", "memplan_nolock", bench_side_by_side<OpenCase<memplan::NoLock>>},
};

void register_benchmarks() {
  for (const SessionSubject& subject : kSubjects) {
    for (std::size_t size : kMessageSizes) {
      for (std::size_t aad_size : kAadSizes) {
        const std::string name = std::string(subject.kind) + "/" + subject.operation + "/" + subject.name +
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
