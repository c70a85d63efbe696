#pragma once
// Inverted dropout on (c, x, y, n) tensors.

#include "hnn/activation_ops.h"
#include "hnn/tensor.h"

namespace hnn {

// output = input * mask / (1 - rate) while key.training, else input. The mask is drawn from
// (key.seed, key.step, element): call it with x in the forward pass and with dL/dy, under the same
// key, in the backward pass. 0 <= rate < 1.
void dropout(Tensor &input, float rate, const RandomKey &key, Tensor &output);

}  // namespace hnn
