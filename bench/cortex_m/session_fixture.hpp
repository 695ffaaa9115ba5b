// The session fixture of the bench firmwares (cost_firmware.cpp, stack_firmware.cpp): ports
// that never fail and one fixed AES-256 key, the same in every image.
#pragma once

#include <cstdint>

#include <memplan/port/memory_ports.hpp>

#include <cost/layout.hpp>

namespace {

memplan::InMemoryNonceStore<memplan::cost::config::session_count> nonce_store;
memplan::ManualClock clock_port;
const std::uint8_t device_id[4] = {0x4D, 0x50, 0x4C, 0x4E};
memplan::FixedIdentity identity(device_id, sizeof device_id);
const std::uint8_t key[32] = {0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
                              0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4};
const std::uint8_t aad[8] = {'m', 'e', 'm', 'p', 'l', 'a', 'n', 0};

}  // namespace
