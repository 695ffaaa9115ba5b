// Compiled (not run) at -O2 and -O3: check_wipe_probe.py compares the code
// size of the two functions. The optimizer deletes the dead memset in
// plain_memset(); secure_wipe() must survive in wiped(), so wiped() is larger.
#include <cstring>
#include <memplan/secure_wipe.hpp>

void consume(unsigned char* key);

void plain_memset() {
  unsigned char key[64];
  consume(key);
  std::memset(key, 0, sizeof key);
}

void wiped() {
  unsigned char key[64];
  consume(key);
  memplan::secure_wipe(key, sizeof key);
}
