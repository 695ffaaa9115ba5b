# Cortex-M0 (runs on QEMU microbit: an nRF51, a real Cortex-M0 model with 16 KiB of RAM;
# mps2-an385 is a Cortex-M3 and would run ARMv6-M code without faulting where an M0 faults)
set(MEMPLAN_CPU_FLAGS "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft")
set(MEMPLAN_QEMU_MACHINE microbit)
set(MEMPLAN_TARGET_CORE cortex-m0)  # the profile's target.core this toolchain builds
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
