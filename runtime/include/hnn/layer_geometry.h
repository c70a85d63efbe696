#pragma once
// Layer geometry: padding modes and the output sizes of convolutions and pooling windows. Pure
// arithmetic, apart from the kernels, so that model files can be checked (and fuzzed) without them.

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

// Output width or height of a kernel x kernel pooling window with this stride (floor: 7 -> 3 for a
// 2x2 window with stride 2); throws when it does not fit.
int pooled_size(int in, int kernel, int stride);

}  // namespace hnn
