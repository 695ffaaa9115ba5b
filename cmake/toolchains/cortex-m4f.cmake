# Cortex-M4F: hardware single-precision FPU
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
set(MEMPLAN_QEMU_MACHINE mps2-an386)
set(MEMPLAN_TARGET_CORE cortex-m4)  # the profile's target.core this toolchain builds
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
