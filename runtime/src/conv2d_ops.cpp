#include "hnn/conv2d_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <algorithm>
#include <cstdlib>

namespace hnn {
namespace {

std::string geometry_text(const Conv2dGeometry &g) {
    return "stride " + std::to_string(g.stride) + ", pad (" + std::to_string(g.pad_x) + ", " + std::to_string(g.pad_y) + ")";
}

Activation identity() {
    Activation a;
    a.kind = ActivationKind::identity;
    return a;
}

}  // namespace

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
                                a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step, key.batch_offset,
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
                                      a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step, key.batch_offset,
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
