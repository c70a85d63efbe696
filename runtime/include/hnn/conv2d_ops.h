#pragma once
// 2-D convolution: the checked kernel calls (geometry: layer_geometry.h).
// Layout: input (ci, x, y, n), filter (co, kx, ky, ci), bias (co), output (co, x, y, n).

#include "hnn/activation.h"
#include "hnn/activation_ops.h"
#include "hnn/layer_geometry.h"
#include "hnn/tensor.h"

#include <string>

namespace hnn {

// output = f(conv(input) + bias), pre_activation = conv(input) + bias, in one pass. bias may be null
// (no bias). f is `activation` (ActivationKind::identity for none); channel_slope is prelu's a_c.
void conv2d_forward(Tensor &input, Tensor &filter, Tensor *bias, const Conv2dGeometry &g, const Activation &activation,
                    Tensor &output, Tensor &pre_activation, const RandomKey &key = {}, Tensor *channel_slope = nullptr);

// input_grad = conv_transpose(output_grad) * f'(input_pre_activation), where f is the activation of
// the layer that produced this conv's input. Without input_activation (nullptr) the plain gradient
// is written and input_pre_activation may be null.
void conv2d_backward_data(Tensor &output_grad, Tensor &filter, const Conv2dGeometry &g, Tensor &input_grad,
                          const Activation *input_activation = nullptr, Tensor *input_pre_activation = nullptr,
                          const RandomKey &key = {}, Tensor *channel_slope = nullptr);

// filter_grad = dL/dfilter; bias_grad (may be null) = dL/dbias.
void conv2d_backward_weights(Tensor &output_grad, Tensor &input, const Conv2dGeometry &g, Tensor &filter_grad,
                             Tensor *bias_grad = nullptr);

}  // namespace hnn
