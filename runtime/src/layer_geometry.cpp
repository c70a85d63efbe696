#include "hnn/layer_geometry.h"

#include "hnn/error.h"

#include <algorithm>
#include <cstdlib>

namespace hnn {
namespace {

int parse_pad(const std::string &text, const std::string &whole) {
    char *end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 0 || v > 1024) {
        throw Error("padding '" + whole + "': expected same, valid, P or PXxPY with 0 <= P <= 1024");
    }
    return static_cast<int>(v);
}

}  // namespace

Padding parse_padding(const std::string &text) {
    Padding p;
    if (text == "same") return p;
    if (text == "valid") {
        p.mode = Padding::valid;
        return p;
    }
    p.mode = Padding::explicit_;
    size_t x = text.find('x');
    if (x == std::string::npos) {
        p.x = p.y = parse_pad(text, text);
    } else {
        p.x = parse_pad(text.substr(0, x), text);
        p.y = parse_pad(text.substr(x + 1), text);
    }
    return p;
}

Conv2dGeometry conv2d_geometry(int in_width, int in_height, int kernel_width, int kernel_height, int stride,
                               const Padding &padding) {
    if (stride < 1 || stride > 16) throw Error("conv2d: stride " + std::to_string(stride) + " is outside 1..16");
    if (kernel_width < 1 || kernel_height < 1) throw Error("conv2d: kernel size must be positive");
    Conv2dGeometry g;
    g.stride = stride;
    auto one_axis = [&](int in, int k, int explicit_pad, int &pad, int &out) {
        switch (padding.mode) {
        case Padding::same: {
            out = (in + stride - 1) / stride;
            int total = std::max((out - 1) * stride + k - in, 0);
            pad = total / 2;  // the odd one goes to the bottom/right
            break;
        }
        case Padding::valid:
            pad = 0;
            out = in >= k ? (in - k) / stride + 1 : 0;
            break;
        case Padding::explicit_:
            pad = explicit_pad;
            out = in + 2 * explicit_pad >= k ? (in + 2 * explicit_pad - k) / stride + 1 : 0;
            break;
        }
    };
    one_axis(in_width, kernel_width, padding.x, g.pad_x, g.out_width);
    one_axis(in_height, kernel_height, padding.y, g.pad_y, g.out_height);
    if (g.out_width <= 0 || g.out_height <= 0) {
        throw Error("conv2d: a " + std::to_string(kernel_width) + "x" + std::to_string(kernel_height) +
                    " kernel does not fit a " + std::to_string(in_width) + "x" + std::to_string(in_height) +
                    " input with this padding");
    }
    return g;
}

int pooled_size(int in, int kernel, int stride) {
    if (in < kernel) {
        throw Error("a " + std::to_string(kernel) + "x" + std::to_string(kernel) + " window, stride " +
                    std::to_string(stride) + " does not fit an extent of " + std::to_string(in));
    }
    return (in - kernel) / stride + 1;
}

}  // namespace hnn
