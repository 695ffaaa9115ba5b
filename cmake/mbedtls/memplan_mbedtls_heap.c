/* mbedTLS's allocator in memplan builds (MBEDTLS_PLATFORM_CALLOC_MACRO):
 * every call is counted and refused, so a hidden heap use is an error at run
 * time and a counter a test reads, never a silent malloc. Part of the
 * memplan_mbedcrypto library so that mbedTLS links without the runtime. */
#include <stddef.h>
#include <stdint.h>

/* A plain counter: a diagnostic that tests read single-threaded; the refusal
 * itself does not depend on it (and Cortex-M0 has no atomic increment). */
static uint32_t calloc_calls;

void *memplan_mbedtls_calloc(size_t count, size_t size)
{
    (void) count;
    (void) size;
    calloc_calls = calloc_calls + 1u;
    return NULL;
}

void memplan_mbedtls_free(void *pointer)
{
    (void) pointer; /* nothing was ever allocated */
}

uint32_t memplan_mbedtls_calloc_calls(void)
{
    return calloc_calls;
}
