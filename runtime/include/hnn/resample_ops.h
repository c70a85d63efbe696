#pragma once
// Nearest-neighbour resampling of (c, x, y, n) tensors.

#include "hnn/tensor.h"

namespace hnn {

// output = base + scale * small upsampled (nearest: source pixel floor(i * small / base)) to base's
// width and height. small has base's channels and batch; output has base's shape.
void upsample_nearest_add(Tensor &base, Tensor &small, float scale, Tensor &output);

}  // namespace hnn
