// Session rules: state machine, runtime-chosen nonces, reservation across
// power loss, rotation by count and by age, lockout, wiping, zero heap.
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memplan/heap_guard.hpp>
#include <memplan/port/host_ports.hpp>
#include <random>
#include <set>
#include <vector>

#include "test_support.hpp"

using memplan::Error;
using memplan::SessionState;
using Layout = memplan_test::Layout<memplan::NoLock>;
using memplan_test::all_zero;

namespace {

const std::uint8_t kKeyA[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
const std::uint8_t kKeyB[32] = {0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
                                0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5,
                                0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
const std::uint8_t kDevice[4] = {0xDE, 0xC0, 0xDE, 0x01};

struct Fixture {
  explicit Fixture(const memplan::CryptoPolicy& policy = memplan_test::kPolicy256)
      : layout(new Layout(policy)) {
    REQUIRE(layout->init());
    REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
  }
  memplan::SessionHandle open_with_key(const std::uint8_t* key = kKeyA) {
    auto handle = layout->sessions.open_session();
    REQUIRE(handle);
    REQUIRE(layout->sessions.load_key(handle.value(), {key, 32}));
    return handle.value();
  }
  memplan::InMemoryNonceStore<Layout::kSessions> store;
  memplan::ManualClock clock{1000};
  memplan::FixedIdentity identity{kDevice, 4};
  std::unique_ptr<Layout> layout;
  memplan::BasicSessionTable<memplan::NoLock>& sessions() { return layout->sessions; }
};

const std::uint8_t kMessage[] = "attack at dawn, bring the secret sauce";
const memplan::ConstByteSpan kPlain{kMessage, sizeof kMessage};
const std::uint8_t kAad[] = "header v1";
const memplan::ConstByteSpan kAadSpan{kAad, sizeof kAad};

std::uint64_t counter_of(const std::uint8_t (&nonce)[memplan::kNonceSize]) {
  std::uint64_t value = 0;
  for (std::size_t i = 4; i < 12; ++i) value = (value << 8) | nonce[i];
  return value;
}

}  // namespace

TEST_CASE("seal then open round-trips - in a pool buffer and in a caller span", "[session]") {
  Fixture f;
  auto s = f.open_with_key();
  auto sealed = f.sessions().seal(s, kAadSpan, kPlain);
  REQUIRE(sealed);
  auto& m = sealed.value();
  CHECK(m.ciphertext_size == sizeof kMessage);
  CHECK(m.tag_size == 16);
  CHECK(m.data.size() == sizeof kMessage + 16);
  CHECK(std::string(m.data.pool_name()) == "small");
  CHECK(std::memcmp(m.data.data(), kMessage, sizeof kMessage) != 0);
  CHECK(std::memcmp(m.nonce, kDevice, 4) == 0);  // fixed field, then the counter
  CHECK(counter_of(m.nonce) == 0);

  std::uint8_t plain[64] = {};
  auto opened = f.sessions().open(s, m.nonce, kAadSpan, m.data.span(), {plain, sizeof plain});
  REQUIRE(opened);
  CHECK(opened.value() == sizeof kMessage);
  CHECK(std::memcmp(plain, kMessage, sizeof kMessage) == 0);

  auto in_pool = f.sessions().open(s, m.nonce, kAadSpan, m.data.span());
  REQUIRE(in_pool);
  CHECK(in_pool.value().size() == sizeof kMessage);
  CHECK(std::memcmp(in_pool.value().data(), kMessage, sizeof kMessage) == 0);

  std::uint8_t out[sizeof kMessage + 16];
  std::uint8_t nonce[12];
  auto written = f.sessions().seal(s, kAadSpan, kPlain, {out, sizeof out}, nonce);
  REQUIRE(written);
  CHECK(written.value() == sizeof out);
  CHECK(counter_of(nonce) == 1);
  CHECK(f.sessions().state(s).value() == SessionState::Active);
  CHECK(memplan::mbedtls_calloc_calls() == 0);
}

TEST_CASE("every call checks the session state", "[session][state]") {
  Fixture f;
  std::uint8_t out[128];
  std::uint8_t nonce[12] = {};
  memplan::SessionHandle bogus{99, 0};
  CHECK(f.sessions().seal(bogus, kAadSpan, kPlain).error() == Error::InvalidSession);
  CHECK(f.sessions().close(bogus).error() == Error::InvalidSession);
  CHECK(f.sessions().load_key(memplan::SessionHandle{0, 0}, {kKeyA, 32}).error() ==
        Error::InvalidSession);  // Idle

  auto s = f.sessions().open_session().value();
  CHECK(f.sessions().state(s).value() == SessionState::Allocated);
  CHECK(f.sessions().seal(s, kAadSpan, kPlain).error() == Error::InvalidSessionState);
  CHECK(f.sessions().open(s, nonce, kAadSpan, {out, 32}, {out, sizeof out}).error() ==
        Error::InvalidSessionState);
  CHECK(f.sessions().rotate_key(s, {kKeyB, 32}).error() == Error::InvalidSessionState);
  CHECK(f.sessions().status(s).error() == Error::InvalidSessionState);
  CHECK(f.sessions().load_key(s, {kKeyA, 16}).error() == Error::InvalidKeySize);
  CHECK(f.sessions().load_key(s, {nullptr, 32}).error() == Error::NullPointer);
  REQUIRE(f.sessions().load_key(s, {kKeyA, 32}));
  CHECK(f.sessions().state(s).value() == SessionState::KeyLoaded);
  CHECK(f.sessions().load_key(s, {kKeyA, 32}).error() == Error::InvalidSessionState);

  REQUIRE(f.sessions().close(s));
  CHECK(f.sessions().state(s).error() == Error::InvalidSession);  // stale handle
  CHECK(f.sessions().seal(s, kAadSpan, kPlain).error() == Error::InvalidSession);
  memplan::SessionHandle reused{};
  for (std::size_t i = 0; i < Layout::kSessions && reused.index != s.index; ++i) {
    reused = f.sessions().open_session().value();
  }
  REQUIRE(reused.index == s.index);
  CHECK(reused.generation != s.generation);
  CHECK(f.sessions().close(s).error() ==
        Error::InvalidSession);  // the old handle cannot close the new session
}

TEST_CASE("open_session takes closed slots back from the idle list, the last closed first", "[session]") {
  Fixture f;
  memplan::SessionHandle handles[Layout::kSessions];
  for (std::size_t i = 0; i < Layout::kSessions; ++i) {
    handles[i] = f.sessions().open_session().value();
    CHECK(handles[i].index == i);
  }
  REQUIRE(f.sessions().close(handles[2]));
  REQUIRE(f.sessions().close(handles[0]));
  REQUIRE(f.sessions().close(handles[3]));
  CHECK(f.sessions().open_session().value().index == 3);  // no scan: the list's head
  CHECK(f.sessions().open_session().value().index == 0);
  CHECK(f.sessions().open_session().value().index == 2);
  CHECK(f.sessions().open_session().error() == Error::NoSessionAvailable);
}

TEST_CASE("sessions and key slots run out cleanly", "[session]") {
  Fixture f;
  memplan::SessionHandle handles[Layout::kSessions];
  for (auto& h : handles) h = f.open_with_key();
  CHECK(f.sessions().open_session().error() == Error::NoSessionAvailable);
  CHECK(f.sessions().stats().open_sessions == Layout::kSessions);
  REQUIRE(f.sessions().close(handles[0]));
  CHECK(f.sessions().open_session());
}

TEST_CASE("a table without ports - or used before init - refuses", "[session]") {
  Layout layout(memplan_test::kPolicy256);
  CHECK(layout.sessions.open_session().error() == Error::NotInitialized);
  REQUIRE(layout.init());
  auto s = layout.sessions.open_session().value();
  CHECK(layout.sessions.load_key(s, {kKeyA, 32}).error() == Error::NotInitialized);
  CHECK(layout.sessions.attach({}).error() == Error::InvalidArgument);
  CHECK(layout.sessions.init().error() == Error::AlreadyInitialized);
}

TEST_CASE("an invalid policy is refused at init", "[session]") {
  memplan::CryptoPolicy bad = memplan_test::kPolicy256;
  bad.nonce_counter_size = 7;  // 4 + 7 != 12
  Layout layout(bad);
  CHECK(layout.init().error() == Error::InvalidArgument);
  memplan::CryptoPolicy short_tag = memplan_test::kPolicy256;
  short_tag.tag_size = 8;
  Layout layout2(short_tag);
  CHECK(layout2.init().error() == Error::InvalidArgument);
}

TEST_CASE("nonces never repeat across 100000 seals", "[session][nonce]") {
  Fixture f;
  auto s = f.open_with_key();
  std::set<std::uint64_t> seen;
  std::uint8_t out[8 + 16];
  std::uint8_t nonce[12];
  const std::uint8_t small[8] = {};
  for (int i = 0; i < 100000; ++i) {
    if (i % 1000 == 999) REQUIRE(f.sessions().rotate_key(s, {i % 2000 == 999 ? kKeyB : kKeyA, 32}));
    auto r = f.sessions().seal(s, {}, {small, sizeof small}, {out, sizeof out}, nonce);
    REQUIRE(r);
    REQUIRE(std::memcmp(nonce, kDevice, 4) == 0);
    REQUIRE(seen.insert(counter_of(nonce)).second);
  }
  CHECK(seen.size() == 100000);
  // Reserved 16 ahead: one persist per 16 seals, never a seal past the mark.
  CHECK(f.store.persists() == 100000 / 16);
  CHECK(f.store.mark(s.index) >= 100000);
}

TEST_CASE("nonces never repeat across power loss at random points", "[session][nonce][power]") {
  memplan::InMemoryNonceStore<Layout::kSessions> store;  // survives the "power loss"
  memplan::ManualClock clock{5};
  memplan::FixedIdentity identity{kDevice, 4};
  std::set<std::uint64_t> seen;
  std::mt19937 random(7u);
  std::uint8_t out[4 + 16];
  std::uint8_t nonce[12];
  const std::uint8_t msg[4] = {1, 2, 3, 4};
  for (int boot = 0; boot < 200; ++boot) {
    auto layout = std::make_unique<Layout>(memplan_test::kPolicy256);  // RAM is lost
    REQUIRE(layout->init());
    REQUIRE(layout->sessions.attach({&store, &clock, &identity}));
    auto s = layout->sessions.open_session().value();
    REQUIRE(layout->sessions.load_key(s, {kKeyA, 32}));  // the same key after every boot
    const int seals = static_cast<int>(random() % 40);   // power fails after a random number of seals
    for (int i = 0; i < seals; ++i) {
      REQUIRE(layout->sessions.seal(s, {}, {msg, 4}, {out, sizeof out}, nonce));
      REQUIRE(seen.insert(counter_of(nonce)).second);
    }
  }
  CHECK(seen.size() > 1000);
}

TEST_CASE("sealing fails closed when the store fails", "[session][nonce]") {
  Fixture f;
  auto s = f.open_with_key();
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  f.store.fail_persists(true);
  CHECK(f.sessions().seal(s, kAadSpan, kPlain, {out, sizeof out}, nonce).error() == Error::StorageFailure);
  f.store.fail_persists(false);
  REQUIRE(f.sessions().seal(s, kAadSpan, kPlain, {out, sizeof out}, nonce));
  CHECK(counter_of(nonce) == 0);
  f.store.fail_loads(true);
  auto t = f.sessions().open_session().value();
  CHECK(f.sessions().load_key(t, {kKeyA, 32}).error() == Error::StorageFailure);
}

TEST_CASE("the counter stops before it wraps", "[session][nonce]") {
  memplan::CryptoPolicy policy = memplan_test::kPolicy256;
  policy.nonce_fixed_size = 8;
  policy.nonce_counter_size = 4;
  policy.max_messages = 0xFFFFFFFFull;
  Fixture f(policy);
  f.store.set_mark(0, 0xFFFFFFFDull);
  auto s = f.open_with_key();
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  CHECK(nonce[11] == 0xFE);
  CHECK(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce).error() == Error::NonceExhausted);
}

TEST_CASE("rotation is required after max_messages", "[session][rotation]") {
  memplan::CryptoPolicy policy = memplan_test::kPolicy256;
  policy.max_messages = 3;
  Fixture f(policy);
  auto s = f.open_with_key();
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  for (int i = 0; i < 3; ++i) REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::KeyRotationRequired);
  CHECK(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce).error() == Error::KeyRotationRequired);
  CHECK(f.sessions().state(s).value() == SessionState::Expired);
  REQUIRE(f.sessions().rotate_key(s, {kKeyB, 32}));
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::Secure);
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  CHECK(counter_of(nonce) == 3);  // the counter continues across keys
  CHECK(f.sessions().stats().rotations == 1);
}

