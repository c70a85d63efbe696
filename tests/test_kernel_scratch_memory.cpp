// The cache behind halide_malloc (runtime/src/kernel_scratch_memory.cpp): blocks Halide can use,
// reused by size, bounded, and invisible in the kernels' results.

#include "hnn/conv2d_ops.h"
#include "hnn/device.h"
#include "hnn/error.h"
#include "hnn/kernel_scratch_memory.h"
#include "hnn/layer_geometry.h"
#include "test_util.h"

#include <HalideRuntime.h>

#include <cstdint>
#include <cstring>

using namespace hnn;
using hnn::test::random_tensor;

namespace {

// Restores the default limit and an empty cache whatever a test does.
struct FreshCache {
    FreshCache() {
        install_halide_handlers();
        set_kernel_scratch_cache_limit(size_t(1) << 30);
    }
    ~FreshCache() { set_kernel_scratch_cache_limit(size_t(1) << 30); }
};

bool same_bits(const Tensor &a, const Tensor &b) {
    return a.shape() == b.shape() && std::memcmp(a.host(), b.host(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("halide_malloc blocks are aligned, reused by size and bounded by the cache limit", "[scratch]") {
    FreshCache fresh;
    const KernelScratchStats before = kernel_scratch_stats();
    REQUIRE(before.cached_bytes == 0);

    void *a = halide_malloc(nullptr, 100000);
    REQUIRE(a != nullptr);
    REQUIRE(reinterpret_cast<uintptr_t>(a) % 64 == 0);
    std::memset(a, 0xab, 100000);  // all of it is usable (ASan checks the slack too)
    halide_free(nullptr, a);
    REQUIRE(kernel_scratch_stats().cached_bytes == 102400);  // whole pages

    // The same size class comes back from the cache; another size does not take it.
    void *other = halide_malloc(nullptr, 300000);
    REQUIRE(other != a);
    void *again = halide_malloc(nullptr, 99000);
    REQUIRE(again == a);
    REQUIRE(kernel_scratch_stats().reused_blocks == before.reused_blocks + 1);
    halide_free(nullptr, again);
    halide_free(nullptr, other);

    // Small blocks are malloc's business.
    const size_t cached = kernel_scratch_stats().cached_bytes;
    void *small = halide_malloc(nullptr, 1000);
    REQUIRE(reinterpret_cast<uintptr_t>(small) % 64 == 0);
    halide_free(nullptr, small);
    REQUIRE(kernel_scratch_stats().cached_bytes == cached);

    // Beyond the limit, freed blocks go back to the system.
    set_kernel_scratch_cache_limit(2 * 102400);
    void *blocks[3];
    for (void *&b : blocks) b = halide_malloc(nullptr, 102400);
    for (void *b : blocks) halide_free(nullptr, b);
    REQUIRE(kernel_scratch_stats().cached_bytes == 2 * 102400);

    release_kernel_scratch_memory();
    REQUIRE(kernel_scratch_stats().cached_bytes == 0);
}

TEST_CASE("a kernel called again on the same shapes allocates no new scratch and gives the same bits", "[scratch]") {
    FreshCache fresh;
    // One thread: with more, how many blocks of a size are live at once depends on timing.
    const int threads = cpu_threads();
    set_cpu_threads(1);
    struct RestoreThreads {
        int n;
        ~RestoreThreads() { set_cpu_threads(n); }
    } restore{threads};
    // 64 channels of 20x20: the backward-weights kernel's padded image (124 KB) and partial sum
    // (147 KB) are over the cache's 64 KB floor.
    const Conv2dGeometry g = conv2d_geometry(20, 20, 3, 3, 1, parse_padding("same"));
    Tensor dout = random_tensor({64, g.out_width, g.out_height, 2}), input = random_tensor({64, 20, 20, 2});
    Tensor first({64, 3, 3, 64}), second({64, 3, 3, 64}), db({64});
    conv2d_backward_weights(dout, input, g, first, &db);
    const KernelScratchStats after_first = kernel_scratch_stats();
    REQUIRE(after_first.cached_bytes > 0);

    // Another shape in between leaves other values in the blocks the next call reuses.
    const Conv2dGeometry g2 = conv2d_geometry(16, 16, 3, 3, 1, parse_padding("same"));
    Tensor dout2 = random_tensor({64, 16, 16, 2}, 5, 9), input2 = random_tensor({64, 16, 16, 2}, 5, 9);
    Tensor dw2({64, 3, 3, 64});
    conv2d_backward_weights(dout2, input2, g2, dw2, &db);

    const KernelScratchStats before_second = kernel_scratch_stats();
    conv2d_backward_weights(dout, input, g, second, &db);
    const KernelScratchStats after_second = kernel_scratch_stats();
    REQUIRE(after_second.new_blocks == before_second.new_blocks);
    REQUIRE(after_second.reused_blocks > before_second.reused_blocks);
    REQUIRE(same_bits(first, second));

    // And fresh memory gives the same bits too.
    release_kernel_scratch_memory();
    Tensor third({64, 3, 3, 64});
    conv2d_backward_weights(dout, input, g, third, &db);
    REQUIRE(same_bits(first, third));
}
