// Every activation's forward and backward kernel against an independent float64 reference, central
// finite differences, and Halide's automatic differentiation of the same algorithm
// (generators/activation_math.h) JIT-compiled here.

#include "Halide.h"
#include "activation_math.h"
#include "hnn/activation_ops.h"
#include "hnn/error.h"
#include "reference_activations.h"
#include "test_util.h"

#include <cfloat>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

// Kinks and thresholds where finite differences and autodiff's conventions are not comparable.
bool near_kink(ActivationKind k, double x, const Activation &a) {
    switch (k) {
    case ActivationKind::relu:
    case ActivationKind::leaky_relu:
    case ActivationKind::prelu:
    case ActivationKind::rrelu:
    case ActivationKind::elu:
    case ActivationKind::celu: return std::fabs(x) < 1e-2;
    case ActivationKind::softplus: return std::fabs(a.beta * x - a.threshold) < 1e-2;
    default: return false;
    }
}

reference::ActivationParams reference_params(const Activation &a, double slope) {
    reference::ActivationParams p;
    p.negative_slope = a.negative_slope;
    p.alpha = a.alpha;
    p.beta = a.beta;
    p.threshold = a.threshold;
    p.slope = slope;
    return p;
}

// The slope the kernels see at channel c: prelu's a_c, rrelu's eval-mode mean.
double slope_at(const Activation &a, const Tensor &prelu_slope, int c) {
    if (a.kind == ActivationKind::prelu) return prelu_slope.host()[c];
    return (double(a.rrelu_lower) + double(a.rrelu_upper)) / 2;
}

// Halide autodiff of hnn's own forward Expr, on the same inputs: dx = d(sum dy * f(x)) / dx.
Halide::Buffer<float> autodiff_input_grad(const Activation &a, const Tensor &x, const Tensor &dy, const Tensor &slope) {
    const int C = x.dim(0), W = x.dim(1), H = x.dim(2), N = x.dim(3);
    Halide::Buffer<float> xb(C, W, H, N), dyb(C, W, H, N), sb(C);
    std::copy(x.host(), x.host() + x.size(), xb.data());
    std::copy(dy.host(), dy.host() + dy.size(), dyb.data());
    std::copy(slope.host(), slope.host() + C, sb.data());
    Halide::Var c, i, j, n;
    ActivationParams p;
    p.negative_slope = a.negative_slope;
    p.alpha = a.alpha;
    p.beta = a.beta;
    p.threshold = a.threshold;
    p.channel_slope = sb(c);
    p.rrelu_slope = (a.rrelu_lower + a.rrelu_upper) * 0.5f;
    Halide::Func f;
    f(c, i, j, n) = activation(a.kind, xb(c, i, j, n), p);
    Halide::Derivative d = Halide::propagate_adjoints(f, dyb);
    Halide::Buffer<float> out = d(xb).realize({C, W, H, N});
    return out;
}

// A (1, count, 1, 1) tensor holding `values` along x.
Tensor row_of(const std::vector<float> &values) {
    Tensor t({1, static_cast<int>(values.size()), 1, 1});
    std::copy(values.begin(), values.end(), t.host());
    t.host_changed();
    return t;
}