TEST_CASE("rotation is required after max_age_s on the clock", "[session][rotation]") {
  Fixture f;
  auto s = f.open_with_key();
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  f.clock.advance(3599);
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::Secure);
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  f.clock.advance(1);
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::KeyRotationRequired);
  CHECK(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce).error() == Error::KeyRotationRequired);
  f.clock.fail(true);
  CHECK(f.sessions().status(s).error() == Error::ClockFailure);
  CHECK(f.sessions().rotate_key(s, {kKeyB, 32}).error() == Error::ClockFailure);
  f.clock.fail(false);
  REQUIRE(f.sessions().rotate_key(s, {kKeyB, 32}));
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
}

TEST_CASE("rotation moves to a spare slot and wipes the old one", "[session][rotation][wipe]") {
  Fixture f;
  auto s = f.open_with_key();
  const std::uint8_t* first = reinterpret_cast<const std::uint8_t*>(&f.layout->key_slots[0]);
  CHECK(!all_zero(first, sizeof(mbedtls_gcm_context)));
  REQUIRE(f.sessions().rotate_key(s, {kKeyB, 32}));
  // The old schedule is gone; mbedtls_gcm_init leaves a zeroed context.
  CHECK(all_zero(first, sizeof(mbedtls_gcm_context)));
  CHECK(
      !all_zero(reinterpret_cast<const std::uint8_t*>(&f.layout->key_slots[1]), sizeof(mbedtls_gcm_context)));
}

