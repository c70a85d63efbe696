// The Winograd kernels (generators/conv2d_winograd_*): forward, backward-data and backward-weights
// by F(2x2, 3x3) (--conv-algorithm winograd) and by F(4x4, 3x3) (winograd4x4), against the float64
// loops of reference_conv.h.

#include "hnn/activation_ops.h"
#include "hnn/conv2d_ops.h"
#include "hnn/device.h"
#include "hnn/error.h"
#include "reference_activations.h"
#include "reference_conv.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

// Restores the process-wide algorithm when a test ends, even by a failed REQUIRE.
struct AlgorithmScope {
    ConvAlgorithm saved = conv_algorithm();
    explicit AlgorithmScope(ConvAlgorithm a) { set_conv_algorithm(a); }
    ~AlgorithmScope() { set_conv_algorithm(saved); }
};

struct Case {
    int ci, w, h, n, co;
    std::string padding;
};

std::string describe(const Case &c) {
    return std::to_string(c.ci) + "->" + std::to_string(c.co) + " channels, " + std::to_string(c.w) + "x" +
           std::to_string(c.h) + " n=" + std::to_string(c.n) + ", padding " + c.padding;
}

// Odd and even output sizes (a half tile at the end of a row or column), a number of tiles that is
// and is not a whole number of register tiles (7 tiles on AVX-512), channel counts below, past and
// not a multiple of the vector and of the register tile (32 channels), single images, and every
// padding mode, explicit ones giving outputs larger and smaller than the input. The forward and
// backward-data take small images in groups of up to a batch's eighth (the last two cases: 3
// images of 9 tiles, whose register tiles cross images, and a last group of one; 2 images of one
// tile).
const std::vector<Case> cases = {
    {1, 1, 1, 1, 1, "same"},       {3, 5, 4, 2, 5, "same"},     {17, 7, 7, 2, 33, "same"},
    {16, 14, 14, 1, 32, "same"},   {40, 9, 6, 3, 20, "valid"},  {5, 8, 11, 2, 70, "2x0"},
    {33, 6, 6, 1, 17, "1"},        {8, 13, 3, 2, 9, "0x2"},     {200, 7, 7, 2, 200, "same"},
    {12, 5, 5, 19, 20, "same"},    {9, 4, 3, 11, 18, "valid"},
};

reference::ConvShape shape_of(const Case &c, const Conv2dGeometry &g) {
    return {c.ci, c.w, c.h, c.n, c.co, 3, 3, 1, g.pad_x, g.pad_y, g.out_width, g.out_height};
}

Conv2dGeometry geometry_of(const Case &c) { return conv2d_geometry(c.w, c.h, 3, 3, 1, parse_padding(c.padding)); }

// Winograd's rounding is bounded normwise, not elementwise: the transforms add and subtract
// neighbouring inputs and products, so an output near zero carries the rounding of its larger
// neighbours. Within 1e-5 relative, plus a share of the largest magnitude of the result: F(2x2)
// 2e-6 (at 200 channels its kernels land within 1e-6 of it), F(4x4) 1.5e-5 (its transforms'
// entries up to 8 and its thirds and fifteenths: 5e-6 at 200 channels). A wrong coefficient misses
// by 10% or more.
double normwise_tolerance(const std::vector<double> &want, double share = 2e-6) {
    double largest = 0;
    for (double w : want) largest = std::max(largest, std::fabs(w));
    return share * largest + 1e-7;
}

// The algorithms, with their share of the largest magnitude.
struct Method {
    ConvAlgorithm algorithm;
    const char *name;
    double share;
};
const Method methods[] = {{ConvAlgorithm::winograd, "F(2x2)", 2e-6}, {ConvAlgorithm::winograd4x4, "F(4x4)", 1.5e-5}};

}  // namespace

