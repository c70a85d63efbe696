// Pooling kernels: average and max (K x K, stride S), global average; forward and backward.
// Kernel and stride are run-time arguments.

#include "Halide.h"

#include "activation_inputs.h"
#include "elementwise_schedule.h"
#include "pooling_algorithm.h"
#include "pooling_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class AvgPoolForward : public Generator<AvgPoolForward> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Output<Buffer<float, 4>> output{"output"};
    Func pooled{"pooled"};
    RDom r;

    void generate() {
        r = RDom(0, kernel, 0, kernel, "r");
        define_avg_pool_forward(output, pooled, input, r, kernel, stride);
    }
    void schedule() {
        if (auto_schedule) return;
        // 2x2 windows without the window buffer: with it (its sum a loop of run-time extent, then
        // stored and read back), celu7's 28x28x200 images pooled at 17-20 GB/s against oneDNN's 60
        // (2-core AMD EPYC).
        schedule_pool(get_target(), output, pooled, output.dim(0).extent(), elements(input),
                      row_elements(output), kernel == 2);
    }
};

class AvgPoolBackward : public Generator<AvgPoolBackward> {
public:
    Input<Buffer<float, 4>> output_grad{"output_grad"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Output<Buffer<float, 4>> input_grad{"input_grad"};
    Func din{"din"};
    RDom r;

    void generate() {
        r = RDom(0, kernel, 0, kernel, "r");
        Func padded = zero_padded(output_grad, output_grad.dim(1).extent(), output_grad.dim(2).extent(), "output_grad_padded");
        define_avg_pool_backward(input_grad, din, padded, r, kernel, stride);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_pool(get_target(), input_grad, din, input_grad.dim(0).extent(), elements(input_grad),
                      row_elements(input_grad), kernel == stride);
    }
};

// avg_pool_backward for windows that tile the input (kernel == stride; the runtime calls it for
// those alone), times the derivative of the activation below the pool, read from `saved` as
// activation_backward reads it: the gradient at the activation's input.
class AvgPoolBackwardActivation : public Generator<AvgPoolBackwardActivation> {
public:
    Input<Buffer<float, 4>> output_grad{"output_grad"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Input<Buffer<float, 4>> saved{"saved"};  // the activation's x, or y where derivative_from_output
    Input<bool> derivative_from_output{"derivative_from_output"};
    ActivationInputs act;
    Output<Buffer<float, 4>> input_grad{"input_grad"};  // dL/dx of the activation

    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    void generate() {
        Func padded = zero_padded(output_grad, output_grad.dim(1).extent(), output_grad.dim(2).extent(), "output_grad_padded");
        Expr derivative = activation_derivative(act.kind, saved(c, x, y, n), derivative_from_output, act.at(c, x, y, n));
        define_avg_pool_backward_activation(input_grad, c, x, y, n, padded, kernel, stride, derivative);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_elementwise(input_grad, act.kind, input_grad.dim(0).extent(), row_elements(input_grad),
                             elements(input_grad), c, x, y, n, get_target(), derivative_from_output);
    }
};

class MaxPoolForward : public Generator<MaxPoolForward> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Output<Buffer<float, 4>> output{"output"};
    Func argmax_at{"argmax_at"};
    RDom r;

    void generate() {
        r = RDom(0, kernel, 0, kernel, "r");
        define_max_pool_argmax(argmax_at, input, r, stride);
        Var c, x, y, n;
        output(c, x, y, n) = argmax_at(c, x, y, n)[2];
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_pool(get_target(), output, argmax_at, output.dim(0).extent(), elements(input),
                      row_elements(output));
    }
};

// Recomputes each window's argmax from the forward input instead of storing indices.
class MaxPoolBackward : public Generator<MaxPoolBackward> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<Buffer<float, 4>> output_grad{"output_grad"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Output<Buffer<float, 4>> input_grad{"input_grad"};
    Func argmax_at{"argmax_at"}, din{"din"};
    RDom r, rb;