void check_activation(const Activation &a) {
    const ActivationKind k = a.kind;
    INFO("activation " << activation_name(k));
    // Odd sizes (not a multiple of any vector width), batch 1, and every vectorization path: along
    // channels (19), and under 16 channels along whole images, or along x for prelu and rrelu.
    // Images of under 64 floats share a row: batches of 7 (a prime) and 12 images of 1x1x10.
    for (std::vector<int> shape : {std::vector<int>{5, 7, 3, 2}, {19, 3, 1, 1}, {1, 33, 1, 1}, {3, 1, 1, 1},
                                   {10, 1, 1, 7}, {10, 1, 1, 12}}) {
        INFO("shape " << Tensor(shape).shape_string());
        Tensor x = random_tensor(shape, -10, 10);
        Tensor dy = random_tensor(shape, -2, 2);
        Tensor y(shape), dx(shape);
        Tensor slope = random_tensor({shape[0]}, 0.0f, 0.5f);
        const int C = shape[0];
        activation_forward(a, x, y, RandomKey{}, &slope);
        activation_backward(a, x, dy, dx, RandomKey{}, &slope);
        const float *xs = x.host();
        const float *dys = dy.host();

        // float64 reference: f and dy * f'.
        require_close(
            y, [&](size_t e) { return reference::activation(k, xs[e], reference_params(a, slope_at(a, slope, e % C))); },
            1e-5, 1e-6, "forward vs float64 reference");
        require_close(
            dx,
            [&](size_t e) {
                return dys[e] * reference::derivative(k, xs[e], reference_params(a, slope_at(a, slope, e % C)));
            },
            1e-5, 1e-6, "backward vs float64 derivative");
        // Read from the output y instead, where the activation allows it; refused where it does not.
        Tensor dx_from_y(shape);
        if (can_differentiate_from_output(a)) {
            activation_backward(a, y, dy, dx_from_y, RandomKey{}, &slope, DerivativeSource::output);
            require_close(
                dx_from_y,
                [&](size_t e) {
                    return dys[e] * reference::derivative(k, xs[e], reference_params(a, slope_at(a, slope, e % C)));
                },
                1e-5, 1e-6, "backward from the output vs float64 derivative");
        } else {
            REQUIRE_THROWS_WITH(activation_backward(a, y, dy, dx_from_y, RandomKey{}, &slope, DerivativeSource::output),
                                Catch::Contains("derivative cannot be read from its output"));
        }

        // Central differences of the float64 forward, away from kinks.
        const float *dxs = dx.host();
        for (size_t e = 0; e < x.size(); e++) {
            if (near_kink(k, xs[e], a)) continue;
            const double h = 1e-5;
            auto p = reference_params(a, slope_at(a, slope, e % C));
            double fd = dys[e] * (reference::activation(k, xs[e] + h, p) - reference::activation(k, xs[e] - h, p)) / (2 * h);
            INFO("finite differences at x = " << xs[e]);
            REQUIRE(std::fabs(dxs[e] - fd) <= 1e-4 * std::fabs(fd) + 1e-5);
        }

        // Halide's autodiff of the same algorithm, away from kinks.
        Halide::Buffer<float> ad = autodiff_input_grad(a, x, dy, slope);
        for (size_t e = 0; e < x.size(); e++) {
            if (near_kink(k, xs[e], a)) continue;
            INFO("autodiff at x = " << xs[e]);
            REQUIRE(std::fabs(dxs[e] - ad.data()[e]) <= 1e-5 * std::fabs(ad.data()[e]) + 1e-6);
        }
    }

    // Extremes stay finite: |x| up to 1e4, signed zeros, denormals.
    const std::vector<float> extremes = {1e4f, -1e4f, 0.0f, -0.0f, 1e-40f, -1e-40f, FLT_MIN, -FLT_MIN,
                                         88.8f, -88.8f, 100.0f, -100.0f, 1e-7f, -1e-7f, 20.0f, -20.0f};
    const int count = static_cast<int>(extremes.size());
    Tensor x = row_of(extremes), y({1, count, 1, 1}), dy({1, count, 1, 1}), dx({1, count, 1, 1});
    dy.fill(1.0f);
    Tensor slope({1});
    slope.fill(0.25f);
    activation_forward(a, x, y, RandomKey{}, &slope);
    activation_backward(a, x, dy, dx, RandomKey{}, &slope);
    for (int e = 0; e < count; e++) {
        INFO("x = " << extremes[e] << ": f = " << y.host()[e] << ", f' = " << dx.host()[e]);
        REQUIRE(std::isfinite(y.host()[e]));
        REQUIRE(std::isfinite(dx.host()[e]));
        double want = reference::activation(a.kind, extremes[e], reference_params(a, slope_at(a, slope, 0)));
        REQUIRE(std::fabs(y.host()[e] - want) <= 1e-5 * std::fabs(want) + 1e-6);
    }
}