TEST_CASE("rotation reuses the slots that earlier rotations freed", "[session][rotation]") {
  Fixture f;
  memplan::SessionHandle handles[Layout::kSessions];
  for (auto& h : handles) h = f.open_with_key();
  auto extra = f.sessions().open_session();
  CHECK(!extra);  // 4 sessions hold 4 of 5 slots; one spare remains
  REQUIRE(f.sessions().rotate_key(handles[0], {kKeyB, 32}));  // uses the spare
  REQUIRE(f.sessions().rotate_key(handles[1], {kKeyB, 32}));  // uses the slot handles[0] left
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  for (auto& h : handles) REQUIRE(f.sessions().seal(h, {}, kPlain, {out, sizeof out}, nonce));
}

TEST_CASE("tampering is rejected - the output wiped - violations lead to lockout", "[session][security]") {
  Fixture f;
  auto s = f.open_with_key();
  auto sealed = f.sessions().seal(s, kAadSpan, kPlain);
  REQUIRE(sealed);
  auto& m = sealed.value();
  std::uint8_t plain[64];

  auto try_open = [&](const std::uint8_t* nonce, memplan::ConstByteSpan aad, memplan::ConstByteSpan data) {
    std::memset(plain, 0xEE, sizeof plain);
    std::uint8_t n[12];
    std::memcpy(n, nonce, 12);
    auto r = f.sessions().open(s, n, aad, data, {plain, sizeof plain});
    CHECK(all_zero(plain, sizeof plain));
    return r;
  };
  std::vector<std::uint8_t> data(m.data.data(), m.data.data() + m.data.size());
  data[3] ^= 1;  // ciphertext
  CHECK(try_open(m.nonce, kAadSpan, {data.data(), data.size()}).error() == Error::AuthenticationFailed);
  data[3] ^= 1;
  data[data.size() - 1] ^= 0x80;  // tag
  CHECK(try_open(m.nonce, kAadSpan, {data.data(), data.size()}).error() == Error::AuthenticationFailed);
  data[data.size() - 1] ^= 0x80;
  const std::uint8_t other_aad[] = "header v2";
  CHECK(try_open(m.nonce, {other_aad, sizeof other_aad}, {data.data(), data.size()}).error() ==
        Error::AuthenticationFailed);
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::SecurityViolation);  // 3 = max
  CHECK(try_open(m.nonce, kAadSpan, {data.data(), data.size()}).error() == Error::SecurityLockout);
  CHECK(f.sessions().seal(s, {}, kPlain).error() == Error::SecurityLockout);
  CHECK(f.sessions().stats().authentication_failures == 3);
  CHECK(f.sessions().stats().lockouts == 1);
  REQUIRE(f.sessions().rotate_key(s, {kKeyB, 32}));  // a new key lifts the lockout
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::Secure);
  CHECK(try_open(m.nonce, kAadSpan, {data.data(), data.size()}).error() ==
        Error::AuthenticationFailed);  // old key's message
}

