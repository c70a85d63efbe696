#pragma once
// 2-D convolution: geometry (padding modes and output sizes) and the checked kernel calls.
// Layout: input (ci, x, y, n), filter (co, kx, ky, ci), bias (co), output (co, x, y, n).

#include "hnn/activation.h"
#include "hnn/activation_ops.h"
#include "hnn/tensor.h"

#include <string>

namespace hnn {

// `same` follows TensorFlow: output = ceil(input / stride) and the total padding is split with
// the extra row/column at the bottom/right (an even kernel pads bottom/right only at stride 1).
// `valid` pads nothing. `explicit_` pads `x` columns left and right and `y` rows top and bottom.
struct Padding {
    enum Mode { same, valid, explicit_ } mode = same;
    int x = 0, y = 0;
};

// "same", "valid", "P" or "PXxPY" (e.g. "1", "2x1"); throws hnn::Error naming the text.
Padding parse_padding(const std::string &text);

struct Conv2dGeometry {
    int stride = 1;
    int pad_x = 0, pad_y = 0;  // zeros before the first column / row
    int out_width = 0, out_height = 0;
};

// Throws hnn::Error when the kernel does not fit (valid) or the output would be empty.
Conv2dGeometry conv2d_geometry(int in_width, int in_height, int kernel_width, int kernel_height, int stride,
                               const Padding &padding);

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
