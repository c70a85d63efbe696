// Pooling kernels against float64 loops, finite differences and Halide autodiff.

#include "Halide.h"
#include "hnn/activation_ops.h"
#include "hnn/error.h"
#include "hnn/pooling_ops.h"
#include "pooling_algorithm.h"
#include "reference_conv.h"
#include "test_util.h"

#include <algorithm>
#include <numeric>

using namespace hnn;
using hnn::reference::at4;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

struct PoolCase {
    int c, w, h, n, kernel, stride;
};

const std::vector<PoolCase> pool_cases = {
    {3, 7, 7, 2, 2, 2},  // 7 -> 3: the last row and column are dropped
    {20, 8, 6, 1, 2, 2}, {1, 9, 5, 3, 3, 2}, {5, 6, 6, 2, 2, 1}, {17, 4, 4, 2, 4, 4}, {2, 5, 3, 1, 3, 1},
};

Halide::Buffer<float> halide_copy(const Tensor &t) {
    Halide::Buffer<float> b(t.shape());
    std::copy(t.host(), t.host() + t.size(), b.data());
    return b;
}

// Values with gaps of at least 0.01 in random order: no ties, and a 1e-3 nudge never changes a max.
Tensor distinct_tensor(const std::vector<int> &shape) {
    Tensor t(shape);
    std::vector<int> order(t.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), hnn::test::rng());
    for (size_t i = 0; i < t.size(); i++) t.host()[i] = 0.01f * order[i] - 0.005f * t.size();
    t.host_changed();
    return t;
}

}  // namespace