Activation make(ActivationKind k) {
    Activation a;
    a.kind = k;
    return a;
}

}  // namespace

#define HNN_ACTIVATION_TEST(NAME)                                                               \
    TEST_CASE(#NAME " forward/backward match float64, finite differences and autodiff", "[activation]") { \
        check_activation(make(ActivationKind::NAME));                                           \
    }

HNN_ACTIVATION_TEST(relu)
HNN_ACTIVATION_TEST(leaky_relu)
HNN_ACTIVATION_TEST(prelu)
HNN_ACTIVATION_TEST(rrelu)
HNN_ACTIVATION_TEST(elu)
HNN_ACTIVATION_TEST(celu)
HNN_ACTIVATION_TEST(softsign)
HNN_ACTIVATION_TEST(tanh)
HNN_ACTIVATION_TEST(sigmoid)
HNN_ACTIVATION_TEST(softplus)
HNN_ACTIVATION_TEST(mish)
HNN_ACTIVATION_TEST(swish)
HNN_ACTIVATION_TEST(silu)

TEST_CASE("activations with non-default parameters", "[activation]") {
    Activation a = make(ActivationKind::celu);
    REQUIRE(apply_activation_param(a, "celu.alpha=2"));
    REQUIRE(a.alpha == 2.0f);
    check_activation(a);

    Activation s = make(ActivationKind::softplus);
    apply_activation_param(s, "softplus.beta=2");
    apply_activation_param(s, "softplus.threshold=5");
    check_activation(s);

    Activation w = make(ActivationKind::swish);
    apply_activation_param(w, "swish.beta=1.7");
    check_activation(w);

    Activation l = make(ActivationKind::leaky_relu);
    apply_activation_param(l, "leaky_relu.negative_slope=0.2");
    check_activation(l);

    // elu's output tells x's sign only for alpha > 0: with a negative alpha the derivative is read
    // from x, and reading it from y is refused.
    Activation e = make(ActivationKind::elu);
    apply_activation_param(e, "elu.alpha=-0.5");
    REQUIRE_FALSE(can_differentiate_from_output(e));
    check_activation(e);
    REQUIRE(can_differentiate_from_output(make(ActivationKind::celu)));
    REQUIRE_FALSE(can_differentiate_from_output(make(ActivationKind::mish)));
}

namespace {

// Units in the last place of float v: the gap to the next float away from zero. Below the smallest
// normal float the unit is FLT_MIN itself: Halide's exp flushes its denormal results to zero
// (softplus with beta 2 returns 0 for x < -43.7, where it is 4e-39).
double ulp_of(float v) {
    const float a = std::fabs(v);
    if (a < FLT_MIN) return FLT_MIN;
    return double(std::nextafter(a, INFINITY)) - double(a);
}

// x = +-10^t for t from -30 to 1.6 (|x| up to 40) in steps of 0.002: every binade the kernels meet,
// and the range reductions' seams (elu's at |x| = ln2 / 2) among them. Not beyond 40: swish with
// beta 2 would take e^-90, a denormal that Halide's exp flushes to zero.
std::vector<float> magnitude_sweep() {
    std::vector<float> xs;
    for (int i = -15000; i <= 800; i++) {
        const float m = static_cast<float>(std::pow(10.0, i * 0.002));
        xs.push_back(m);
        xs.push_back(-m);
    }
    return xs;
}

// The largest error of got[e] against want(xs[e]) in ulp of the float64 value, and where. A zero
// must come out exactly zero.
struct WorstError {
    double ulps = 0;
    float x = 0;
};

template<typename Want>
WorstError worst_ulp_error(const std::vector<float> &xs, const Tensor &got, Want &&want) {
    WorstError worst;
    for (size_t e = 0; e < xs.size(); e++) {
        const double w = want(xs[e]), g = got.host()[e];
        const double ulps = w == 0 ? (g == 0 ? 0 : INFINITY) : std::fabs(g - w) / ulp_of(float(w));
        if (ulps > worst.ulps) worst = {ulps, xs[e]};
    }
    return worst;
}

}  // namespace