TEST_CASE("a failed open into a pool buffer releases nothing", "[session][security]") {
  Fixture f;
  auto s = f.open_with_key();
  auto sealed = f.sessions().seal(s, kAadSpan, kPlain);
  sealed.value().data.data()[0] ^= 1;
  auto opened = f.sessions().open(s, sealed.value().nonce, kAadSpan, sealed.value().data.span());
  CHECK(opened.error() == Error::AuthenticationFailed);
  CHECK(f.layout->small_pool.stats().in_use == 1);  // only the sealed message
  CHECK(f.layout->pools.health_check());            // the plaintext block came back wiped
}

TEST_CASE("lengths and spans are checked", "[session]") {
  Fixture f;
  auto s = f.open_with_key();
  std::vector<std::uint8_t> big(Layout::kBuffer + 1);
  std::uint8_t out[64];
  std::uint8_t nonce[12] = {};
  CHECK(f.sessions().seal(s, {}, {big.data(), big.size()}).error() == Error::DataTooLarge);
  CHECK(f.sessions().seal(s, {big.data(), big.size()}, kPlain).error() == Error::DataTooLarge);
  CHECK(f.sessions().seal(s, {}, kPlain, {out, sizeof kMessage + 15}, nonce).error() ==
        Error::BufferTooSmall);
  CHECK(f.sessions().seal(s, {}, {nullptr, 4}, {out, sizeof out}, nonce).error() == Error::NullPointer);
  std::memset(out, 0xEE, sizeof out);
  CHECK(f.sessions().open(s, nonce, {}, {out, 15}, {out, sizeof out}).error() == Error::InvalidArgument);
  std::uint8_t sealed[40] = {};
  std::uint8_t small_out[8];
  std::memset(small_out, 0xEE, sizeof small_out);
  CHECK(f.sessions().open(s, nonce, {}, {sealed, sizeof sealed}, {small_out, sizeof small_out}).error() ==
        Error::BufferTooSmall);
  CHECK(all_zero(small_out, sizeof small_out));
  std::vector<std::uint8_t> large(4200);
  CHECK(f.sessions().seal(s, {}, {large.data(), 4000}).value().data.pool_name() == std::string("large"));
}

