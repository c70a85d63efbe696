// Convolution kernels against float64 loops, central differences in float64 and Halide's autodiff
// of the same algorithm (generators/conv2d_algorithm.h), JIT-compiled here.

#include "Halide.h"
#include "conv2d_algorithm.h"
#include "hnn/conv2d_ops.h"
#include "hnn/device.h"
#include "hnn/error.h"
#include "reference_activations.h"
#include "reference_conv.h"
#include "test_util.h"

#include <algorithm>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

struct Case {
    int ci, w, h, n, co, k, stride;
    std::string padding;
};

std::string describe(const Case &c) {
    return std::to_string(c.ci) + "->" + std::to_string(c.co) + " channels, " + std::to_string(c.w) + "x" +
           std::to_string(c.h) + " n=" + std::to_string(c.n) + ", " + std::to_string(c.k) + "x" + std::to_string(c.k) +
           " stride " + std::to_string(c.stride) + " padding " + c.padding;
}

// Odd sizes, batch 1, channel counts below, at and past the vector width and the register tile,
// every kernel size the reference networks use, stride 1 and 2, every padding mode.
const std::vector<Case> cases = {
    {3, 7, 5, 2, 5, 3, 1, "same"},    {1, 9, 9, 1, 7, 5, 1, "same"},   {4, 6, 6, 2, 6, 2, 1, "same"},
    {5, 7, 7, 2, 3, 3, 2, "same"},    {6, 8, 5, 1, 9, 1, 1, "same"},   {17, 5, 4, 2, 19, 3, 1, "valid"},
    {8, 9, 7, 1, 70, 3, 2, "1"},      {2, 11, 3, 3, 4, 2, 2, "same"},  {33, 6, 6, 2, 40, 3, 1, "same"},
    {3, 4, 4, 1, 2, 5, 1, "2x1"},     {1, 10, 6, 3, 37, 3, 2, "same"}, {4, 7, 5, 2, 6, 1, 2, "valid"},
    {3, 9, 8, 2, 5, 5, 2, "same"},    {2, 10, 7, 1, 4, 3, 3, "same"},  {5, 8, 9, 1, 3, 4, 3, "1"},
    // First layers (1 or 3 channels, 3x3 or 5x5, stride 1), whose backward-data vectorizes over co:
    // co past one vector and not a multiple of it, rows not a whole number of x tiles.
    {1, 13, 9, 2, 40, 5, 1, "same"},  {3, 10, 7, 2, 33, 3, 1, "valid"},
    // 1x1 at stride 1 on small images of a large batch: the pointwise kernels' tiles of positions
    // cross images.
    {7, 3, 2, 40, 12, 1, 1, "valid"},
    // Images smaller than the kernel's reach, whose taps that meet no input are cropped away: celu7's
    // 2x2 conv on 1x1 images (one tap of four), a 3x3 on 1x1, a 5x5 on 2x3 (the middle 3 columns), and
    // at stride 2 (backward-data's phases over the cropped taps).
    {6, 1, 1, 4, 9, 2, 1, "same"},    {5, 1, 1, 3, 7, 3, 1, "same"},   {3, 2, 3, 2, 4, 5, 1, "same"},
    {4, 2, 2, 2, 5, 5, 2, "same"},
    // 1x1 at stride 1 without padding runs as matrix products over positions (the pointwise
    // kernels): channels past their register tiles and not multiples of them, positions past the
    // backward-weights' runs of 64; 24 input channels put its ones row (the bias) in a tile of its own.
    {29, 9, 8, 3, 37, 1, 1, "valid"}, {24, 5, 5, 6, 33, 1, 1, "same"},
};

reference::ConvShape shape_of(const Case &c, const Conv2dGeometry &g) {
    return {c.ci, c.w, c.h, c.n, c.co, c.k, c.k, g.stride, g.pad_x, g.pad_y, g.out_width, g.out_height};
}

