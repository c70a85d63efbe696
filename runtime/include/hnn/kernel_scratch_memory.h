#pragma once
// The memory Halide's kernels allocate for their intermediate buffers on every call, served from a
// cache of freed blocks (kernel_scratch_memory.cpp says why). install_halide_handlers() installs it.

#include <cstddef>

namespace hnn {

// Makes halide_malloc/halide_free of the AOT kernels' runtime go through the cache.
void install_kernel_scratch_memory();

struct KernelScratchStats {
    size_t cached_bytes = 0;   // freed blocks kept for reuse
    size_t new_blocks = 0;     // cacheable requests that found no freed block of their size
    size_t reused_blocks = 0;  // requests served from the cache
};

KernelScratchStats kernel_scratch_stats();

// Frees every cached block (the kernels allocate again on their next call).
void release_kernel_scratch_memory();

// The most bytes of freed blocks kept (1 GiB unless set); a block freed beyond it goes back to the
// system. Releases what is cached.
void set_kernel_scratch_cache_limit(size_t bytes);

}  // namespace hnn
