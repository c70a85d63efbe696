#pragma once
// The memory Halide's kernels allocate for their intermediate buffers on every call, served from a
// cache of freed blocks (kernel_scratch_memory.cpp says why). install_halide_handlers() installs it.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace hnn {

// Makes halide_malloc/halide_free of the AOT kernels' runtime go through the cache
// (defined with the other Halide handlers, in halide_errors.cpp: this file needs no Halide runtime,
// so hnn-tune's JIT-compiled kernels use the same cache).
void install_kernel_scratch_memory();

// A block of at least `bytes`, 64-byte aligned, from the cache or the system; nullptr when out of
// memory. kernel_scratch_free takes it back (nullptr is allowed).
void *kernel_scratch_allocate(size_t bytes);
void kernel_scratch_free(void *block);

struct KernelScratchStats {
    size_t cached_bytes = 0;   // freed blocks kept for reuse
    size_t new_blocks = 0;     // cacheable requests that found no freed block of their size
    size_t reused_blocks = 0;  // requests served from the cache
};

KernelScratchStats kernel_scratch_stats();

// Fills every block handed out from now on with `word` (nullopt: leaves blocks as they are, the
// default). For tests: filled with a signaling NaN, a kernel that computes on scratch memory it
// never wrote raises FE_INVALID. Such lanes are discarded, so no result shows it, but recycled
// memory holding denormals there made a convolution 23 times slower.
void set_kernel_scratch_fill(std::optional<uint32_t> word);

// Frees every cached block (the kernels allocate again on their next call).
void release_kernel_scratch_memory();

// The most bytes of freed blocks kept (1 GiB unless set); a block freed beyond it goes back to the
// system. Releases what is cached.
void set_kernel_scratch_cache_limit(size_t bytes);

}  // namespace hnn