Halide::Buffer<float> halide_copy(const Tensor &t) {
    Halide::Buffer<float> b(t.shape());
    std::copy(t.host(), t.host() + t.size(), b.data());
    return b;
}

// Stride and padding as run-time parameters, as in the AOT kernels. (With the stride a constant,
// Halide 14's autodiff inverts x * stride + kx itself and gets 2x2 stride-2 gradients wrong.)
Conv2dShape autodiff_shape(const Conv2dGeometry &g) {
    static Halide::Param<int> stride("stride"), pad_x("pad_x"), pad_y("pad_y");
    stride.set(g.stride);
    pad_x.set(g.pad_x);
    pad_y.set(g.pad_y);
    return Conv2dShape{stride, pad_x, pad_y};
}

// The forward with celu (alpha 2) against float64, without the pre-activation (the *_output_only
// kernels), and without bias and activation.
void check_forward(const Case &c) {
    INFO(describe(c));
    Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
    Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
    Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
    Tensor bias = random_tensor({c.co});
    Tensor out({c.co, g.out_width, g.out_height, c.n}), pre({c.co, g.out_width, g.out_height, c.n});
    Activation celu;
    celu.kind = ActivationKind::celu;
    celu.alpha = 2;
    conv2d_forward(input, filter, &bias, g, celu, out, &pre);
    auto want = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), bias.host());
    reference::ActivationParams p;
    p.alpha = 2;
    require_close(pre, [&](size_t i) { return want[i]; }, 1e-5, 1e-5, "pre_activation");
    require_close(out, [&](size_t i) { return reference::activation(ActivationKind::celu, want[i], p); }, 1e-5, 1e-5,
                  "activated output");
    // Without the pre-activation (the *_output_only kernels): the same output, bit for bit.
    Tensor out_only({c.co, g.out_width, g.out_height, c.n});
    conv2d_forward(input, filter, &bias, g, celu, out_only, nullptr);
    require_close(out_only, [&](size_t i) { return out.host()[i]; }, 0, 0, "output without pre_activation");

    // Without bias and activation.
    Activation none;
    none.kind = ActivationKind::identity;
    conv2d_forward(input, filter, nullptr, g, none, out, &pre);
    auto want_plain = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), nullptr);
    require_close(out, [&](size_t i) { return want_plain[i]; }, 1e-5, 1e-5, "plain output");
}

}  // namespace

TEST_CASE("conv2d geometry follows TensorFlow same, valid and explicit padding", "[conv2d]") {
    auto g = conv2d_geometry(28, 28, 5, 5, 1, parse_padding("same"));
    CHECK((g.out_width == 28 && g.pad_x == 2 && g.pad_y == 2));
    g = conv2d_geometry(2, 2, 2, 2, 1, parse_padding("same"));  // even kernel: bottom/right only
    CHECK((g.out_width == 2 && g.pad_x == 0 && g.pad_y == 0));
    g = conv2d_geometry(7, 7, 3, 3, 2, parse_padding("same"));
    CHECK((g.out_width == 4 && g.pad_x == 1));
    g = conv2d_geometry(8, 8, 3, 3, 2, parse_padding("same"));  // total padding 1: all of it bottom/right
    CHECK((g.out_width == 4 && g.pad_x == 0));
    g = conv2d_geometry(7, 5, 3, 3, 1, parse_padding("valid"));
    CHECK((g.out_width == 5 && g.out_height == 3 && g.pad_x == 0));
    g = conv2d_geometry(7, 5, 3, 3, 2, parse_padding("2x1"));
    CHECK((g.out_width == 5 && g.out_height == 3 && g.pad_x == 2 && g.pad_y == 1));
    REQUIRE_THROWS_WITH(conv2d_geometry(2, 2, 3, 3, 1, parse_padding("valid")), Catch::Contains("does not fit a 2x2 input"));
    REQUIRE_THROWS_WITH(parse_padding("middle"), Catch::Contains("padding 'middle'"));
}

