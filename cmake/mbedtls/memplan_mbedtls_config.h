/* mbedTLS configuration for memplan: the AEADs a profile can choose (AES-GCM,
 * AES-CCM, ChaCha20-Poly1305) and nothing else. A product links only the
 * modules its AEAD calls (a static library and --gc-sections).
 *
 * MBEDTLS_CIPHER_C stays off on purpose: with it, mbedtls_gcm_setkey()
 * allocates a cipher context with calloc; without it mbedTLS 3.6 selects
 * MBEDTLS_BLOCK_CIPHER_C and the AES context sits inside the GCM context,
 * so a GCM context in the static layout is the whole key schedule.
 */
#ifndef MEMPLAN_MBEDTLS_CONFIG_H
#define MEMPLAN_MBEDTLS_CONFIG_H

#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_PLATFORM_C
/* GCM and CCM run AES forward only: no inverse tables, no decryption code. */
#define MBEDTLS_BLOCK_CIPHER_NO_DECRYPT
/* Every allocation goes to memplan's calloc, which counts the call and fails:
 * a hidden heap use is an error at run time, never a silent allocation. */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO memplan_mbedtls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO memplan_mbedtls_free

#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void *memplan_mbedtls_calloc(size_t count, size_t size);
void memplan_mbedtls_free(void *pointer);
#ifdef __cplusplus
}
#endif

/* The lookup tables are part of the plan (a profile's crypto.tables): memplan's
 * CMake functions pass MEMPLAN_MBEDTLS_PLANNED and the macros that
 * `memplan mbedtls PROFILE...` prints for the products linked into this build
 * (MBEDTLS_AES_ROM_TABLES, MBEDTLS_AES_FEWER_TABLES, MBEDTLS_GCM_LARGE_TABLE),
 * to mbedTLS and to everything that includes it, since they change the size of
 * a GCM context. Without them (a probe compiled by hand): the profile's
 * defaults, AES tables compact in flash and GCM's 4-bit table. */
#ifndef MEMPLAN_MBEDTLS_PLANNED
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#endif

#if defined(__arm__)
/* Cortex-M: no AES instructions. */
#define MBEDTLS_HAVE_ASM
#elif defined(__x86_64__)
/* Host: AES-NI when the CPU has it (detected at run time). */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_AESNI_C
#endif

#endif /* MEMPLAN_MBEDTLS_CONFIG_H */
