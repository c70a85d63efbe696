#include "hnn/activation_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <numeric>

namespace hnn {

void activation_forward(const Activation &a, Tensor &x, Tensor &y, const RandomKey &key, Tensor *channel_slope) {
    const char *op = "activation_forward";
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "y", y);
    int r = kernel_table(x.device())
                .activation_forward(x.raw(), static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta,
                                    a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step,
                                    key.batch_offset, slope_buffer(op, a, x.dim(0), x.device(), channel_slope), y.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
}

void activation_backward(const Activation &a, Tensor &x, Tensor &dy, Tensor &dx, const RandomKey &key,
                         Tensor *channel_slope) {
    const char *op = "activation_backward";
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "dy", dy);
    require_same(op, "x", x, "dx", dx);
    int r = kernel_table(x.device())
                .activation_backward(x.raw(), dy.raw(), static_cast<int>(a.kind), a.negative_slope, a.alpha,
                                     a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed,
                                     key.step, key.batch_offset, slope_buffer(op, a, x.dim(0), x.device(), channel_slope),
                                     dx.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
}

void activation_parameter_gradient(const Activation &a, Tensor &x, Tensor &dy, Tensor &grad, const RandomKey &key,
                                   Tensor *channel_slope) {
    const char *op = "activation_parameter_gradient";
    if (!a.has_learnable_parameter()) {
        throw Error(std::string(op) + ": " + activation_name(a.kind) + " has no learnable parameter");
    }
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "dy", dy);
    const int channels = x.dim(0);
    const int expected = a.kind == ActivationKind::prelu ? channels : 1;
    if (grad.rank() != 1 || grad.dim(0) != expected) {
        throw Error(std::string(op) + ": gradient must have shape [" + std::to_string(expected) + "], got " +
                    grad.shape_string());
    }
    // prelu's kernel writes into grad itself, not into a copy of it: a copy's halide_buffer_t would
    // receive the device allocation and the device-dirty flag, and grad would never see the result.
    Tensor swish_partials = a.kind == ActivationKind::prelu ? Tensor() : Tensor({channels}, x.device());
    Tensor &per_channel = a.kind == ActivationKind::prelu ? grad : swish_partials;
    int r = kernel_table(x.device())
                .activation_parameter_gradient(x.raw(), dy.raw(), static_cast<int>(a.kind), a.negative_slope,
                                               a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper,
                                               key.training, key.seed, key.step, key.batch_offset,
                                               slope_buffer(op, a, x.dim(0), x.device(), channel_slope), per_channel.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
    if (a.kind == ActivationKind::swish) {
        // One shared beta: its gradient is the sum of the per-channel partial sums.
        const float *p = per_channel.host();
        grad.host()[0] = std::accumulate(p, p + channels, 0.0f);
        grad.host_changed();
    }
}

}  // namespace hnn
