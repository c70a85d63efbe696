// A GPU device's kernels against the CPU kernels on the same inputs, at least one test case per
// kernel family. This file is built twice (tests/CMakeLists.txt): hnn_cuda_tests with
// HNN_GPU_DEVICE=cuda (ctest label `cuda`) and hnn_opencl_tests with HNN_GPU_DEVICE=opencl (label
// `opencl`). Where the device does not answer each case exits with code 77, which ctest reports as
// skipped, not passed. CI has no GPU but runs the OpenCL build on PoCL, so the GPU schedules are
// checked there; PoCL compiles every kernel at first use, hence the small shapes.
//
// Tolerances (|gpu - cpu| <= tol * |cpu| + tol): 1e-4 for everything that sums (convolutions,
// pooling, reductions, softmax) or calls transcendental functions (the device's exp/log/tanh are
// not the CPU kernels' polynomials); 1e-5 for the optimizers (a few multiply-adds per element, and
// the same rounding on every step); 1e-6 for dropout and nearest resampling (one product or
// multiply-add per element: the same mask and the same rounding on both sides).

#include "hnn/activation_ops.h"
#include "hnn/conv2d_ops.h"
#include "hnn/dropout_ops.h"
#include "hnn/loss_ops.h"
#include "hnn/optimizer_ops.h"
#include "hnn/pooling_ops.h"
#include "hnn/resample_ops.h"
#include "gpu_test_util.h"
#include "test_util.h"

#include <algorithm>
#include <string>
#include <vector>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;
using hnn::test::ConvAlgorithmScope;
using hnn::test::gpu;
using hnn::test::on_gpu;
using hnn::test::require_gpu_or_skip;

namespace {

void require_same_values(const Tensor &device, const Tensor &cpu, const char *what, double tol = 1e-4) {
    require_close(device, [&](size_t i) { return double(cpu.host()[i]); }, tol, tol, what);
}

// A convolution's outputs: the device may sum in another order than the CPU, and an output near zero
// that is a sum of many large terms (2304 at 256 channels, 3x3) carries their rounding, so the
// absolute tolerance grows with the outputs' scale (2e-6 of the largest, about 30 ulp there).
void require_same_sums(const Tensor &device, const Tensor &cpu, const char *what) {
    double largest = 0;
    for (size_t i = 0; i < cpu.size(); i++) largest = std::max(largest, std::fabs(double(cpu.host()[i])));
    require_close(device, [&](size_t i) { return double(cpu.host()[i]); }, 1e-4, 1e-4 + 2e-6 * largest, what);
}

}  // namespace

TEST_CASE("the device is selectable by name", "[gpu]") {
    require_gpu_or_skip();
    REQUIRE(select_device(device_name(gpu)) == gpu);
    // auto prefers a CUDA device and never picks OpenCL (which may be PoCL on this very CPU).
    REQUIRE(select_device("auto") == (cuda_available() ? Device::cuda : Device::cpu));
    REQUIRE_THROWS_WITH(select_device("vulkan"), Catch::Contains("cpu, cuda, opencl or auto"));
}

TEST_CASE("activations forward and backward match the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    // 37 channels take the GPU schedule's threads-along-channels path (with a partial tile), 3 the
    // threads-along-x one.
    for (const std::vector<int> &shape : {std::vector<int>{37, 9, 5, 3}, std::vector<int>{3, 9, 5, 2}}) {
        for (ActivationKind k : all_activations()) {
            Activation a;
            a.kind = k;
            Tensor x = random_tensor(shape, -6, 6), dy = random_tensor(shape);
            Tensor slope = random_tensor({shape[0]}, 0, 0.5f);
            Tensor y(shape), dx(shape);
            RandomKey key{true, 5u, 2};
            activation_forward(a, x, y, key, &slope);
            activation_backward(a, x, dy, dx, key, &slope);
            Tensor gx = on_gpu(x), gdy = on_gpu(dy), gs = on_gpu(slope), gy(shape, gpu), gdx(shape, gpu);
            activation_forward(a, gx, gy, key, &gs);
            activation_backward(a, gx, gdy, gdx, key, &gs);
            INFO(activation_name(k) << " on " << x.shape_string());
            require_same_values(gy, y, "forward");
            require_same_values(gdx, dx, "backward");
            if (can_differentiate_from_output(a)) {
                Tensor dx_from_y(shape), gdx_from_y(shape, gpu);
                activation_backward(a, y, dy, dx_from_y, key, &slope, DerivativeSource::output);
                activation_backward(a, gy, gdy, gdx_from_y, key, &gs, DerivativeSource::output);
                require_same_values(gdx_from_y, dx_from_y, "backward from the output");
            }
        }
    }
}

