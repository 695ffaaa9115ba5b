// libFuzzer target: arbitrary sequences of runtime operations on a layout,
// checked after every step against a model of what must be true:
//   - no block is handed out twice, and every handed-out block reads as zero;
//   - statistics (in use, violations) match the model; the pools stay healthy;
//   - bad releases (double, foreign, interior, null) are errors that change nothing;
//   - no nonce is ever used twice with the same key, across rotations and
//     simulated power loss (the layout's RAM is lost, the nonce store is not);
//   - a failed open never leaves plaintext in the output.
// Any violation aborts (a finding).
#include <fuzzer/FuzzedDataProvider.h>

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

using Layout = memplan_test::Layout<memplan::NoLock>;
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
  std::uint32_t in_use = 0;
  std::uint32_t violations = 0;
};

using Key = std::array<std::uint8_t, 32>;
using NonceBytes = std::array<std::uint8_t, 12>;

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
    switch (in.ConsumeIntegralInRange<int>(0, 11)) {
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
    }
    verify();
  }

 private:
  void boot() {
    held_.clear();
    sessions_.clear();
    layout_ = std::make_unique<Layout>(policy());
    require(static_cast<bool>(layout_->init()), "layout init");
    require(static_cast<bool>(layout_->sessions.attach({&p_.store, &p_.clock, &p_.identity})), "attach");
    models_ = {PoolModel{"key", 32, 16, layout_->key_pool.usages()},
               PoolModel{"small", 256, 8, layout_->small_pool.usages()},
               PoolModel{"large", 4224, 4, layout_->large_pool.usages()}};
    pool_by_name_ = {{"key", &layout_->key_pool}, {"small", &layout_->small_pool}, {"large", &layout_->large_pool}};
  }

  static memplan::CryptoPolicy policy() {
    return memplan::CryptoPolicy{256, 16, 4, 8, /*reserve*/ 8, /*max_messages*/ 50, /*max_age_s*/ 3000, 3};
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
    require(memplan_test::all_zero(b.data(), b.capacity()), "a handed-out block is not zero");
    for (const Buffer& h : held_) require(h.data() != b.data(), "a block handed out twice");
    std::memset(b.data(), 0xA5, b.capacity());
    find_model(expected->name).in_use++;
    held_.push_back(std::move(b));
  }

  void release(FuzzedDataProvider& in) {
    if (held_.empty()) return;
    const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, held_.size() - 1);
    freed_.push_back(held_[i].data());
    find_model(held_[i].pool_name()).in_use--;
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));  // the handle wipes and releases
  }

  void bad_release(FuzzedDataProvider& in) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 3);
    auto& pool = *pool_by_name_[models_[static_cast<std::size_t>(in.ConsumeIntegralInRange<int>(0, 2))].name];
    PoolModel& model = find_model(pool.name());
    std::uint8_t outside[16];
    if (kind == 0) {
      require(pool.release(nullptr).error() == memplan::Error::NullPointer, "null release");
    } else if (kind == 1) {
      require(pool.release(outside).error() == memplan::Error::ForeignPointer, "foreign release");
    } else if (kind == 2) {
      const Buffer* inside = held_in(pool.name());
      if (inside == nullptr) return;
      const std::size_t offset = in.ConsumeIntegralInRange<std::size_t>(1, inside->capacity() - 1);
      require(pool.release(inside->data() + offset).error() == memplan::Error::InteriorPointer, "interior release");
    } else {
      // A block released earlier and not handed out again: a double release.
      for (std::uint8_t* stale : freed_) {
        if (!pool.owns(stale) || is_held(stale)) continue;
        require(pool.release(stale).error() == memplan::Error::DoubleRelease, "double release");
        ++model.violations;
        return;
      }
      return;
    }
    ++model.violations;
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
  }

  void open_tampered(FuzzedDataProvider& in) {
    SessionModel* s = pick(in);
    if (s == nullptr || !s->keyed || last_sealed_.empty()) return;
    std::vector<std::uint8_t> data = last_sealed_;
    const bool tamper = in.ConsumeBool();
    if (tamper) data[in.ConsumeIntegralInRange<std::size_t>(0, data.size() - 1)] ^= 1u << in.ConsumeIntegralInRange<int>(0, 7);
    std::uint8_t nonce[12];
    std::memcpy(nonce, last_nonce_.data(), 12);
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
    }
    require(static_cast<bool>(layout_->pools.health_check()), "pool health check failed");
    require(memplan::mbedtls_calloc_calls() == 0, "mbedTLS used the heap");
  }

  PoolModel& find_model(const char* name) {
    for (auto& m : models_) {
      if (std::strcmp(m.name, name) == 0) return m;
    }
    finding("unknown pool");
  }
  const Buffer* held_in(const char* pool) const {
    for (const auto& b : held_) {
      if (std::strcmp(b.pool_name(), pool) == 0) return &b;
    }
    return nullptr;
  }
  bool is_held(const std::uint8_t* block) const {
    for (const auto& b : held_) {
      if (b.data() == block) return true;
    }
    return false;
  }

  Persistent& p_;
  std::unique_ptr<Layout> layout_;
  std::vector<PoolModel> models_;
  std::map<std::string, memplan::BasicPool<memplan::NoLock>*> pool_by_name_;
  std::vector<Buffer> held_;
  std::vector<std::uint8_t*> freed_;
  std::vector<SessionModel> sessions_;
  memplan::BasicWorkspaceLease<memplan::NoLock> lease_;
  std::vector<std::uint8_t> last_sealed_;
  NonceBytes last_nonce_{};
  Key last_key_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Persistent persistent;
  Harness harness(persistent);
  while (in.remaining_bytes() > 0) harness.step(in);
  return 0;
}