TEST_CASE("close wipes the key slot and the record", "[session][wipe]") {
  Fixture f;
  auto s = f.open_with_key();
  std::uint8_t out[64];
  std::uint8_t nonce[12];
  REQUIRE(f.sessions().seal(s, {}, kPlain, {out, sizeof out}, nonce));
  REQUIRE(f.sessions().close(s));
  for (const auto& slot : f.layout->key_slots) {
    CHECK(all_zero(reinterpret_cast<const std::uint8_t*>(&slot), sizeof slot));
  }
  const memplan::SessionRecord& record = f.layout->records[s.index];
  CHECK(record.context == nullptr);
  CHECK(record.nonce.next == 0);
  CHECK(record.messages == 0);
  CHECK(record.generation == s.generation + 1);
}

TEST_CASE("the file-backed store persists marks across instances", "[session][port]") {
  char path[] = "/tmp/memplan-nonce-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);
  {
    memplan::FileNonceStore store(path, 4);
    CHECK(store.load(2).value() == 0);  // no file yet
    REQUIRE(store.persist(2, 0x0102030405060708ull));
    REQUIRE(store.persist(0, 7));
    CHECK(store.load(4).error() == Error::InvalidArgument);
  }
  memplan::FileNonceStore again(path, 4);
  CHECK(again.load(2).value() == 0x0102030405060708ull);
  CHECK(again.load(0).value() == 7);
  memplan::FileNonceStore wrong_size(path, 8);  // a file of another shape is a failure, not zeros
  CHECK(wrong_size.load(0).error() == Error::StorageFailure);
  unlink(path);
  memplan::SystemClock clock;
  CHECK(clock.now_s());
}

