# Cortex-M33 with FPU
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
set(MEMPLAN_QEMU_MACHINE mps2-an505)
set(MEMPLAN_TARGET_CORE cortex-m33)  # the profile's target.core this toolchain builds
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
