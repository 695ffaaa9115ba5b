// libFuzzer target: arbitrary sequences of runtime operations on a layout,
// checked after every step against a model of what must be true:
//   - no block is handed out twice, and every handed-out block reads as zero
//     (unless a stale pointer wrote into it while free and its pool does not
//     check: the documented limit);
//   - each block's generation, and the statistics (in use, violations, writes
//     after free), match the model; the pools stay healthy;
//   - stale, double and forged release tokens are errors that change nothing;
//   - a write through a stale pointer into a free block never steers a pool,
//     and a checking pool finds it at the block's next allocation;
//   - no nonce is ever used twice with the same key, across rotations and
//     simulated power loss (the layout's RAM is lost, the nonce store is not),
//     for each AEAD a profile can choose (the input's first byte picks it);
//   - a failed open never leaves plaintext in the output.
// Any violation aborts (a finding).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <memplan/heap_guard.hpp>
#include <string>

#include "../runtime/test_support.hpp"

namespace {

using Buffer = memplan::BasicBuffer<memplan::NoLock>;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "memplan fuzz finding: %s\n", what);
  std::abort();
}
void require(bool ok, const char* what) {
  if (!ok) finding(what);
}

struct PoolModel {
  const char* name;
  std::uint32_t block_size;
  std::uint32_t count;
  memplan::UsageMask usages;
  bool checks_wiped;
  std::uint8_t* storage;
  std::uint32_t in_use = 0;
  std::uint32_t violations = 0;
  std::uint32_t writes_after_free = 0;
  std::vector<std::uint64_t> generation = std::vector<std::uint64_t>(count, 0);  // odd: in use
  std::vector<bool> dirty = std::vector<bool>(count, false);  // free, and written through a stale pointer

  std::uint32_t index_of(const std::uint8_t* data) const {
    return static_cast<std::uint32_t>(static_cast<std::size_t>(data - storage) / block_size);
  }
};

// A block taken from a pool directly, released by its token.
struct RawBlock {
  const char* pool;
  memplan::Block block;
};

// The AEADs a profile can choose, each under a policy of its own shape.
struct GcmConfig {
  using Backend = memplan::AesGcm;
  static constexpr std::size_t kKeyBytes = 32, kTag = 16, kFixed = 4, kCounter = 8;
};
struct CcmConfig {  // a 13-byte nonce and 8-byte tags, as on 802.15.4 links
  using Backend = memplan::AesCcm<13>;
  static constexpr std::size_t kKeyBytes = 16, kTag = 8, kFixed = 5, kCounter = 8;
};
struct ShortCcmConfig {  // the shortest nonce: no fixed field, a 7-byte counter
  using Backend = memplan::AesCcm<7>;
  static constexpr std::size_t kKeyBytes = 32, kTag = 4, kFixed = 0, kCounter = 7;
};
struct ChaChaPolyConfig {
  using Backend = memplan::ChaCha20Poly1305;
  static constexpr std::size_t kKeyBytes = 32, kTag = 16, kFixed = 4, kCounter = 8;
};

template <class Config>
struct Fuzz {
using Layout = memplan_test::Layout<memplan::NoLock, typename Config::Backend>;
using Key = std::array<std::uint8_t, Config::kKeyBytes>;
using NonceBytes = std::array<std::uint8_t, Config::Backend::kNonceSize>;

struct SessionModel {
  memplan::SessionHandle handle;
  bool keyed = false;
  Key key{};
};

// State that survives a simulated power loss: the nonce store and what was sealed.
struct Persistent {
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock{100};
  memplan::FixedIdentity identity{reinterpret_cast<const std::uint8_t*>("FUZZ"), 4};
  std::map<Key, std::set<NonceBytes>> nonces_by_key;
};

class Harness {
 public:
  explicit Harness(Persistent& persistent) : p_(persistent) { boot(); }