TEST_CASE("winograd conv2d forward with fused activation matches float64", "[conv2d][winograd]") {
    const Method m = GENERATE(from_range(std::begin(methods), std::end(methods)));
    AlgorithmScope scope(m.algorithm);
    for (const Case &c : cases) {
        INFO(m.name << ", " << describe(c));
        const Conv2dGeometry g = geometry_of(c);
        Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
        Tensor filter = random_tensor({c.co, 3, 3, c.ci});
        Tensor bias = random_tensor({c.co});
        Tensor out({c.co, g.out_width, g.out_height, c.n}), pre({c.co, g.out_width, g.out_height, c.n});
        Activation celu;
        celu.kind = ActivationKind::celu;
        celu.alpha = 2;
        conv2d_forward(input, filter, &bias, g, celu, out, &pre);
        auto want = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), bias.host());
        reference::ActivationParams p;
        p.alpha = 2;
        const double tolerance = normwise_tolerance(want, m.share);
        require_close(pre, [&](size_t i) { return want[i]; }, 1e-5, tolerance, "pre_activation");
        require_close(out, [&](size_t i) { return reference::activation(ActivationKind::celu, want[i], p); }, 1e-5,
                      tolerance, "activated output");
        Tensor out_only({c.co, g.out_width, g.out_height, c.n});
        conv2d_forward(input, filter, &bias, g, celu, out_only, nullptr);
        require_close(out_only, [&](size_t i) { return out.host()[i]; }, 0, 0, "output without pre_activation");

        Activation none;
        none.kind = ActivationKind::identity;
        conv2d_forward(input, filter, nullptr, g, none, out, &pre);
        auto want_plain = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), nullptr);
        require_close(out, [&](size_t i) { return want_plain[i]; }, 1e-5, normwise_tolerance(want_plain, m.share),
                      "plain output");
    }
}

TEST_CASE("winograd conv2d backward-data matches float64, plain and with a fused derivative", "[conv2d][winograd]") {
    const Method m = GENERATE(from_range(std::begin(methods), std::end(methods)));
    AlgorithmScope scope(m.algorithm);
    for (const Case &c : cases) {
        const Conv2dGeometry g = geometry_of(c);
        Tensor filter = random_tensor({c.co, 3, 3, c.ci});
        Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
        Tensor din({c.ci, c.w, c.h, c.n});
        auto plain = reference::conv_backward_data(shape_of(c, g), dout.host(), filter.host());
        const double tolerance = normwise_tolerance(plain, m.share);
        {
            INFO(m.name << ", " << describe(c) << ", plain");
            conv2d_backward_data(dout, filter, g, din);
            require_close(din, [&](size_t i) { return plain[i]; }, 1e-5, tolerance, "input_grad");
        }
        Tensor pre = random_tensor({c.ci, c.w, c.h, c.n}, -3, 3);
        Tensor slope = random_tensor({c.ci}, 0, 0.5f);
        for (ActivationKind kind : {ActivationKind::celu, ActivationKind::prelu, ActivationKind::mish}) {
            INFO(m.name << ", " << describe(c) << ", derivative of " << activation_name(kind));
            Activation a;
            a.kind = kind;
            conv2d_backward_data(dout, filter, g, din, &a, &pre, RandomKey{}, &slope);
            require_close(
                din,
                [&](size_t i) {
                    reference::ActivationParams p;
                    p.slope = slope.host()[i % c.ci];
                    return plain[i] * reference::derivative(kind, pre.host()[i], p);
                },
                1e-5, tolerance, "fused input_grad");
        }
        // The derivative read from the activation's output y = f(pre).
        for (ActivationKind kind : {ActivationKind::elu, ActivationKind::sigmoid}) {
            INFO(m.name << ", " << describe(c) << ", derivative of " << activation_name(kind) << " from its output");
            Activation a;
            a.kind = kind;
            Tensor y({c.ci, c.w, c.h, c.n});
            activation_forward(a, pre, y);
            conv2d_backward_data(dout, filter, g, din, &a, &y, RandomKey{}, nullptr, DerivativeSource::output);
            require_close(
                din, [&](size_t i) { return plain[i] * reference::derivative(kind, pre.host()[i], {}); }, 1e-5,
                tolerance, "fused input_grad");
        }
    }
}

