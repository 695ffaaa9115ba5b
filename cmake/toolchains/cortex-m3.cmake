# Cortex-M3
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft")
set(MEMPLAN_QEMU_MACHINE mps2-an385)
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
