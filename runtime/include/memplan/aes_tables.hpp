// AES's lookup tables when a profile keeps them in RAM (crypto.tables.aes:
// ram-compact or ram-full). mbedTLS fills them inside the first key schedule:
// thousands of instructions (and 2 KiB of stack) in whichever load_key() comes
// first, perhaps in an interrupt handler, and two first loads racing each
// other. The AES backends fill them from Memory::init() instead, once, at boot.
// With the tables in flash (the default) there is nothing to fill.
#pragma once

#include <mbedtls/aes.h>

namespace memplan {

inline bool fill_aes_tables() noexcept {
#if defined(MBEDTLS_AES_C) && !defined(MBEDTLS_AES_ROM_TABLES)
  mbedtls_aes_context schedule;
  mbedtls_aes_init(&schedule);
  const unsigned char zero_key[16] = {};
  const bool filled = mbedtls_aes_setkey_enc(&schedule, zero_key, 128) == 0;
  mbedtls_aes_free(&schedule);  // zeroizes the schedule of the zero key
  return filled;
#else
  return true;
#endif
}

}  // namespace memplan
