// Convolution kernels: forward with the activation fused into its epilogue, backward-data with the
// previous layer's activation derivative fused into its epilogue, and backward-weights with the
// bias gradient. Stride and padding are run-time arguments; kernel size comes from the filter.

#include "Halide.h"

#include "activation_inputs.h"
#include "conv2d_algorithm.h"
#include "conv2d_estimates.h"
#include "conv2d_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

// output = f(conv(input, filter) + bias) and pre_activation = conv(input, filter) + bias, written
// in one pass (a Tuple): the backward pass reads the pre-activation. With keep_pre_activation
// false, the output alone (the *_output_only kernels): for inference, and for training with an
// activation whose derivative reads its output. activation_kind identity makes it a plain
// convolution.
class Conv2dForward : public Generator<Conv2dForward> {
public:
    // `hnn tune`'s knobs (schedules/schedule_params.h); the defaults are the hand schedule.
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only
    GeneratorParam<bool> keep_pre_activation{"keep_pre_activation", true};
    Input<Buffer<float, 4>> input{"input"};    // (ci, x, y, n)
    Input<Buffer<float, 4>> filter{"filter"};  // (co, kx, ky, ci)
    Input<Buffer<float, 1>> bias{"bias"};      // (co)
    Input<int> stride{"stride", 1, 1, 16};
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    ActivationInputs act;
    Output<Func> output{"output", 4};  // (activated, pre_activation) or activated, (co, x, y, n)

    Var co{"co"}, x{"x"}, y{"y"}, n{"n"};
    Func conv{"conv"}, activated{"activated"}, input_padded, filter_bounded, bias_bounded;
    RDom r;

    void generate() {
        const Expr out_channels = filter.dim(0).extent();
        Conv2dShape s{stride, pad_x, pad_y};
        // The GPU schedules compute whole register tiles past the last output channel, and the staged
        // one stages whole chunks of input channels: there those reads are clamped. The CPU schedule
        // reads only valid input channels and is compiled without the clamps, as is the cached GPU
        // schedule, whose channel loop then walks the input with a plain stride.
        const bool gpu = get_target().has_gpu_feature();
        const bool chunks = stages_channel_chunks(get_target(), schedule_knobs);
        Func input_source = chunks ? clamp_dimension(input, 0, input.dim(0).extent(), "input_bounded") : Func(input);
        Func filter_source =
            chunks ? clamp_dimension(filter, 3, filter.dim(3).extent(), "filter_ci_bounded") : Func(filter);
        input_padded = zero_padded(input_source, input.dim(1).extent(), input.dim(2).extent(), "input_padded");
        filter_bounded = clamp_dimension(filter_source, 0, out_channels, "filter_bounded");
        bias_bounded(co) = bias(clamp(co, 0, out_channels - 1));
        r = RDom(0, filter.dim(1).extent(), 0, filter.dim(2).extent(), 0, filter.dim(3).extent(), "r");
        define_conv2d_forward(conv, input_padded, filter_bounded, bias_bounded, r, s);

        ActivationParams p = act.at(gpu ? min(co, out_channels - 1) : Expr(co), x, y, n);
        activated(co, x, y, n) = activation(act.kind, conv(co, x, y, n), p);
        if (keep_pre_activation) {
            output(co, x, y, n) = Tuple(activated(co, x, y, n), conv(co, x, y, n));
        } else {
            output(co, x, y, n) = activated(co, x, y, n);
        }
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            input.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            filter.set_estimates({{0, e.co}, {0, e.k}, {0, e.k}, {0, e.ci}});
            bias.set_estimates({{0, e.co}});
            stride.set_estimate(e.stride);
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            act.set_estimates(e.act, e.co);
            output.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            return;
        }
        schedule_conv2d_forward(get_target(), output, conv, activated, filter_bounded, input_padded, r, act.kind,
                                stride, make_schedule_knobs(schedule_knobs, activation_kinds, get_target(), conv_like_knobs()));
    }
};

