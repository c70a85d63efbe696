#include "hnn/activation_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <numeric>

namespace hnn {
namespace {

// A CPU tensor with fewer channels than a vector has lanes is passed to the forward and backward
// kernels as (c x y, 1, 1, n), the same memory (Tensor::reshaped): their vectors then run along
// contiguous memory, instead of along x with a stride of c (gathers and scalar tails: elu over 50
// images of 8x8x10 took 0.1 ms, oneDNN's 0.007). Images smaller than a few vectors (celu7's 1x1x10
// logits: 10 floats) share a row, or their rows would still be one partial vector each (celu over
// 100 of them took 0.025 ms, oneDNN's 0.005). Only for activations that are the same function
// at every position: prelu has a slope per channel, and rrelu draws its slopes by (c, x, y, n).
constexpr int kFlattenBelowChannels = 16;
constexpr int kMinRowElements = 4 * kFlattenBelowChannels;

bool runs_as_image_rows(const Activation &a, const Tensor &x) {
    return x.device() == Device::cpu && x.dim(0) < kFlattenBelowChannels && a.kind != ActivationKind::prelu &&
           a.kind != ActivationKind::rrelu;
}

// The buffer a kernel gets for t: t's own, or (as_rows) that of `rows`, set to t as rows of whole
// images: one image a row, or the fewest that fill kMinRowElements (a number dividing the batch).
halide_buffer_t *kernel_operand(Tensor &t, Tensor &rows, bool as_rows) {
    if (!as_rows) return t.raw();
    const int image = t.dim(0) * t.dim(1) * t.dim(2), batch = t.dim(3);
    int images_per_row = 1;
    while (image * images_per_row < kMinRowElements && images_per_row < batch) {
        images_per_row++;
        while (batch % images_per_row != 0) images_per_row++;
    }
    rows = t.reshaped({image * images_per_row, 1, 1, batch / images_per_row});
    return rows.raw();
}

}  // namespace

void activation_forward(const Activation &a, Tensor &x, Tensor &y, const RandomKey &key, Tensor *channel_slope) {
    const char *op = "activation_forward";
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "y", y);
    const bool as_rows = runs_as_image_rows(a, x);
    Tensor x_rows, y_rows;
    halide_buffer_t *xb = kernel_operand(x, x_rows, as_rows), *yb = kernel_operand(y, y_rows, as_rows);
    int r = kernel_table(x.device())
                .activation_forward(xb, static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta, a.threshold,
                                    a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step, key.batch_offset,
                                    slope_buffer(op, a, xb->dim[0].extent, x.device(), channel_slope), yb);
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
    if (as_rows) y.host_changed();  // the kernel marked the view's buffer, not y's
}

void activation_backward(const Activation &a, Tensor &saved, Tensor &dy, Tensor &dx, const RandomKey &key,
                         Tensor *channel_slope, DerivativeSource source) {
    const char *op = "activation_backward";
    const char *saved_name = derivative_source_name(source);
    require_derivative_source(op, a, source);
    require_activation_tensor(op, saved_name, saved);
    require_same(op, saved_name, saved, "dy", dy);
    require_same(op, saved_name, saved, "dx", dx);
    const bool as_rows = runs_as_image_rows(a, saved);
    Tensor saved_rows, dy_rows, dx_rows;
    halide_buffer_t *sb = kernel_operand(saved, saved_rows, as_rows), *dyb = kernel_operand(dy, dy_rows, as_rows),
                    *dxb = kernel_operand(dx, dx_rows, as_rows);
    int r = kernel_table(saved.device())
                .activation_backward(sb, source == DerivativeSource::output, dyb, static_cast<int>(a.kind),
                                     a.negative_slope, a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper,
                                     key.training, key.seed, key.step, key.batch_offset,
                                     slope_buffer(op, a, sb->dim[0].extent, saved.device(), channel_slope), dxb);
    check_kernel(r, op, std::string(activation_name(a.kind)) + " " + saved_name + " " + saved.shape_string());
    if (as_rows) dx.host_changed();  // the kernel marked the view's buffer, not dx's
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