TEST_CASE("conv2d forward with fused activation matches float64", "[conv2d]") {
    for (const Case &c : cases) check_forward(c);
}

// The shapes at which the runtime takes a tile variant on AVX-512 (conv2d_ops.cpp): 200 channels on
// rows of 28 (2 x 7, forward and backward-data), 10 output channels (the forward's 1 x 12, the
// pointwise forward's 1 x 14). The variants hold AVX-512 code alone: on other CPUs these shapes must
// run the default kernels, not fault.
TEST_CASE("conv2d at the tile variants' shapes matches float64 on this CPU's kernels", "[conv2d]") {
    for (const Case &c : {Case{6, 28, 3, 1, 200, 3, 1, "same"}, Case{7, 13, 4, 2, 10, 3, 1, "same"},
                          Case{9, 7, 5, 2, 10, 1, 1, "valid"}}) {
        check_forward(c);
    }
    const Case c{200, 28, 2, 1, 6, 3, 1, "same"};
    INFO(describe(c));
    Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
    Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
    Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
    Tensor din({c.ci, c.w, c.h, c.n});
    conv2d_backward_data(dout, filter, g, din);
    auto want = reference::conv_backward_data(shape_of(c, g), dout.host(), filter.host());
    require_close(din, [&](size_t i) { return want[i]; }, 1e-5, 1e-5, "input_grad");
}

TEST_CASE("conv2d backward-data matches float64, finite differences and autodiff", "[conv2d]") {
    for (const Case &c : cases) {
        INFO(describe(c));
        Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
        auto s = shape_of(c, g);
        Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
        Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
        Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
        Tensor din({c.ci, c.w, c.h, c.n});
        conv2d_backward_data(dout, filter, g, din);
        auto want = reference::conv_backward_data(s, dout.host(), filter.host());
        require_close(din, [&](size_t i) { return want[i]; }, 1e-5, 1e-5, "input_grad vs float64");

        // Central differences of L = sum(dout * conv(input)) in float64, at a few inputs.
        std::vector<float> x(input.host(), input.host() + input.size());
        auto loss = [&](const std::vector<float> &xv) {
            auto y = reference::conv_forward(s, xv.data(), filter.host(), nullptr);
            double l = 0;
            for (size_t i = 0; i < y.size(); i++) l += y[i] * dout.host()[i];
            return l;
        };
        for (size_t i = 0; i < x.size(); i += 1 + x.size() / 7) {
            auto plus = x, minus = x;
            const double h = 1e-2;  // L is linear in x: the difference quotient is exact up to rounding
            plus[i] += h;
            minus[i] -= h;
            double fd = (loss(plus) - loss(minus)) / (double(plus[i]) - double(minus[i]));
            INFO("input element " << i);
            REQUIRE(din.host()[i] == Approx(fd).epsilon(1e-4).margin(1e-4));
        }

        // Halide autodiff of the forward algorithm.
        Halide::Buffer<float> xb = halide_copy(input), fb = halide_copy(filter), db = halide_copy(dout);
        Halide::Func padded = zero_padded(Halide::Func(xb), c.w, c.h, "padded");
        Halide::Func bias_zero, conv("conv");
        Halide::Var v;
        bias_zero(v) = 0.0f;
        Halide::RDom r(0, c.k, 0, c.k, 0, c.ci);
        define_conv2d_forward(conv, padded, Halide::Func(fb), bias_zero, r, autodiff_shape(g));
        Halide::Derivative d = Halide::propagate_adjoints(conv, db);
        Halide::Buffer<float> ad = d(xb).realize({c.ci, c.w, c.h, c.n});
        require_close(din, [&](size_t i) { return ad.data()[i]; }, 1e-5, 1e-5, "input_grad vs autodiff");
    }
}