TEST_CASE("average pooling forward/backward match float64, finite differences and autodiff", "[pooling]") {
    for (const PoolCase &p : pool_cases) {
        INFO("c=" << p.c << " " << p.w << "x" << p.h << " n=" << p.n << " kernel " << p.kernel << " stride " << p.stride);
        const int ow = pooled_size(p.w, p.kernel, p.stride), oh = pooled_size(p.h, p.kernel, p.stride);
        Tensor in = random_tensor({p.c, p.w, p.h, p.n});
        Tensor out({p.c, ow, oh, p.n});
        avg_pool_forward(in, p.kernel, p.stride, out);
        require_close(
            out,
            [&](size_t i) {
                int c = i % p.c, x = (i / p.c) % ow, y = (i / p.c / ow) % oh, n = i / p.c / ow / oh;
                double s = 0;
                for (int ky = 0; ky < p.kernel; ky++)
                    for (int kx = 0; kx < p.kernel; kx++) s += in.host()[at4(c, x * p.stride + kx, y * p.stride + ky, n, p.c, p.w, p.h)];
                return s / (p.kernel * p.kernel);
            },
            1e-6, 1e-6, "avg_pool_forward");

        Tensor dout = random_tensor({p.c, ow, oh, p.n});
        Tensor din({p.c, p.w, p.h, p.n});
        avg_pool_backward(dout, p.kernel, p.stride, din);
        std::vector<double> want(din.size(), 0.0);
        for (int n = 0; n < p.n; n++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    for (int ky = 0; ky < p.kernel; ky++)
                        for (int kx = 0; kx < p.kernel; kx++)
                            for (int c = 0; c < p.c; c++)
                                want[at4(c, x * p.stride + kx, y * p.stride + ky, n, p.c, p.w, p.h)] +=
                                    dout.host()[at4(c, x, y, n, p.c, ow, oh)] / double(p.kernel * p.kernel);
        require_close(din, [&](size_t i) { return want[i]; }, 1e-6, 1e-6, "avg_pool_backward vs float64");

        // Finite differences of L = sum(dout * avgpool(in)) (linear in the input).
        auto loss = [&](const Tensor &x) {
            Tensor y({p.c, ow, oh, p.n});
            avg_pool_forward(const_cast<Tensor &>(x), p.kernel, p.stride, y);
            double l = 0;
            for (size_t i = 0; i < y.size(); i++) l += double(y.host()[i]) * dout.host()[i];
            return l;
        };
        for (size_t i = 0; i < in.size(); i += 1 + in.size() / 5) {
            Tensor plus = random_tensor(in.shape()), minus = random_tensor(in.shape());
            std::copy(in.host(), in.host() + in.size(), plus.host());
            std::copy(in.host(), in.host() + in.size(), minus.host());
            plus.host()[i] += 0.25f;
            minus.host()[i] -= 0.25f;
            double fd = (loss(plus) - loss(minus)) / 0.5;
            REQUIRE(din.host()[i] == Approx(fd).margin(1e-5));
        }

        Halide::Buffer<float> xb = halide_copy(in), db = halide_copy(dout);
        // Kernel and stride as run-time parameters, as in the AOT kernels: with constants Halide 14's
        // autodiff tries to invert x * stride + kx itself and fails.
        Halide::Param<int> kernel("kernel", p.kernel), stride("stride", p.stride);
        Halide::Func pooled("pooled"), window_sum("window_sum");
        Halide::RDom r(0, kernel, 0, kernel);
        define_avg_pool_forward(pooled, window_sum, Halide::Func(xb), r, kernel, stride);
        Halide::Derivative d = Halide::propagate_adjoints(pooled, db);
        Halide::Buffer<float> ad = d(xb).realize({p.c, p.w, p.h, p.n});
        require_close(din, [&](size_t i) { return ad.data()[i]; }, 1e-6, 1e-6, "avg_pool_backward vs autodiff");
    }
}

TEST_CASE("max pooling forward/backward match float64, finite differences and autodiff", "[pooling]") {
    for (const PoolCase &p : pool_cases) {
        INFO("c=" << p.c << " " << p.w << "x" << p.h << " n=" << p.n << " kernel " << p.kernel << " stride " << p.stride);
        const int ow = pooled_size(p.w, p.kernel, p.stride), oh = pooled_size(p.h, p.kernel, p.stride);
        Tensor in = distinct_tensor({p.c, p.w, p.h, p.n});
        Tensor out({p.c, ow, oh, p.n});
        max_pool_forward(in, p.kernel, p.stride, out);
        std::vector<size_t> argmax(out.size());
        require_close(
            out,
            [&](size_t i) {
                int c = i % p.c, x = (i / p.c) % ow, y = (i / p.c / ow) % oh, n = i / p.c / ow / oh;
                double best = -1e30;
                for (int ky = 0; ky < p.kernel; ky++)
                    for (int kx = 0; kx < p.kernel; kx++) {
                        size_t at = at4(c, x * p.stride + kx, y * p.stride + ky, n, p.c, p.w, p.h);
                        if (in.host()[at] > best) {
                            best = in.host()[at];
                            argmax[i] = at;
                        }
                    }
                return best;
            },
            0, 0, "max_pool_forward");

        Tensor dout = random_tensor({p.c, ow, oh, p.n});
        Tensor din({p.c, p.w, p.h, p.n});
        max_pool_backward(in, dout, p.kernel, p.stride, din);
        std::vector<double> want(din.size(), 0.0);
        for (size_t i = 0; i < out.size(); i++) want[argmax[i]] += dout.host()[i];
        require_close(din, [&](size_t i) { return want[i]; }, 1e-6, 1e-6, "max_pool_backward vs float64");

        // Finite differences: a 1e-3 nudge never reorders values 0.01 apart.
        auto loss = [&](Tensor &x) {
            Tensor y({p.c, ow, oh, p.n});
            max_pool_forward(x, p.kernel, p.stride, y);
            double l = 0;
            for (size_t i = 0; i < y.size(); i++) l += double(y.host()[i]) * dout.host()[i];
            return l;
        };
        for (size_t i = 0; i < in.size(); i += 1 + in.size() / 7) {
            Tensor plus(in.shape()), minus(in.shape());
            std::copy(in.host(), in.host() + in.size(), plus.host());
            std::copy(in.host(), in.host() + in.size(), minus.host());
            plus.host()[i] += 1e-3f;
            minus.host()[i] -= 1e-3f;
            double fd = (loss(plus) - loss(minus)) / (double(plus.host()[i]) - double(minus.host()[i]));
            REQUIRE(din.host()[i] == Approx(fd).epsilon(1e-3).margin(1e-3));
        }

        // Autodiff of the window maximum written as a max() chain (autodiff refuses inline maximum()).
        Halide::Buffer<float> xb = halide_copy(in), db = halide_copy(dout);
        Halide::Var c, x, y, n;
        Halide::Func mx("mx");
        Halide::Expr m = xb(c, x * p.stride, y * p.stride, n);
        for (int ky = 0; ky < p.kernel; ky++)
            for (int kx = 0; kx < p.kernel; kx++)
                if (kx || ky) m = Halide::max(m, xb(c, x * p.stride + kx, y * p.stride + ky, n));
        mx(c, x, y, n) = m;
        Halide::Derivative d = Halide::propagate_adjoints(mx, db);
        Halide::Buffer<float> ad = d(xb).realize({p.c, p.w, p.h, p.n});
        require_close(din, [&](size_t i) { return ad.data()[i]; }, 1e-6, 1e-6, "max_pool_backward vs autodiff");
    }
}

TEST_CASE("max pooling breaks ties deterministically: the first maximum in row-major order", "[pooling]") {
    Tensor in({2, 4, 4, 1});
    in.fill(1.0f);
    in.host()[at4(1, 3, 2, 0, 2, 4, 4)] = 2.0f;  // channel 1, window (1, 1): a unique maximum at (kx 1, ky 0)
    Tensor out({2, 2, 2, 1}), dout({2, 2, 2, 1}), din({2, 4, 4, 1});
    dout.fill(1.0f);
    max_pool_forward(in, 2, 2, out);
    max_pool_backward(in, dout, 2, 2, din);
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                bool window_first = x % 2 == 0 && y % 2 == 0;
                bool unique_max = c == 1 && x == 3 && y == 2;
                bool window_of_unique = c == 1 && x / 2 == 1 && y / 2 == 1;
                float want = unique_max ? 1.0f : (window_first && !window_of_unique ? 1.0f : 0.0f);
                INFO("c=" << c << " x=" << x << " y=" << y);
                REQUIRE(din.host()[at4(c, x, y, 0, 2, 4, 4)] == want);
            }
}

