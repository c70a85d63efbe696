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

}  // namespace hnn
