#include "hnn/activation_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <initializer_list>
#include <numeric>

namespace hnn {
namespace {

// A dense CPU tensor with fewer channels than a vector has lanes is passed to the forward and
// backward kernels as (c x y, 1, 1, n): their vectors then run along contiguous memory, instead of
// along x with a stride of c (gathers and scalar tails: elu over 50 images of 8x8x10 took 0.1 ms,
// oneDNN's 0.007). Only for activations that are the same function at every position: prelu
// has a slope per channel, and rrelu draws its slopes by (c, x, y, n).
constexpr int kFlattenBelowChannels = 16;

class ActivationView {
public:
    ActivationView(Tensor &t, bool flat) : tensor_(t), flat_(flat) {
        if (!flat_) return;
        view_ = *t.raw();
        const int c = t.dim(0), x = t.dim(1), y = t.dim(2), n = t.dim(3);
        dims_[0] = {0, c * x * y, 1, 0};
        dims_[1] = {0, 1, c * x * y, 0};
        dims_[2] = {0, 1, c * x * y, 0};
        dims_[3] = {0, n, c * x * y, 0};
        view_.dim = dims_;
    }
    halide_buffer_t *raw() { return flat_ ? &view_ : tensor_.raw(); }
    // The kernel marked the view's host copy as written; the tensor's own buffer must say so too.
    void written() {
        if (flat_) tensor_.host_changed();
    }

private:
    Tensor &tensor_;
    bool flat_;
    halide_buffer_t view_{};
    halide_dimension_t dims_[4];
};

bool is_dense(Tensor &t) {
    const halide_buffer_t *b = t.raw();
    int64_t stride = 1;
    for (int d = 0; d < b->dimensions; d++) {
        if (b->dim[d].stride != stride) return false;
        stride *= b->dim[d].extent;
    }
    return true;
}

bool flattens(const Activation &a, std::initializer_list<Tensor *> tensors) {
    if (a.kind == ActivationKind::prelu || a.kind == ActivationKind::rrelu) return false;
    for (Tensor *t : tensors) {
        if (t->device() != Device::cpu || t->dim(0) >= kFlattenBelowChannels || !is_dense(*t)) return false;
    }
    return true;
}

}  // namespace

void activation_forward(const Activation &a, Tensor &x, Tensor &y, const RandomKey &key, Tensor *channel_slope) {
    const char *op = "activation_forward";
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "y", y);
    const bool flat = flattens(a, {&x, &y});
    ActivationView xv(x, flat), yv(y, flat);
    const int channels = xv.raw()->dim[0].extent;
    int r = kernel_table(x.device())
                .activation_forward(xv.raw(), static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta,
                                    a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step,
                                    key.batch_offset, slope_buffer(op, a, channels, x.device(), channel_slope), yv.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
    yv.written();
}

void activation_backward(const Activation &a, Tensor &x, Tensor &dy, Tensor &dx, const RandomKey &key,
                         Tensor *channel_slope) {
    const char *op = "activation_backward";
    require_activation_tensor(op, "x", x);
    require_same(op, "x", x, "dy", dy);
    require_same(op, "x", x, "dx", dx);
    const bool flat = flattens(a, {&x, &dy, &dx});
    ActivationView xv(x, flat), dyv(dy, flat), dxv(dx, flat);
    const int channels = xv.raw()->dim[0].extent;
    int r = kernel_table(x.device())
                .activation_backward(xv.raw(), dyv.raw(), static_cast<int>(a.kind), a.negative_slope, a.alpha,
                                     a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed,
                                     key.step, key.batch_offset, slope_buffer(op, a, channels, x.device(), channel_slope),
                                     dxv.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " x " + x.shape_string());
    dxv.written();
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
