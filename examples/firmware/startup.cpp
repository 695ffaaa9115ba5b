// Cortex-M startup: 16-entry vector table, .data copy, .bss zeroing, FPU on before the C library.
// Unexpected exceptions exit with status 99 so QEMU reports a failure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
extern "C" {
extern std::uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__, __stack_top;
void _start();
[[noreturn]] void Reset_Handler() {
  std::memcpy(&__data_start, &__data_load, (char*)&__data_end - (char*)&__data_start);
  std::memset(&__bss_start__, 0, (char*)&__bss_end__ - (char*)&__bss_start__);
#if defined(__ARM_FP)
  *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88) |= (0xFu << 20);  // CPACR: CP10/CP11 full access
  __asm volatile("dsb\n isb");
#endif
  _start();
  for (;;) {
  }
}
[[noreturn]] void Default_Handler() {
  std::_Exit(99);
  for (;;) {
  }
}
__attribute__((section(".vectors"), used)) void (*const vectors[16])() = {
    reinterpret_cast<void (*)()>(&__stack_top),
    Reset_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    Default_Handler,
    Default_Handler,
    nullptr,
    Default_Handler,
    Default_Handler};
}