// The forward of a 1x1 conv at stride 1 without padding, on the CPU: the runtime passes the input
// and outputs as matrices over positions (c, x y n) and the filter as (co, ci). Same outputs as
// conv2d_forward (keep_pre_activation as there); rrelu, whose random slopes are keyed by
// (c, x, y, n), is not run here.
class PointwiseConv2dForward : public Generator<PointwiseConv2dForward> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only (k is 1; p = w h n)
    GeneratorParam<bool> keep_pre_activation{"keep_pre_activation", true};
    Input<Buffer<float, 2>> input{"input"};    // (ci, p)
    Input<Buffer<float, 2>> filter{"filter"};  // (co, ci)
    Input<Buffer<float, 1>> bias{"bias"};      // (co)
    ActivationInputs act;
    Output<Func> output{"output", 2};  // (activated, pre_activation) or activated, (co, p)

    Var co{"co"}, p{"p"};
    Func conv{"conv"}, activated{"activated"}, input_bounded{"input_bounded"}, filter_bounded, bias_bounded;
    RDom r;

    void generate() {
        const Expr out_channels = filter.dim(0).extent();
        // Register tiles run whole past the last position and co: those reads are clamped.
        Var c("c"), q("q");
        input_bounded(c, q) = input(c, min(q, input.dim(1).extent() - 1));
        filter_bounded = Func("filter_bounded");
        filter_bounded(c, q) = filter(clamp(c, 0, out_channels - 1), q);
        bias_bounded(co) = bias(clamp(co, 0, out_channels - 1));
        r = RDom(0, input.dim(0).extent(), "r");
        define_pointwise_conv2d_forward(conv, input_bounded, filter_bounded, bias_bounded, r);
        activated(co, p) = activation(act.kind, conv(co, p), act.at(co, p, 0, 0));
        if (keep_pre_activation) {
            output(co, p) = Tuple(activated(co, p), conv(co, p));
        } else {
            output(co, p) = activated(co, p);
        }
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            input.set_estimates({{0, e.ci}, {0, e.w * e.h * e.n}});
            filter.set_estimates({{0, e.co}, {0, e.ci}});
            bias.set_estimates({{0, e.co}});
            act.set_estimates(e.act, e.co);
            output.set_estimates({{0, e.co}, {0, e.w * e.h * e.n}});
            return;
        }
        schedule_pointwise_conv2d(get_target(), output, conv, filter_bounded, r, act.kind, input.dim(1).extent(),
                                  make_schedule_knobs(schedule_knobs, activation_kinds, get_target(),
                                                      pointwise_conv2d_knobs()));
    }
};