TEST_CASE("exhausted pools fail seal and open cleanly and leave the session usable", "[session]") {
  Fixture f;
  auto s = f.open_with_key();
  std::vector<memplan::BasicBuffer<memplan::NoLock>> hog;
  for (;;) {
    auto b = f.layout->pools.allocate(200, memplan::Usage::Message);
    if (!b) break;
    hog.push_back(std::move(b.value()));
  }
  CHECK(f.sessions().seal(s, kAadSpan, kPlain).error() == Error::PoolExhausted);
  hog.pop_back();  // one block back: enough to seal, none left to open into
  auto sealed = f.sessions().seal(s, kAadSpan, kPlain);
  REQUIRE(sealed);
  CHECK(f.sessions().open(s, sealed.value().nonce, kAadSpan, sealed.value().data.span()).error() ==
        Error::PoolExhausted);
  hog.clear();
  CHECK(f.sessions().open(s, sealed.value().nonce, kAadSpan, sealed.value().data.span()));
  CHECK(f.sessions().rotate_key(s, {kKeyB, 32}));  // not left busy
}

TEST_CASE("open checks its inputs before touching the key", "[session]") {
  Fixture f;
  auto s = f.open_with_key();
  std::uint8_t nonce[12] = {};
  std::uint8_t out[32];
  std::vector<std::uint8_t> big(Layout::kBuffer + 1);
  std::uint8_t sealed[32] = {};
  CHECK(f.sessions().open(s, nonce, {}, {nullptr, 0}, {out, sizeof out}).error() == Error::NullPointer);
  CHECK(f.sessions()
            .open(s, nonce, {big.data(), big.size()}, {sealed, sizeof sealed}, {out, sizeof out})
            .error() == Error::DataTooLarge);
  CHECK(f.sessions().stats().authentication_failures == 0);
}

namespace {

// Messages a sender sealed, in counter order, for a receiver to open in any order.
struct Sent {
  std::vector<std::uint8_t> sealed;
  std::uint8_t nonce[memplan::kNonceSize];
};

std::vector<Sent> send(std::size_t count) {
  Fixture sender;
  auto s = sender.open_with_key();
  std::vector<Sent> sent(count);
  for (auto& m : sent) {
    m.sealed.resize(sizeof kMessage + 16);
    REQUIRE(sender.sessions().seal(s, kAadSpan, kPlain, {m.sealed.data(), m.sealed.size()}, m.nonce));
  }
  return sent;
}

memplan::CryptoPolicy with_window(std::uint8_t window) {
  memplan::CryptoPolicy policy = memplan_test::kPolicy256;
  policy.replay_window = window;
  policy.max_security_violations = 10;
  return policy;
}

memplan::Result<std::size_t> receive(Fixture& f, memplan::SessionHandle s, Sent& m, std::uint8_t* out) {
  return f.sessions().open(s, m.nonce, kAadSpan, {m.sealed.data(), m.sealed.size()}, {out, sizeof kMessage});
}

}  // namespace

