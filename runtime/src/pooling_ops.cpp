#include "hnn/pooling_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

namespace hnn {
namespace {

void check_window(const char *op, int kernel, int stride) {
    if (kernel < 1 || kernel > 64 || stride < 1 || stride > 64) {
        throw Error(std::string(op) + ": kernel " + std::to_string(kernel) + " and stride " + std::to_string(stride) +
                    " must be in 1..64");
    }
}

std::string window_text(int kernel, int stride) {
    return std::to_string(kernel) + "x" + std::to_string(kernel) + " window, stride " + std::to_string(stride);
}

std::vector<int> pooled_shape(const char *op, const Tensor &input, int kernel, int stride) {
    check_window(op, kernel, stride);
    try {
        return {input.dim(0), pooled_size(input.dim(1), kernel, stride), pooled_size(input.dim(2), kernel, stride), input.dim(3)};
    } catch (const Error &e) {
        throw Error(std::string(op) + ": input " + input.shape_string() + ": " + e.what());
    }
}

}  // namespace

void avg_pool_forward(Tensor &input, int kernel, int stride, Tensor &output) {
    const char *op = "avg_pool_forward";
    require_activation_tensor(op, "input", input);
    require_shape(op, "output", output, pooled_shape(op, input, kernel, stride), input);
    int r = kernel_table(input.device()).avg_pool_forward(input.raw(), kernel, stride, output.raw());
    check_kernel(r, op, "input " + input.shape_string() + ", " + window_text(kernel, stride));
}

void avg_pool_backward(Tensor &output_grad, int kernel, int stride, Tensor &input_grad) {
    const char *op = "avg_pool_backward";
    require_activation_tensor(op, "input_grad", input_grad);
    require_shape(op, "output_grad", output_grad, pooled_shape(op, input_grad, kernel, stride), input_grad);
    int r = kernel_table(input_grad.device()).avg_pool_backward(output_grad.raw(), kernel, stride, input_grad.raw());
    check_kernel(r, op, "input_grad " + input_grad.shape_string() + ", " + window_text(kernel, stride));
}

namespace {

// What the pool backward passes with an activation derivative share. Where the windows tile the
// input, `fused` (the pool's kernel with the derivative) runs on `pool_operands` (its arguments
// before the derivative's); elsewhere `plain` writes the pool's input gradient and
// activation_backward applies the derivative.
template <typename Plain, typename Fused, typename... PoolOperands>
void pool_backward_activation(const char *op, Tensor &output_grad, int kernel, int stride, const Activation &a,
                              Tensor &saved, Tensor &input_grad, const RandomKey &key, Tensor *channel_slope,
                              DerivativeSource source, Plain plain, Fused fused, PoolOperands... pool_operands) {
    const char *saved_name = derivative_source_name(source);
    require_derivative_source(op, a, source);
    require_activation_tensor(op, "input_grad", input_grad);
    require_activation_tensor(op, saved_name, saved);
    require_same(op, saved_name, saved, "input_grad", input_grad);
    require_shape(op, "output_grad", output_grad, pooled_shape(op, input_grad, kernel, stride), input_grad);
    if (kernel != stride) {
        Tensor pooled_grad(input_grad.shape(), input_grad.device());
        plain(pooled_grad);
        activation_backward(a, saved, pooled_grad, input_grad, key, channel_slope, source);
        return;
    }
    int r = fused(pool_operands..., saved.raw(), source == DerivativeSource::output, static_cast<int>(a.kind),
                  a.negative_slope, a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed,
                  key.step, key.batch_offset,
                  slope_buffer(op, a, input_grad.dim(0), input_grad.device(), channel_slope), input_grad.raw());
    check_kernel(r, op, std::string(activation_name(a.kind)) + " " + saved_name + " " + saved.shape_string() + ", " +
                            window_text(kernel, stride));
}

}  // namespace

void avg_pool_backward_activation(Tensor &output_grad, int kernel, int stride, const Activation &a, Tensor &saved,
                                  Tensor &input_grad, const RandomKey &key, Tensor *channel_slope,
                                  DerivativeSource source) {
    pool_backward_activation(
        "avg_pool_backward_activation", output_grad, kernel, stride, a, saved, input_grad, key, channel_slope, source,
        [&](Tensor &pooled_grad) { avg_pool_backward(output_grad, kernel, stride, pooled_grad); },
        kernel_table(input_grad.device()).avg_pool_backward_activation, output_grad.raw(), kernel, stride);
}

void max_pool_forward(Tensor &input, int kernel, int stride, Tensor &output) {
    const char *op = "max_pool_forward";
    require_activation_tensor(op, "input", input);
    require_shape(op, "output", output, pooled_shape(op, input, kernel, stride), input);
    int r = kernel_table(input.device()).max_pool_forward(input.raw(), kernel, stride, output.raw());
    check_kernel(r, op, "input " + input.shape_string() + ", " + window_text(kernel, stride));
}

void max_pool_backward(Tensor &input, Tensor &output_grad, int kernel, int stride, Tensor &input_grad) {
    const char *op = "max_pool_backward";
    require_activation_tensor(op, "input", input);
    require_same(op, "input", input, "input_grad", input_grad);
    require_shape(op, "output_grad", output_grad, pooled_shape(op, input, kernel, stride), input);
    int r = kernel_table(input.device()).max_pool_backward(input.raw(), output_grad.raw(), kernel, stride, input_grad.raw());
    check_kernel(r, op, "input " + input.shape_string() + ", " + window_text(kernel, stride));
}

void max_pool_backward_activation(Tensor &input, Tensor &output_grad, int kernel, int stride, const Activation &a,
                                  Tensor &saved, Tensor &input_grad, const RandomKey &key, Tensor *channel_slope,
                                  DerivativeSource source) {
    const char *op = "max_pool_backward_activation";
    require_activation_tensor(op, "input", input);
    require_same(op, "input", input, "input_grad", input_grad);
    pool_backward_activation(
        op, output_grad, kernel, stride, a, saved, input_grad, key, channel_slope, source,
        [&](Tensor &pooled_grad) { max_pool_backward(input, output_grad, kernel, stride, pooled_grad); },
        kernel_table(input_grad.device()).max_pool_backward_activation, input.raw(), output_grad.raw(), kernel, stride);
}

void global_avg_pool_forward(Tensor &input, Tensor &output) {
    const char *op = "global_avg_pool_forward";
    require_activation_tensor(op, "input", input);
    require_shape(op, "output", output, {input.dim(0), input.dim(3)}, input);
    int r = kernel_table(input.device()).global_avg_pool_forward(input.raw(), output.raw());
    check_kernel(r, op, "input " + input.shape_string());
}

void global_avg_pool_backward(Tensor &output_grad, Tensor &input_grad) {
    const char *op = "global_avg_pool_backward";
    require_activation_tensor(op, "input_grad", input_grad);
    require_shape(op, "output_grad", output_grad, {input_grad.dim(0), input_grad.dim(3)}, input_grad);
    const float inverse_area = 1.0f / static_cast<float>(input_grad.dim(1) * input_grad.dim(2));
    int r = kernel_table(input_grad.device()).global_avg_pool_backward(output_grad.raw(), inverse_area, input_grad.raw());
    check_kernel(r, op, "input_grad " + input_grad.shape_string());
}

}  // namespace hnn