TEST_CASE("activation parameter gradients match the CPU kernel", "[gpu]") {
    require_gpu_or_skip();
    for (ActivationKind k : all_activations()) {
        Activation a;
        a.kind = k;
        if (!a.has_learnable_parameter()) continue;
        a.beta = 1.3f;
        const std::vector<int> shape = {37, 9, 5, 3};
        const int params = k == ActivationKind::prelu ? 37 : 1;
        Tensor x = random_tensor(shape, -6, 6), dy = random_tensor(shape), slope = random_tensor({37}, 0, 0.5f);
        Tensor grad({params});
        activation_parameter_gradient(a, x, dy, grad, {}, &slope);
        Tensor gx = on_gpu(x), gdy = on_gpu(dy), gs = on_gpu(slope), ggrad({params}, gpu);
        activation_parameter_gradient(a, gx, gdy, ggrad, {}, &gs);
        INFO(activation_name(k));
        require_same_values(ggrad, grad, "parameter gradient");
    }
}

namespace {

struct ConvCase {
    int ci, co, width, height, batch, kernel, stride;
    const char *padding;
};

// One convolution on the CPU and on the device, every output compared: forward with `a` fused,
// backward-data with `a`'s derivative fused (the input standing in for its pre-activation),
// backward-weights and the bias gradient.
void compare_conv(const ConvCase &c, const Activation &a) {
    Conv2dGeometry g = conv2d_geometry(c.width, c.height, c.kernel, c.kernel, c.stride, parse_padding(c.padding));
    const std::vector<int> in_shape = {c.ci, c.width, c.height, c.batch};
    const std::vector<int> out_shape = {c.co, g.out_width, g.out_height, c.batch};
    const std::vector<int> filter_shape = {c.co, c.kernel, c.kernel, c.ci};
    Tensor input = random_tensor(in_shape, -3, 3), filter = random_tensor(filter_shape), bias = random_tensor({c.co});
    Tensor dout = random_tensor(out_shape), in_slope = random_tensor({c.ci}, 0, 0.5f), out_slope = random_tensor({c.co}, 0, 0.5f);
    const RandomKey key{true, 7u, 3};
    Tensor out(out_shape), pre(out_shape), din(in_shape), dw(filter_shape), db({c.co});
    conv2d_forward(input, filter, &bias, g, a, out, &pre, key, &out_slope);
    conv2d_backward_data(dout, filter, g, din, &a, &input, key, &in_slope);
    conv2d_backward_weights(dout, input, g, dw, &db);
    Tensor gi = on_gpu(input), gf = on_gpu(filter), gb = on_gpu(bias), gdout = on_gpu(dout);
    Tensor gin_slope = on_gpu(in_slope), gout_slope = on_gpu(out_slope);
    Tensor gout(out_shape, gpu), gpre(out_shape, gpu), gdin(in_shape, gpu), gdw(filter_shape, gpu), gdb({c.co}, gpu);
    conv2d_forward(gi, gf, &gb, g, a, gout, &gpre, key, &gout_slope);
    conv2d_backward_data(gdout, gf, g, gdin, &a, &gi, key, &gin_slope);
    conv2d_backward_weights(gdout, gi, g, gdw, &gdb);
    INFO(activation_name(a.kind) << ", input " << input.shape_string() << ", " << c.kernel << "x" << c.kernel
                                 << " stride " << c.stride << " padding " << c.padding << ", " << c.co << " out");
    require_same_sums(gout, out, "forward output");
    require_same_sums(gpre, pre, "forward pre-activation");
    require_same_sums(gdin, din, "backward-data");
    require_same_sums(gdw, dw, "backward-weights");
    require_same_sums(gdb, db, "bias gradient");

    // The forward without the pre-activation, and backward-data reading the derivative from the
    // activation's output, where it can.
    Tensor gout_only(out_shape, gpu);
    conv2d_forward(gi, gf, &gb, g, a, gout_only, nullptr, key, &gout_slope);
    require_same_sums(gout_only, out, "forward output without the pre-activation");
    if (!can_differentiate_from_output(a)) return;
    Tensor y(in_shape), din_from_y(in_shape), gdin_from_y(in_shape, gpu);
    activation_forward(a, input, y, key, &in_slope);
    Tensor gy = on_gpu(y);
    conv2d_backward_data(dout, filter, g, din_from_y, &a, &y, key, &in_slope, DerivativeSource::output);
    conv2d_backward_data(gdout, gf, g, gdin_from_y, &a, &gy, key, &gin_slope, DerivativeSource::output);
    require_same_sums(gdin_from_y, din_from_y, "backward-data, derivative from the output");
}

}  // namespace