TEST_CASE("conv2d backward-weights and bias gradient match float64, finite differences and autodiff", "[conv2d]") {
    for (const Case &c : cases) {
        INFO(describe(c));
        Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
        auto s = shape_of(c, g);
        Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
        Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
        Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
        Tensor dw({c.co, c.k, c.k, c.ci}), dbias({c.co});
        conv2d_backward_weights(dout, input, g, dw, &dbias);
        auto want = reference::conv_backward_weights(s, dout.host(), input.host());
        require_close(dw, [&](size_t i) { return want[i]; }, 1e-5, 1e-5, "filter_grad vs float64");
        std::vector<double> want_bias(c.co, 0.0);
        for (size_t i = 0; i < dout.size(); i++) want_bias[i % c.co] += dout.host()[i];
        require_close(dbias, [&](size_t i) { return want_bias[i]; }, 1e-5, 1e-5, "bias_grad vs float64");
        // Without a bias gradient (whose sum the CPU kernels then skip), the same filter gradient.
        Tensor dw_alone({c.co, c.k, c.k, c.ci});
        conv2d_backward_weights(dout, input, g, dw_alone);
        REQUIRE(std::equal(dw.host(), dw.host() + dw.size(), dw_alone.host()));

        std::vector<float> w(filter.host(), filter.host() + filter.size());
        auto loss = [&](const std::vector<float> &wv) {
            auto y = reference::conv_forward(s, input.host(), wv.data(), nullptr);
            double l = 0;
            for (size_t i = 0; i < y.size(); i++) l += y[i] * dout.host()[i];
            return l;
        };
        for (size_t i = 0; i < w.size(); i += 1 + w.size() / 7) {
            auto plus = w, minus = w;
            plus[i] += 1e-2f;
            minus[i] -= 1e-2f;
            double fd = (loss(plus) - loss(minus)) / (double(plus[i]) - double(minus[i]));
            INFO("filter element " << i);
            REQUIRE(dw.host()[i] == Approx(fd).epsilon(1e-4).margin(1e-4));
        }

        Halide::Buffer<float> xb = halide_copy(input), fb = halide_copy(filter), db = halide_copy(dout);
        Halide::Buffer<float> bb(c.co);
        std::fill(bb.data(), bb.data() + bb.number_of_elements(), 0.5f);  // not Buffer::fill: see hnn::Tensor
        Halide::Func padded = zero_padded(Halide::Func(xb), c.w, c.h, "padded");
        Halide::Func conv("conv");
        Halide::RDom r(0, c.k, 0, c.k, 0, c.ci);
        define_conv2d_forward(conv, padded, Halide::Func(fb), Halide::Func(bb), r, autodiff_shape(g));
        Halide::Derivative d = Halide::propagate_adjoints(conv, db);
        Halide::Buffer<float> ad = d(fb).realize({c.co, c.k, c.k, c.ci});
        require_close(dw, [&](size_t i) { return ad.data()[i]; }, 1e-5, 1e-5, "filter_grad vs autodiff");
        Halide::Buffer<float> adb = d(bb).realize({c.co});
        require_close(dbias, [&](size_t i) { return adb.data()[i]; }, 1e-5, 1e-5, "bias_grad vs autodiff");
    }
}