// input_grad = (transposed conv of output_grad) * f'(x): the gradient at this layer's input, through
// the activation f of the layer that produced the input, with f' read from what that layer kept
// (input_saved: its pre-activation x, or its output where derivative_from_output). activation_kind
// identity gives the plain gradient (input_saved is then not read).
class Conv2dBackwardData : public Generator<Conv2dBackwardData> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only
    Input<Buffer<float, 4>> output_grad{"output_grad"};                    // (co, x, y, n)
    Input<Buffer<float, 4>> filter{"filter"};                              // (co, kx, ky, ci)
    Input<Buffer<float, 4>> input_saved{"input_saved"};                    // (ci, x, y, n)
    Input<bool> derivative_from_output{"derivative_from_output"};
    Input<int> stride{"stride", 1, 1, 16};
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    ActivationInputs act;
    Output<Buffer<float, 4>> input_grad{"input_grad"};  // (ci, x, y, n)

    Var ci{"ci"}, x{"x"}, y{"y"}, n{"n"};
    Func din{"din"}, output_grad_padded, filter_t{"filter_t"}, derivative{"derivative"}, din_narrow{"din_narrow"};
    RDom r, r_narrow;
    Expr narrow;

    void generate() {
        const Expr in_channels = filter.dim(3).extent();
        Conv2dShape s{stride, pad_x, pad_y};
        // The staged GPU schedule stages whole chunks of output channels: there those reads are clamped
        // (the CPU and the cached GPU schedules read only valid ones and are compiled without the
        // clamps).
        const bool gpu = get_target().has_gpu_feature();
        const bool chunks = stages_channel_chunks(get_target(), schedule_knobs);
        const Expr out_channels = filter.dim(0).extent();
        Func output_grad_source =
            chunks ? clamp_dimension(output_grad, 0, out_channels, "output_grad_bounded") : Func(output_grad);
        output_grad_padded = zero_padded(output_grad_source, output_grad.dim(1).extent(), output_grad.dim(2).extent(),
                                         "output_grad_padded");
        Var kx("kx"), ky("ky"), co("co");
        if (gpu && !chunks) {
            // The cached GPU schedule sums the taps that reach each position alone, from a copy of
            // the filter transposed and zero-padded to a whole number of taps a phase.
            const Expr kernel_width = filter.dim(1).extent(), kernel_height = filter.dim(2).extent();
            filter_t(ci, kx, ky, co) =
                select(kx < kernel_width && ky < kernel_height,
                       filter(co, min(kx, kernel_width - 1), min(ky, kernel_height - 1), clamp(ci, 0, in_channels - 1)),
                       0.0f);
            const Expr taps_x = (kernel_width + stride - 1) / stride, taps_y = (kernel_height + stride - 1) / stride;
            // r's extents are the kernel's, its taps past a phase's skipped: so that a specialization
            // on the kernel size and stride makes them constants and can unroll them.
            r = RDom(0, filter.dim(0).extent(), 0, kernel_width, 0, kernel_height, "r");
            r.where(r.y < taps_x && r.z < taps_y);
            define_conv2d_backward_data_by_phase(din, output_grad_padded, filter_t, r, s, taps_x, taps_y);
        } else {
            filter_t(ci, kx, ky, co) =
                filter(chunks ? clamp(co, 0, out_channels - 1) : Expr(co), kx, ky, clamp(ci, 0, in_channels - 1));
            r = RDom(0, filter.dim(0).extent(), 0, filter.dim(1).extent(), 0, filter.dim(2).extent(), "r");
            define_conv2d_backward_data(din, output_grad_padded, filter_t, r, s);
        }
        Expr din_at = din(ci, x, y, n);
        if (!gpu && !auto_schedule) {
            // A first layer's gradient has 1 or 3 channels: too few to vectorize over, which wastes
            // 15 of 16 lanes. din_narrow is the same sum, which its schedule vectorizes over co. (An
            // autoscheduler would compute both sums: it gets the one.)
            Func filter_by_co("filter_by_co");
            filter_by_co(ci, kx, ky, co) = filter(co, kx, ky, ci);
            r_narrow = RDom(0, filter.dim(0).extent(), 0, filter.dim(1).extent(), 0, filter.dim(2).extent(), "r_narrow");
            define_conv2d_backward_data(din_narrow, output_grad_padded, filter_by_co, r_narrow, s);
            narrow = narrow_backward_data_condition(in_channels, filter.dim(1).extent(), stride);
            din_at = select(narrow, din_narrow(ci, x, y, n), din_at);
        }

        // Clamped: the CPU schedule evaluates the derivative for whole register tiles, past the end of
        // the channels and the row; those lanes are never stored. (Clamping changes no valid lane,
        // so rrelu still draws the same numbers as the activation kernel.)
        ActivationParams p = act.at(min(ci, in_channels - 1), x, y, n);
        Func saved_bounded = clamp_dimension(clamp_dimension(input_saved, 0, in_channels, "saved_channels_bounded"), 1,
                                             input_saved.dim(1).extent(), "saved_bounded");
        if (gpu) {
            // The cached GPU schedule's register tiles span several rows, also past the last one.
            saved_bounded = clamp_dimension(saved_bounded, 2, input_saved.dim(2).extent(), "saved_rows_bounded");
        }
        derivative(ci, x, y, n) = activation_derivative(act.kind, saved_bounded(ci, x, y, n), derivative_from_output, p);
        input_grad(ci, x, y, n) = din_at * derivative(ci, x, y, n);
        if (gpu && !chunks) {
            // So that Halide can tell a thread's positions' phases from their offsets in its tile.
            input_grad.dim(1).set_min(0);
            input_grad.dim(2).set_min(0);
        }
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            filter.set_estimates({{0, e.co}, {0, e.k}, {0, e.k}, {0, e.ci}});
            input_saved.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            derivative_from_output.set_estimate(false);
            stride.set_estimate(e.stride);
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            act.set_estimates(e.act, e.ci);
            input_grad.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            return;
        }
        if (narrow.defined()) schedule_narrow_backward_data(get_target(), input_grad, din_narrow, r_narrow, narrow);
        schedule_conv2d_backward_data(get_target(), input_grad, din, filter_t, output_grad_padded, derivative, r,
                                      filter.dim(1).extent(), filter.dim(2).extent(), act.kind, derivative_from_output,
                                      stride,
                                      make_schedule_knobs(schedule_knobs, activation_kinds, get_target(), conv_like_knobs()));
    }
};

