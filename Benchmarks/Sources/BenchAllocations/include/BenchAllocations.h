// A malloc counter for the benchmark executables that link this target: how many heap allocations a
// request costs, read by `bench-http --count-allocations`. Counting is off until switched on.
#ifndef BENCH_ALLOCATIONS_H
#define BENCH_ALLOCATIONS_H

#include <stdbool.h>
#include <stdint.h>

/// Starts (or stops) counting allocations made from now on, by every thread of the process.
void bench_allocations_count(bool enabled);

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) counted so far.
uint64_t bench_allocations_total(void);

#endif