namespace {

// backward-data with activation a's derivative fused, against float64: the plain gradient times
// f'(pre), prelu with its slope per channel; where the derivative can be read from the activation's
// output, also from y = f(pre).
void check_fused_backward_data(const Case &c, Activation a) {
    INFO(describe(c) << ", activation " << activation_name(a.kind) << " alpha " << a.alpha);
    Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
    Tensor pre = random_tensor({c.ci, c.w, c.h, c.n}, -3, 3);
    Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
    Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
    Tensor slope = random_tensor({c.ci}, 0, 0.5f);
    Tensor din({c.ci, c.w, c.h, c.n});
    auto plain = reference::conv_backward_data(shape_of(c, g), dout.host(), filter.host());
    auto want = [&](size_t i) {
        reference::ActivationParams p;
        p.slope = slope.host()[i % c.ci];
        p.alpha = a.alpha;
        p.beta = a.beta;
        return plain[i] * reference::derivative(a.kind, pre.host()[i], p);
    };
    conv2d_backward_data(dout, filter, g, din, &a, &pre, RandomKey{}, &slope);
    require_close(din, want, 1e-5, 1e-5, "fused input_grad");
    if (!can_differentiate_from_output(a)) {
        REQUIRE_THROWS_WITH(
            conv2d_backward_data(dout, filter, g, din, &a, &pre, RandomKey{}, &slope, DerivativeSource::output),
            Catch::Contains("derivative cannot be read from its output"));
        return;
    }
    Tensor y({c.ci, c.w, c.h, c.n}), din_from_y({c.ci, c.w, c.h, c.n});
    activation_forward(a, pre, y, RandomKey{}, &slope);
    conv2d_backward_data(dout, filter, g, din_from_y, &a, &y, RandomKey{}, &slope, DerivativeSource::output);
    require_close(din_from_y, want, 1e-5, 1e-5, "fused input_grad, derivative from the output");
}

}  // namespace

TEST_CASE("conv2d backward-data with the fused activation derivative", "[conv2d]") {
    // elu with a negative alpha: its derivative must be read from x.
    for (auto [kind, alpha] : {std::pair{ActivationKind::relu, 1.0f}, {ActivationKind::celu, 1.0f},
                               {ActivationKind::celu, 2.0f}, {ActivationKind::elu, 0.5f}, {ActivationKind::elu, -0.5f},
                               {ActivationKind::tanh, 1.0f}, {ActivationKind::sigmoid, 1.0f},
                               {ActivationKind::mish, 1.0f}, {ActivationKind::prelu, 1.0f}}) {
        // The second is a first layer's shape (the narrow path), the third 1x1 on 3x3 images (the
        // pointwise kernel).
        for (const Case &c : {Case{6, 7, 6, 2, 20, 3, 2, "same"}, Case{3, 9, 7, 2, 21, 3, 1, "same"},
                              Case{6, 3, 3, 40, 20, 1, 1, "valid"}}) {
            Activation a;
            a.kind = kind;
            a.alpha = alpha;
            check_fused_backward_data(c, a);
        }
    }
}

// 1x1 convs at stride 1 without padding (and convs cropped to one tap) run as matrix products over
// positions (the pointwise kernel): every activation but rrelu, prelu with its slope per channel.
TEST_CASE("conv2d forward as a matrix product over positions applies each activation", "[conv2d]") {
    for (ActivationKind kind : {ActivationKind::relu, ActivationKind::leaky_relu, ActivationKind::prelu,
                                ActivationKind::elu, ActivationKind::softplus, ActivationKind::mish,
                                ActivationKind::swish, ActivationKind::sigmoid}) {
        for (const Case &c : {Case{19, 5, 3, 3, 37, 1, 1, "valid"}, Case{40, 1, 1, 9, 10, 2, 1, "same"},
                              Case{3, 2, 2, 1, 70, 1, 1, "same"}}) {
            INFO(describe(c) << ", activation " << activation_name(kind));
            Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
            Tensor input = random_tensor({c.ci, c.w, c.h, c.n}, -2, 2);
            Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
            Tensor bias = random_tensor({c.co});
            Tensor slope = random_tensor({c.co}, 0, 0.5f);
            const std::vector<int> out_shape = {c.co, g.out_width, g.out_height, c.n};
            Tensor out(out_shape), pre(out_shape);
            Activation a;
            a.kind = kind;
            a.beta = 1.5f;
            conv2d_forward(input, filter, &bias, g, a, out, &pre, RandomKey{}, &slope);
            Tensor out_only(out_shape);
            conv2d_forward(input, filter, &bias, g, a, out_only, nullptr, RandomKey{}, &slope);
            require_close(out_only, [&](size_t i) { return out.host()[i]; }, 0, 0, "output without pre_activation");
            auto want = reference::conv_forward(shape_of(c, g), input.host(), filter.host(), bias.host());
            require_close(pre, [&](size_t i) { return want[i]; }, 1e-5, 1e-5, "pre_activation");
            require_close(
                out,
                [&](size_t i) {
                    reference::ActivationParams p;
                    p.slope = slope.host()[i % c.co];
                    p.beta = 1.5;
                    return reference::activation(kind, want[i], p);
                },
                1e-5, 1e-5, "activated output");
        }
    }
}

