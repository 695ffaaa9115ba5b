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

#if defined(__arm__)
/* Cortex-M: AES tables in flash, not in the RAM budget; no AES instructions. */
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_HAVE_ASM
#elif defined(__x86_64__)
/* Host: AES-NI when the CPU has it (detected at run time). */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_AESNI_C
#endif

#endif /* MEMPLAN_MBEDTLS_CONFIG_H */
