# Builds the part of mbedTLS 3.6 that memplan uses (AES-GCM, AES-CCM,
# ChaCha20-Poly1305 and their platform glue) from source, with memplan's own configuration header, for
# whatever compiler the project uses (host or arm-none-eabi). A system
# mbedTLS is never used: its configuration (MBEDTLS_CIPHER_C, heap) differs.
#
#   MEMPLAN_MBEDTLS_SOURCE_DIR  unpacked mbedTLS 3.6 source (scripts/install-deps.sh
#                               prints it); defaults to the environment variable
#                               of the same name, then ~/.cache/memplan/mbedtls-3.6.6
#
# Provides memplan::mbedcrypto.
include_guard(GLOBAL)

set(_memplan_mbedtls_default "$ENV{MEMPLAN_MBEDTLS_SOURCE_DIR}")
if(NOT _memplan_mbedtls_default)
  set(_memplan_mbedtls_default "$ENV{HOME}/.cache/memplan/mbedtls-3.6.6")
endif()
set(MEMPLAN_MBEDTLS_SOURCE_DIR "${_memplan_mbedtls_default}" CACHE PATH "mbedTLS 3.6 source tree")
set(MEMPLAN_MBEDTLS_CONFIG "${CMAKE_CURRENT_LIST_DIR}/mbedtls/memplan_mbedtls_config.h")

if(NOT EXISTS "${MEMPLAN_MBEDTLS_SOURCE_DIR}/library/gcm.c")
  message(FATAL_ERROR "memplan: no mbedTLS 3.6 source at '${MEMPLAN_MBEDTLS_SOURCE_DIR}'. "
                      "Run scripts/install-deps.sh and pass -DMEMPLAN_MBEDTLS_SOURCE_DIR=<the path it prints>.")
endif()
file(STRINGS "${MEMPLAN_MBEDTLS_SOURCE_DIR}/include/mbedtls/build_info.h" _memplan_mbedtls_version
     REGEX "#define MBEDTLS_VERSION_STRING +\"3\\.6\\.")
if(NOT _memplan_mbedtls_version)
  message(FATAL_ERROR "memplan: '${MEMPLAN_MBEDTLS_SOURCE_DIR}' is not mbedTLS 3.6 LTS")
endif()

if(NOT TARGET memplan_mbedcrypto)
  set(_lib "${MEMPLAN_MBEDTLS_SOURCE_DIR}/library")
  add_library(memplan_mbedcrypto STATIC
    ${_lib}/aes.c ${_lib}/aesni.c ${_lib}/aesce.c ${_lib}/gcm.c ${_lib}/ccm.c ${_lib}/block_cipher.c
    ${_lib}/chacha20.c ${_lib}/poly1305.c ${_lib}/chachapoly.c
    ${_lib}/platform.c ${_lib}/platform_util.c ${_lib}/constant_time.c
    ${CMAKE_CURRENT_LIST_DIR}/mbedtls/memplan_mbedtls_heap.c)
  add_library(memplan::mbedcrypto ALIAS memplan_mbedcrypto)
  set_target_properties(memplan_mbedcrypto PROPERTIES C_STANDARD 99 C_EXTENSIONS ON)
  if(NOT CMAKE_CROSSCOMPILING)
    # Host builds may link it into shared objects; on Cortex-M, PIC would reach
    # the AES tables through a GOT load on every access.
    set_target_properties(memplan_mbedcrypto PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    # No build type means no -O flag at all: unoptimized AES-GCM runs about four
    # times the instructions per byte (bench/README.md). Crypto is never built so.
    target_compile_options(memplan_mbedcrypto PRIVATE $<IF:$<BOOL:${CMAKE_CROSSCOMPILING}>,-Os,-O2>)
  endif()
  target_include_directories(memplan_mbedcrypto SYSTEM PUBLIC
    $<BUILD_INTERFACE:${MEMPLAN_MBEDTLS_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:include/memplan/mbedtls>)
  target_include_directories(memplan_mbedcrypto PRIVATE ${_lib})
  # The config header by name, found through the include path: the same
  # spelling works in the build tree and in an installed package.
  target_include_directories(memplan_mbedcrypto PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_LIST_DIR}/mbedtls>
    $<INSTALL_INTERFACE:include/memplan/mbedtls>)
  target_compile_definitions(memplan_mbedcrypto PUBLIC "MBEDTLS_CONFIG_FILE=<memplan_mbedtls_config.h>")
  set_target_properties(memplan_mbedcrypto PROPERTIES EXPORT_NAME mbedcrypto)
  if(CMAKE_CROSSCOMPILING AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
    # Frames and calls for memplan_check_elf's stack analysis (a .ci beside each object).
    target_compile_options(memplan_mbedcrypto PRIVATE -fcallgraph-info=su)
  endif()
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND NOT CMAKE_CROSSCOMPILING)
    # AES-NI and PCLMUL are chosen at run time (CPUID); the code must be compiled for them.
    target_compile_options(memplan_mbedcrypto PRIVATE -maes -mpclmul -msse2)
  endif()
endif()
