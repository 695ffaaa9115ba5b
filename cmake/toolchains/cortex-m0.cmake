# Cortex-M0 (runs on QEMU mps2-an385)
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft")
set(MEMPLAN_QEMU_MACHINE mps2-an385)
set(MEMPLAN_TARGET_CORE cortex-m0)  # the profile's target.core this toolchain builds
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