TEST_CASE("every activation's forward is within 8 ulp of float64, relative to the result however small", "[activation]") {
    // The tests above allow an absolute 1e-6; this one does not, so a result of 1e-8 must be right
    // to its own last bits, as libm's expm1 and log1p are in PyTorch's elu and softplus. It caught
    // elu returning 0 for x = -1e-8 (fast-math reassociation cancelling 2^k p + (2^k - 1)) and
    // softplus returning 0 below x = -17. The worst measured: mish at 2.9 ulp, near x = -4.4.
    const std::vector<float> xs = magnitude_sweep();
    const int count = static_cast<int>(xs.size());
    std::vector<Activation> cases;
    for (int k = 0; k < activation_kind_count; k++) cases.push_back(make(static_cast<ActivationKind>(k)));
    Activation celu2 = make(ActivationKind::celu), elu_half = make(ActivationKind::elu);
    Activation softplus2 = make(ActivationKind::softplus), swish = make(ActivationKind::swish);
    apply_activation_param(celu2, "celu.alpha=2");
    apply_activation_param(elu_half, "elu.alpha=0.5");
    apply_activation_param(softplus2, "softplus.beta=2");
    // beta = 2, so that beta x is exact: any other beta rounds it, which e^(beta x) turns into a
    // relative error of |beta x| ulp (57 ulp at x = -39 for beta 1.7), in float32 PyTorch as here.
    apply_activation_param(swish, "swish.beta=2");
    cases.insert(cases.end(), {celu2, elu_half, softplus2, swish});
    for (const Activation &a : cases) {
        INFO("activation " << activation_name(a.kind) << " alpha " << a.alpha << " beta " << a.beta);
        Tensor x = row_of(xs), y({1, count, 1, 1});
        Tensor slope({1});
        slope.fill(0.25f);
        activation_forward(a, x, y, RandomKey{}, &slope);
        const WorstError worst = worst_ulp_error(xs, y, [&](float xe) {
            return reference::activation(a.kind, xe, reference_params(a, slope_at(a, slope, 0)));
        });
        INFO("worst at x = " << worst.x << ": " << worst.ulps << " ulp");
        REQUIRE(worst.ulps <= 8);
    }
}

TEST_CASE("derivatives from x are within 8 ulp of float64 where f' has no zero to cancel toward", "[activation]") {
    // sigmoid' and tanh' written as s (1 - s) and 1 - t^2 returned 0 for x above 17 and 9. mish',
    // swish' and silu' are left to the relative 1e-5 above: each is a sum of two terms that cancel
    // where f' crosses zero (x near -1.2 and -1.28), which costs up to 226 ulp of the small result.
    const std::vector<float> xs = magnitude_sweep();
    const int count = static_cast<int>(xs.size());
    for (ActivationKind k : {ActivationKind::relu, ActivationKind::leaky_relu, ActivationKind::prelu, ActivationKind::rrelu,
                             ActivationKind::elu, ActivationKind::celu, ActivationKind::softsign, ActivationKind::tanh,
                             ActivationKind::sigmoid, ActivationKind::softplus, ActivationKind::identity}) {
        const Activation a = make(k);
        INFO("activation " << activation_name(k));
        Tensor x = row_of(xs), dy({1, count, 1, 1}), dx({1, count, 1, 1});
        dy.fill(1.0f);
        Tensor slope({1});
        slope.fill(0.25f);
        activation_backward(a, x, dy, dx, RandomKey{}, &slope);
        const WorstError worst = worst_ulp_error(xs, dx, [&](float xe) {
            return reference::derivative(k, xe, reference_params(a, slope_at(a, slope, 0)));
        });
        INFO("worst at x = " << worst.x << ": " << worst.ulps << " ulp");
        REQUIRE(worst.ulps <= 8);
    }
}

