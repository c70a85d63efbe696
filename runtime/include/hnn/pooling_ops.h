#pragma once
// Pooling on (c, x, y, n) tensors. Output sizes floor: out = (in - kernel) / stride + 1 (7 -> 3
// for a 2x2 window with stride 2).

#include "hnn/activation_ops.h"
#include "hnn/layer_geometry.h"
#include "hnn/tensor.h"

namespace hnn {

void avg_pool_forward(Tensor &input, int kernel, int stride, Tensor &output);
void avg_pool_backward(Tensor &output_grad, int kernel, int stride, Tensor &input_grad);

// avg_pool_backward, then activation_backward of the activation that produced the pool's input:
// input_grad = (the pool's input gradient) * f'(saved), with f' read from saved as
// activation_backward reads it (x, or y where source is DerivativeSource::output). The two calls'
// result to an ulp, in one pass where the windows tile the input (kernel == stride); otherwise it
// makes the two calls.
void avg_pool_backward_activation(Tensor &output_grad, int kernel, int stride, const Activation &activation,
                                  Tensor &saved, Tensor &input_grad, const RandomKey &key = {},
                                  Tensor *channel_slope = nullptr, DerivativeSource source = DerivativeSource::input);

// Backward recomputes each window's argmax from `input` (the first maximum in row-major window
// order gets the gradient); nothing is stored between the passes.
void max_pool_forward(Tensor &input, int kernel, int stride, Tensor &output);
void max_pool_backward(Tensor &input, Tensor &output_grad, int kernel, int stride, Tensor &input_grad);

// max_pool_backward, then activation_backward of the activation whose output `input` is, as
// avg_pool_backward_activation.
void max_pool_backward_activation(Tensor &input, Tensor &output_grad, int kernel, int stride,
                                  const Activation &activation, Tensor &saved, Tensor &input_grad,
                                  const RandomKey &key = {}, Tensor *channel_slope = nullptr,
                                  DerivativeSource source = DerivativeSource::input);

// (c, x, y, n) -> (c, n) and back.
void global_avg_pool_forward(Tensor &input, Tensor &output);
void global_avg_pool_backward(Tensor &output_grad, Tensor &input_grad);

}  // namespace hnn