  void step(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 13)) {
      case 0:
        allocate(in);
        break;
      case 1:
        release(in);
        break;
      case 2:
        bad_release(in);
        break;
      case 3:
        workspace(in);
        break;
      case 4:
        open_session();
        break;
      case 5:
        load_key(in);
        break;
      case 6:
      case 7:
        seal(in);
        break;
      case 8:
        open_tampered(in);
        break;
      case 9:
        rotate(in);
        break;
      case 10:
        close(in);
        break;
      case 11:
        if (in.ConsumeIntegralInRange<int>(0, 7) == 0) power_loss();
        p_.clock.advance(in.ConsumeIntegralInRange<std::uint32_t>(0, 600));
        break;
      case 12:
        raw_block(in);
        break;
      case 13:
        stale_write(in);
        break;
    }
    verify();
  }

 private:
  void boot() {
    held_.clear();
    raw_held_.clear();
    stale_tokens_.clear();
    freed_.clear();
    sessions_.clear();
    layout_ = std::make_unique<Layout>(policy());
    require(static_cast<bool>(layout_->init()), "layout init");
    require(static_cast<bool>(layout_->sessions.attach({&p_.store, &p_.clock, &p_.identity})), "attach");
    const auto checks = [](const memplan::BasicPool<memplan::NoLock>& pool) {
      return pool.allocation_check() == memplan::AllocationCheck::Wiped;
    };
    models_ = {PoolModel{"key", 32, 16, layout_->key_pool.usages(), checks(layout_->key_pool), layout_->key_storage},
               PoolModel{"small", 256, 8, layout_->small_pool.usages(), checks(layout_->small_pool),
                         layout_->small_storage},
               PoolModel{"large", 4224, 4, layout_->large_pool.usages(), checks(layout_->large_pool),
                         layout_->large_storage}};
    pool_by_name_ = {{"key", &layout_->key_pool}, {"small", &layout_->small_pool}, {"large", &layout_->large_pool}};
  }

  static memplan::CryptoPolicy policy() {
    return memplan::CryptoPolicy{Config::kKeyBytes * 8, Config::kTag, Config::kFixed, Config::kCounter, /*reserve*/ 8,
                                 /*max_messages*/ 50, /*max_age_s*/ 3000, 3, /*replay_window*/ 0};
  }

  void allocate(FuzzedDataProvider& in) {
    const auto usage = static_cast<memplan::Usage>(in.ConsumeIntegralInRange<int>(0, 3));
    const std::size_t size = in.ConsumeIntegralInRange<std::size_t>(0, 4400);
    // The model's answer: the smallest allowed class that fits and has room.
    const PoolModel* expected = nullptr;
    bool fits = false;
    for (auto& m : models_) {
      if ((m.usages & memplan::usage_bit(usage)) == 0 || m.block_size < size) continue;
      fits = true;
      if (m.in_use < m.count) {
        expected = &m;
        break;
      }
    }
    auto result = layout_->pools.allocate(size, usage);
    if (size == 0 || !fits) {
      require(!result && result.error() == memplan::Error::SizeNotSupported, "SizeNotSupported expected");
      return;
    }
    if (expected == nullptr) {
      require(!result && result.error() == memplan::Error::PoolExhausted, "PoolExhausted expected");
      return;
    }
    require(result.has_value(), "allocation the model allows failed");
    Buffer& b = result.value();
    require(std::strcmp(b.pool_name(), expected->name) == 0, "allocation from the wrong class");
    handed_out(find_model(expected->name), b.data(), nullptr);
    held_.push_back(std::move(b));
  }

  // The model's view of a block just handed out (its token, when the caller
  // has one: raw blocks).
  void handed_out(PoolModel& model, std::uint8_t* data, const memplan::BlockToken* token) {
    require(data >= model.storage && model.index_of(data) < model.count &&
                data == model.storage + std::size_t{model.index_of(data)} * model.block_size,
            "a handed-out block outside its pool's storage");
    const std::uint32_t index = model.index_of(data);
    require(model.generation[index] % 2 == 0, "a block in use handed out again");
    model.generation[index] += 1;
    if (token != nullptr) {
      require(token->index == index && token->generation.value() == model.generation[index], "token differs from the model");
    }
    if (model.dirty[index]) {
      model.dirty[index] = false;
      if (model.checks_wiped) {
        ++model.writes_after_free;
        ++model.violations;
        require(memplan_test::all_zero(data, model.block_size), "a stale write reached the next owner of a checked block");
      }
    } else {
      require(memplan_test::all_zero(data, model.block_size), "a handed-out block is not zero");
    }
    std::memset(data, 0xA5, model.block_size);
    model.in_use++;
  }

  void taken_back(PoolModel& model, std::uint8_t* data) {
    model.generation[model.index_of(data)] += 1;
    model.in_use--;
    freed_.push_back(data);
  }

  void release(FuzzedDataProvider& in) {
    if (held_.empty()) return;
    const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, held_.size() - 1);
    PoolModel& model = find_model(held_[i].pool_name());
    taken_back(model, held_[i].data());
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));  // the handle wipes and releases
    require(memplan_test::all_zero(freed_.back(), model.block_size), "a released block was not wiped");
  }

  // A block taken from, or given back to, a pool directly, by token.
  void raw_block(FuzzedDataProvider& in) {
    PoolModel& model = models_[static_cast<std::size_t>(in.ConsumeIntegralInRange<int>(0, 2))];
    auto& pool = *pool_by_name_[model.name];
    if (in.ConsumeBool() || raw_held_.empty()) {
      auto result = pool.allocate();
      if (model.in_use == model.count) {
        require(!result && result.error() == memplan::Error::PoolExhausted, "PoolExhausted expected");
        return;
      }
      require(result.has_value(), "raw allocation the model allows failed");
      handed_out(model, result.value().data, &result.value().token);
      raw_held_.push_back(RawBlock{model.name, result.value()});
      return;
    }
    const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, raw_held_.size() - 1);
    const RawBlock raw = raw_held_[i];
    raw_held_.erase(raw_held_.begin() + static_cast<std::ptrdiff_t>(i));
    require(static_cast<bool>(pool_by_name_[raw.pool]->release(raw.block.token)), "raw release");
    taken_back(find_model(raw.pool), raw.block.data);
    stale_tokens_.push_back(raw);
  }

  // Releases no allocation gives: kept past their release, or forged.
  void bad_release(FuzzedDataProvider& in) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 2);
    if (kind == 0 && !stale_tokens_.empty()) {
      const RawBlock stale = stale_tokens_[in.ConsumeIntegralInRange<std::size_t>(0, stale_tokens_.size() - 1)];
      PoolModel& model = find_model(stale.pool);
      const auto expected = model.generation[stale.block.token.index] == stale.block.token.generation.value() + 1
                                ? memplan::Error::DoubleRelease
                                : memplan::Error::StaleHandle;
      require(pool_by_name_[stale.pool]->release(stale.block.token).error() == expected, "stale token");
      ++model.violations;
      return;
    }
    PoolModel& model = models_[static_cast<std::size_t>(in.ConsumeIntegralInRange<int>(0, 2))];
    memplan::BlockToken forged{};
    if (kind == 1) {
      forged.index = in.ConsumeIntegralInRange<std::uint32_t>(model.count, 0xFFFFFFFFu);  // no such block
      forged.generation = memplan::BlockGeneration{1, 0};
    } else {
      forged.index = in.ConsumeIntegralInRange<std::uint32_t>(0, model.count - 1);
      forged.generation = memplan::BlockGeneration{in.ConsumeIntegral<std::uint32_t>() & ~1u, 0};  // even
    }
    require(pool_by_name_[model.name]->release(forged).error() == memplan::Error::InvalidHandle, "forged token");
    ++model.violations;
  }

  // A write through a pointer kept past its release, into a block that is
  // free now (into a block handed out again it reaches the new owner, which
  // no allocator can see: SECURITY.md).
  void stale_write(FuzzedDataProvider& in) {
    if (freed_.empty()) return;
    std::uint8_t* stale = freed_[in.ConsumeIntegralInRange<std::size_t>(0, freed_.size() - 1)];
    for (auto& model : models_) {
      if (stale < model.storage || model.index_of(stale) >= model.count) continue;
      const std::uint32_t index = model.index_of(stale);
      if (model.generation[index] % 2 != 0) return;
      stale[in.ConsumeIntegralInRange<std::uint32_t>(0, model.block_size - 1)] =
          in.ConsumeIntegralInRange<std::uint8_t>(1, 255);
      model.dirty[index] = true;
      return;
    }
  }

  void workspace(FuzzedDataProvider& in) {
    if (lease_.empty()) {
      auto r = layout_->workspace.acquire();
      require(r.has_value(), "workspace free but not granted");
      lease_ = std::move(r.value());
      require(memplan_test::all_zero(lease_.input().data, lease_.input().size), "workspace input not wiped");
      require(memplan_test::all_zero(lease_.scratch().data, lease_.scratch().size), "workspace scratch not wiped");
      std::memset(lease_.scratch().data, 0x5A, in.ConsumeIntegralInRange<std::size_t>(0, lease_.scratch().size));
      require(layout_->workspace.acquire().error() == memplan::Error::NoBufferAvailable, "workspace taken twice");
    } else {
      lease_.reset();
    }
  }

  void open_session() {
    auto r = layout_->sessions.open_session();
    if (sessions_.size() == Layout::kSessions) {
      require(!r && r.error() == memplan::Error::NoSessionAvailable, "more sessions than slots");
      return;
    }
    require(r.has_value(), "open_session");
    sessions_.push_back(SessionModel{r.value(), false, {}});
  }

  SessionModel* pick(FuzzedDataProvider& in) {
    if (sessions_.empty()) return nullptr;
    return &sessions_[in.ConsumeIntegralInRange<std::size_t>(0, sessions_.size() - 1)];
  }

  // Few distinct keys, so a key comes back across rotations and power loss.
  // A key belongs to one session slot (SECURITY.md): the nonce counter is
  // the slot's, so the same key in two slots would repeat nonces by design.
  static Key make_key(const SessionModel& s, FuzzedDataProvider& in) {
    Key key{};
    key[0] = static_cast<std::uint8_t>(s.handle.index);
    key[1] = in.ConsumeIntegral<std::uint8_t>() & 0x7u;
    return key;
  }

  void load_key(FuzzedDataProvider& in) {
    SessionModel* s = pick(in);
    if (s == nullptr) return;
    const Key key = make_key(*s, in);
    auto r = layout_->sessions.load_key(s->handle, {key.data(), key.size()});
    if (s->keyed) {
      require(!r && r.error() == memplan::Error::InvalidSessionState, "key loaded twice");
      return;
    }
    require(static_cast<bool>(r), "load_key");
    s->keyed = true;
    s->key = key;
  }

  void seal(FuzzedDataProvider& in) {
    SessionModel* s = pick(in);
    if (s == nullptr) return;
    std::uint8_t plain[96];
    const std::size_t size = in.ConsumeIntegralInRange<std::size_t>(0, sizeof plain);
    std::memset(plain, 0x3C, size);
    auto sealed = layout_->sessions.seal(s->handle, {}, {plain, size});
    if (!s->keyed) {
      require(!sealed && sealed.error() == memplan::Error::InvalidSessionState, "seal without a key");
      return;
    }
    if (!sealed) {
      const auto e = sealed.error();
      require(e == memplan::Error::KeyRotationRequired || e == memplan::Error::SecurityLockout ||
                  e == memplan::Error::PoolExhausted,
              "unexpected seal error");
      return;
    }
    NonceBytes nonce;
    std::memcpy(nonce.data(), sealed.value().nonce, nonce.size());
    require(p_.nonces_by_key[s->key].insert(nonce).second, "a nonce repeated under one key");
    last_sealed_.assign(sealed.value().data.data(), sealed.value().data.data() + sealed.value().data.size());
    last_nonce_ = nonce;
    last_key_ = s->key;
    // The sealed message's pool block: handed out, then released when
    // `sealed` ends here, which the model follows as for any Buffer.
    for (auto& model : models_) {
      std::uint8_t* data = sealed.value().data.data();
      if (data < model.storage || model.index_of(data) >= model.count) continue;
      const std::uint32_t index = model.index_of(data);
      require(model.generation[index] % 2 == 0, "a block in use sealed into");
      if (model.dirty[index] && model.checks_wiped) {
        ++model.writes_after_free;
        ++model.violations;
      }
      model.dirty[index] = false;
      model.generation[index] += 2;
    }
  }

  void open_tampered(FuzzedDataProvider& in) {
    SessionModel* s = pick(in);
    if (s == nullptr || !s->keyed || last_sealed_.empty()) return;
    std::vector<std::uint8_t> data = last_sealed_;
    const bool tamper = in.ConsumeBool();
    if (tamper) data[in.ConsumeIntegralInRange<std::size_t>(0, data.size() - 1)] ^= 1u << in.ConsumeIntegralInRange<int>(0, 7);
    typename memplan::BasicSessionTable<memplan::NoLock, typename Config::Backend>::Nonce nonce;
    std::memcpy(nonce, last_nonce_.data(), sizeof nonce);
    std::uint8_t out[128];
    std::memset(out, 0xEE, sizeof out);
    auto r = layout_->sessions.open(s->handle, nonce, {}, {data.data(), data.size()}, {out, sizeof out});
    if (!r) {
      require(memplan_test::all_zero(out, sizeof out), "a failed open left plaintext in the output");
      return;
    }
    require(!tamper && s->key == last_key_, "a forged or foreign message opened");
  }

  void rotate(FuzzedDataProvider& in) {
    SessionModel* s = pick(in);
    if (s == nullptr) return;
    const Key key = make_key(*s, in);
    auto r = layout_->sessions.rotate_key(s->handle, {key.data(), key.size()});
    if (!s->keyed) {
      require(!r && r.error() == memplan::Error::InvalidSessionState, "rotate without a key");
      return;
    }
    require(static_cast<bool>(r), "rotate");
    s->key = key;
  }

  void close(FuzzedDataProvider& in) {
    if (sessions_.empty()) return;
    const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, sessions_.size() - 1);
    const auto handle = sessions_[i].handle;
    require(static_cast<bool>(layout_->sessions.close(handle)), "close");
    require(layout_->sessions.close(handle).error() == memplan::Error::InvalidSession, "stale handle accepted");
    sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void power_loss() {
    lease_ = {};
    held_.clear();  // the handles release into the old layout before it dies
    freed_.clear();
    last_sealed_.clear();
    boot();
  }

  void verify() {
    for (auto& m : models_) {
      const auto stats = pool_by_name_[m.name]->stats();
      require(stats.in_use == m.in_use, "in-use statistic differs from the model");
      require(stats.security_violations == m.violations, "violation statistic differs from the model");
      require(stats.writes_after_free == m.writes_after_free, "writes-after-free statistic differs from the model");
      const bool clean = std::none_of(m.dirty.begin(), m.dirty.end(), [](bool d) { return d; });
      // health_check() reads every free block: a dirty one is, rightly, a failure.
      require(static_cast<bool>(pool_by_name_[m.name]->health_check()) == clean, "pool health check differs from the model");
    }
    require(memplan::mbedtls_calloc_calls() == 0, "mbedTLS used the heap");
  }

  PoolModel& find_model(const char* name) {
    for (auto& m : models_) {
      if (std::strcmp(m.name, name) == 0) return m;
    }
    finding("unknown pool");
  }

  Persistent& p_;
  std::unique_ptr<Layout> layout_;
  std::vector<PoolModel> models_;
  std::map<std::string, memplan::BasicPool<memplan::NoLock>*> pool_by_name_;
  std::vector<Buffer> held_;
  std::vector<RawBlock> raw_held_;
  std::vector<RawBlock> stale_tokens_;  // raw blocks released: their tokens replayed
  std::vector<std::uint8_t*> freed_;    // pointers kept past their release
  std::vector<SessionModel> sessions_;
  memplan::BasicWorkspaceLease<memplan::NoLock> lease_;
  std::vector<std::uint8_t> last_sealed_;
  NonceBytes last_nonce_{};
  Key last_key_{};
};
};

template <class Config>
void run(FuzzedDataProvider& in) {
  typename Fuzz<Config>::Persistent persistent;
  typename Fuzz<Config>::Harness harness(persistent);
  while (in.remaining_bytes() > 0) harness.step(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: run<GcmConfig>(in); break;
    case 1: run<CcmConfig>(in); break;
    case 2: run<ShortCcmConfig>(in); break;
    default: run<ChaChaPolyConfig>(in); break;
  }
  return 0;
}
