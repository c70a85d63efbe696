// 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) or F(4x4, 3x3) (conv2d_winograd_algorithm.h,
// GeneratorParam tile_outputs), for the CPU:
// the forward with its activation epilogue, backward-data with the previous layer's activation
// derivative, and backward-weights. Their arguments are those of the direct kernels without the
// stride (the runtime calls these only for 3x3 filters at stride 1); the forward also takes its
// output width.

#include "Halide.h"

#include "activation_inputs.h"
#include "conv2d_winograd_algorithm.h"
#include "channel_reduction_schedule.h"
#include "conv2d_algorithm.h"
#include "conv2d_estimates.h"
#include "conv2d_winograd_gpu_schedule.h"
#include "conv2d_winograd_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

// F(2x2, 3x3) or F(4x4, 3x3) (conv2d_winograd_algorithm.h), by outputs per tile along each axis.
const WinogradTransforms &winograd_transforms(int tile_outputs) {
    return tile_outputs == 4 ? winograd_f4x4() : winograd_f2x2();
}

// The forward's and backward-data's register tile and groups of images. The GPU schedule has no
// knobs yet, and takes the whole batch as one group.
WinogradTile winograd_tile(const Target &t, const std::string &schedule_knobs) {
    const ScheduleParams knobs(schedule_knobs, t, winograd_knob_names());
    if (t.has_gpu_feature()) {
        check_knob(knobs.empty(), "hnn: the GPU Winograd convolutions have no schedule knobs");
        return {1, 1, WinogradGpuTile::group_tiles};
    }
    return winograd_register_tile(t, knobs);
}

class Conv2dWinogradForward : public Generator<Conv2dWinogradForward> {
public:
    // `hnn tune`'s knobs and activations (schedules/schedule_params.h), and the autoschedulers'
    // shape (conv2d_estimates.h).
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};
    GeneratorParam<int> tile_outputs{"tile_outputs", 2, 2, 4};
    // As conv2d_forward's: false writes the activated output alone.
    GeneratorParam<bool> keep_pre_activation{"keep_pre_activation", true};
    Input<Buffer<float, 4>> input{"input"};    // (ci, x, y, n)
    Input<Buffer<float, 4>> filter{"filter"};  // (co, kx, ky, ci), 3x3
    Input<Buffer<float, 1>> bias{"bias"};      // (co)
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    // The output's width, which numbers the tiles (an Output<Func> cannot be asked for it before it
    // is defined, and its definition needs the numbering).
    Input<int> output_width{"output_width", 1, 1, 1 << 20};
    ActivationInputs act;
    Output<Func> output{"output", 4};  // (activated, pre_activation) or activated, (co, x, y, n)

    Var co{"co"}, x{"x"}, y{"y"}, n{"n"};
    Func activated{"activated"}, input_padded;
    WinogradConv w;
    WinogradTile tile;

    void generate() {
        tile = winograd_tile(get_target(), schedule_knobs);
        const Expr out_channels = filter.dim(0).extent();
        // Channels clamped: a schedule may transform whole vectors of channels past the last.
        Func input_bounded = clamp_dimension(input, 0, input.dim(0).extent(), "input_bounded");
        input_padded = zero_padded(input_bounded, input.dim(1).extent(), input.dim(2).extent(), "input_padded");
        // Register tiles past the last output channel transform clamped copies of the last filter.
        Func filter_bounded = clamp_dimension(filter, 0, out_channels, "filter_bounded");
        Func bias_bounded("bias_bounded");
        bias_bounded(co) = bias(clamp(co, 0, out_channels - 1));
        // 3x3 at stride 1: the output has the input's height plus the padding less 2.
        const WinogradTransforms &f = winograd_transforms(tile_outputs);
        w = define_conv2d_winograd(input_padded, filter_bounded, bias_bounded, input.dim(0).extent(), output_width,
                                   input.dim(2).extent() + 2 * pad_y - 2, input.dim(3).extent(), pad_x, pad_y, f,
                                   tile.group_tiles);
        // The GPU schedule computes the activation for a tile's m x m outputs, also past the last
        // row and column, and (Halide's guards being where they are) past the last channel.
        const bool gpu = get_target().has_gpu_feature();
        ActivationParams p = act.at(gpu ? min(co, out_channels - 1) : Expr(co), x, y, n);
        activated(co, x, y, n) = activation(act.kind, w.conv(co, x, y, n), p);
        if (keep_pre_activation) {
            output(co, x, y, n) = Tuple(activated(co, x, y, n), w.conv(co, x, y, n));
        } else {
            output(co, x, y, n) = activated(co, x, y, n);
        }
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            input.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            filter.set_estimates({{0, e.co}, {0, 3}, {0, 3}, {0, e.ci}});
            bias.set_estimates({{0, e.co}});
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            output_width.set_estimate(e.ow);
            act.set_estimates(e.act, e.co);
            output.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            return;
        }
        if (get_target().has_gpu_feature()) {
            schedule_conv2d_winograd_gpu(output, w, input_padded, activated, act.kind,
                                         compiled_activation_kinds(activation_kinds));
            return;
        }
        schedule_conv2d_winograd(get_target(), tile, output, w, input_padded, activated, act.kind,
                                 compiled_activation_kinds(activation_kinds));
    }
};

