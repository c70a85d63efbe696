// Softmax cross-entropy against float64, finite differences and Halide autodiff.

#include "Halide.h"
#include "hnn/error.h"
#include "hnn/loss_ops.h"
#include "test_util.h"

#include <cmath>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

double reference_loss(const std::vector<double> &logits, const std::vector<int32_t> &labels, int classes) {
    const int batch = static_cast<int>(labels.size());
    double total = 0;
    for (int n = 0; n < batch; n++) {
        double m = -INFINITY;
        for (int k = 0; k < classes; k++) m = std::max(m, logits[k + classes * n]);
        double s = 0;
        for (int k = 0; k < classes; k++) s += std::exp(logits[k + classes * n] - m);
        total += m + std::log(s) - logits[labels[n] + classes * n];
    }
    return total / batch;
}

}  // namespace

TEST_CASE("softmax cross-entropy matches float64, finite differences and autodiff", "[loss]") {
    for (auto [classes, batch, offset] : {std::tuple{10, 7, 0.0f}, {3, 1, 0.0f}, {10, 100, 1e4f}, {17, 33, -1e4f}}) {
        INFO(classes << " classes, batch " << batch << ", logits offset " << offset);
        Tensor logits = random_tensor({classes, batch}, -5 + offset, 5 + offset);
        std::vector<int32_t> labels(batch);
        for (int n = 0; n < batch; n++) labels[n] = (n * 7 + 3) % classes;
        Tensor grad({classes, batch});
        LossResult result = softmax_cross_entropy(logits, labels, grad);
        std::vector<double> l(logits.host(), logits.host() + logits.size());
        const double want = reference_loss(l, labels, classes);
        REQUIRE(std::isfinite(result.loss));
        REQUIRE(result.loss == Approx(want).epsilon(1e-5).margin(1e-5));

        int correct = 0;
        for (int n = 0; n < batch; n++) {
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (l[k + classes * n] > l[best + classes * n]) best = k;
            REQUIRE(result.is_correct[n] == (best == labels[n]));
            correct += best == labels[n];
        }
        REQUIRE(result.correct == correct);

        // d loss / d logits: softmax - onehot, over the batch; and central differences in float64.
        require_close(
            grad,
            [&](size_t i) {
                int k = i % classes, n = i / classes;
                double m = -INFINITY, s = 0;
                for (int j = 0; j < classes; j++) m = std::max(m, l[j + classes * n]);
                for (int j = 0; j < classes; j++) s += std::exp(l[j + classes * n] - m);
                return (std::exp(l[i] - m) / s - (k == labels[n])) / batch;
            },
            1e-4, 1e-6, "logits_grad vs float64");
        for (size_t i = 0; i < l.size(); i += 1 + l.size() / 9) {
            auto plus = l, minus = l;
            plus[i] += 1e-4;
            minus[i] -= 1e-4;
            double fd = (reference_loss(plus, labels, classes) - reference_loss(minus, labels, classes)) / 2e-4;
            REQUIRE(grad.host()[i] == Approx(fd).epsilon(1e-3).margin(1e-6));
        }

        // Halide autodiff of the mean negative log-likelihood. The stabilizing shift m is realized
        // first, so autodiff sees a constant (the gradient does not depend on it).
        Halide::Buffer<float> lb(classes, batch);
        Halide::Buffer<int32_t> yb(batch);
        std::copy(logits.host(), logits.host() + logits.size(), lb.data());
        std::copy(labels.begin(), labels.end(), yb.data());
        Halide::Var n;
        Halide::RDom rk(0, classes), rn(0, batch);
        Halide::Func m_func("m"), lse("lse"), loss("loss");
        m_func(n) = Halide::maximum(lb(rk, n));
        Halide::Buffer<float> m = m_func.realize({batch});
        lse(n) = m(n) + Halide::log(Halide::sum(Halide::exp(lb(rk, n) - m(n))));
        loss() = Halide::sum(lse(rn) - lb(Halide::clamp(yb(rn), 0, classes - 1), rn)) / float(batch);
        Halide::Derivative d = Halide::propagate_adjoints(loss);
        Halide::Buffer<float> ad = d(lb).realize({classes, batch});
        require_close(grad, [&](size_t i) { return ad.data()[i]; }, 1e-4, 1e-6, "logits_grad vs autodiff");
    }
}

TEST_CASE("softmax cross-entropy refuses bad labels and shapes with clear messages", "[loss]") {
    Tensor logits({10, 4}), grad({10, 4});
    REQUIRE_THROWS_WITH(softmax_cross_entropy(logits, {1, 2, 10, 0}, grad),
                        Catch::Contains("label 10 of sample 2 is outside [0, 10)"));
    REQUIRE_THROWS_WITH(softmax_cross_entropy(logits, {1, 2, -1, 0}, grad), Catch::Contains("label -1 of sample 2"));
    REQUIRE_THROWS_WITH(softmax_cross_entropy(logits, {1, 2}, grad), Catch::Contains("2 labels for a batch of 4"));
    Tensor wrong({10, 5});
    REQUIRE_THROWS_WITH(softmax_cross_entropy(logits, {1, 2, 3, 4}, wrong), Catch::Contains("differ in shape"));
}