// The backward-data of a 1x1 conv at stride 1 without padding, on the CPU, over matrix views as
// pointwise_conv2d_forward's: input_grad (ci, p) = (filter^T output_grad)(ci, p) * f' read from
// input_saved (ci, p).
// Same result as conv2d_backward_data; not for rrelu (its random slopes are keyed by (c, x, y, n)).
class PointwiseConv2dBackwardData : public Generator<PointwiseConv2dBackwardData> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only (k is 1; p = w h n)
    Input<Buffer<float, 2>> output_grad{"output_grad"};                    // (co, p)
    Input<Buffer<float, 2>> filter{"filter"};                              // (co, ci)
    Input<Buffer<float, 2>> input_saved{"input_saved"};                    // (ci, p)
    Input<bool> derivative_from_output{"derivative_from_output"};
    ActivationInputs act;
    Output<Buffer<float, 2>> input_grad{"input_grad"};  // (ci, p)

    Var ci{"ci"}, p{"p"};
    Func din{"din"}, output_grad_bounded{"output_grad_bounded"}, filter_t{"filter_t"};
    RDom r;

    void generate() {
        const Expr in_channels = filter.dim(1).extent();
        // Register tiles run whole past the last position and ci: those reads are clamped.
        Var c("c"), q("q");
        output_grad_bounded(c, q) = output_grad(c, min(q, output_grad.dim(1).extent() - 1));
        filter_t(c, q) = filter(q, clamp(c, 0, in_channels - 1));
        r = RDom(0, filter.dim(0).extent(), "r");
        define_pointwise_conv2d_backward_data(din, output_grad_bounded, filter_t, r);
        input_grad(ci, p) =
            din(ci, p) * activation_derivative(act.kind, input_saved(ci, p), derivative_from_output, act.at(ci, p, 0, 0));
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.w * e.h * e.n}});
            filter.set_estimates({{0, e.co}, {0, e.ci}});
            input_saved.set_estimates({{0, e.ci}, {0, e.w * e.h * e.n}});
            derivative_from_output.set_estimate(false);
            act.set_estimates(e.act, e.ci);
            input_grad.set_estimates({{0, e.ci}, {0, e.w * e.h * e.n}});
            return;
        }
        schedule_pointwise_conv2d(get_target(), input_grad, din, filter_t, r, act.kind, output_grad.dim(1).extent(),
                                  make_schedule_knobs(schedule_knobs, activation_kinds, get_target(),
                                                      pointwise_conv2d_knobs()),
                                  derivative_from_output);
    }
};

class Conv2dBackwardWeights : public Generator<Conv2dBackwardWeights> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only
    Input<Buffer<float, 4>> output_grad{"output_grad"};  // (co, x, y, n)
    Input<Buffer<float, 4>> input{"input"};              // (ci, x, y, n)
    Input<int> stride{"stride", 1, 1, 16};
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    // Threads that sum shares of the batch into partial gradients (the CPU schedule's rfactor): the
    // result depends on it, so the runtime passes its thread count, not a free choice of Halide's.
    Input<int> partitions{"partitions", 1, 1, 1024};
    Output<Buffer<float, 4>> filter_grad{"filter_grad"};  // (co, kx, ky, ci)
    Output<Buffer<float, 1>> bias_grad{"bias_grad"};      // (co)

    Var co{"co"}, kx{"kx"}, ky{"ky"}, ci{"ci"};
    Func dw{"dw"}, bias_sum{"bias_sum"}, input_padded, output_grad_bounded;
    RDom r, rb;

    void generate() {
        Conv2dShape s{stride, pad_x, pad_y};
        // The staged GPU schedule stages whole runs of 32 x positions of the output gradient, past the
        // end of a row: there x is clamped too (the other schedules read only valid x, without the clamp).
        Func output_grad_source = stages_position_runs(get_target(), schedule_knobs)
                                      ? clamp_dimension(output_grad, 1, output_grad.dim(1).extent(), "output_grad_x_bounded")
                                      : Func(output_grad);
        output_grad_bounded = clamp_dimension(output_grad_source, 0, output_grad.dim(0).extent(), "output_grad_bounded");
        Func input_bounded = clamp_dimension(input, 0, input.dim(0).extent(), "input_bounded");
        input_padded = zero_padded(input_bounded, input.dim(1).extent(), input.dim(2).extent(), "input_padded");
        r = RDom(0, output_grad.dim(1).extent(), 0, output_grad.dim(2).extent(), 0, output_grad.dim(3).extent(), "r");
        define_conv2d_backward_weights(dw, output_grad_bounded, input_padded, r, s);
        filter_grad(co, kx, ky, ci) = dw(co, kx, ky, ci);

        rb = define_conv2d_bias_gradient(bias_grad, bias_sum, output_grad);
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            input.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            stride.set_estimate(e.stride);
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            partitions.set_estimate(1);
            filter_grad.set_estimates({{0, e.co}, {0, e.k}, {0, e.k}, {0, e.ci}});
            bias_grad.set_estimates({{0, e.co}});
            return;
        }
        const BackwardWeightsSizes sizes{output_grad.dim(3).extent(), partitions,
                                         filter_grad.dim(3).extent(),  filter_grad.dim(1).extent(),
                                         output_grad.dim(1).extent(),  filter_grad.dim(0).extent(),
                                         filter_grad.dim(2).extent(),  stride};
        schedule_conv2d_backward_weights(get_target(), filter_grad, dw, r, input_padded, output_grad_bounded, sizes,
                                         ScheduleParams(schedule_knobs, get_target(), conv_backward_weights_knobs()));
        schedule_channel_reduction(bias_grad, bias_sum, rb, get_target());
    }
};