    void generate() {
        const Expr out_w = output_grad.dim(1).extent(), out_h = output_grad.dim(2).extent();
        r = RDom(0, kernel, 0, kernel, "r");
        define_max_pool_argmax(argmax_at, input, r, stride);
        Var c, x, y, n;
        Func argmax_padded("argmax_padded");
        argmax_padded(c, x, y, n) = argmax_at(c, clamp(x, 0, out_w - 1), clamp(y, 0, out_h - 1), n);
        Func padded = zero_padded(output_grad, out_w, out_h, "output_grad_padded");
        rb = RDom(0, kernel, 0, kernel, "rb");
        define_max_pool_backward(din, padded, argmax_padded, rb, stride);
        input_grad(c, x, y, n) = din(c, x, y, n);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_max_pool_backward(get_target(), input_grad, din, argmax_at, input_grad.dim(0).extent(), elements(input_grad),
                                   row_elements(input_grad));
    }
};

// max_pool_backward for windows that tile the input (kernel == stride; the runtime calls it for
// those alone), times the derivative of the activation below the pool, as AvgPoolBackwardActivation.
// `input` is the pool's input (the activation's output), whose windows' argmax it recomputes.
class MaxPoolBackwardActivation : public Generator<MaxPoolBackwardActivation> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<Buffer<float, 4>> output_grad{"output_grad"};
    Input<int> kernel{"kernel", 2, 1, 64};
    Input<int> stride{"stride", 2, 1, 64};
    Input<Buffer<float, 4>> saved{"saved"};  // the activation's x, or y where derivative_from_output
    Input<bool> derivative_from_output{"derivative_from_output"};
    ActivationInputs act;
    Output<Buffer<float, 4>> input_grad{"input_grad"};  // dL/dx of the activation

    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};
    Func argmax_at{"argmax_at"};
    RDom r;

    void generate() {
        const Expr out_w = output_grad.dim(1).extent(), out_h = output_grad.dim(2).extent();
        r = RDom(0, kernel, 0, kernel, "r");
        define_max_pool_argmax(argmax_at, input, r, stride);
        Func argmax_padded("argmax_padded");
        argmax_padded(c, x, y, n) = argmax_at(c, clamp(x, 0, out_w - 1), clamp(y, 0, out_h - 1), n);
        Func padded = zero_padded(output_grad, out_w, out_h, "output_grad_padded");
        Expr derivative = activation_derivative(act.kind, saved(c, x, y, n), derivative_from_output, act.at(c, x, y, n));
        define_max_pool_backward_activation(input_grad, c, x, y, n, padded, argmax_padded, stride, derivative);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_max_pool_argmax(get_target(), argmax_at);
        schedule_elementwise(input_grad, act.kind, input_grad.dim(0).extent(), row_elements(input_grad),
                             elements(input_grad), c, x, y, n, get_target(), derivative_from_output);
    }
};

// (c, x, y, n) -> (c, n): the mean over x and y.
//
// On the CPU the sum runs over rows first, each row's (c, x) as one dense run of floats (the input's
// x stride is its channel count): vectors of 16 floats whatever the channel count, where vectors of
// channels left 10 channels (a classifier's) to scalar code, 0.35x oneDNN's time. The rows' sums are
// then added over x.
class GlobalAvgPoolForward : public Generator<GlobalAvgPoolForward> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Output<Buffer<float, 2>> output{"output"};
    Func sum{"sum"}, column_sum{"column_sum"};
    RDom r;

    void generate() {
        Var c("c"), n("n"), i("i");
        const Expr channels = input.dim(0).extent(), width = input.dim(1).extent(), height = input.dim(2).extent();
        const Expr area = cast<float>(width * height);
        if (get_target().has_gpu_feature()) {
            r = RDom(0, width, 0, height, "r");
            sum(c, n) = 0.0f;
            sum(c, n) += input(c, r.x, r.y, n);
        } else {
            input.dim(1).set_stride(channels);
            r = RDom(0, height, "r");
            column_sum(i, n) = 0.0f;
            column_sum(i, n) += input(i % channels, i / channels, r, n);
            RDom rx(0, width, "rx");
            sum(c, n) = 0.0f;
            sum(c, n) += column_sum(c + rx * channels, n);
        }
        output(c, n) = sum(c, n) / area;
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_global_pool_forward(get_target(), output, sum, column_sum, r, input.dim(0).extent(), elements(input));
    }
};

class GlobalAvgPoolBackward : public Generator<GlobalAvgPoolBackward> {
public:
    Input<Buffer<float, 2>> output_grad{"output_grad"};
    // 1 / (width * height) of input_grad: an output's extents cannot be read while defining it.
    Input<float> inverse_area{"inverse_area"};
    Output<Buffer<float, 4>> input_grad{"input_grad"};

    void generate() {
        Var c("c"), x("x"), y("y"), n("n");
        input_grad(c, x, y, n) = output_grad(c, n) * inverse_area;
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_global_pool_backward(get_target(), input_grad, elements(input_grad), row_elements(input_grad));
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::AvgPoolForward, avg_pool_forward)
HALIDE_REGISTER_GENERATOR(hnn::AvgPoolBackward, avg_pool_backward)
HALIDE_REGISTER_GENERATOR(hnn::AvgPoolBackwardActivation, avg_pool_backward_activation)
HALIDE_REGISTER_GENERATOR(hnn::MaxPoolForward, max_pool_forward)
HALIDE_REGISTER_GENERATOR(hnn::MaxPoolBackward, max_pool_backward)
HALIDE_REGISTER_GENERATOR(hnn::MaxPoolBackwardActivation, max_pool_backward_activation)
HALIDE_REGISTER_GENERATOR(hnn::GlobalAvgPoolForward, global_avg_pool_forward)
HALIDE_REGISTER_GENERATOR(hnn::GlobalAvgPoolBackward, global_avg_pool_backward)
