// Counts heap allocations by defining malloc and its relatives in the executable: the dynamic linker binds
// every library's calls (the Swift runtime's included) to these, which count and then call glibc's own
// allocator through its exported `__libc_*` entry points. glibc only: on another C library the
// interposition is left out and the counter stays at zero.
#include "BenchAllocations.h"

#if defined(__GLIBC__)
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static bool counting = false;
static uint64_t allocations = 0;

// Relaxed: a statistic read once a second, no ordering with the allocations themselves is needed.
static inline void note(void) {
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
    }
}

void *malloc(size_t size) {
    note();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    note();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    note();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // posix_memalign's own contract: a power of two that is a multiple of sizeof(void *).
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void bench_allocations_count(bool enabled) { __atomic_store_n(&counting, enabled, __ATOMIC_RELAXED); }

uint64_t bench_allocations_total(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }

#else

void bench_allocations_count(bool enabled) { (void)enabled; }

uint64_t bench_allocations_total(void) { return 0; }

#endif
