// Dropout: the mask's rate and scaling, the backward pass regenerating the forward's mask, the
// identity in evaluation, and the backward against finite differences and Halide's autodiff.

#include "Halide.h"
#include "dropout_algorithm.h"
#include "hnn/dropout_ops.h"
#include "hnn/error.h"
#include "test_util.h"

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

Halide::Buffer<float> halide_copy(const Tensor &t) {
    Halide::Buffer<float> b(t.shape());
    std::copy(t.host(), t.host() + t.size(), b.data());
    return b;
}

}  // namespace

TEST_CASE("dropout zeroes about rate of the elements and scales the rest by 1/(1-rate)", "[dropout]") {
    for (float rate : {0.2f, 0.5f}) {
        INFO("rate " << rate);
        Tensor x({19, 9, 7, 3}), y({19, 9, 7, 3});  // 19 channels: not a multiple of the vector width
        x.fill(1.0f);
        dropout(x, rate, RandomKey{true, 7, 3}, y);
        size_t zeros = 0;
        for (size_t i = 0; i < y.size(); i++) {
            const float v = y.host()[i];
            if (v == 0.0f) zeros++;
            else REQUIRE(v == Approx(1.0 / (1.0 - rate)));
        }
        // 3591 draws: the fraction's standard deviation is below 0.009.
        CHECK(double(zeros) / y.size() == Approx(rate).margin(0.04));

        Tensor other({19, 9, 7, 3});
        dropout(x, rate, RandomKey{true, 7, 4}, other);  // the next step draws another mask
        size_t differ = 0;
        for (size_t i = 0; i < y.size(); i++) differ += (y.host()[i] == 0.0f) != (other.host()[i] == 0.0f);
        CHECK(differ > y.size() / 10);
    }
}

TEST_CASE("dropout backward reuses the forward mask; evaluation is the identity", "[dropout]") {
    Tensor x = random_tensor({8, 5, 5, 2}), y({8, 5, 5, 2}), dy = random_tensor({8, 5, 5, 2}), dx({8, 5, 5, 2});
    const RandomKey key{true, 11, 42};
    dropout(x, 0.4f, key, y);
    dropout(dy, 0.4f, key, dx);
    for (size_t i = 0; i < x.size(); i++) {
        const double scale = y.host()[i] / double(x.host()[i]);
        REQUIRE(dx.host()[i] == Approx(dy.host()[i] * scale).margin(1e-6));
    }
    // Finite differences of L = sum(dy * dropout(x)), linear in x.
    auto loss = [&](Tensor &in) {
        Tensor out(in.shape());
        dropout(in, 0.4f, key, out);
        double l = 0;
        for (size_t i = 0; i < out.size(); i++) l += double(out.host()[i]) * dy.host()[i];
        return l;
    };
    for (size_t i = 0; i < x.size(); i += 13) {
        Tensor plus(x.shape()), minus(x.shape());
        std::copy(x.host(), x.host() + x.size(), plus.host());
        std::copy(x.host(), x.host() + x.size(), minus.host());
        plus.host()[i] += 0.25f;
        minus.host()[i] -= 0.25f;
        REQUIRE(dx.host()[i] == Approx((loss(plus) - loss(minus)) / 0.5).margin(1e-5));
    }
    // Halide's autodiff of the same algorithm.
    Halide::Buffer<float> xb = halide_copy(x), db = halide_copy(dy);
    Halide::Var c, xv, yv, n;
    Halide::Func out("out");
    out(c, xv, yv, n) = xb(c, xv, yv, n) * dropout_scale(1, 0.4f, Halide::cast<uint32_t>(11), 42, c, xv, yv, n);
    Halide::Derivative d = Halide::propagate_adjoints(out, db);
    Halide::Buffer<float> ad = d(xb).realize({8, 5, 5, 2});
    require_close(dx, [&](size_t i) { return ad.data()[i]; }, 1e-6, 1e-6, "dropout backward vs autodiff");

    Tensor eval({8, 5, 5, 2});
    dropout(x, 0.4f, RandomKey{}, eval);
    require_close(eval, [&](size_t i) { return x.host()[i]; }, 0, 0, "dropout in evaluation");
}

TEST_CASE("dropout refuses a bad rate or mismatched shapes", "[dropout]") {
    Tensor x({4, 3, 3, 1}), y({4, 3, 3, 1}), wrong({4, 3, 2, 1});
    REQUIRE_THROWS_WITH(dropout(x, 1.0f, RandomKey{true, 1, 1}, y), Catch::Contains("rate"));
    REQUIRE_THROWS_WITH(dropout(x, -0.1f, RandomKey{true, 1, 1}, y), Catch::Contains("rate"));
    REQUIRE_THROWS_WITH(dropout(x, 0.5f, RandomKey{true, 1, 1}, wrong), Catch::Contains("dropout"));
}