namespace {

void compare_direct_convs(ConvAlgorithm algorithm) {
    ConvAlgorithmScope scope(algorithm);
    // Every kernel size and stride the GPU schedules specialize (1, 2, 3 and 5 at strides 1 and 2;
    // other sizes at strides 1 and 2, as 4x4 and 7x7) and their fallback (stride 3); channel counts
    // that are not multiples of the 32-channel tile or of the channel chunks, odd widths and
    // heights, batches of 1 and 3, each padding mode. Each shape takes another activation kind
    // through both fused epilogues; the first takes all of them.
    const std::vector<ConvCase> cases = {
        {3, 37, 9, 7, 1, 3, 1, "same"},   {37, 40, 8, 9, 3, 3, 2, "same"},  {40, 70, 7, 7, 1, 5, 1, "valid"},
        {70, 3, 9, 9, 3, 5, 2, "same"},   {19, 40, 6, 5, 3, 1, 1, "valid"}, {16, 33, 7, 6, 1, 1, 2, "valid"},
        {8, 40, 7, 7, 3, 2, 1, "1x0"},    {37, 37, 9, 8, 1, 2, 2, "same"},  {33, 9, 10, 6, 2, 3, 1, "2"},
        {5, 9, 8, 8, 1, 4, 1, "same"},    {6, 10, 13, 11, 1, 3, 3, "valid"},
        // A 7x7 stride-2 first layer, as ResNet's.
        {3, 35, 15, 13, 2, 7, 2, "same"},
        // Inputs of 1 channel (backward-weights' narrow tiles), at stride 2 and 5x5 as celu7's first layer.
        {1, 20, 9, 9, 2, 3, 2, "same"},   {1, 33, 10, 9, 2, 5, 1, "same"},
        // A filter big enough that the default backward-weights sums shares of 2 rows (128 MB of
        // partials hold 56 shares of its 99 rows: 50 of 2), which cross images of 11 rows, the last 1.
        {256, 256, 4, 11, 9, 3, 1, "same"},
    };
    const std::vector<ActivationKind> &kinds = all_activations();
    for (ActivationKind k : kinds) {
        Activation a;
        a.kind = k;
        compare_conv(cases[0], a);
    }
    for (size_t i = 1; i < cases.size(); i++) {
        Activation a;
        a.kind = kinds[i % kinds.size()];
        compare_conv(cases[i], a);
    }
}

}  // namespace

// The direct kernels, each GPU schedule pinned: under auto the device would time them all.
TEST_CASE("convolution forward, backward-data and backward-weights match the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    compare_direct_convs(ConvAlgorithm::direct);
}