TEST_CASE("winograd conv2d backward-weights and bias gradient match float64", "[conv2d][winograd]") {
    for (const Method &m : methods) {
        AlgorithmScope scope(m.algorithm);
        for (const Case &c : cases) {
            INFO(m.name << ", " << describe(c));
            const Conv2dGeometry g = geometry_of(c);
            Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
            Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
            Tensor dw({c.co, 3, 3, c.ci}), dbias({c.co});
            conv2d_backward_weights(dout, input, g, dw, &dbias);
            auto want = reference::conv_backward_weights(shape_of(c, g), dout.host(), input.host());
            require_close(dw, [&](size_t i) { return want[i]; }, 1e-5, normwise_tolerance(want, m.share), "filter_grad");
            std::vector<double> want_bias(c.co, 0.0);
            for (size_t i = 0; i < dout.size(); i++) want_bias[i % c.co] += dout.host()[i];
            require_close(dbias, [&](size_t i) { return want_bias[i]; }, 1e-5, 1e-5, "bias_grad");
            Tensor dw_alone({c.co, 3, 3, c.ci});
            conv2d_backward_weights(dout, input, g, dw_alone);  // no bias gradient: its sum skipped
            REQUIRE(std::equal(dw.host(), dw.host() + dw.size(), dw_alone.host()));
        }
    }
}

TEST_CASE("winograd conv2d backward-weights sums a batch split among threads as float64 does", "[conv2d][winograd]") {
    // Each thread sums a share of the images (the last share shorter) into its own partial.
    const int threads = cpu_threads();
    struct RestoreThreads {
        int n;
        ~RestoreThreads() { set_cpu_threads(n); }
    } restore{threads};
    for (const Case &c : {Case{13, 9, 7, 29, 21, "same"}, Case{40, 14, 14, 11, 36, "valid"}}) {
        const Conv2dGeometry g = geometry_of(c);
        Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
        Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
        auto want = reference::conv_backward_weights(shape_of(c, g), dout.host(), input.host());
        for (const Method &m : methods) {
            AlgorithmScope scope(m.algorithm);
            for (int t : {1, 2, 3}) {
                INFO(m.name << ", " << describe(c) << ", " << t << " threads");
                set_cpu_threads(t);
                Tensor dw({c.co, 3, 3, c.ci});
                conv2d_backward_weights(dout, input, g, dw);
                require_close(dw, [&](size_t i) { return want[i]; }, 1e-5, normwise_tolerance(want, m.share),
                              "filter_grad");
            }
        }
    }
}

TEST_CASE("winograd conv2d with fused rrelu draws the slopes of the activation kernel", "[conv2d][winograd]") {
    AlgorithmScope scope(ConvAlgorithm::winograd);
    const Case c{20, 9, 8, 2, 36, "same"};
    const Conv2dGeometry g = geometry_of(c);
    Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
    Tensor filter = random_tensor({c.co, 3, 3, c.ci});
    const std::vector<int> out_shape = {c.co, g.out_width, g.out_height, c.n};
    Tensor fused(out_shape), pre(out_shape), plain(out_shape), pre2(out_shape), separate(out_shape);
    Activation rrelu, none;
    rrelu.kind = ActivationKind::rrelu;
    none.kind = ActivationKind::identity;
    const RandomKey key{true, 7u, 5};
    conv2d_forward(input, filter, nullptr, g, rrelu, fused, &pre, key);
    conv2d_forward(input, filter, nullptr, g, none, plain, &pre2);
    activation_forward(rrelu, plain, separate, key);
    require_close(fused, [&](size_t i) { return separate.host()[i]; }, 1e-6, 1e-7, "fused rrelu vs separate");

    Tensor dout = random_tensor(out_shape);
    Tensor fused_grad({c.ci, c.w, c.h, c.n}), plain_grad({c.ci, c.w, c.h, c.n}), separate_grad({c.ci, c.w, c.h, c.n});
    Tensor below = random_tensor({c.ci, c.w, c.h, c.n}, -2, 2);
    conv2d_backward_data(dout, filter, g, fused_grad, &rrelu, &below, key);
    conv2d_backward_data(dout, filter, g, plain_grad);
    activation_backward(rrelu, below, plain_grad, separate_grad, key);
    require_close(fused_grad, [&](size_t i) { return separate_grad.host()[i]; }, 1e-6, 1e-7,
                  "fused rrelu derivative vs separate");
}