TEST_CASE("the replay window refuses a counter seen before or older than the window", "[session][replay]") {
  auto sent = send(31);
  Fixture f(with_window(8));
  auto s = f.open_with_key();
  std::uint8_t out[sizeof kMessage];
  REQUIRE(receive(f, s, sent[0], out));
  CHECK(std::memcmp(out, kMessage, sizeof kMessage) == 0);
  std::memset(out, 0x77, sizeof out);
  CHECK(receive(f, s, sent[0], out).error() == memplan::Error::ReplayedNonce);
  CHECK(memplan_test::all_zero(out, sizeof out));  // refused: the output wiped, nothing released
  CHECK(f.sessions().stats().replays == 1);

  REQUIRE(receive(f, s, sent[5], out));  // ahead: the window moves to 5
  REQUIRE(receive(f, s, sent[3], out));  // behind, inside the window, not seen: accepted once
  CHECK(receive(f, s, sent[3], out).error() == memplan::Error::ReplayedNonce);
  REQUIRE(receive(f, s, sent[20], out));
  CHECK(receive(f, s, sent[12], out).error() == memplan::Error::ReplayedNonce);  // 8 below 20: outside
  REQUIRE(receive(f, s, sent[13], out));  // 7 below 20: the window's last place
  CHECK(f.sessions().stats().replays == 3);
  CHECK(f.sessions().status(s).value() == memplan::SecurityStatus::Secure);  // a replay is not a forgery
}

TEST_CASE("only an authentic message moves the replay window", "[session][replay]") {
  auto sent = send(31);
  Fixture f(with_window(8));
  auto s = f.open_with_key();
  std::uint8_t out[sizeof kMessage];
  REQUIRE(receive(f, s, sent[1], out));
  Sent forged = sent[30];
  forged.sealed.back() ^= 0x01;  // counter 30, a wrong tag
  CHECK(receive(f, s, forged, out).error() == memplan::Error::AuthenticationFailed);
  REQUIRE(receive(f, s, sent[30], out));  // the forgery neither took counter 30 ...
  REQUIRE(receive(f, s, sent[25], out));  // ... nor moved the window past 25
  CHECK(f.sessions().stats().replays == 0);
}

TEST_CASE("without a window open() accepts a repeated counter; a new key starts a new window", "[session][replay]") {
  auto sent = send(2);
  {
    Fixture f(with_window(0));
    auto s = f.open_with_key();
    std::uint8_t out[sizeof kMessage];
    REQUIRE(receive(f, s, sent[0], out));
    REQUIRE(receive(f, s, sent[0], out));  // replay is the product's job
  }
  Fixture f(with_window(64));
  auto s = f.open_with_key();
  std::uint8_t out[sizeof kMessage];
  REQUIRE(receive(f, s, sent[1], out));
  REQUIRE(receive(f, s, sent[0], out));
  REQUIRE(f.sessions().close(s));
  auto again = f.open_with_key();  // another session on the slot, its window empty
  REQUIRE(receive(f, again, sent[0], out));
  CHECK(receive(f, again, sent[0], out).error() == memplan::Error::ReplayedNonce);
}

TEST_CASE("a replay window wider than the runtime keeps is refused at init()", "[session][replay]") {
  CHECK(Layout(with_window(memplan::kMaxReplayWindow)).init());
  CHECK(Layout(with_window(memplan::kMaxReplayWindow + 1)).init().error() == memplan::Error::InvalidArgument);
}
