#pragma once
// The activation kernels, checked and dispatched to the tensors' device.
//
// All backward kernels read x, the activation's input (see generators/activation_math.h).

#include "hnn/activation.h"
#include "hnn/tensor.h"

#include <cstdint>

namespace hnn {

// Keys rrelu's counter-based random slopes: training draws r = uniform(lower, upper) from
// (seed, step, element index); the backward pass with the same key sees the same r.
struct RandomKey {
    bool training = false;
    uint32_t seed = 0;
    int step = 0;
    // The index of the tensors' first image in the whole batch: a data-parallel rank training on
    // images [k, k + n) of a batch passes k and draws the numbers a single process draws for them.
    int batch_offset = 0;
};

// y = f(x). channel_slope: prelu's a_c, shape [C]; ignored (may be null) for other kinds.
void activation_forward(const Activation &activation, Tensor &x, Tensor &y, const RandomKey &key = {},
                        Tensor *channel_slope = nullptr);

// dx = dy * f'(x).
void activation_backward(const Activation &activation, Tensor &x, Tensor &dy, Tensor &dx,
                         const RandomKey &key = {}, Tensor *channel_slope = nullptr);

// Gradient of the learnable parameter: prelu's dL/da_c (shape [C]) or swish's dL/dbeta (shape
// [1]). Throws for activations without one.
void activation_parameter_gradient(const Activation &activation, Tensor &x, Tensor &dy, Tensor &grad,
                                   const RandomKey &key = {}, Tensor *channel_slope = nullptr);

}  // namespace hnn
