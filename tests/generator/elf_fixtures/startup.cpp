// Minimal Cortex-M startup for the ELF check tests: a vector table, .data
// copied, .bss zeroed, main. The images are only inspected (memplan
// check-elf), never run; the layout's NOLOAD sections are Memory::init()'s.
#include <cstdint>
#include <cstring>

extern "C" {
extern std::uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__, __stack_top;
int main();

// Program RAM outside the layout (.data and .bss), so that a region's total
// in the image is larger than the layout's plan.
volatile std::uint32_t startup_boot_count = 1;
volatile std::uint32_t startup_last_status;

[[noreturn]] void Reset_Handler() {
  auto* data_begin = reinterpret_cast<char*>(&__data_start);
  auto* bss_begin = reinterpret_cast<char*>(&__bss_start__);
  std::memcpy(data_begin, &__data_load, static_cast<std::size_t>(reinterpret_cast<char*>(&__data_end) - data_begin));
  std::memset(bss_begin, 0, static_cast<std::size_t>(reinterpret_cast<char*>(&__bss_end__) - bss_begin));
  startup_last_status = static_cast<std::uint32_t>(main()) + startup_boot_count;
  for (;;) {
  }
}

[[noreturn]] void Default_Handler() {
  for (;;) {
  }
}

__attribute__((section(".vectors"), used)) void (*const vectors[16])() = {
    reinterpret_cast<void (*)()>(&__stack_top),
    Reset_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    nullptr, nullptr, nullptr, nullptr,
    Default_Handler, Default_Handler, nullptr, Default_Handler, Default_Handler,
};
}
