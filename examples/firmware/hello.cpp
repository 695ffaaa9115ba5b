// Smoke test: semihosting output works and the exit status reaches QEMU.
#include <cstdio>

int main() {
  std::printf("memplan firmware hello\n");
  return 0;
}
