#include "hnn/kernel_scratch_memory.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

// The kernels allocate their intermediate buffers (padded images, partial sums, staged rows) with
// halide_malloc on every call. glibc serves a block over its mmap threshold (128 KB, rising to at
// most 32 MB as blocks are freed) with a fresh mapping, so every call of such a kernel faulted in
// and zero-filled new pages: a tenth of a celu7 training step went to page faults. The same sizes
// come back every step, so freed blocks of at least kMinCachedBytes are kept by size and handed out
// again. Blocks of a few pages (a register tile's sums over one small image) are allocated once per
// image and channel tile, hundreds of times a call: through glibc (whose per-thread arenas give
// their top back to the system on free) they took a quarter of a 1x1 conv's backward-data on 8x8
// images; cached, 0.34 ms became 0.19. Below a page malloc's own free lists serve well.

namespace hnn {
namespace {

// Halide needs 32-byte alignment on x86 and reads up to 8 bytes before a block and past its end;
// 64 is a cache line and an AVX-512 vector.
constexpr size_t kAlignment = 64;
constexpr size_t kMinCachedBytes = 4096;
constexpr size_t kDefaultCacheLimitBytes = size_t(1) << 30;

// Stored just before the block Halide sees.
struct BlockHeader {
    void *raw;
    size_t bytes;  // the size class: a cached request rounded up to whole pages
};
static_assert(sizeof(BlockHeader) <= kAlignment, "the header must fit in front of the block");

size_t size_class(size_t bytes) {
    constexpr size_t page = 4096;
    return (bytes + page - 1) / page * page;
}

struct Cache {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void *>> free_blocks;  // by size class
    size_t limit_bytes = kDefaultCacheLimitBytes;
    KernelScratchStats stats;
};

// set_kernel_scratch_fill's word in the low 32 bits, or kNoFill. Read on every allocation, outside
// the cache's lock (small blocks take no lock at all).
constexpr int64_t kNoFill = -1;
std::atomic<int64_t> scratch_fill{kNoFill};

Cache &cache() {
    // Never destroyed: kernels running on Halide's worker threads may free during static destruction.
    static Cache *c = new Cache;
    return *c;
}

void *allocate_block(size_t bytes) {
    // The block, its header in front and kAlignment bytes of slack behind for Halide's overreads.
    void *raw = std::malloc(bytes + 2 * kAlignment);
    if (!raw) return nullptr;
    const uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + kAlignment) & ~uintptr_t(kAlignment - 1);
    void *block = reinterpret_cast<void *>(start);
    static_cast<BlockHeader *>(block)[-1] = {raw, bytes};
    return block;
}

void *take_block(size_t bytes) {
    if (bytes >= kMinCachedBytes) {
        Cache &c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        auto it = c.free_blocks.find(bytes);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            void *block = it->second.back();
            it->second.pop_back();
            c.stats.cached_bytes -= bytes;
            c.stats.reused_blocks++;
            return block;
        }
        c.stats.new_blocks++;
    }
    return allocate_block(bytes);
}

}  // namespace

void *kernel_scratch_allocate(size_t requested) {
    const size_t bytes = requested < kMinCachedBytes ? requested : size_class(requested);
    void *block = take_block(bytes);
    const int64_t fill = scratch_fill.load(std::memory_order_relaxed);
    if (block && fill != kNoFill) {
        std::fill_n(static_cast<uint32_t *>(block), bytes / sizeof(uint32_t), static_cast<uint32_t>(fill));
    }
    return block;
}

void kernel_scratch_free(void *block) {
    if (!block) return;
    const BlockHeader header = static_cast<BlockHeader *>(block)[-1];
    if (header.bytes >= kMinCachedBytes) {
        Cache &c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        if (c.stats.cached_bytes + header.bytes <= c.limit_bytes) {
            c.free_blocks[header.bytes].push_back(block);
            c.stats.cached_bytes += header.bytes;
            return;
        }
    }
    std::free(header.raw);
}

KernelScratchStats kernel_scratch_stats() {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return c.stats;
}

void set_kernel_scratch_cache_limit(size_t bytes) {
    release_kernel_scratch_memory();
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.limit_bytes = bytes;
}

void set_kernel_scratch_fill(std::optional<uint32_t> word) {
    scratch_fill.store(word ? int64_t(*word) : kNoFill, std::memory_order_relaxed);
}

void release_kernel_scratch_memory() {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto &entry : c.free_blocks) {
        for (void *block : entry.second) std::free(static_cast<BlockHeader *>(block)[-1].raw);
    }
    c.free_blocks.clear();
    c.stats.cached_bytes = 0;
}

}  // namespace hnn