// What `hnn tune --model` reads to tune the kernel a layer runs.
TEST_CASE("conv2d: 1x1 stride-1 convs without padding, and convs cropped to one tap, run the pointwise kernels",
          "[conv2d]") {
    auto runs = [](int k, int w, int stride, const std::string &padding, ActivationKind kind) {
        const Conv2dGeometry g = conv2d_geometry(w, w, k, k, stride, parse_padding(padding));
        return conv_runs_pointwise(Device::cpu, k, k, g, w, w, kind);
    };
    CHECK(runs(1, 14, 1, "valid", ActivationKind::celu));
    CHECK(runs(1, 3, 1, "same", ActivationKind::identity));
    CHECK(runs(3, 1, 1, "same", ActivationKind::relu));  // only the middle tap meets a 1x1 image
    CHECK(runs(2, 1, 1, "same", ActivationKind::relu));
    CHECK_FALSE(runs(3, 3, 1, "same", ActivationKind::relu));
    CHECK_FALSE(runs(1, 14, 2, "valid", ActivationKind::relu));
    CHECK_FALSE(runs(1, 14, 1, "1", ActivationKind::relu));
    CHECK_FALSE(runs(1, 14, 1, "valid", ActivationKind::rrelu));
}

TEST_CASE("conv2d backward-data as a matrix product over positions fuses each activation's derivative",
          "[conv2d]") {
    for (ActivationKind kind : {ActivationKind::relu, ActivationKind::leaky_relu, ActivationKind::prelu,
                                ActivationKind::elu, ActivationKind::celu, ActivationKind::softsign,
                                ActivationKind::tanh, ActivationKind::sigmoid, ActivationKind::softplus,
                                ActivationKind::mish, ActivationKind::swish, ActivationKind::silu}) {
        for (const Case &c : {Case{37, 5, 3, 3, 19, 1, 1, "valid"}, Case{10, 1, 1, 9, 40, 2, 1, "same"},
                              Case{70, 2, 2, 1, 3, 1, 1, "same"}}) {
            Activation a;
            a.kind = kind;
            a.beta = 1.5f;
            a.alpha = 0.7f;
            check_fused_backward_data(c, a);
        }
    }
}

TEST_CASE("conv2d with fused rrelu draws the same slopes as the activation kernel", "[conv2d]") {
    // The 1x1 shape runs the direct kernel: the pointwise kernels' matrices renumber the (c, x, y, n)
    // that rrelu's keys are made of.
    auto c = GENERATE(Case{5, 6, 6, 2, 18, 3, 1, "same"}, Case{5, 3, 3, 40, 18, 1, 1, "valid"});
    INFO(describe(c));
    Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
    Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
    Tensor filter = random_tensor({c.co, c.k, c.k, c.ci});
    const std::vector<int> out_shape = {c.co, g.out_width, g.out_height, c.n};
    Tensor fused(out_shape), pre(out_shape), plain(out_shape), pre2(out_shape), separate(out_shape);
    Activation rrelu, none;
    rrelu.kind = ActivationKind::rrelu;
    none.kind = ActivationKind::identity;
    RandomKey key{true, 99u, 3};
    conv2d_forward(input, filter, nullptr, g, rrelu, fused, &pre, key);
    conv2d_forward(input, filter, nullptr, g, none, plain, &pre2);
    activation_forward(rrelu, plain, separate, key);
    require_close(fused, [&](size_t i) { return separate.host()[i]; }, 1e-6, 1e-7, "fused rrelu vs separate");
}

