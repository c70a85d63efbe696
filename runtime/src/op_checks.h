#pragma once
// Argument checks shared by every op wrapper: each failure names the operation, the argument and
// its shape.

#include "hnn/activation.h"
#include "hnn/activation_ops.h"
#include "hnn/tensor.h"

#include <string>

namespace hnn {

// A rank-4 (c, x, y, n) tensor.
void require_activation_tensor(const char *op, const char *what, const Tensor &t);
// Same shape and device.
void require_same(const char *op, const char *a_name, const Tensor &a, const char *b_name, const Tensor &b);
// Exactly this shape (and the device of `like`).
void require_shape(const char *op, const char *what, const Tensor &t, const std::vector<int> &shape, const Tensor &like);

// A derivative read from the activation's output needs can_differentiate_from_output.
void require_derivative_source(const char *op, const Activation &a, DerivativeSource source);
// What errors call the tensor f' is read from: "x" (the input) or "y" (the output).
const char *derivative_source_name(DerivativeSource source);

// prelu reads the caller's a_c (shape [channels]); the other kinds still bind a [channels] buffer
// (the kernels' bounds cover every kind), so they get a shared one that is never read.
halide_buffer_t *slope_buffer(const char *op, const Activation &a, int channels, Device device, Tensor *channel_slope);

// A zero-filled tensor of at least `count` elements on `device`, shared and never written by kernels.
halide_buffer_t *shared_zeros(int count, Device device);

std::string shape_text(const std::vector<int> &shape);

}  // namespace hnn
