// Minimal Cortex-M startup for the product: vector table, .data and .bss, main.
#include <cstdint>
#include <cstring>

extern "C" {
extern std::uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__, __stack_top;
int main();
[[noreturn]] void Reset_Handler() {
  auto* data = reinterpret_cast<char*>(&__data_start);
  auto* bss = reinterpret_cast<char*>(&__bss_start__);
  std::memcpy(data, &__data_load, static_cast<std::size_t>(reinterpret_cast<char*>(&__data_end) - data));
  std::memset(bss, 0, static_cast<std::size_t>(reinterpret_cast<char*>(&__bss_end__) - bss));
  static_cast<void>(main());
  for (;;) {
  }
}
__attribute__((section(".vectors"), used)) void (*const vectors[2])() = {
    reinterpret_cast<void (*)()>(&__stack_top), Reset_Handler};
}