TEST_CASE("the staged GPU schedules of the direct convolutions match the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    compare_direct_convs(ConvAlgorithm::direct_staged);
}

TEST_CASE("the GPU schedules of the direct convolutions with larger thread tiles match the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    compare_direct_convs(ConvAlgorithm::direct_large_tile);
}

TEST_CASE("Winograd forward, backward-data and backward-weights match the CPU's", "[gpu]") {
    require_gpu_or_skip();
    // Partial tiles at the right and bottom edges (odd sizes, and sizes that are not multiples of
    // 4), channel counts that are not multiples of the 32-channel lanes or the register tiles,
    // batches of 1 to 17 (the products' register tiles of 8 tiles cross images), each padding, and
    // a 2x2 output (one tile, mostly outside it). The last makes F(4x4)'s backward-weights sum
    // shares of 2 images, the last share 1.
    const std::vector<ConvCase> cases = {
        {3, 37, 9, 7, 1, 3, 1, "same"},  {33, 9, 10, 6, 9, 3, 1, "same"}, {40, 70, 7, 7, 3, 3, 1, "valid"},
        {17, 33, 6, 9, 2, 3, 1, "1x0"},  {32, 64, 4, 4, 9, 3, 1, "valid"}, {128, 128, 4, 4, 17, 3, 1, "same"},
    };
    const std::vector<ActivationKind> &kinds = all_activations();
    for (ConvAlgorithm algorithm : {ConvAlgorithm::winograd, ConvAlgorithm::winograd4x4}) {
        ConvAlgorithmScope scope(algorithm);
        const ConvMethod expected =
            algorithm == ConvAlgorithm::winograd ? ConvMethod::winograd_2x2 : ConvMethod::winograd_4x4;
        for (size_t i = 0; i < cases.size(); i++) {
            const ConvCase &c = cases[i];
            const Conv2dGeometry g = conv2d_geometry(c.width, c.height, 3, 3, 1, parse_padding(c.padding));
            for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights}) {
                REQUIRE(conv_method(pass, gpu, c.ci, c.co, 3, 3, g, c.width, c.height, c.batch) == expected);
            }
            Activation a;
            a.kind = kinds[(i * 3 + (algorithm == ConvAlgorithm::winograd ? 0 : 1)) % kinds.size()];
            INFO(conv_method_name(expected));
            compare_conv(c, a);
        }
    }
}

namespace {

// The methods auto timed for each pass of c (a kernel c.kernel square, stride c.stride), by name.
std::vector<std::string> timed_methods(ConvPass pass, const ConvCase &c) {
    const Conv2dGeometry g = conv2d_geometry(c.width, c.height, c.kernel, c.kernel, c.stride, parse_padding(c.padding));
    std::vector<std::string> names;
    for (auto [method, seconds] :
         conv_method_seconds(pass, gpu, c.ci, c.co, c.kernel, c.kernel, g, c.width, c.height, c.batch)) {
        REQUIRE(seconds > 0);
        names.push_back(conv_method_name(method));
    }
    return names;
}

}  // namespace

