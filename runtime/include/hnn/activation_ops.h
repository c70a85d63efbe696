#pragma once
// The activation kernels, checked and dispatched to the tensors' device.
//
// A backward pass reads f' from x, the activation's input, or, where can_differentiate_from_output,
// from y = f(x), its output (generators/activation_math.h).

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

// Which of an activation's tensors a backward pass reads f' from: the input x (always possible) or
// the output y (where can_differentiate_from_output: the forward then need not keep x).
enum class DerivativeSource { input, output };

// y = f(x). channel_slope: prelu's a_c, shape [C]; ignored (may be null) for other kinds.
void activation_forward(const Activation &activation, Tensor &x, Tensor &y, const RandomKey &key = {},
                        Tensor *channel_slope = nullptr);

// dx = dy * f'(x), with f' read from `saved`: x, or y where source is DerivativeSource::output
// (throws hnn::Error where can_differentiate_from_output is false).
void activation_backward(const Activation &activation, Tensor &saved, Tensor &dy, Tensor &dx,
                         const RandomKey &key = {}, Tensor *channel_slope = nullptr,
                         DerivativeSource source = DerivativeSource::input);

// Gradient of the learnable parameter: prelu's dL/da_c (shape [C]) or swish's dL/dbeta (shape
// [1]). Throws for activations without one.
void activation_parameter_gradient(const Activation &activation, Tensor &x, Tensor &dy, Tensor &grad,
                                   const RandomKey &key = {}, Tensor *channel_slope = nullptr);

}  // namespace hnn