// The backward-weights of a 1x1 conv at stride 1 without padding, on the CPU, over matrix views:
// filter_grad (co, ci) = sum_p output_grad(co, p) input(ci, p), bias_grad (co) = sum_p output_grad(co, p).
class PointwiseConv2dBackwardWeights : public Generator<PointwiseConv2dBackwardWeights> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};  // for auto_schedule only (k is 1; p = w h n)
    Input<Buffer<float, 2>> output_grad{"output_grad"};  // (co, p)
    Input<Buffer<float, 2>> input{"input"};              // (ci, p)
    // Threads that sum shares of the positions into partial gradients: as conv2d_backward_weights'.
    Input<int> partitions{"partitions", 1, 1, 1024};
    Output<Buffer<float, 2>> filter_grad{"filter_grad"};  // (co, ci)
    Output<Buffer<float, 1>> bias_grad{"bias_grad"};      // (co)

    Var co{"co"}, ci{"ci"};
    Func dw{"dw"}, output_grad_bounded{"output_grad_bounded"}, input_with_ones{"input_with_ones"};
    RDom r;

    void generate() {
        const Expr in_channels = input.dim(0).extent();
        // The bias gradient is the product with one more input channel of ones: the matrix product
        // computes it along the way, where a separate sum read the whole output gradient once more.
        // Register tiles run whole past the last co and ci: those reads are clamped.
        Var c("c"), q("q");
        output_grad_bounded(c, q) = output_grad(clamp(c, 0, output_grad.dim(0).extent() - 1), q);
        input_with_ones(c, q) = select(c < in_channels, input(clamp(c, 0, in_channels - 1), q), 1.0f);
        r = RDom(0, output_grad.dim(1).extent(), "r");
        define_pointwise_conv2d_backward_weights(dw, output_grad_bounded, input_with_ones, r);
        filter_grad(co, ci) = dw(co, ci);
        bias_grad(co) = dw(co, in_channels);
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.w * e.h * e.n}});
            input.set_estimates({{0, e.ci}, {0, e.w * e.h * e.n}});
            partitions.set_estimate(1);
            filter_grad.set_estimates({{0, e.co}, {0, e.ci}});
            bias_grad.set_estimates({{0, e.co}});
            return;
        }
        schedule_pointwise_conv2d_backward_weights(
            get_target(), filter_grad, bias_grad, dw, r, output_grad_bounded, input_with_ones,
            output_grad.dim(0).extent(), output_grad.dim(1).extent(), partitions,
            ScheduleParams(schedule_knobs, get_target(), pointwise_conv2d_backward_weights_knobs()));
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::Conv2dForward, conv2d_forward)
HALIDE_REGISTER_GENERATOR(hnn::PointwiseConv2dForward, pointwise_conv2d_forward)
HALIDE_REGISTER_GENERATOR(hnn::Conv2dBackwardData, conv2d_backward_data)
HALIDE_REGISTER_GENERATOR(hnn::Conv2dBackwardWeights, conv2d_backward_weights)
HALIDE_REGISTER_GENERATOR(hnn::PointwiseConv2dBackwardData, pointwise_conv2d_backward_data)
HALIDE_REGISTER_GENERATOR(hnn::PointwiseConv2dBackwardWeights, pointwise_conv2d_backward_weights)
