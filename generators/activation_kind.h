#pragma once
// The activations hnn knows, shared by the generators (which specialize on the value) and the
// runtime (which passes it as a kernel argument). The numbers are part of the AOT kernels' ABI:
// append new kinds, never renumber.

namespace hnn {

enum class ActivationKind : int {
    relu = 0,
    leaky_relu = 1,
    prelu = 2,
    rrelu = 3,
    elu = 4,
    celu = 5,
    softsign = 6,
    tanh = 7,
    sigmoid = 8,
    softplus = 9,
    mish = 10,
    swish = 11,
    silu = 12,
    identity = 13,  // no activation: lets a conv kernel with a fused epilogue serve a bare conv
};

constexpr int activation_kind_count = 14;

// Whether f' has a formula in y = f(x) (activation_math.h's activation_derivative_from_output),
// so that a forward pass may keep y alone: relu, elu, celu, sigmoid, tanh and identity. For elu and
// celu it holds only with alpha > 0, where y > 0 exactly where x > 0 (hnn::can_differentiate_from_output
// checks the parameters).
constexpr bool has_derivative_from_output(ActivationKind kind) {
    return kind == ActivationKind::relu || kind == ActivationKind::elu || kind == ActivationKind::celu ||
           kind == ActivationKind::sigmoid || kind == ActivationKind::tanh || kind == ActivationKind::identity;
}

}  // namespace hnn
