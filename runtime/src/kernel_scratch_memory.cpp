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
// images. Below a page malloc's own free lists serve well.
//
// Every thread keeps its freed blocks in its own shard, behind its own lock: with one lock for
// all, two threads allocating per image waited on each other (futex calls were a sixth of that
// backward-data's time).

namespace hnn {
namespace {

// Halide needs 32-byte alignment on x86 and reads up to 8 bytes before a block and past its end;
// 64 is a cache line and an AVX-512 vector.
constexpr size_t kAlignment = 64;
constexpr size_t kMinCachedBytes = 4096;
constexpr size_t kDefaultCacheLimitBytes = size_t(1) << 30;
constexpr int kShards = 16;

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

struct Shard {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void *>> free_blocks;  // by size class
};

struct Cache {
    Shard shards[kShards];
    std::atomic<size_t> cached_bytes{0};  // over all shards, against the limit
    std::atomic<size_t> limit_bytes{kDefaultCacheLimitBytes};
    std::atomic<size_t> new_blocks{0}, reused_blocks{0};
};

// set_kernel_scratch_fill's word in the low 32 bits, or kNoFill. Read on every allocation, outside
// the cache's locks (small blocks take no lock at all).
constexpr int64_t kNoFill = -1;
std::atomic<int64_t> scratch_fill{kNoFill};

Cache &cache() {
    // Never destroyed: kernels running on Halide's worker threads may free during static destruction.
    static Cache *c = new Cache;
    return *c;
}

// This thread's shard: threads take them in turn.
Shard &own_shard() {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned index = next.fetch_add(1) % kShards;
    return cache().shards[index];
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
        Shard &shard = own_shard();
        std::lock_guard<std::mutex> lock(shard.mutex);
        auto it = shard.free_blocks.find(bytes);
        if (it != shard.free_blocks.end() && !it->second.empty()) {
            void *block = it->second.back();
            it->second.pop_back();
            c.cached_bytes -= bytes;
            c.reused_blocks++;
            return block;
        }
        c.new_blocks++;
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
        if (c.cached_bytes.fetch_add(header.bytes) + header.bytes <= c.limit_bytes) {
            Shard &shard = own_shard();
            std::lock_guard<std::mutex> lock(shard.mutex);
            shard.free_blocks[header.bytes].push_back(block);
            return;
        }
        c.cached_bytes -= header.bytes;
    }
    std::free(header.raw);
}

KernelScratchStats kernel_scratch_stats() {
    Cache &c = cache();
    KernelScratchStats stats;
    stats.cached_bytes = c.cached_bytes;
    stats.new_blocks = c.new_blocks;
    stats.reused_blocks = c.reused_blocks;
    return stats;
}

void set_kernel_scratch_cache_limit(size_t bytes) {
    release_kernel_scratch_memory();
    cache().limit_bytes = bytes;
}

void set_kernel_scratch_fill(std::optional<uint32_t> word) {
    scratch_fill.store(word ? int64_t(*word) : kNoFill, std::memory_order_relaxed);
}

void release_kernel_scratch_memory() {
    Cache &c = cache();
    for (Shard &shard : c.shards) {
        std::lock_guard<std::mutex> lock(shard.mutex);
        for (auto &entry : shard.free_blocks) {
            for (void *block : entry.second) std::free(static_cast<BlockHeader *>(block)[-1].raw);
            c.cached_bytes -= entry.first * entry.second.size();
        }
        shard.free_blocks.clear();
    }
}

}  // namespace hnn