TEST_CASE("auto on the device times each pass's kernels on its first call at each shape, then keeps the fastest",
          "[gpu]") {
    require_gpu_or_skip();
    ConvAlgorithmScope scope(ConvAlgorithm::automatic);
    const ConvCase c{34, 40, 10, 9, 3, 3, 1, "same"};
    const Conv2dGeometry g = conv2d_geometry(c.width, c.height, 3, 3, 1, parse_padding(c.padding));
    const std::vector<ConvPass> passes = {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights};
    for (ConvPass pass : passes) {
        REQUIRE(conv_method(pass, gpu, c.ci, c.co, 3, 3, g, c.width, c.height, c.batch) == ConvMethod::direct);
        REQUIRE(timed_methods(pass, c).empty());
    }
    const size_t timed_before = conv_shapes_timed();
    Activation a;
    a.kind = ActivationKind::elu;
    // Whichever method each pass chose computed its result, and the CPU's direct sum agrees with it.
    compare_conv(c, a);
    REQUIRE(conv_shapes_timed() == timed_before + passes.size());
    std::string chosen;
    for (ConvPass pass : passes) {
        const ConvMethod m = conv_method(pass, gpu, c.ci, c.co, 3, 3, g, c.width, c.height, c.batch);
        chosen += std::string(" ") + conv_method_name(m);
    }
    INFO("chose" << chosen);
    // Every kernel that applies ran: the three direct schedules and, at 3x3 stride 1, both Winograd
    // ones (at 40 channels their scratch memory fits any device).
    const std::vector<std::string> all = {"direct", "direct-staged", "direct-large-tile", "winograd", "winograd4x4"};
    for (ConvPass pass : passes) REQUIRE(timed_methods(pass, c) == all);
    // The same shapes again reuse the choices; a 5x5 stride-2 conv times the direct schedules alone.
    compare_conv(c, a);
    REQUIRE(conv_shapes_timed() == timed_before + passes.size());
    const ConvCase strided{34, 40, 11, 9, 2, 5, 2, "same"};
    compare_conv(strided, a);
    REQUIRE(conv_shapes_timed() == timed_before + 2 * passes.size());
    for (ConvPass pass : passes) {
        REQUIRE(timed_methods(pass, strided) == std::vector<std::string>{"direct", "direct-staged", "direct-large-tile"});
    }
}

TEST_CASE("pooling matches the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    Tensor in = random_tensor({21, 7, 7, 2}), dout = random_tensor({21, 3, 3, 2}), gdout_pool = random_tensor({21, 2});
    Tensor avg({21, 3, 3, 2}), mx({21, 3, 3, 2}), davg({21, 7, 7, 2}), dmx({21, 7, 7, 2}), glob({21, 2}), dglob({21, 7, 7, 2});
    avg_pool_forward(in, 2, 2, avg);
    avg_pool_backward(dout, 2, 2, davg);
    max_pool_forward(in, 2, 2, mx);
    max_pool_backward(in, dout, 2, 2, dmx);
    global_avg_pool_forward(in, glob);
    global_avg_pool_backward(gdout_pool, dglob);
    Tensor gin = on_gpu(in), gdout = on_gpu(dout), gg = on_gpu(gdout_pool);
    Tensor gavg({21, 3, 3, 2}, gpu), gmx({21, 3, 3, 2}, gpu), gdavg({21, 7, 7, 2}, gpu);
    Tensor gdmx({21, 7, 7, 2}, gpu), gglob({21, 2}, gpu), gdglob({21, 7, 7, 2}, gpu);
    avg_pool_forward(gin, 2, 2, gavg);
    avg_pool_backward(gdout, 2, 2, gdavg);
    max_pool_forward(gin, 2, 2, gmx);
    max_pool_backward(gin, gdout, 2, 2, gdmx);
    global_avg_pool_forward(gin, gglob);
    global_avg_pool_backward(gg, gdglob);
    require_same_values(gavg, avg, "avg forward");
    require_same_values(gdavg, davg, "avg backward");
    require_same_values(gmx, mx, "max forward");
    require_same_values(gdmx, dmx, "max backward");
    require_same_values(gglob, glob, "global forward");
    require_same_values(gdglob, dglob, "global backward");

    // With celu's derivative (from the output) fused, and rrelu's (keyed by the element).
    for (ActivationKind k : {ActivationKind::celu, ActivationKind::rrelu}) {
        Activation a;
        a.kind = k;
        const RandomKey key{true, 3u, 1};
        const DerivativeSource source = k == ActivationKind::celu ? DerivativeSource::output : DerivativeSource::input;
        Tensor saved = random_tensor({21, 7, 7, 2}, -3, 3), gsaved = on_gpu(saved);
        Tensor davg_act({21, 7, 7, 2}), dmax_act({21, 7, 7, 2});
        Tensor gdavg_act({21, 7, 7, 2}, gpu), gdmax_act({21, 7, 7, 2}, gpu);
        avg_pool_backward_activation(dout, 2, 2, a, saved, davg_act, key, nullptr, source);
        max_pool_backward_activation(in, dout, 2, 2, a, saved, dmax_act, key, nullptr, source);
        avg_pool_backward_activation(gdout, 2, 2, a, gsaved, gdavg_act, key, nullptr, source);
        max_pool_backward_activation(gin, gdout, 2, 2, a, gsaved, gdmax_act, key, nullptr, source);
        INFO(activation_name(k));
        require_same_values(gdavg_act, davg_act, "avg backward with the activation's derivative");
        require_same_values(gdmax_act, dmax_act, "max backward with the activation's derivative");
    }
}