TEST_CASE("activation parameters are parsed with errors that name the text", "[activation]") {
    Activation a = make(ActivationKind::elu);
    REQUIRE_FALSE(apply_activation_param(a, "celu.alpha=3"));  // another activation's parameter
    REQUIRE(a.alpha == 1.0f);
    REQUIRE_THROWS_WITH(apply_activation_param(a, "elu.gamma=1"), Catch::Contains("elu has no parameter 'gamma'"));
    REQUIRE_THROWS_WITH(apply_activation_param(a, "elu.alpha=abc"), Catch::Contains("'abc' is not a finite number"));
    REQUIRE_THROWS_WITH(apply_activation_param(a, "gelu.alpha=1"), Catch::Contains("unknown activation 'gelu'"));
    REQUIRE_THROWS_WITH(apply_activation_param(a, "elu"), Catch::Contains("expected NAME.PARAM=VALUE"));
    REQUIRE_THROWS_WITH(parse_activation_kind("ReLU"), Catch::Contains("expected one of relu, leaky_relu"));
}

TEST_CASE("rrelu training draws per-element slopes in [lower, upper] that backward regenerates", "[activation]") {
    Activation a = make(ActivationKind::rrelu);
    const std::vector<int> shape = {6, 9, 5, 3};
    Tensor x = random_tensor(shape, -5, -0.1f);  // all negative: every element uses its r
    Tensor y(shape), dy(shape), dx(shape), y2(shape), y3(shape);
    dy.fill(1.0f);
    RandomKey key{true, 1234u, 7};
    activation_forward(a, x, y, key);
    activation_backward(a, x, dy, dx, key);
    activation_forward(a, x, y2, key);
    activation_forward(a, x, y3, RandomKey{true, 1234u, 8});
    double sum = 0;
    size_t differs_next_step = 0;
    for (size_t e = 0; e < x.size(); e++) {
        double r = double(y.host()[e]) / x.host()[e];
        REQUIRE(r >= a.rrelu_lower - 1e-6);
        REQUIRE(r <= a.rrelu_upper + 1e-6);
        REQUIRE(dx.host()[e] == Approx(r).epsilon(1e-5));  // backward sees the forward's r
        REQUIRE(y2.host()[e] == y.host()[e]);              // same key, same numbers
        differs_next_step += y3.host()[e] != y.host()[e];
        sum += r;
    }
    const double mean = sum / x.size();
    REQUIRE(mean == Approx((a.rrelu_lower + a.rrelu_upper) / 2).epsilon(0.02));
    REQUIRE(differs_next_step > x.size() * 9 / 10);
}