TEST_CASE("global average pooling forward/backward match float64 and autodiff", "[pooling]") {
    for (std::vector<int> shape : {std::vector<int>{10, 8, 8, 3}, {3, 1, 1, 2}, {37, 5, 3, 1}}) {
        const int C = shape[0], W = shape[1], H = shape[2], N = shape[3];
        Tensor in = random_tensor(shape);
        Tensor out({C, N});
        global_avg_pool_forward(in, out);
        require_close(
            out,
            [&](size_t i) {
                int c = i % C, n = i / C;
                double s = 0;
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) s += in.host()[at4(c, x, y, n, C, W, H)];
                return s / (W * H);
            },
            1e-6, 1e-6, "global_avg_pool_forward");
        Tensor dout = random_tensor({C, N});
        Tensor din(shape);
        global_avg_pool_backward(dout, din);
        require_close(
            din, [&](size_t i) { return double(dout.host()[(i % C) + C * (i / (size_t(C) * W * H))]) / (W * H); }, 1e-6,
            1e-7, "global_avg_pool_backward vs float64");

        Halide::Buffer<float> xb(shape), db(C, N);
        std::copy(in.host(), in.host() + in.size(), xb.data());
        std::copy(dout.host(), dout.host() + dout.size(), db.data());
        Halide::Var c, n;
        Halide::RDom r(0, W, 0, H);
        Halide::Func mean("mean");
        mean(c, n) = Halide::sum(xb(c, r.x, r.y, n)) / float(W * H);
        Halide::Derivative d = Halide::propagate_adjoints(mean, db);
        Halide::Buffer<float> ad = d(xb).realize(shape);
        require_close(din, [&](size_t i) { return ad.data()[i]; }, 1e-6, 1e-7, "global_avg_pool_backward vs autodiff");
    }
}

