// Small programs with known stack shapes for test_stack_bound.py: each entry_* function reaches
// one case. Built with -fcallgraph-info=su, linked without the C library's startup.
#include <alloca.h>
#include <string.h>

extern "C" {
volatile int sink;
volatile int selector;
int asm_small(int);
int asm_frames(int);
int asm_dynamic(int);
int asm_indirect(int (*)(int));
int asm_tail(int);

__attribute__((noinline)) int leaf(int x) { volatile char b[40]; b[0] = static_cast<char>(x); return b[0]; }
__attribute__((noinline)) int mid(int x) { volatile char b[100]; b[1] = static_cast<char>(x); return leaf(x) + b[1]; }
__attribute__((noinline)) int top(int x) { volatile char b[16]; b[2] = static_cast<char>(x); return mid(x) + b[2]; }
__attribute__((noinline)) int isr_low(void) { volatile char b[200]; b[0] = 1; return b[0]; }
__attribute__((noinline)) int isr_high(void) { volatile char b[24]; b[0] = 1; return leaf(b[0]); }
void SysTick_Handler(void) { sink = isr_low(); }
void PendSV_Handler(void) { sink = isr_high(); }
void SVC_Handler(void) { sink = leaf(2); }

// Recursion the compiler cannot turn into a loop (the volatile frame is live across the call).
__attribute__((noinline)) int recurse(int n) {
  volatile char b[32];
  b[0] = static_cast<char>(n);
  return n > 0 ? recurse(n - 1) + b[0] : b[0];
}
__attribute__((noinline)) int dynamic_frame(int n) {
  char* p = static_cast<char*>(alloca(static_cast<unsigned>(n)));
  memset(p, 1, static_cast<unsigned>(n));
  return p[n - 1];
}
__attribute__((noinline)) int through_pointer(int (*f)(int), int x) { return f(x) + 1; }
__attribute__((noinline)) int clear(char* p, int n) { memset(p, 0, static_cast<unsigned>(n)); return p[0]; }
}

// Stand-ins with the names of memplan's clock port and session table (runtime_ports.py): the
// table's indirect calls reach the clock overrides in the image's vtables.
namespace memplan {
struct Clock {
  virtual int now_s() = 0;
};
struct DeepClock final : Clock {
  int now_s() override { volatile char b[300]; b[0] = 1; return b[0]; }
};
struct ShallowClock final : Clock {
  int now_s() override { volatile char b[8]; b[0] = 2; return b[0]; }
};
struct BasicSessionTable {
  Clock* clock;
  __attribute__((noinline)) int tick() { return clock->now_s() + 1; }
};
DeepClock deep_clock;
ShallowClock shallow_clock;
BasicSessionTable table{&deep_clock};
BasicSessionTable other_table{&shallow_clock};
}  // namespace memplan

// The product's own interface: its calls need an annotation, as does a product function
// calling memplan's port (memplan-ports).
struct Sensor {
  virtual int sample() = 0;
};
struct Adc final : Sensor {
  int sample() override { volatile char b[64]; b[0] = 3; return b[0]; }
};
Adc adc;
__attribute__((noinline)) int read_sensor(Sensor& sensor) { return sensor.sample() + 1; }
__attribute__((noinline)) int ask_clock(memplan::Clock& clock) { return clock.now_s() + 1; }

// A constructor the startup code calls through .init_array.
struct Calibration {
  Calibration() { sink = leaf(7); }
};
Calibration calibration;
extern "C" void (*__init_array_start[])(void);
extern "C" void (*__init_array_end[])(void);

extern "C" {
int entry_chain(void) { return top(sink); }
int entry_virtual(void) { return (selector ? memplan::table : memplan::other_table).tick(); }
int entry_product_virtual(void) { return read_sensor(adc); }
int entry_port_in_product(void) { return ask_clock(selector ? static_cast<memplan::Clock&>(memplan::deep_clock) : memplan::shallow_clock); }
void entry_init(void) {
  for (void (**constructor)(void) = __init_array_start; constructor != __init_array_end; ++constructor) (*constructor)();
}
int entry_pointer(void) { return through_pointer(selector ? leaf : mid, 1); }
int entry_recursion(void) { return recurse(sink); }
int entry_alloca(void) { return dynamic_frame(sink + 1); }
int entry_library(void) { char b[64]; return clear(b, sink) + asm_small(1) + asm_frames(2) + asm_tail(3); }
int entry_asm_dynamic(void) { return asm_dynamic(sink); }
int entry_asm_indirect(void) { return asm_indirect(leaf); }
void Reset_Handler(void) {
  entry_init();
  sink = entry_chain() + entry_virtual() + entry_product_virtual() + entry_port_in_product() + entry_pointer() + entry_recursion() + entry_alloca() + entry_library() +
         entry_asm_dynamic() + entry_asm_indirect();
  for (;;) {
  }
}
__attribute__((section(".vectors"), used)) void (*const vectors[])(void) = {
    reinterpret_cast<void (*)(void)>(0x20001000), Reset_Handler, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
    nullptr, nullptr, nullptr, SVC_Handler, nullptr, nullptr, PendSV_Handler, SysTick_Handler};
}