// input_grad = (transposed conv of output_grad) * f', read from input_saved as conv2d_backward_data
// reads it. The transposed 3x3
// convolution at stride 1 is a convolution of output_grad with the filter flipped in x and y and
// its channels swapped, padded by 2 - pad.
class Conv2dWinogradBackwardData : public Generator<Conv2dWinogradBackwardData> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> activation_kinds{"activation_kinds", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};
    GeneratorParam<int> tile_outputs{"tile_outputs", 2, 2, 4};
    Input<Buffer<float, 4>> output_grad{"output_grad"};                    // (co, x, y, n)
    Input<Buffer<float, 4>> filter{"filter"};                              // (co, kx, ky, ci), 3x3
    Input<Buffer<float, 4>> input_saved{"input_saved"};                    // (ci, x, y, n)
    Input<bool> derivative_from_output{"derivative_from_output"};
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    ActivationInputs act;
    Output<Buffer<float, 4>> input_grad{"input_grad"};  // (ci, x, y, n)

    Var ci{"ci"}, x{"x"}, y{"y"}, n{"n"};
    Func derivative{"derivative"}, output_grad_padded;
    WinogradConv w;
    WinogradTile tile;

    void generate() {
        tile = winograd_tile(get_target(), schedule_knobs);
        // input_grad's width numbers the tiles; it cannot be read before input_grad is defined, and
        // input_saved has its shape (the runtime passes input_grad itself for identity).
        const Expr in_channels = filter.dim(3).extent();
        Func output_grad_bounded = clamp_dimension(output_grad, 0, output_grad.dim(0).extent(), "output_grad_bounded");
        output_grad_padded = zero_padded(output_grad_bounded, output_grad.dim(1).extent(), output_grad.dim(2).extent(),
                                         "output_grad_padded");
        Var kx("kx"), ky("ky"), co("co");
        Func filter_flipped("filter_flipped");  // (ci, kx, ky, co): this convolution's (out, kx, ky, in)
        filter_flipped(ci, kx, ky, co) = filter(co, 2 - kx, 2 - ky, clamp(ci, 0, in_channels - 1));
        Func no_bias("no_bias");
        no_bias(ci) = 0.0f;
        const WinogradTransforms &f = winograd_transforms(tile_outputs);
        w = define_conv2d_winograd(output_grad_padded, filter_flipped, no_bias, output_grad.dim(0).extent(),
                                   input_saved.dim(1).extent(), input_saved.dim(2).extent(),
                                   output_grad.dim(3).extent(), 2 - pad_x, 2 - pad_y, f, tile.group_tiles);

        // Clamped as in conv2d_backward_data: the epilogue runs over whole vectors of channels.
        ActivationParams p = act.at(min(ci, in_channels - 1), x, y, n);
        Func saved_bounded = clamp_dimension(input_saved, 0, in_channels, "saved_channels_bounded");
        if (get_target().has_gpu_feature()) {
            // The GPU schedule's threads compute the derivative for a tile's m x m positions, also
            // past the last row and column.
            saved_bounded = clamp_dimension(clamp_dimension(saved_bounded, 1, input_saved.dim(1).extent(), "saved_bounded"),
                                            2, input_saved.dim(2).extent(), "saved_rows_bounded");
        }
        derivative(ci, x, y, n) = activation_derivative(act.kind, saved_bounded(ci, x, y, n), derivative_from_output, p);
        input_grad(ci, x, y, n) = w.conv(ci, x, y, n) * derivative(ci, x, y, n);
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            filter.set_estimates({{0, e.co}, {0, 3}, {0, 3}, {0, e.ci}});
            input_saved.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            derivative_from_output.set_estimate(false);
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            act.set_estimates(e.act, e.ci);
            input_grad.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            return;
        }
        if (get_target().has_gpu_feature()) {
            schedule_conv2d_winograd_gpu(input_grad, w, output_grad_padded, derivative, act.kind,
                                         compiled_activation_kinds(activation_kinds), derivative_from_output);
            return;
        }
        schedule_conv2d_winograd(get_target(), tile, input_grad, w, output_grad_padded, derivative, act.kind,
                                 compiled_activation_kinds(activation_kinds), derivative_from_output);
    }
};