TEST_CASE("winograd and direct 3x3 convolutions agree at a reference layer's shape", "[conv2d][winograd]") {
    // 200 channels (not a whole number of 32-channel register tiles) on 28x28 (196 tiles, 28 whole
    // groups of 7), as celu7's second layer, at batch 2.
    const Case c{200, 28, 28, 2, 200, "same"};
    const Conv2dGeometry g = geometry_of(c);
    Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
    Tensor filter = random_tensor({c.co, 3, 3, c.ci});
    const std::vector<int> out_shape = {c.co, g.out_width, g.out_height, c.n};
    Activation none;
    none.kind = ActivationKind::identity;
    Tensor direct(out_shape), direct_pre(out_shape), winograd(out_shape), winograd_pre(out_shape);
    Tensor winograd4x4(out_shape), winograd4x4_pre(out_shape);
    {
        AlgorithmScope scope(ConvAlgorithm::direct);
        conv2d_forward(input, filter, nullptr, g, none, direct, &direct_pre);
    }
    {
        AlgorithmScope scope(ConvAlgorithm::winograd);
        conv2d_forward(input, filter, nullptr, g, none, winograd, &winograd_pre);
    }
    {
        AlgorithmScope scope(ConvAlgorithm::winograd4x4);
        conv2d_forward(input, filter, nullptr, g, none, winograd4x4, &winograd4x4_pre);
    }
    auto want = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), nullptr);
    // Direct and F(2x2) within the same bound: at 1800 terms per sum the direct kernel's rounding
    // is not within 1e-5 elementwise either.
    require_close(direct, [&](size_t i) { return want[i]; }, 1e-5, normwise_tolerance(want), "direct");
    require_close(winograd, [&](size_t i) { return want[i]; }, 1e-5, normwise_tolerance(want), "winograd");
    require_close(winograd4x4, [&](size_t i) { return want[i]; }, 1e-5, normwise_tolerance(want, 1.5e-5),
                  "winograd4x4");
}

TEST_CASE("cpu_kernel_isa names the kernel variant this CPU runs", "[conv2d][winograd]") {
    // GCC's own reading of CPUID against the Halide runtime's, for the features of HNN_CPU_TARGETS.
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512vl");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("f16c") && __builtin_cpu_supports("sse4.1");
    const CpuIsa want = avx512 && avx2 ? CpuIsa::avx512 : avx2 ? CpuIsa::avx2 : CpuIsa::baseline;
    CHECK(std::string(cpu_isa_name(cpu_kernel_isa())) == cpu_isa_name(want));
    // auto decides by it when not told.
    AlgorithmScope scope(ConvAlgorithm::automatic);
    const Conv2dGeometry g = conv2d_geometry(8, 8, 3, 3, 1, parse_padding("same"));
    CHECK(conv_method(ConvPass::forward, Device::cpu, 192, 192, 3, 3, g, 8, 8, 50) ==
          conv_method(ConvPass::forward, Device::cpu, 192, 192, 3, 3, g, 8, 8, 50, want));
}

