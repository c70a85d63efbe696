#include "op_checks.h"

#include "hnn/error.h"

namespace hnn {

std::string shape_text(const std::vector<int> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

void require_activation_tensor(const char *op, const char *what, const Tensor &t) {
    if (!t.defined() || t.rank() != 4) {
        throw Error(std::string(op) + ": " + what + " must be a (c, x, y, n) tensor, got " + t.shape_string());
    }
}

void require_derivative_source(const char *op, const Activation &a, DerivativeSource source) {
    if (source == DerivativeSource::output && !can_differentiate_from_output(a)) {
        const bool alpha = a.kind == ActivationKind::elu || a.kind == ActivationKind::celu;
        throw Error(std::string(op) + ": " + activation_name(a.kind) + "'s derivative cannot be read from its output" +
                    (alpha ? " with alpha " + std::to_string(a.alpha) + " (it needs alpha > 0)" : "") +
                    "; pass its input");
    }
}

const char *derivative_source_name(DerivativeSource source) {
    return source == DerivativeSource::output ? "y" : "x";
}

void require_same(const char *op, const char *a_name, const Tensor &a, const char *b_name, const Tensor &b) {
    if (!a.same_shape(b)) {
        throw Error(std::string(op) + ": " + a_name + " " + a.shape_string() + " and " + b_name + " " +
                    b.shape_string() + " differ in shape");
    }
    if (a.device() != b.device()) {
        throw Error(std::string(op) + ": " + a_name + " is on " + device_name(a.device()) + " but " + b_name +
                    " is on " + device_name(b.device()));
    }
}

void require_shape(const char *op, const char *what, const Tensor &t, const std::vector<int> &shape, const Tensor &like) {
    if (!t.defined() || t.shape() != shape) {
        throw Error(std::string(op) + ": " + what + " must have shape " +
                    (shape.size() == 4 ? Tensor(shape).shape_string() : shape_text(shape)) + ", got " +
                    t.shape_string());
    }
    if (t.device() != like.device()) {
        throw Error(std::string(op) + ": " + what + " is on " + device_name(t.device()) + " but the other tensors are on " +
                    device_name(like.device()));
    }
}

halide_buffer_t *slope_buffer(const char *op, const Activation &a, int channels, Device device, Tensor *channel_slope) {
    if (a.kind == ActivationKind::prelu) {
        if (channel_slope == nullptr || channel_slope->rank() != 1 || channel_slope->dim(0) != channels) {
            throw Error(std::string(op) + ": prelu needs a slope per channel, shape [" + std::to_string(channels) +
                        "], got " + (channel_slope ? channel_slope->shape_string() : "none"));
        }
        return channel_slope->raw();
    }
    return shared_zeros(channels, device);
}

halide_buffer_t *shared_zeros(int count, Device device) {
    // One per device: a buffer's device allocation belongs to the device interface that made it.
    static thread_local Tensor zeros[3];
    Tensor &z = zeros[static_cast<int>(device)];
    if (!z.defined() || z.dim(0) < count) z = Tensor({count}, device);
    return z.raw();
}

}  // namespace hnn
