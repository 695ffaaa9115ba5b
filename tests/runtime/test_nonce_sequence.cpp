// The nonce rules alone, without a cipher: claims, reservation marks,
// exhaustion, and the bytes of a nonce.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <memplan/nonce_sequence.hpp>

using memplan::NonceClaim;
using memplan::NonceCounter;
using memplan::NonceSequence;

TEST_CASE("a sequence is valid only for a 12-byte nonce with a 4- to 8-byte counter", "[nonce]") {
  CHECK(NonceSequence(4, 8, 1).valid());
  CHECK(NonceSequence(8, 4, 64).valid());
  CHECK(!NonceSequence(4, 4, 64).valid());   // 8 bytes
  CHECK(!NonceSequence(9, 3, 64).valid());   // fewer than 2^32 counters
  CHECK(!NonceSequence(3, 9, 64).valid());   // more than a 64-bit counter
  CHECK(!NonceSequence(4, 8, 0).valid());    // nothing reserved
  CHECK(NonceSequence(8, 4, 1).limit() == 0xFFFFFFFFull);
  CHECK(NonceSequence(6, 6, 1).limit() == 0xFFFFFFFFFFFFull);
  CHECK(NonceSequence(4, 8, 1).limit() == 0xFFFFFFFFFFFFFFFFull);
}

TEST_CASE("a claim asks for a new mark exactly when the counter reaches the persisted one", "[nonce]") {
  const NonceSequence sequence(4, 8, 3);
  NonceCounter state{0, 0};
  std::uint64_t persisted = 0;
  for (std::uint64_t expected = 0; expected < 10; ++expected) {
    NonceClaim claim{};
    REQUIRE(sequence.claim(state, claim));
    CHECK(claim.counter == expected);
    CHECK(state.next == expected + 1);
    if (expected % 3 == 0) {
      CHECK(claim.persist_mark == expected + 3);  // every `reserve` claims, one write
      NonceSequence::persisted(state, claim);
      persisted = claim.persist_mark;
    } else {
      CHECK(claim.persist_mark == 0);
    }
    CHECK(claim.counter < persisted);  // no counter is used at or past a persisted mark
    CHECK(state.reserved_until == persisted);
  }
}

TEST_CASE("a resumed sequence reserves before its first seal", "[nonce]") {
  const NonceSequence sequence(4, 8, 64);
  NonceCounter state{};
  NonceSequence::resume(state, 1000);
  CHECK(state.next == 1000);
  NonceClaim claim{};
  REQUIRE(sequence.claim(state, claim));
  CHECK(claim.counter == 1000);
  CHECK(claim.persist_mark == 1064);
}

TEST_CASE("a mark persisted late never moves the reservation back", "[nonce]") {
  NonceCounter state{10, 50};
  NonceSequence::persisted(state, NonceClaim{9, 40});
  CHECK(state.reserved_until == 50);
}

TEST_CASE("the counter stops one short of its limit, and the last mark is clamped", "[nonce]") {
  const NonceSequence sequence(8, 4, 64);
  NonceCounter state{0xFFFFFFF0ull, 0xFFFFFFF0ull};
  NonceClaim first{};
  REQUIRE(sequence.claim(state, first));
  CHECK(first.persist_mark == 0xFFFFFFFFull);  // 64 ahead would pass the limit
  NonceSequence::persisted(state, first);
  NonceClaim claim{};
  for (int i = 0; i < 14; ++i) REQUIRE(sequence.claim(state, claim));
  CHECK(state.next == 0xFFFFFFFFull);
  NonceClaim spent{7, 7};
  CHECK_FALSE(sequence.claim(state, spent));  // the session table reports NonceExhausted
  CHECK(state.next == 0xFFFFFFFFull);         // nothing taken
  CHECK(spent.counter == 7);                  // and nothing handed out
}

TEST_CASE("a nonce is the fixed field, then the counter big-endian", "[nonce]") {
  const std::uint8_t fixed[12] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0, 0, 0, 0};
  std::uint8_t nonce[memplan::kNonceSize] = {};
  NonceSequence(4, 8, 1).format(fixed, 0x0102030405060708ull, nonce);
  const std::uint8_t expected_8[12] = {0xD0, 0xD1, 0xD2, 0xD3, 1, 2, 3, 4, 5, 6, 7, 8};
  for (int i = 0; i < 12; ++i) CHECK(nonce[i] == expected_8[i]);
  NonceSequence(8, 4, 1).format(fixed, 0xA1B2C3D4ull, nonce);
  const std::uint8_t expected_4[12] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xA1, 0xB2, 0xC3, 0xD4};
  for (int i = 0; i < 12; ++i) CHECK(nonce[i] == expected_4[i]);
  NonceSequence(6, 6, 1).format(fixed, 0x0000112233445566ull, nonce);
  const std::uint8_t expected_6[12] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  for (int i = 0; i < 12; ++i) CHECK(nonce[i] == expected_6[i]);
}