TEST_CASE("conv algorithm auto takes Winograd where it measured faster", "[conv2d][winograd]") {
    AlgorithmScope scope(ConvAlgorithm::automatic);
    const Padding same = parse_padding("same");
    auto runs = [&](ConvPass pass, int channels_in, int channels_out, int width, int kernel = 3, int stride = 1,
                    Device device = Device::cpu, int batch = 50) {
        const Conv2dGeometry g = conv2d_geometry(width, width, kernel, kernel, stride, same);
        return conv_method(pass, device, channels_in, channels_out, kernel, kernel, g, width, width, batch,
                           CpuIsa::avx512) != ConvMethod::direct;
    };
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights}) {
        CHECK(runs(pass, 200, 200, 28));
        CHECK(runs(pass, 32, 32, 11));         // 36 tiles an image (the last row and column half)
        CHECK_FALSE(runs(pass, 31, 200, 28));  // a first layer's few channels
        CHECK_FALSE(runs(pass, 200, 31, 28));
        CHECK_FALSE(runs(pass, 200, 200, 28, 5));
        CHECK_FALSE(runs(pass, 200, 200, 28, 3, 2));
        CHECK_FALSE(runs(pass, 200, 200, 28, 3, 1, Device::cuda));
        CHECK_FALSE(runs(pass, 200, 200, 2, 3, 1, Device::cpu, 31));  // one tile, a small batch
    }
    // From a batch of 32 the forward and backward-data won down to one tile an image; below it
    // they lost under 36 tiles (12x12). Backward-weights won down to 4x4 (4 tiles) at any batch.
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data}) {
        CHECK(runs(pass, 192, 192, 2, 3, 1, Device::cpu, 32));
        CHECK(runs(pass, 192, 192, 7, 3, 1, Device::cpu, 100));
        CHECK_FALSE(runs(pass, 192, 192, 7, 3, 1, Device::cpu, 31));
        CHECK_FALSE(runs(pass, 192, 192, 10, 3, 1, Device::cpu, 16));  // 25 tiles
        CHECK(runs(pass, 192, 192, 12, 3, 1, Device::cpu, 1));
    }
    CHECK(runs(ConvPass::backward_weights, 192, 192, 7, 3, 1, Device::cpu, 1));
    CHECK(runs(ConvPass::backward_weights, 192, 192, 4, 3, 1, Device::cpu, 1));
    CHECK_FALSE(runs(ConvPass::backward_weights, 192, 192, 2, 3, 1, Device::cpu, 100));
    // Of those, with AVX-512 F(4x4) where it saves at least 1.3x F(2x2)'s products, and for the
    // forward and backward-data where an eighth of the batch holds at least 48 of its tiles (96 from
    // 256 channels summed), for backward-weights on 36 tiles an image, or 16 from a batch of 64.
    auto method = [&](ConvPass pass, int channels_in, int channels_out, int width, CpuIsa isa = CpuIsa::avx512,
                      int batch = 50) {
        const Conv2dGeometry g = conv2d_geometry(width, width, 3, 3, 1, same);
        return conv_method(pass, Device::cpu, channels_in, channels_out, 3, 3, g, width, width, batch, isa);
    };
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights}) {
        CHECK(method(pass, 200, 200, 28) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 96, 192, 32, CpuIsa::avx512, 16) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 32, 32, 32) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 128, 128, 16, CpuIsa::avx512, 64) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 192, 192, 16, CpuIsa::avx512, 16) == ConvMethod::winograd_2x2);
        CHECK(method(pass, 192, 192, 7, CpuIsa::avx512, 32) == ConvMethod::winograd_2x2);
        // No saving: 6x6 is 4 tiles of 4x4 or 9 of 2x2 (both 144 products a channel pair), 10x10 9
        // or 25 (1.23x).
        CHECK(method(pass, 192, 192, 6, CpuIsa::avx512, 128) == ConvMethod::winograd_2x2);
        CHECK(method(pass, 192, 192, 10, CpuIsa::avx512, 128) == ConvMethod::winograd_2x2);
    }
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data}) {
        // An eighth of the batch: 4 tiles an image of 8x8 or 7x7 x 16 images (batch 128), not x 8.
        CHECK(method(pass, 192, 192, 8, CpuIsa::avx512, 128) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 192, 192, 7, CpuIsa::avx512, 100) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 192, 192, 8, CpuIsa::avx512, 64) == ConvMethod::winograd_2x2);
        CHECK(method(pass, 192, 192, 16, CpuIsa::avx512, 17) == ConvMethod::winograd_4x4);  // 16 x 3 images
        // From 256 channels summed, 96 tiles: 16 x 6 images.
        CHECK(method(pass, 256, 256, 16, CpuIsa::avx512, 32) == ConvMethod::winograd_2x2);
        CHECK(method(pass, 256, 256, 16, CpuIsa::avx512, 41) == ConvMethod::winograd_4x4);
        CHECK(method(pass, 256, 256, 32, CpuIsa::avx512, 16) == ConvMethod::winograd_4x4);
    }
    // The forward sums over the input channels, backward-data over the output gradient's.
    CHECK(method(ConvPass::forward, 255, 256, 16, CpuIsa::avx512, 32) == ConvMethod::winograd_4x4);
    CHECK(method(ConvPass::backward_data, 255, 256, 16, CpuIsa::avx512, 32) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::forward, 192, 192, 16, CpuIsa::avx512, 64) == ConvMethod::winograd_4x4);
    CHECK(method(ConvPass::backward_data, 192, 192, 16, CpuIsa::avx512, 64) == ConvMethod::winograd_4x4);
    // Backward-weights groups whole images whatever the batch: 36 tiles an image at any batch, 16
    // from a batch of 64 over at most 128 channels in and out, never 4.
    CHECK(method(ConvPass::backward_weights, 192, 192, 21, CpuIsa::avx512, 1) == ConvMethod::winograd_4x4);
    CHECK(method(ConvPass::backward_weights, 192, 192, 20, CpuIsa::avx512, 1) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::backward_weights, 192, 192, 16, CpuIsa::avx512, 63) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::backward_weights, 192, 192, 8, CpuIsa::avx512, 128) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::backward_weights, 129, 128, 16, CpuIsa::avx512, 64) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::backward_weights, 128, 129, 16, CpuIsa::avx512, 64) == ConvMethod::winograd_2x2);
    CHECK(method(ConvPass::backward_weights, 256, 256, 21, CpuIsa::avx512, 16) == ConvMethod::winograd_4x4);
    // With AVX2's narrower vectors F(4x4) from 32 channels: the forward and backward-data on 36
    // tiles of 4x4 at any batch, backward-weights from 16 tiles.
    for (CpuIsa narrow : {CpuIsa::avx2, CpuIsa::baseline}) {
        for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data}) {
            CHECK(method(pass, 96, 192, 32, narrow) == ConvMethod::winograd_4x4);
            CHECK(method(pass, 32, 32, 21, narrow) == ConvMethod::winograd_4x4);
            CHECK(method(pass, 96, 96, 32, narrow, 8) == ConvMethod::winograd_4x4);
            CHECK(method(pass, 192, 192, 20, narrow) == ConvMethod::winograd_2x2);  // 25 tiles
            CHECK(method(pass, 192, 192, 16, narrow) == ConvMethod::winograd_2x2);
            CHECK(method(pass, 200, 200, 7, narrow, 100) == ConvMethod::winograd_2x2);
        }
        CHECK(method(ConvPass::backward_weights, 96, 96, 32, narrow) == ConvMethod::winograd_4x4);
        CHECK(method(ConvPass::backward_weights, 192, 192, 16, narrow) == ConvMethod::winograd_4x4);
        CHECK(method(ConvPass::backward_weights, 192, 192, 13, narrow) == ConvMethod::winograd_4x4);  // 16 tiles
        CHECK(method(ConvPass::backward_weights, 192, 192, 12, narrow) == ConvMethod::winograd_2x2);
        CHECK(method(ConvPass::backward_weights, 192, 192, 8, narrow) == ConvMethod::winograd_2x2);
        CHECK(method(ConvPass::backward_weights, 200, 200, 7, narrow, 100) == ConvMethod::winograd_2x2);
        CHECK(method(ConvPass::forward, 31, 192, 32, narrow) == ConvMethod::direct);
    }
    {
        AlgorithmScope winograd(ConvAlgorithm::winograd);
        CHECK(runs(ConvPass::forward, 1, 1, 1));
        CHECK_FALSE(runs(ConvPass::forward, 200, 200, 28, 3, 2));
        CHECK(method(ConvPass::forward, 200, 200, 28) == ConvMethod::winograd_2x2);
    }
    {
        AlgorithmScope winograd(ConvAlgorithm::winograd4x4);
        CHECK(method(ConvPass::forward, 1, 1, 1) == ConvMethod::winograd_4x4);
        CHECK(method(ConvPass::backward_data, 3, 96, 32) == ConvMethod::winograd_4x4);
        CHECK(method(ConvPass::backward_weights, 200, 200, 28) == ConvMethod::winograd_4x4);
    }
    AlgorithmScope direct(ConvAlgorithm::direct);
    CHECK_FALSE(runs(ConvPass::forward, 200, 200, 28));
}