TEST_CASE("conv2d refuses mismatched shapes with messages naming them", "[conv2d]") {
    Conv2dGeometry g = conv2d_geometry(5, 5, 3, 3, 1, parse_padding("same"));
    Tensor input({3, 5, 5, 2}), filter({4, 3, 3, 2}), out({4, 5, 5, 2}), pre({4, 5, 5, 2});
    Activation none;
    none.kind = ActivationKind::identity;
    REQUIRE_THROWS_WITH(conv2d_forward(input, filter, nullptr, g, none, out, &pre),
                        Catch::Contains("filter (c=4, x=3, y=3, n=2) expects 2 input channels but input (c=3, x=5, y=5, n=2) has 3"));
    Tensor filter_ok({4, 3, 3, 3}), small_out({4, 4, 5, 2});
    REQUIRE_THROWS_WITH(conv2d_forward(input, filter_ok, nullptr, g, none, small_out, &pre),
                        Catch::Contains("conv2d_forward: output must have shape (c=4, x=5, y=5, n=2), got (c=4, x=4, y=5, n=2)"));
    Tensor bias({3});
    REQUIRE_THROWS_WITH(conv2d_forward(input, filter_ok, &bias, g, none, out, &pre), Catch::Contains("bias must have shape [4], got [3]"));
    Tensor din({3, 5, 5, 2}), dout({4, 5, 5, 1});
    REQUIRE_THROWS_WITH(conv2d_backward_data(dout, filter_ok, g, din), Catch::Contains("conv2d_backward_data: output_grad (c=4, x=5, y=5, n=1)"));
    Tensor dw({4, 3, 3, 3});
    REQUIRE_THROWS_WITH(conv2d_backward_weights(dout, input, g, dw), Catch::Contains("do not agree on channels or batch"));
}

TEST_CASE("conv2d backward-weights sums a batch split among threads as float64 does", "[conv2d]") {
    // The schedule gives each thread a share of the images (the last share shorter) and sums the
    // partial gradients after: every thread count must give the same gradient, to float rounding.
    const int threads = cpu_threads();
    struct RestoreThreads {
        int n;
        ~RestoreThreads() { set_cpu_threads(n); }
    } restore{threads};
    // The pointwise kernel (the 1x1s) splits the positions, not the images, among threads, in runs
    // of 64 positions, or 256 for 10 output channels.
    const std::vector<Case> batch_cases = {{1, 28, 28, 51, 8, 3, 1, "same"}, {8, 28, 28, 51, 8, 3, 2, "same"},
                                           {13, 9, 7, 29, 21, 3, 1, "same"}, {29, 9, 7, 5, 37, 1, 1, "same"},
                                           {19, 9, 7, 9, 10, 1, 1, "same"}};
    for (const Case &c : batch_cases) {
        Conv2dGeometry g = conv2d_geometry(c.w, c.h, c.k, c.k, c.stride, parse_padding(c.padding));
        auto s = shape_of(c, g);
        Tensor input = random_tensor({c.ci, c.w, c.h, c.n});
        Tensor dout = random_tensor({c.co, g.out_width, g.out_height, c.n});
        auto want = reference::conv_backward_weights(s, dout.host(), input.host());
        for (int t : {1, 2, 3}) {
            INFO(describe(c) << ", " << t << " threads");
            set_cpu_threads(t);
            Tensor dw({c.co, c.k, c.k, c.ci});
            conv2d_backward_weights(dout, input, g, dw);
            require_close(dw, [&](size_t i) { return want[i]; }, 1e-5, 1e-4, "filter_grad vs float64");
        }
    }
}
