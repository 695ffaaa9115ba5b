# Cortex-M33 with FPU
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
set(MEMPLAN_QEMU_MACHINE mps2-an505)
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
