#include "hnn/conv2d_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

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

std::string geometry_text(const Conv2dGeometry &g) {
    return "stride " + std::to_string(g.stride) + ", pad (" + std::to_string(g.pad_x) + ", " + std::to_string(g.pad_y) + ")";
}

Activation identity() {
    Activation a;
    a.kind = ActivationKind::identity;
    return a;
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

void conv2d_forward(Tensor &input, Tensor &filter, Tensor *bias, const Conv2dGeometry &g, const Activation &a,
                    Tensor &output, Tensor &pre_activation, const RandomKey &key, Tensor *channel_slope) {
    const char *op = "conv2d_forward";
    require_activation_tensor(op, "input", input);
    require_activation_tensor(op, "filter", filter);
    const int ci = input.dim(0), n = input.dim(3), co = filter.dim(0);
    if (filter.dim(3) != ci) {
        throw Error(std::string(op) + ": filter " + filter.shape_string() + " expects " + std::to_string(filter.dim(3)) +
                    " input channels but input " + input.shape_string() + " has " + std::to_string(ci));
    }
    const std::vector<int> out_shape = {co, g.out_width, g.out_height, n};
    require_shape(op, "output", output, out_shape, input);
    require_shape(op, "pre_activation", pre_activation, out_shape, input);
    if (bias) require_shape(op, "bias", *bias, {co}, input);
    require_shape(op, "filter", filter, filter.shape(), input);
    int r = kernel_table(input.device())
                .conv2d_forward(input.raw(), filter.raw(), bias ? bias->raw() : shared_zeros(co, input.device()),
                                g.stride, g.pad_x, g.pad_y, static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta,
                                a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step,
                                slope_buffer(op, a, co, input.device(), channel_slope), output.raw(), pre_activation.raw());
    check_kernel(r, op, "input " + input.shape_string() + ", filter " + filter.shape_string() + ", " + geometry_text(g));
}

void conv2d_backward_data(Tensor &output_grad, Tensor &filter, const Conv2dGeometry &g, Tensor &input_grad,
                          const Activation *input_activation, Tensor *input_pre_activation, const RandomKey &key,
                          Tensor *channel_slope) {
    const char *op = "conv2d_backward_data";
    require_activation_tensor(op, "output_grad", output_grad);
    require_activation_tensor(op, "filter", filter);
    require_activation_tensor(op, "input_grad", input_grad);
    const int co = filter.dim(0), ci = filter.dim(3);
    if (output_grad.dim(0) != co || input_grad.dim(0) != ci || output_grad.dim(3) != input_grad.dim(3)) {
        throw Error(std::string(op) + ": output_grad " + output_grad.shape_string() + ", filter " + filter.shape_string() +
                    " and input_grad " + input_grad.shape_string() + " do not agree on channels or batch");
    }
    require_shape(op, "output_grad", output_grad, {co, g.out_width, g.out_height, input_grad.dim(3)}, input_grad);
    require_shape(op, "filter", filter, filter.shape(), input_grad);
    const Activation a = input_activation ? *input_activation : identity();
    halide_buffer_t *pre = input_grad.raw();  // never read for identity
    if (input_activation) {
        if (!input_pre_activation) throw Error(std::string(op) + ": a fused activation derivative needs input_pre_activation");
        require_same(op, "input_pre_activation", *input_pre_activation, "input_grad", input_grad);
        pre = input_pre_activation->raw();
    }
    int r = kernel_table(input_grad.device())
                .conv2d_backward_data(output_grad.raw(), filter.raw(), pre, g.stride, g.pad_x, g.pad_y,
                                      static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta, a.threshold,
                                      a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step,
                                      slope_buffer(op, a, ci, input_grad.device(), channel_slope), input_grad.raw());
    check_kernel(r, op, "output_grad " + output_grad.shape_string() + ", filter " + filter.shape_string() + ", " + geometry_text(g));
}

void conv2d_backward_weights(Tensor &output_grad, Tensor &input, const Conv2dGeometry &g, Tensor &filter_grad,
                             Tensor *bias_grad) {
    const char *op = "conv2d_backward_weights";
    require_activation_tensor(op, "output_grad", output_grad);
    require_activation_tensor(op, "input", input);
    require_activation_tensor(op, "filter_grad", filter_grad);
    const int co = output_grad.dim(0), ci = input.dim(0);
    if (filter_grad.dim(0) != co || filter_grad.dim(3) != ci || output_grad.dim(3) != input.dim(3)) {
        throw Error(std::string(op) + ": output_grad " + output_grad.shape_string() + ", input " + input.shape_string() +
                    " and filter_grad " + filter_grad.shape_string() + " do not agree on channels or batch");
    }
    require_shape(op, "output_grad", output_grad, {co, g.out_width, g.out_height, input.dim(3)}, input);
    require_shape(op, "filter_grad", filter_grad, filter_grad.shape(), input);
    Tensor scratch;
    if (bias_grad) {
        require_shape(op, "bias_grad", *bias_grad, {co}, input);
    } else {
        scratch = Tensor({co}, input.device());
        bias_grad = &scratch;
    }
    int r = kernel_table(input.device())
                .conv2d_backward_weights(output_grad.raw(), input.raw(), g.stride, g.pad_x, g.pad_y,
                                         std::min(cpu_threads(), input.dim(3)), filter_grad.raw(),
                                         bias_grad->raw());
    check_kernel(r, op, "output_grad " + output_grad.shape_string() + ", input " + input.shape_string() + ", " + geometry_text(g));
}

}  // namespace hnn
