// The cache behind halide_malloc (runtime/src/kernel_scratch_memory.cpp): blocks Halide can use,
// reused by size, bounded, and invisible in the kernels' results.

#include "hnn/conv2d_ops.h"
#include "hnn/device.h"
#include "hnn/error.h"
#include "hnn/kernel_scratch_memory.h"
#include "hnn/layer_geometry.h"
#include "test_util.h"

#include <HalideRuntime.h>

#include <cfenv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

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

    // Blocks under a page are malloc's business.
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
    // (147 KB) are over the cache's one-page floor.
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

// A schedule may compute whole register tiles past the end of a dimension (the extra lanes are
// never stored), but what those lanes read must have been computed: Halide computes a root or
// per-image Func over what the output needs, and reading past it reads whatever the recycled block
// held. Results cannot show it; speed did (denormals there made a 1x1 conv 23x slower). With every
// block filled with signaling NaNs, any arithmetic on memory no stage wrote raises FE_INVALID,
// which finite inputs never raise otherwise.
TEST_CASE("CPU kernels compute on no scratch memory they did not write", "[scratch]") {
    FreshCache fresh;
    // One thread: the floating-point flags checked are the calling thread's.
    const int threads = cpu_threads();
    set_cpu_threads(1);
    set_kernel_scratch_fill(0x7fa00000u);  // a signaling NaN
    struct Restore {
        int threads;
        ~Restore() {
            set_kernel_scratch_fill(std::nullopt);
            release_kernel_scratch_memory();
            set_cpu_threads(threads);
        }
    } restore{threads};
    release_kernel_scratch_memory();

    auto require_no_invalid = [](const std::string &what) {
        const bool raised = std::fetestexcept(FE_INVALID) != 0;
        std::feclearexcept(FE_ALL_EXCEPT);
        INFO(what);
        CHECK_FALSE(raised);
    };

    struct ConvCase {
        int width, height, kernel, ci, co, stride;
        const char *padding;
    };
    // Channel counts that leave part of a register tile (48 or 32 channels) and widths that leave
    // part of an x tile; narrow first layers; 1x1 convs that take the channel reduction in one chunk.
    const ConvCase cases[] = {{14, 14, 1, 200, 200, 1, "valid"}, {7, 7, 3, 200, 200, 1, "same"},
                              {13, 11, 5, 1, 20, 1, "same"},     {9, 9, 3, 3, 10, 2, "same"},
                              {3, 3, 1, 200, 10, 1, "valid"},    {10, 10, 3, 17, 33, 1, "1"}};
    Activation celu;
    celu.kind = ActivationKind::celu;
    celu.alpha = 2;
    Activation identity;
    identity.kind = ActivationKind::identity;
    std::feclearexcept(FE_ALL_EXCEPT);
    // Every algorithm of the 3x3 stride-1 cases: Winograd's register tiles run past the last tile
    // and channel too.
    const ConvAlgorithm saved_algorithm = conv_algorithm();
    for (ConvAlgorithm algorithm : {ConvAlgorithm::direct, ConvAlgorithm::winograd, ConvAlgorithm::winograd4x4}) {
        set_conv_algorithm(algorithm);
        const std::string algorithm_text = algorithm == ConvAlgorithm::winograd      ? " (winograd)"
                                           : algorithm == ConvAlgorithm::winograd4x4 ? " (winograd4x4)"
                                                                                     : "";
        for (const ConvCase &c : cases) {
            const Conv2dGeometry g = conv2d_geometry(c.width, c.height, c.kernel, c.kernel, c.stride, parse_padding(c.padding));
            const std::string shape = std::to_string(c.width) + "x" + std::to_string(c.height) + " k" +
                                      std::to_string(c.kernel) + " " + std::to_string(c.ci) + "->" + std::to_string(c.co);
            Tensor input = random_tensor({c.ci, c.width, c.height, 2});
            Tensor filter = random_tensor({c.co, c.kernel, c.kernel, c.ci});
            Tensor output({c.co, g.out_width, g.out_height, 2}), pre({c.co, g.out_width, g.out_height, 2});
            for (const Activation *a : {&identity, &celu}) {
                conv2d_forward(input, filter, nullptr, g, *a, output, &pre);
                require_no_invalid("conv2d_forward " + shape + " " + activation_name(a->kind) + algorithm_text);
            }
            Tensor dout = random_tensor({c.co, g.out_width, g.out_height, 2});
            Tensor din({c.ci, c.width, c.height, 2});
            conv2d_backward_data(dout, filter, g, din);
            require_no_invalid("conv2d_backward_data " + shape + algorithm_text);
            conv2d_backward_data(dout, filter, g, din, &celu, &input);
            require_no_invalid("conv2d_backward_data " + shape + " celu" + algorithm_text);
            Tensor dw({c.co, c.kernel, c.kernel, c.ci}), db({c.co});
            conv2d_backward_weights(dout, input, g, dw, &db);
            require_no_invalid("conv2d_backward_weights " + shape + algorithm_text);
        }
    }
    set_conv_algorithm(saved_algorithm);
}
