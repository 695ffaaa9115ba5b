// Cortex-M startup for the example firmware: 16-entry vector table, the main
// stack painted (main() reports its high-water mark), .data copy, .bss
// zeroing, FPU enabled before any floating-point code, then main.
// Unexpected exceptions exit with status 99 so QEMU reports a failure. The
// layout's NOLOAD sections are not touched here: Memory::init() wipes them.
#include <cstdint>
#include <cstring>

#include "console.hpp"

extern "C" {
extern std::uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__;
extern std::uint32_t __memplan_main_stack_bottom, __memplan_main_stack_top;  // layout.ld, or sections.ld without one
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
int main();

[[noreturn]] void Reset_Handler() {
  // Paint the main stack up to a margin below this frame: every word a call or
  // an interrupt writes later shows in firmware::stack_high_water().
  std::uint32_t* sp;
  __asm__ __volatile__("mov %0, sp" : "=r"(sp));
  for (volatile std::uint32_t* word = &__memplan_main_stack_bottom; word < sp - 16; ++word) *word = firmware::kStackPaint;
  auto* data_begin = reinterpret_cast<char*>(&__data_start);
  auto* bss_begin = reinterpret_cast<char*>(&__bss_start__);
  std::memcpy(data_begin, &__data_load,
              static_cast<std::size_t>(reinterpret_cast<char*>(&__data_end) - data_begin));
  std::memset(bss_begin, 0, static_cast<std::size_t>(reinterpret_cast<char*>(&__bss_end__) - bss_begin));
#if defined(__ARM_FP)
  *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88) |= (0xFu << 20);  // CPACR: CP10/CP11 full access
  __asm__ __volatile__("dsb\n isb" ::: "memory");
#endif
  for (auto* init = __init_array_start; init != __init_array_end; ++init) (*init)();
  firmware::exit(main());
}

[[noreturn]] void Default_Handler() {
  firmware::exit(99);
}

// A firmware that enables SysTick defines its handler; until then it is unexpected.
__attribute__((weak)) void SysTick_Handler() {
  firmware::exit(98);
}

__attribute__((section(".vectors"), used)) void (*const vectors[16])() = {
    reinterpret_cast<void (*)()>(&__memplan_main_stack_top),
    Reset_Handler,
    Default_Handler,  // NMI
    Default_Handler,  // HardFault
    Default_Handler,  // MemManage
    Default_Handler,  // BusFault
    Default_Handler,  // UsageFault
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    Default_Handler,  // SVCall
    Default_Handler,  // DebugMonitor
    nullptr,
    Default_Handler,  // PendSV
    SysTick_Handler,
};
}
