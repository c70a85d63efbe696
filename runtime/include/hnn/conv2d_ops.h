#pragma once
// 2-D convolution: the checked kernel calls (geometry: layer_geometry.h).
// Layout: input (ci, x, y, n), filter (co, kx, ky, ci), bias (co), output (co, x, y, n).

#include "hnn/activation.h"
#include "hnn/activation_ops.h"
#include "hnn/device.h"
#include "hnn/layer_geometry.h"
#include "hnn/tensor.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace hnn {

// How convolutions are computed (forward, backward-data, backward-weights): the direct sum, or at 3x3
// stride 1 Winograd's F(2x2, 3x3) (2.25 times fewer multiply-adds; its transforms add a little
// rounding, bounded normwise) or F(4x4, 3x3) (4 times fewer; about 6 times F(2x2)'s rounding, 5e-6
// of the largest output at 200 channels). A GPU has three schedules of the direct sum.
// - automatic (the default) takes Winograd where it measured faster on the CPU: at least 32
//   channels in and out, and for the forward and backward-data any image from a batch of 32, else
//   at least 12x12 positions (backward-weights: 4x4); of those, in AVX-512 code, F(4x4) where it
//   computes at least 1.3x fewer products than F(2x2) (not on 6x6 or 10x10) and, for the forward
//   and backward-data, an eighth of the batch holds at least 48 of its 4x4 tiles (96 where the
//   products sum over 256 channels or more), for backward-weights on at least 21x21 positions (36
//   tiles of 4x4) or 13x13 from a batch of 64 over at most 128 channels; in AVX2 code on 21x21
//   (backward-weights 13x13); and F(2x2) elsewhere. On a GPU, the fastest of the kernels that
//   apply (the three direct schedules, and at 3x3 stride 1 both Winograd ones): each pass of each
//   shape runs them all on its first call (one untimed launch and two timed ones each, as cuDNN's
//   benchmark mode), and the fastest computes that call's result and every later call's.
// - winograd takes F(2x2) wherever it applies (3x3, stride 1) and the direct sum elsewhere;
//   winograd4x4 the same with F(4x4).
// - direct_staged and direct_large_tile pin one of a GPU's other direct schedules (the CPU runs its
//   direct kernels): the staged one (a block's sums in shared memory, its inputs staged there a
//   chunk of channels at a time) and the cached one with larger thread tiles: 4 x 8 positions
//   (forward, backward-data) and 8 x 8 channels (backward-weights), against 4 x 4 and 4 x 8.
// Process-wide, as oneDNN's algorithm choice is per primitive: set it before the layers run, not
// while they run.
enum class ConvAlgorithm { automatic, direct, winograd, winograd4x4, direct_staged, direct_large_tile };
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();
// "auto", "direct", "winograd", "winograd4x4", "direct-staged" or "direct-large-tile"
// (--conv-algorithm); anything else throws hnn::Error.
ConvAlgorithm parse_conv_algorithm(const std::string &name);

// Which kernel runs one pass of a convolution (channels_in -> channels_out, a kernel_width x
// kernel_height filter, geometry g over a batch of in_width x in_height inputs) on `device` under
// the current conv_algorithm(): the direct sum (on a GPU: its default schedule, the staged one or
// the one with larger thread tiles), F(2x2, 3x3) or F(4x4, 3x3).
enum class ConvPass { forward, backward_data, backward_weights };
enum class ConvMethod { direct, winograd_2x2, winograd_4x4, direct_staged, direct_large_tile };
// `isa`: the CPU kernels' variant, whose vector width moves the choice between F(2x2) and F(4x4).
// On a GPU under auto: the timed choice once the pass has run at that shape, and the direct sum
// before.
ConvMethod conv_method(ConvPass pass, Device device, int channels_in, int channels_out, int kernel_width,
                       int kernel_height, const Conv2dGeometry &g, int in_width, int in_height, int batch,
                       CpuIsa isa = cpu_kernel_isa());
// "direct", "winograd" (F(2x2)), "winograd4x4", "direct-staged" or "direct-large-tile", as
// --conv-algorithm names them.
const char *conv_method_name(ConvMethod method);
// How many (pass, shape, device) choices auto has timed in this process.
size_t conv_shapes_timed();
// Where auto has timed this pass at this shape on `device` (arguments as conv_method's): each
// method's seconds a launch, in the order timed (a method whose launch failed is absent); else none.
std::vector<std::pair<ConvMethod, double>> conv_method_seconds(ConvPass pass, Device device, int channels_in,
                                                               int channels_out, int kernel_width, int kernel_height,
                                                               const Conv2dGeometry &g, int in_width, int in_height,
                                                               int batch);

// Whether a direct-method pass on dense tensors runs the pointwise kernels (pointwise_conv2d_*, a
// matrix product over positions) instead: a 1x1 conv at stride 1 without padding, counting only the
// taps that meet the image (a 3x3 conv on 1x1 images is one), on the CPU, and not with rrelu fused
// (`kind`: the forward's activation, backward-data's derivative; identity for backward-weights).
bool conv_runs_pointwise(Device device, int kernel_width, int kernel_height, const Conv2dGeometry &g, int in_width,
                         int in_height, ActivationKind kind);

// output = f(conv(input) + bias), and pre_activation = conv(input) + bias, in one pass. bias may be
// null (no bias). pre_activation may be null: the output alone is written (inference, or an
// activation whose derivative reads its output, can_differentiate_from_output), a tensor's worth of
// stores less. f is `activation` (ActivationKind::identity for none); channel_slope is prelu's a_c.
void conv2d_forward(Tensor &input, Tensor &filter, Tensor *bias, const Conv2dGeometry &g, const Activation &activation,
                    Tensor &output, Tensor *pre_activation, const RandomKey &key = {}, Tensor *channel_slope = nullptr);

// input_grad = conv_transpose(output_grad) * f'(x), where f is the activation of the layer that
// produced this conv's input and x its pre-activation. f' is read from input_saved: x, or that
// layer's output y where input_saved_source is DerivativeSource::output (which needs
// can_differentiate_from_output). Without input_activation (nullptr) the plain gradient is written
// and input_saved may be null.
void conv2d_backward_data(Tensor &output_grad, Tensor &filter, const Conv2dGeometry &g, Tensor &input_grad,
                          const Activation *input_activation = nullptr, Tensor *input_saved = nullptr,
                          const RandomKey &key = {}, Tensor *channel_slope = nullptr,
                          DerivativeSource input_saved_source = DerivativeSource::input);

// filter_grad = dL/dfilter; bias_grad = dL/dbias, or null for a conv without a bias (whose gradient
// then is not computed on the CPU).
void conv2d_backward_weights(Tensor &output_grad, Tensor &input, const Conv2dGeometry &g, Tensor &filter_grad,
                             Tensor *bias_grad = nullptr);

}  // namespace hnn
