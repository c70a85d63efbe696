// Optimizer kernels against the textbook update rules (torch.optim's), run for several steps in float64.

#include "hnn/error.h"
#include "hnn/optimizer_ops.h"
#include "test_util.h"

#include <cmath>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

// Fresh gradients for step t, the same for the kernel and the reference.
Tensor gradient_at(const std::vector<int> &shape, int t) {
    Tensor g(shape);
    for (size_t i = 0; i < g.size(); i++) g.host()[i] = std::sin(0.37 * i + 1.3 * t) * (1 + 0.1 * t);
    g.host_changed();
    return g;
}

void check_sgd(const SgdOptions &o) {
    INFO("sgd lr " << o.lr << " momentum " << o.momentum << " dampening " << o.dampening << " wd " << o.weight_decay
                   << (o.nesterov ? " nesterov" : "") << (o.decoupled_weight_decay ? " decoupled" : ""));
    const std::vector<int> shape = {3, 5, 7};  // any shape: the kernel sees a flat vector
    Tensor param = random_tensor(shape), velocity(shape);
    std::vector<double> p(param.host(), param.host() + param.size()), v(p.size(), 0.0);
    for (int t = 1; t <= 5; t++) {
        Tensor g = gradient_at(shape, t);
        sgd_update(param, g, velocity, o);
        for (size_t i = 0; i < p.size(); i++) {
            double gi = g.host()[i];
            if (o.decoupled_weight_decay) p[i] *= 1 - double(o.lr) * o.weight_decay;
            else gi += double(o.weight_decay) * p[i];
            v[i] = o.momentum * v[i] + (1 - double(o.dampening)) * gi;
            double dir = o.momentum == 0 ? gi : (o.nesterov ? gi + o.momentum * v[i] : v[i]);
            p[i] -= o.lr * dir;
        }
    }
    require_close(param, [&](size_t i) { return p[i]; }, 1e-5, 1e-6, "sgd parameters after 5 steps");
}

void check_adam(const AdamOptions &o) {
    INFO("adam lr " << o.lr << " betas " << o.beta1 << "," << o.beta2 << " wd " << o.weight_decay
                    << (o.decoupled_weight_decay ? " (AdamW)" : "") << (o.amsgrad ? " amsgrad" : ""));
    const std::vector<int> shape = {257};
    Tensor param = random_tensor(shape), m(shape), v(shape), v_max(shape);
    std::vector<double> p(param.host(), param.host() + param.size()), mr(p.size(), 0), vr(p.size(), 0), vmr(p.size(), 0);
    for (int t = 1; t <= 6; t++) {
        Tensor g = gradient_at(shape, t);
        // Gradients that shrink after step 3 make v fall below its running max: AMSGrad must keep the max.
        if (t > 3) {
            for (size_t i = 0; i < g.size(); i++) g.host()[i] *= 0.1f;
            g.host_changed();
        }
        adam_update(param, g, m, v, v_max, o, t);
        for (size_t i = 0; i < p.size(); i++) {
            double gi = g.host()[i];
            if (o.decoupled_weight_decay) p[i] *= 1 - double(o.lr) * o.weight_decay;
            else gi += double(o.weight_decay) * p[i];
            mr[i] = o.beta1 * mr[i] + (1 - double(o.beta1)) * gi;
            vr[i] = o.beta2 * vr[i] + (1 - double(o.beta2)) * gi * gi;
            vmr[i] = std::max(vmr[i], vr[i]);
            double bc1 = 1 - std::pow(double(o.beta1), t), bc2 = 1 - std::pow(double(o.beta2), t);
            double second = o.amsgrad ? vmr[i] : vr[i];
            p[i] -= o.lr / bc1 * mr[i] / (std::sqrt(second) / std::sqrt(bc2) + o.eps);
        }
    }
    require_close(param, [&](size_t i) { return p[i]; }, 1e-4, 1e-6, "adam parameters after 6 steps");
    require_close(m, [&](size_t i) { return mr[i]; }, 1e-5, 1e-7, "first moment");
    require_close(v, [&](size_t i) { return vr[i]; }, 1e-4, 1e-9, "second moment");
    if (o.amsgrad) require_close(v_max, [&](size_t i) { return vmr[i]; }, 1e-4, 1e-9, "element-wise max of the second moment");
}

}  // namespace

TEST_CASE("SGD, momentum, Nesterov and weight decay follow torch.optim.SGD", "[optimizer]") {
    check_sgd({0.1f, 0.0f, 0.0f, 0.0f, false, false});
    check_sgd({0.05f, 0.9f, 0.0f, 0.0f, false, false});
    check_sgd({0.05f, 0.9f, 0.1f, 0.0f, false, false});
    check_sgd({0.05f, 0.9f, 0.0f, 0.01f, true, false});
    check_sgd({0.05f, 0.9f, 0.0f, 0.1f, false, true});
}

TEST_CASE("Adam, AdamW and AMSGrad follow torch.optim.Adam/AdamW with bias correction", "[optimizer]") {
    check_adam({2e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false, false});
    check_adam({1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, false, false});
    check_adam({1e-2f, 0.9f, 0.999f, 1e-8f, 0.05f, true, false});
    check_adam({3e-4f, 0.9f, 0.9f, 1e-8f, 0.0f, false, true});
    check_adam({1e-3f, 0.8f, 0.95f, 1e-6f, 0.01f, true, true});
}

TEST_CASE("optimizers refuse mismatched state and bad hyperparameters", "[optimizer]") {
    Tensor p({10}), g({10}), v({11});
    REQUIRE_THROWS_WITH(sgd_update(p, g, v, SgdOptions{}), Catch::Contains("sgd_update: param [10] and velocity [11] differ in shape"));
    Tensor m({10}), vv({10}), vm({10});
    AdamOptions bad;
    bad.beta2 = 1.0f;
    REQUIRE_THROWS_WITH(adam_update(p, g, m, vv, vm, bad, 1), Catch::Contains("betas must be in [0, 1)"));
    REQUIRE_THROWS_WITH(adam_update(p, g, m, vv, vm, AdamOptions{}, 0), Catch::Contains("step counts from 1"));
    SgdOptions nesterov;
    nesterov.nesterov = true;
    REQUIRE_THROWS_WITH(sgd_update(p, g, g, nesterov), Catch::Contains("Nesterov momentum needs a positive momentum"));
}