TEST_CASE("softmax cross-entropy matches the CPU kernel", "[gpu]") {
    require_gpu_or_skip();
    Tensor logits = random_tensor({10, 50}, -4, 4), grad({10, 50});
    std::vector<int32_t> labels(50);
    for (int i = 0; i < 50; i++) labels[i] = i % 10;
    LossResult cpu = softmax_cross_entropy(logits, labels, grad);
    Tensor gl = on_gpu(logits), gg({10, 50}, gpu);
    LossResult device = softmax_cross_entropy(gl, labels, gg);
    REQUIRE(device.loss == Approx(cpu.loss).epsilon(1e-5));
    REQUIRE(device.correct == cpu.correct);
    REQUIRE(device.is_correct == cpu.is_correct);
    require_same_values(gg, grad, "logits gradient");
}

TEST_CASE("optimizer updates match the CPU kernels", "[gpu]") {
    require_gpu_or_skip();
    Tensor p = random_tensor({1000}), g = random_tensor({1000}), m({1000}), v({1000}), vm({1000});
    Tensor gp = on_gpu(p), gg = on_gpu(g), gm({1000}, gpu), gv({1000}, gpu), gvm({1000}, gpu);
    AdamOptions o;
    o.amsgrad = true;
    for (int t = 1; t <= 3; t++) {
        adam_update(p, g, m, v, vm, o, t);
        adam_update(gp, gg, gm, gv, gvm, o, t);
    }
    require_same_values(gp, p, "adam parameters", 1e-5);
    Tensor vel({1000}), gvel({1000}, gpu);
    SgdOptions s;
    s.momentum = 0.9f;
    s.nesterov = true;
    sgd_update(p, g, vel, s);
    sgd_update(gp, gg, gvel, s);
    require_same_values(gp, p, "sgd parameters", 1e-5);
}

TEST_CASE("dropout matches the CPU kernel", "[gpu]") {
    require_gpu_or_skip();
    const std::vector<int> shape = {37, 9, 5, 3};
    Tensor x = random_tensor(shape), gx = on_gpu(x);
    for (bool training : {true, false}) {
        const RandomKey key{training, 11u, 4};
        Tensor y(shape), gy(shape, gpu);
        dropout(x, 0.3f, key, y);
        dropout(gx, 0.3f, key, gy);
        INFO((training ? "training" : "evaluation"));
        require_same_values(gy, y, "dropout output", 1e-6);
    }
}

TEST_CASE("upsample_nearest_add matches the CPU kernel", "[gpu]") {
    require_gpu_or_skip();
    // An exact 2x ratio and an uneven one (7 from 3, 5 from 2).
    for (const auto &sizes : {std::vector<int>{8, 6, 4, 3}, std::vector<int>{7, 5, 3, 2}}) {
        Tensor base = random_tensor({5, sizes[0], sizes[1], 2}), small = random_tensor({5, sizes[2], sizes[3], 2});
        Tensor out(base.shape()), gout(base.shape(), gpu);
        upsample_nearest_add(base, small, 0.5f, out);
        Tensor gbase = on_gpu(base), gsmall = on_gpu(small);
        upsample_nearest_add(gbase, gsmall, 0.5f, gout);
        INFO("base " << base.shape_string() << ", small " << small.shape_string());
        require_same_values(gout, out, "upsampled sum", 1e-6);
    }
}
