// The workspace: one taker at a time, wiped on release, alternating halves.
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <utility>

#include "test_support.hpp"

using memplan::Error;
using memplan_test::all_zero;

namespace {
struct WorkspaceFixture {
  static constexpr std::size_t kBuffer = 64;
  alignas(32) std::uint8_t storage[5 * kBuffer] = {};
  memplan::BasicWorkspace<memplan::NoLock> workspace{storage, kBuffer};
};
}  // namespace

TEST_CASE("a second taker gets NoBufferAvailable", "[workspace]") {
  WorkspaceFixture f;
  CHECK(f.workspace.acquire().error() == Error::NotInitialized);
  REQUIRE(f.workspace.init());
  CHECK(f.workspace.init().error() == Error::AlreadyInitialized);
  auto lease = f.workspace.acquire();
  REQUIRE(lease);
  CHECK(f.workspace.acquire().error() == Error::NoBufferAvailable);
  CHECK(f.workspace.contention() == 1);
  lease.value().reset();
  CHECK(f.workspace.acquire());
}

TEST_CASE("leases alternate between the two halves", "[workspace]") {
  WorkspaceFixture f;
  REQUIRE(f.workspace.init());
  std::uint8_t* inputs[4];
  std::uint8_t* outputs[4];
  for (int i = 0; i < 4; ++i) {
    auto lease = f.workspace.acquire();
    REQUIRE(lease);
    inputs[i] = lease.value().input().data;
    outputs[i] = lease.value().output().data;
    CHECK(lease.value().half() == static_cast<unsigned>(i % 2));
    CHECK(lease.value().scratch().data == f.storage + 4 * WorkspaceFixture::kBuffer);
  }
  CHECK(inputs[0] == f.storage);
  CHECK(inputs[1] == f.storage + WorkspaceFixture::kBuffer);
  CHECK(outputs[0] == f.storage + 2 * WorkspaceFixture::kBuffer);
  CHECK(outputs[1] == f.storage + 3 * WorkspaceFixture::kBuffer);
  CHECK(inputs[2] == inputs[0]);
  CHECK(inputs[3] == inputs[1]);
  CHECK(f.workspace.leases() == 4);
}

TEST_CASE("releasing a lease wipes what it exposed", "[workspace][wipe]") {
  WorkspaceFixture f;
  REQUIRE(f.workspace.init());
  {
    auto lease = f.workspace.acquire();
    auto& l = lease.value();
    std::memset(l.input().data, 1, l.input().size);
    std::memset(l.output().data, 2, l.output().size);
    std::memset(l.scratch().data, 3, l.scratch().size);
    CHECK(l.input().size == WorkspaceFixture::kBuffer);
  }
  CHECK(all_zero(f.storage, sizeof f.storage));
  CHECK(!f.workspace.taken());
}

TEST_CASE("moved leases keep one owner", "[workspace]") {
  WorkspaceFixture f;
  REQUIRE(f.workspace.init());
  auto first = f.workspace.acquire();
  memplan::BasicWorkspaceLease<memplan::NoLock> moved(std::move(first.value()));
  CHECK(first.value().empty());  // NOLINT(bugprone-use-after-move)
  CHECK(first.value().input().data == nullptr);
  first.value().reset();  // harmless: still taken by `moved`
  CHECK(f.workspace.taken());
  memplan::BasicWorkspaceLease<memplan::NoLock> assigned;
  assigned = std::move(moved);
  CHECK(f.workspace.taken());
  assigned.reset();
  CHECK(!f.workspace.taken());
  CHECK(f.workspace.active_half() == 1);
}

TEST_CASE("init refuses buffers the aligned wipe cannot take, and changes nothing", "[workspace]") {
  alignas(32) std::uint8_t storage[5 * 80 + 8] = {};
  memplan::BasicWorkspace<memplan::NoLock> odd_size{storage, 24};  // a multiple of 8, not of an AES block
  CHECK(odd_size.init().error() == Error::InvalidArgument);
  memplan::BasicWorkspace<memplan::NoLock> misaligned{storage + 4, 64};  // 4 bytes past an 8-byte boundary
  CHECK(misaligned.init().error() == Error::InvalidArgument);
  memplan::BasicWorkspace<memplan::NoLock> empty{storage, 0};
  CHECK(empty.init().error() == Error::InvalidArgument);
  CHECK_FALSE(odd_size.initialized());
  CHECK_FALSE(misaligned.initialized());
  memplan::BasicWorkspace<memplan::NoLock> fine{storage + 8, 80};
  CHECK(fine.init());
}