// filter_grad and bias_grad, as conv2d_backward_weights computes them. Threads sum shares of the
// batch into partial gradients, added in a fixed order: the result depends on `partitions`, which
// the runtime passes (its thread count), not on scheduling.
class Conv2dWinogradBackwardWeights : public Generator<Conv2dWinogradBackwardWeights> {
public:
    GeneratorParam<std::string> schedule_knobs{"schedule_knobs", ""};
    GeneratorParam<std::string> estimates{"estimates", ""};
    GeneratorParam<int> tile_outputs{"tile_outputs", 2, 2, 4};
    Input<Buffer<float, 4>> output_grad{"output_grad"};  // (co, x, y, n)
    Input<Buffer<float, 4>> input{"input"};              // (ci, x, y, n)
    Input<int> pad_x{"pad_x", 0, 0, 1024};
    Input<int> pad_y{"pad_y", 0, 0, 1024};
    Input<int> partitions{"partitions", 1, 1, 1024};
    Output<Buffer<float, 4>> filter_grad{"filter_grad"};  // (co, kx, ky, ci), 3x3
    Output<Buffer<float, 1>> bias_grad{"bias_grad"};      // (co)

    Var co{"co"}, kx{"kx"}, ky{"ky"}, ci{"ci"};
    Func input_padded, output_grad_padded;
    WinogradFilterGradient w;
    Func bias_sum{"bias_sum"};
    RDom rb;

    void generate() {
        // Register tiles past the last channel on either side read clamped copies of the last one.
        Func input_bounded = clamp_dimension(input, 0, input.dim(0).extent(), "input_bounded");
        input_padded = zero_padded(input_bounded, input.dim(1).extent(), input.dim(2).extent(), "input_padded");
        Func output_grad_bounded = clamp_dimension(output_grad, 0, output_grad.dim(0).extent(), "output_grad_bounded");
        output_grad_padded = zero_padded(output_grad_bounded, output_grad.dim(1).extent(), output_grad.dim(2).extent(),
                                              "output_grad_padded");
        w = define_conv2d_winograd_backward_weights(input_padded, output_grad_padded, output_grad.dim(1).extent(),
                                                    output_grad.dim(2).extent(), output_grad.dim(3).extent(), pad_x,
                                                    pad_y, winograd_transforms(tile_outputs));
        filter_grad(co, kx, ky, ci) = w.filter_grad(co, kx, ky, ci);

        rb = define_conv2d_bias_gradient(bias_grad, bias_sum, output_grad);
    }

    void schedule() {
        if (auto_schedule) {
            const ConvEstimates e = parse_conv_estimates(estimates);
            output_grad.set_estimates({{0, e.co}, {0, e.ow}, {0, e.oh}, {0, e.n}});
            input.set_estimates({{0, e.ci}, {0, e.w}, {0, e.h}, {0, e.n}});
            pad_x.set_estimate(e.pad_x);
            pad_y.set_estimate(e.pad_y);
            partitions.set_estimate(1);
            filter_grad.set_estimates({{0, e.co}, {0, 3}, {0, 3}, {0, e.ci}});
            bias_grad.set_estimates({{0, e.co}});
            return;
        }
        const ScheduleParams knobs(schedule_knobs, get_target(), winograd_gradient_knob_names());
        schedule_channel_reduction(bias_grad, bias_sum, rb, get_target());
        if (get_target().has_gpu_feature()) {
            check_knob(knobs.empty(), "hnn: the GPU Winograd convolutions have no schedule knobs");
            schedule_conv2d_winograd_backward_weights_gpu(filter_grad, w, input_padded, output_grad_padded,
                                                          output_grad.dim(3).extent(), filter_grad.dim(0).extent(),
                                                          filter_grad.dim(3).extent());
            return;
        }
        const WinogradGradientTile tile = winograd_gradient_tile(get_target(), knobs);
        schedule_conv2d_winograd_backward_weights(get_target(), tile, filter_grad, w, input_padded, output_grad_padded,
                                                  output_grad.dim(3).extent(), partitions);
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::Conv2dWinogradForward, conv2d_winograd_forward)
HALIDE_REGISTER_GENERATOR(hnn::Conv2dWinogradBackwardData, conv2d_winograd_backward_data)
HALIDE_REGISTER_GENERATOR(hnn::Conv2dWinogradBackwardWeights, conv2d_winograd_backward_weights)
