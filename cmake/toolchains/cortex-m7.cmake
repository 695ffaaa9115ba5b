# Cortex-M7 with double-precision FPU
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard")
set(MEMPLAN_QEMU_MACHINE mps2-an500)
set(MEMPLAN_TARGET_CORE cortex-m7)  # the profile's target.core this toolchain builds
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
