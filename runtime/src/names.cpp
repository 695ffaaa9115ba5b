#include "memplan/pool.hpp"
#include "memplan/session.hpp"

namespace memplan {

const char* to_string(Usage usage) noexcept {
  switch (usage) {
    case Usage::Key: return "key";
    case Usage::Nonce: return "nonce";
    case Usage::Message: return "message";
    case Usage::Context: return "context";
  }
  return "unknown usage";
}

const char* to_string(SessionState state) noexcept {
  switch (state) {
    case SessionState::Idle: return "Idle";
    case SessionState::Allocated: return "Allocated";
    case SessionState::KeyLoaded: return "KeyLoaded";
    case SessionState::Active: return "Active";
    case SessionState::Expired: return "Expired";
    case SessionState::Retired: return "Retired";
  }
  return "unknown state";
}

}  // namespace memplan