TEST_CASE("pooling backward with an activation derivative matches the two calls", "[pooling]") {
    // Every pool case: tiled windows (kernel == stride) run the fused kernels, the others the two
    // kernels. 20 channels vectorize along c, the others along x; 7x7 leaves a row and column in no
    // window. rrelu draws its slopes from the element's coordinates, prelu reads its channel's.
    for (const PoolCase &p : pool_cases) {
        const std::vector<int> shape{p.c, p.w, p.h, p.n};
        const int ow = pooled_size(p.w, p.kernel, p.stride), oh = pooled_size(p.h, p.kernel, p.stride);
        for (ActivationKind k : all_activations()) {
            Activation a;
            a.kind = k;
            const RandomKey key{true, 7u, 3, 2};
            Tensor x = random_tensor(shape, -5, 5), y(shape), dout = random_tensor({p.c, ow, oh, p.n});
            Tensor slope = random_tensor({p.c}, 0, 0.5f);
            activation_forward(a, x, y, key, &slope);
            std::vector<DerivativeSource> sources{DerivativeSource::input};
            if (can_differentiate_from_output(a)) sources.push_back(DerivativeSource::output);
            for (DerivativeSource source : sources) {
                INFO(activation_name(k) << (source == DerivativeSource::output ? " from y" : " from x") << ", c=" << p.c
                                        << " " << p.w << "x" << p.h << " kernel " << p.kernel << " stride " << p.stride);
                Tensor &saved = source == DerivativeSource::output ? y : x;
                for (bool max : {false, true}) {
                    Tensor pooled(shape), separate(shape), fused(shape);
                    if (max) {
                        max_pool_backward(y, dout, p.kernel, p.stride, pooled);
                    } else {
                        avg_pool_backward(dout, p.kernel, p.stride, pooled);
                    }
                    activation_backward(a, saved, pooled, separate, key, &slope, source);
                    fused.fill(std::nanf(""));
                    if (max) {
                        max_pool_backward_activation(y, dout, p.kernel, p.stride, a, saved, fused, key, &slope, source);
                    } else {
                        avg_pool_backward_activation(dout, p.kernel, p.stride, a, saved, fused, key, &slope, source);
                    }
                    // An ulp apart at most: Halide compiles with fast-math flags, and LLVM may reorder
                    // the product of the pool's gradient and the derivative differently in two kernels.
                    require_close(fused, [&](size_t i) { return separate.host()[i]; }, 2.5e-7, 0,
                                  max ? "max pool, fused vs separate" : "average pool, fused vs separate");
                }
            }
        }
    }
    Tensor dout({3, 2, 2, 1}), x({3, 4, 4, 1}), dx({3, 4, 4, 1}), wrong({3, 4, 4, 2});
    const Activation relu;
    REQUIRE_THROWS_WITH(avg_pool_backward_activation(dout, 2, 2, relu, wrong, dx),
                        Catch::Contains("avg_pool_backward_activation: x (c=3, x=4, y=4, n=2) and input_grad"));
    REQUIRE_THROWS_WITH(avg_pool_backward_activation(dout, 3, 3, relu, x, dx),
                        Catch::Contains("avg_pool_backward_activation: output_grad must have shape (c=3, x=1, y=1, n=1)"));
    REQUIRE_THROWS_WITH(max_pool_backward_activation(wrong, dout, 2, 2, relu, x, dx),
                        Catch::Contains("max_pool_backward_activation: input (c=3, x=4, y=4, n=2) and input_grad"));
    REQUIRE_THROWS_WITH(max_pool_backward_activation(x, dout, 2, 2, relu, wrong, dx, {}, nullptr, DerivativeSource::output),
                        Catch::Contains("max_pool_backward_activation: y (c=3, x=4, y=4, n=2) and input_grad"));
}

TEST_CASE("pooling refuses windows that do not fit and mismatched shapes", "[pooling]") {
    Tensor in({3, 3, 3, 1}), out({3, 1, 1, 1});
    REQUIRE_THROWS_WITH(avg_pool_forward(in, 4, 2, out), Catch::Contains("avg_pool_forward: input (c=3, x=3, y=3, n=1): a 4x4 window"));
    Tensor wrong({3, 2, 1, 1});
    REQUIRE_THROWS_WITH(max_pool_forward(in, 2, 2, wrong), Catch::Contains("output must have shape (c=3, x=1, y=1, n=1)"));
    Tensor g({4, 1});
    REQUIRE_THROWS_WITH(global_avg_pool_forward(in, g), Catch::Contains("output must have shape [3, 1], got [4, 1]"));
}
