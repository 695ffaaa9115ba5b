// Every error, usage and state has a readable, distinct name.
#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <memplan/memplan.hpp>
#include <memplan/port/host_ports.hpp>
#include <set>
#include <string>

TEST_CASE("every Error has a distinct readable name", "[names]") {
  std::set<std::string> names;
  for (int e = static_cast<int>(memplan::Error::InvalidArgument);
       e <= static_cast<int>(memplan::Error::CryptoFailure); ++e) {
    const char* name = memplan::to_string(static_cast<memplan::Error>(e));
    REQUIRE(name != nullptr);
    CHECK(std::strlen(name) > 3);
    CHECK(names.insert(name).second);
  }
  CHECK(names.size() == 25);
  CHECK(std::string(memplan::to_string(memplan::Error::PoolExhausted)) == "PoolExhausted");
  CHECK(std::string(memplan::to_string(static_cast<memplan::Error>(0))) != "");
}

TEST_CASE("usages and session states have names", "[names]") {
  CHECK(std::string(memplan::to_string(memplan::Usage::Key)) == "key");
  CHECK(std::string(memplan::to_string(memplan::Usage::Message)) == "message");
  CHECK(std::string(memplan::to_string(memplan::Usage::Context)) == "context");
  CHECK(std::string(memplan::to_string(static_cast<memplan::Usage>(9))) == "unknown usage");
  CHECK(std::string(memplan::to_string(memplan::SessionState::Idle)) == "Idle");
  CHECK(std::string(memplan::to_string(memplan::SessionState::Allocated)) == "Allocated");
  CHECK(std::string(memplan::to_string(memplan::SessionState::KeyLoaded)) == "KeyLoaded");
  CHECK(std::string(memplan::to_string(memplan::SessionState::Active)) == "Active");
  CHECK(std::string(memplan::to_string(memplan::SessionState::Expired)) == "Expired");
  CHECK(std::string(memplan::to_string(memplan::SessionState::Retired)) == "Retired");
  CHECK(std::string(memplan::to_string(static_cast<memplan::SessionState>(9))) == "unknown state");
}

TEST_CASE("secure_wipe ignores empty and null ranges", "[wipe]") {
  std::uint8_t byte = 7;
  memplan::secure_wipe(nullptr, 4);
  memplan::secure_wipe(&byte, 0);
  CHECK(byte == 7);
  memplan::secure_wipe(&byte, 1);
  CHECK(byte == 0);
}

TEST_CASE("a file store without a usable path fails cleanly", "[port]") {
  memplan::FileNonceStore no_path(nullptr, 4);
  CHECK(no_path.load(0).error() == memplan::Error::InvalidArgument);
  CHECK(no_path.persist(0, 1).error() == memplan::Error::InvalidArgument);
  memplan::FileNonceStore unwritable("/proc/memplan-cannot-write-here", 4);
  CHECK(unwritable.persist(0, 1).error() == memplan::Error::StorageFailure);
}