TEST_CASE("prelu and swish parameter gradients match float64, finite differences and autodiff", "[activation]") {
    const std::vector<int> shape = {7, 5, 3, 2};
    const int C = shape[0];
    Tensor x = random_tensor(shape, -4, 4);
    Tensor dy = random_tensor(shape, -1, 1);
    Tensor slope = random_tensor({C}, 0.0f, 0.5f);

    SECTION("prelu dL/da_c") {
        Activation a = make(ActivationKind::prelu);
        Tensor grad({C});
        activation_parameter_gradient(a, x, dy, grad, RandomKey{}, &slope);
        std::vector<double> want(C, 0.0);
        for (size_t e = 0; e < x.size(); e++) {
            if (x.host()[e] <= 0) want[e % C] += double(dy.host()[e]) * x.host()[e];
        }
        require_close(grad, [&](size_t c) { return want[c]; }, 1e-5, 1e-5, "dL/da_c vs float64");

        // Autodiff with respect to the slope buffer.
        Halide::Buffer<float> xb(shape), dyb(shape), sb(C);
        std::copy(x.host(), x.host() + x.size(), xb.data());
        std::copy(dy.host(), dy.host() + dy.size(), dyb.data());
        std::copy(slope.host(), slope.host() + C, sb.data());
        Halide::Var c, i, j, n;
        ActivationParams p;
        p.channel_slope = sb(c);
        Halide::Func f;
        f(c, i, j, n) = activation(ActivationKind::prelu, xb(c, i, j, n), p);
        Halide::Derivative d = Halide::propagate_adjoints(f, dyb);
        Halide::Buffer<float> ad = d(sb).realize({C});
        require_close(grad, [&](size_t ch) { return ad(int(ch)); }, 1e-5, 1e-5, "dL/da_c vs autodiff");
    }

    SECTION("swish dL/dbeta") {
        Activation a = make(ActivationKind::swish);
        a.beta = 1.3f;
        Tensor grad({1});
        activation_parameter_gradient(a, x, dy, grad);
        // Central differences of the float64 loss sum(dy * swish_beta(x)) in beta.
        auto loss = [&](double beta) {
            reference::ActivationParams p;
            p.beta = beta;
            double s = 0;
            for (size_t e = 0; e < x.size(); e++) s += dy.host()[e] * reference::activation(ActivationKind::swish, x.host()[e], p);
            return s;
        };
        const double h = 1e-5;
        const double fd = (loss(a.beta + h) - loss(a.beta - h)) / (2 * h);
        REQUIRE(grad.host()[0] == Approx(fd).epsilon(1e-4).margin(1e-4));

        Halide::Buffer<float> xb(shape), dyb(shape);
        std::copy(x.host(), x.host() + x.size(), xb.data());
        std::copy(dy.host(), dy.host() + dy.size(), dyb.data());
        Halide::Param<float> beta("beta", a.beta);
        Halide::Var c, i, j, n;
        ActivationParams p;
        p.beta = beta;
        Halide::Func f;
        f(c, i, j, n) = activation(ActivationKind::swish, xb(c, i, j, n), p);
        Halide::Derivative d = Halide::propagate_adjoints(f, dyb);
        Halide::Func dbeta = d(beta);
        Halide::Buffer<float> ad = dbeta.realize();
        REQUIRE(grad.host()[0] == Approx(ad()).epsilon(1e-4).margin(1e-4));
    }

    SECTION("activations without a learnable parameter refuse") {
        Tensor grad({C});
        REQUIRE_THROWS_WITH(activation_parameter_gradient(make(ActivationKind::elu), x, dy, grad),
                            Catch::Contains("elu has no learnable parameter"));
    }
}

TEST_CASE("activation kernels refuse mismatched shapes with a message naming them", "[activation]") {
    Tensor x({3, 4, 4, 2}), y({3, 4, 5, 2}), dy({3, 4, 4, 2}), dx({3, 4, 4, 1});
    REQUIRE_THROWS_WITH(activation_forward(make(ActivationKind::relu), x, y),
                        Catch::Contains("activation_forward: x (c=3, x=4, y=4, n=2) and y (c=3, x=4, y=5, n=2) differ"));
    REQUIRE_THROWS_WITH(activation_backward(make(ActivationKind::tanh), x, dy, dx),
                        Catch::Contains("activation_backward: x (c=3, x=4, y=4, n=2) and dx (c=3, x=4, y=4, n=1)"));
    Tensor flat({12});
    REQUIRE_THROWS_WITH(activation_forward(make(ActivationKind::relu), flat, flat),
                        Catch::Contains("must be a (c, x, y, n) tensor, got [12]"));
    Tensor wrong_slope({2});
    Tensor y_ok({3, 4, 4, 2});
    REQUIRE_THROWS_WITH(activation_forward(make(ActivationKind::prelu), x, y_ok, RandomKey{}, &wrong_slope),
                        Catch::Contains("prelu needs a slope per channel, shape [3], got [2]"));
}
