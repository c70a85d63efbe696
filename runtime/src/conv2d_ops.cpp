#include "hnn/conv2d_ops.h"

#include "hnn/error.h"
#include "conv_method_timing.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <HalideBuffer.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>

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

// A view of a 4-D (c, x, y, n) host buffer: `count` elements of x (and of y) from `first`, every
// `step`-th, as a buffer with min 0 whose x and y strides are `step` times the original's.
struct StridedView {
    halide_buffer_t buffer;
    halide_dimension_t dims[4];

    StridedView(const halide_buffer_t &b, int first_x, int count_x, int step_x, int first_y, int count_y, int step_y)
        : buffer(b) {
        for (int d = 0; d < 4; d++) dims[d] = b.dim[d];
        buffer.dim = dims;
        buffer.host += (int64_t(first_x) * dims[1].stride + int64_t(first_y) * dims[2].stride) * int64_t(sizeof(float));
        dims[1] = {0, count_x, dims[1].stride * step_x, 0};
        dims[2] = {0, count_y, dims[2].stride * step_y, 0};
    }
    halide_buffer_t *raw() { return &buffer; }
};

// A 2-D view of a 4-D host buffer for the pointwise kernels: of a dense activation (c, x, y, n) as
// (c, p), its positions x, y and n as one dimension; or of a 1x1 filter (co, 1, 1, ci) as (co, ci).
struct MatrixView {
    halide_buffer_t buffer;
    halide_dimension_t dims[2];

    enum Kind { positions, filter_1x1 };
    MatrixView(const halide_buffer_t &b, Kind kind) : buffer(b) {
        dims[0] = b.dim[0];
        dims[1] = kind == positions ? halide_dimension_t(0, b.dim[1].extent * b.dim[2].extent * b.dim[3].extent, b.dim[1].stride)
                                    : halide_dimension_t(0, b.dim[3].extent, b.dim[3].stride);
        buffer.dimensions = 2;
        buffer.dim = dims;
    }
    MatrixView(const MatrixView &) = delete;
    halide_buffer_t *raw() { return &buffer; }
};

// Whether x, y and n of a (c, x, y, n) buffer are one run of positions (a Tensor's own memory).
bool positions_are_dense(const halide_buffer_t &b) {
    return b.dim[0].stride == 1 && b.dim[1].stride == b.dim[0].extent &&
           b.dim[2].stride == b.dim[1].stride * b.dim[1].extent && b.dim[3].stride == b.dim[2].stride * b.dim[2].extent;
}

// The taps of a kernel that meet the image at some output position. On an image smaller than the
// kernel's reach the others multiply padding only, yet the kernels visit them: celu7's 2x2 conv on
// 1x1 images (padded right and below) spent three quarters of its multiply-adds on zeros, and
// through its padded copies ran at 0.2-0.4x oneDNN. Cropped to the taps that matter (here one), it
// is the same convolution with less padding, and a 1x1 one at that (pointwise_applies).
struct TapWindow {
    int x0 = 0, width = 0, y0 = 0, height = 0;
    bool crops(int kernel_width, int kernel_height) const { return width != kernel_width || height != kernel_height; }
    Conv2dGeometry geometry(const Conv2dGeometry &g) const {
        Conv2dGeometry cropped = g;
        cropped.pad_x -= x0;
        cropped.pad_y -= y0;
        return cropped;
    }
};

// Along one dimension: tap k reads input o * stride + k - pad at output o, so the taps meeting the
// image at some o are [pad - (out - 1) * stride, pad + in - 1], contiguous where the stride is at
// most the image (wider strides can skip over it: those keep every tap). A device buffer keeps every
// tap too: it is not viewed this way (see StridedView).
TapWindow useful_taps(Device device, int kernel_width, int kernel_height, const Conv2dGeometry &g, int in_width,
                      int in_height) {
    auto along = [&](int kernel, int pad, int in, int out, int &first, int &count) {
        first = 0;
        count = kernel;
        if (device != Device::cpu || g.stride > in) return;
        const int lo = std::max(0, pad - (out - 1) * g.stride), hi = std::min(kernel - 1, pad + in - 1);
        if (lo > hi) return;
        first = lo;
        count = hi - lo + 1;
    };
    TapWindow w;
    along(kernel_width, g.pad_x, in_width, g.out_width, w.x0, w.width);
    along(kernel_height, g.pad_y, in_height, g.out_height, w.y0, w.height);
    return w;
}

// The forward and backward-data compute whole register tiles: on AVX-512 3 vectors of channels x 4
// positions (conv_register_tile in schedules/conv2d_schedule.h), or 2 x 7 in the _tile_2x7 kernels
// (generators/CMakeLists.txt). The one with fewer padded outputs runs: 2 x 7 for 200 channels on
// rows of 28, 14 or 7 (224 x 28 against 240 x 28 computed per row: 7-9% faster at 28x28, 10-16% at
// 14x14), 3 x 4 for 96 or 192 channels on rows of 32, 16 or 8 (no padding). Equal counts keep
// 3 x 4. (Without AVX-512 the variants are not built or not called: their tile would be the same.)
// A kernel built from a `hnn tune` file (CMake defines HNN_TUNED_<KERNEL>) runs at every shape: its
// tile is the tuned one.
struct TileShape {
    int channels, positions;
    int64_t computed(int channels_needed, int positions_needed) const {
        auto round_up = [](int extent, int tile) { return int64_t(extent + tile - 1) / tile * tile; };
        return round_up(channels_needed, channels) * round_up(positions_needed, positions);
    }
};
constexpr TileShape kHandTile{48, 4}, kTile2x7{32, 7};
// The forward's third tile, 1 x 12 (the _tile_1x12 kernel), where the output channels fit its one
// vector: a classifier's 10 channels made 3 x 4 compute 48.
constexpr TileShape kTile1x12{16, 12};

// Whether the 2 x 7 variant runs for `channels` on rows of `width`: where the table has it (the CPU's,
// on AVX-512), the kernel is not tuned, and it computes fewer padded outputs.
bool takes_tile_2x7(bool variant_built, bool tuned, int channels, int width) {
    return variant_built && !tuned && kTile2x7.computed(channels, width) < kHandTile.computed(channels, width);
}

#ifdef HNN_TUNED_CONV2D_FORWARD
constexpr bool kForwardTuned = true;
#else
constexpr bool kForwardTuned = false;
#endif
#ifdef HNN_TUNED_CONV2D_BACKWARD_DATA
constexpr bool kBackwardDataTuned = true;
#else
constexpr bool kBackwardDataTuned = false;
#endif

#ifdef HNN_TUNED_POINTWISE_CONV2D_FORWARD
constexpr bool kPointwiseForwardTuned = true;
#else
constexpr bool kPointwiseForwardTuned = false;
#endif

// Whether the pointwise kernels compute this conv (over the taps that meet the image): a 1x1 conv
// at stride 1 without padding, on buffers whose positions are one dense run, and no rrelu (its
// random slopes are keyed by each element's (c, x, y, n)). Tuned direct kernels do not take these
// convs: `hnn tune` tunes the pointwise kernels for them.
bool pointwise_applies(bool kernel_built, const TapWindow &taps, const Conv2dGeometry &g, ActivationKind kind,
                       std::initializer_list<Tensor *> operands) {
    if (!kernel_built || taps.width != 1 || taps.height != 1 || g.stride != 1 || g.pad_x != 0 ||
        g.pad_y != 0 || kind == ActivationKind::rrelu) {
        return false;
    }
    for (Tensor *t : operands) {
        if (!positions_are_dense(*t->raw())) return false;
    }
    return true;
}

std::atomic<ConvAlgorithm> chosen_algorithm{ConvAlgorithm::automatic};

// Where the Winograd kernels apply, and where conv_algorithm() takes them. Measured against the
// direct kernels on celu7's and allconv's 3x3 layers (`hnn bench --conv-algorithm`): 96-200
// channels on 14x14 to 32x32 ran 1.2-1.9x faster in all three kernels; first layers (1 or 3
// channels) 2-3x slower. On small images (tiles: 2x2 outputs of the convolution's result, the
// forward's output, backward-data's input gradient, backward-weights' output gradient) the forward
// and backward-data take several images at a time; from a batch of 32 they won down to one tile an
// image (192 channels at batch 50, forward and backward-data: 2x2 images 0.77 and 0.97-1.0 ms
// against 1.12-1.19, 4x4 1.31 and 1.60 against 1.94 and 1.88, 8x8 4.5-4.8 against 5.8-6.2, 7x7
// 4.58-4.69 against 4.63-4.95; 96 channels on 8x8 at batch 32 0.72-0.79 against 1.0), but from
// 1-16 images of 2x2 to 16x16 they lost 1.2-2x: there they take images of 36 tiles or more (12x12).
// Backward-weights, which sums the tiles of several images in one register tile, won from 4x4 (4
// tiles) and lost 5% on 2x2.
constexpr int kForwardMinTiles = 36, kForwardMinTilesLargeBatch = 1, kLargeBatch = 32, kBackwardWeightsMinTiles = 4;
// Where auto takes F(4x4) instead, with AVX-512's 16-float vectors. Its 36 points against F(2x2)'s
// 16 save 1.78x the products where both tile the result exactly (or pad alike: 7x7), but none on
// 6x6 (4 tiles of 4x4 against 9 of 2x2: allcnn-c's valid 8x8 -> 6x6 forward ran 0.76x as fast as
// F(2x2)), so it asks a saving of kWinograd4x4MinSaving. Each point's transformed filter panel,
// co x ci (36 of them, 9.4 MB at 256 channels), is then loaded once a group of images and serves
// the group's tiles; the forward and backward-data split the batch in at least 8 groups
// (conv2d_winograd_algorithm.h), and where an eighth of the batch held fewer than 48 tiles of 4x4
// F(4x4) lost (8x8 and 7x7 at batch 16, 4 tiles an image: 0.46-0.56x; 8x8 at batch 32 0.55-0.74x;
// 16x16 at batch 16, 32 tiles: 0.88-1.0x), and from 256 channels it lost under 96 (16x16 at
// batch 32: backward-data 0.69x). Above those it won (`hnn bench --conv-algorithm winograd` and
// `winograd4x4` alternated three times each, medians, 2-core AMD EPYC with AVX-512, 2026-12-07):
// 32x32 from 32 to 256 channels at batches 16-128 1.06-1.48x, celu7's 28x28 at 200 channels
// 1.14-1.35x, 16x16 at batches 32-128 1.02-1.28x, 8x8 at batch 128 and 7x7 at batch 100 1.05-1.19x
// (allcnn-c's batch of 64 again an hour later, every kernel slower: 32x32 1.21-1.25x, 16x16
// 1.02-1.13x).
// (On 2026-12-01, with F(4x4)'s first kernels, 32x32 over 96 channels had tied and 16x16 lost: the
// rule then asked 128 channels and 36 tiles an image. The main job's celu7 at width 32, which it
// left to F(2x2), now trains 1.36x as fast: a step of 13.4 ms against 18.3 at batch 100.)
constexpr double kWinograd4x4MinSaving = 1.3;
constexpr int64_t kWinograd4x4MinGroupTiles = 48, kWinograd4x4WideGroupTiles = 96, kWinograd4x4WideChannels = 256;
// Backward-weights sums each register tile over groups of whole images (at least 96 tiles), not
// an eighth of the batch, and its register tiles span both channel counts. It won on 36 tiles of
// 4x4 an image (21x21) at every batch measured (32x32 at batches 16-128 1.01-1.5x, 28x28
// 1.25-1.35x); on 16 (16x16) from a batch of 64 over at most 128 channels (1.21-1.3x), while over
// 192 it went either way (0.89-1.19x), and at batches 16 and 32 lost (0.76-0.98x); on 4 (8x8 and
// 7x7) it lost (0.40-0.83x, but for 1.18x at 64 channels).
constexpr int64_t kBackwardWeightsWinograd4x4MinTiles = 36, kBackwardWeightsWinograd4x4LargeBatchTiles = 16;
constexpr int kBackwardWeightsWinograd4x4LargeBatch = 64, kBackwardWeightsWinograd4x4LargeBatchChannels = 128;
// With AVX2's 8-float vectors (a Zen 3 EPYC, 2 cores, interleaved medians) the multiply-adds weigh
// more, and on 36 tiles F(4x4) won from 32 channels: allconv's 32x32 at 96 channels forward 29.1
// and 35.1 ms against 34.9 and 41.7, backward-data 22.6 and 27.8 against 29.7 and 28.6,
// backward-weights 22.4 and 25.6 against 33.9 and 37.0 (96->192: 42.6 against 66.6); 32 channels
// 1.2x, and at batch 8 too (forward 4.5 against 4.9). On 16 tiles (16x16, 192 channels, three runs
// each) the forward and backward-data tied (forward 23.8-29.0 ms against 27.3-27.9, backward-data
// 24.5-28.4 against 26.6-29.2; at batch 8 the forward lost, 6.5 against 5.1), and on 4 (7x7, 8x8)
// they won in one state of the machine (13.8 against 16.4) and lost in another (20.1 against
// 18.0). Backward-weights won from 16 tiles (16x16: 25.2, 36.2 and 30.6 against 28.0, 48.5 and
// 31.6), tied on 7x7 and 12x12, and lost on 8x8 (10.7 against 7.5) and 10x10 (16.9 against 11.7),
// whose last tiles are half empty.
constexpr int kAvx2Winograd4x4MinTiles = 36, kAvx2BackwardWeightsWinograd4x4MinTiles = 16;

bool is_winograd(ConvMethod method) {
    return method == ConvMethod::winograd_2x2 || method == ConvMethod::winograd_4x4;
}

// The kernels of the GPU's other direct schedule that `method` names; null for the default direct
// kernels and for Winograd.
const DirectConvKernels *other_direct_schedule(const KernelTable &kernels, ConvMethod method) {
    if (method == ConvMethod::direct_staged) return &kernels.conv2d_staged;
    if (method == ConvMethod::direct_large_tile) return &kernels.conv2d_large_tile;
    return nullptr;
}

// Where the Winograd kernels exist.
bool winograd_applies(int kernel_width, int kernel_height, int stride) {
    return kernel_width == 3 && kernel_height == 3 && stride == 1;
}

ConvTimingKey timing_key(ConvPass pass, Device device, int channels_in, int channels_out, int kernel_width,
                         int kernel_height, const Conv2dGeometry &g, int in_width, int in_height, int batch) {
    return {pass,    device,  channels_in, channels_out, kernel_width, kernel_height, g.stride,
            g.pad_x, g.pad_y, in_width,    in_height,    g.out_width,  g.out_height,  batch};
}

// The tiles of tile_outputs x tile_outputs outputs that cover a result of width x height (the last
// row and column partly past it).
int64_t winograd_tiles(int width, int height, int tile_outputs) {
    return int64_t(width + tile_outputs - 1) / tile_outputs * ((height + tile_outputs - 1) / tile_outputs);
}

// How many times fewer products F(4x4) (36 points a tile) computes than F(2x2) (16) for a result of
// width x height.
double winograd4x4_saving(int width, int height) {
    return 16.0 * double(winograd_tiles(width, height, 2)) / (36.0 * double(winograd_tiles(width, height, 4)));
}

// F(4x4) or F(2x2), where auto takes Winograd: width x height is the result the tiles cover,
// reduced_channels what the forward's and backward-data's products sum over, widest_channels the
// larger of the input's and the output's.
ConvMethod winograd_method(ConvPass pass, CpuIsa isa, int reduced_channels, int widest_channels, int width,
                           int height, int batch) {
    const int64_t tiles_4x4 = winograd_tiles(width, height, 4);
    bool four_by_four;
    if (isa == CpuIsa::avx512) {
        if (pass == ConvPass::backward_weights) {
            four_by_four = tiles_4x4 >= kBackwardWeightsWinograd4x4MinTiles ||
                           (tiles_4x4 >= kBackwardWeightsWinograd4x4LargeBatchTiles &&
                            batch >= kBackwardWeightsWinograd4x4LargeBatch &&
                            widest_channels <= kBackwardWeightsWinograd4x4LargeBatchChannels);
        } else {
            const int64_t group_tiles = tiles_4x4 * ((batch + 7) / 8);
            four_by_four = group_tiles >= (reduced_channels >= kWinograd4x4WideChannels ? kWinograd4x4WideGroupTiles
                                                                                         : kWinograd4x4MinGroupTiles);
        }
        four_by_four = four_by_four && winograd4x4_saving(width, height) >= kWinograd4x4MinSaving;
    } else if (pass == ConvPass::backward_weights) {
        four_by_four = tiles_4x4 >= kAvx2BackwardWeightsWinograd4x4MinTiles;
    } else {
        four_by_four = tiles_4x4 >= kAvx2Winograd4x4MinTiles;
    }
    return four_by_four ? ConvMethod::winograd_4x4 : ConvMethod::winograd_2x2;
}

}  // namespace

ConvMethod conv_method(ConvPass pass, Device device, int channels_in, int channels_out, int kernel_width,
                       int kernel_height, const Conv2dGeometry &g, int in_width, int in_height, int batch,
                       CpuIsa isa) {
    const bool applies = winograd_applies(kernel_width, kernel_height, g.stride);
    const bool backward_data = pass == ConvPass::backward_data;
    const int width = backward_data ? in_width : g.out_width, height = backward_data ? in_height : g.out_height;
    const int64_t tiles = winograd_tiles(width, height, 2);
    const int min_tiles = pass == ConvPass::backward_weights ? kBackwardWeightsMinTiles
                          : batch >= kLargeBatch             ? kForwardMinTilesLargeBatch
                                                             : kForwardMinTiles;
    // The forward's matrix products sum over the input channels, backward-data's over the output
    // gradient's (backward-weights' over the tiles).
    const int reduced_channels = backward_data ? channels_out : channels_in;
    switch (chosen_algorithm.load()) {
        case ConvAlgorithm::direct: return ConvMethod::direct;
        case ConvAlgorithm::winograd: return applies ? ConvMethod::winograd_2x2 : ConvMethod::direct;
        case ConvAlgorithm::winograd4x4: return applies ? ConvMethod::winograd_4x4 : ConvMethod::direct;
        case ConvAlgorithm::direct_staged: return device != Device::cpu ? ConvMethod::direct_staged : ConvMethod::direct;
        case ConvAlgorithm::direct_large_tile:
            return device != Device::cpu ? ConvMethod::direct_large_tile : ConvMethod::direct;
        case ConvAlgorithm::automatic:
            if (device != Device::cpu) {
                return timed_conv_method(timing_key(pass, device, channels_in, channels_out, kernel_width,
                                                    kernel_height, g, in_width, in_height, batch))
                    .value_or(ConvMethod::direct);
            }
            if (!applies || channels_in < 32 || channels_out < 32 || tiles < min_tiles) return ConvMethod::direct;
            return winograd_method(pass, isa, reduced_channels, std::max(channels_in, channels_out), width, height,
                                   batch);
    }
    return ConvMethod::direct;
}

bool conv_runs_pointwise(Device device, int kernel_width, int kernel_height, const Conv2dGeometry &g, int in_width,
                         int in_height, ActivationKind kind) {
    const TapWindow taps = useful_taps(device, kernel_width, kernel_height, g, in_width, in_height);
    return device == Device::cpu &&
           pointwise_applies(kernel_table(device).pointwise_conv2d_forward != nullptr, taps, taps.geometry(g), kind, {});
}

std::vector<std::pair<ConvMethod, double>> conv_method_seconds(ConvPass pass, Device device, int channels_in,
                                                               int channels_out, int kernel_width, int kernel_height,
                                                               const Conv2dGeometry &g, int in_width, int in_height,
                                                               int batch) {
    const std::optional<ConvTiming> t = conv_timing(
        timing_key(pass, device, channels_in, channels_out, kernel_width, kernel_height, g, in_width, in_height, batch));
    if (!t) return {};
    return t->seconds;
}

const char *conv_method_name(ConvMethod method) {
    switch (method) {
        case ConvMethod::direct: return "direct";
        case ConvMethod::winograd_2x2: return "winograd";
        case ConvMethod::winograd_4x4: return "winograd4x4";
        case ConvMethod::direct_staged: return "direct-staged";
        case ConvMethod::direct_large_tile: return "direct-large-tile";
    }
    return "direct";
}

namespace {

// What auto times for a pass on a GPU: the direct schedules (the default first: its failure is
// an error, the others' only leave them out), then at 3x3 stride 1 the Winograd kernels.
std::vector<ConvMethod> gpu_candidates(int kernel_width, int kernel_height, int stride) {
    std::vector<ConvMethod> candidates{ConvMethod::direct, ConvMethod::direct_staged, ConvMethod::direct_large_tile};
    if (winograd_applies(kernel_width, kernel_height, stride)) {
        candidates.push_back(ConvMethod::winograd_2x2);
        candidates.push_back(ConvMethod::winograd_4x4);
    }
    return candidates;
}

// The method of this call's pass (filter (co, kx, ky, ci)) over the taps of `taps`: conv_method's,
// except where auto times the methods (on a GPU): the one timed fastest at this shape, timed now
// on its first call. launch(m) runs the pass with m's kernels, writing `written` (whose
// synchronize() waits for them).
ConvMethod choose_method(ConvPass pass, Device device, const Tensor &filter, const TapWindow &taps,
                         const Conv2dGeometry &g, int in_width, int in_height, int batch,
                         const std::function<void(ConvMethod)> &launch, Tensor &written) {
    const int channels_in = filter.dim(3), channels_out = filter.dim(0);
    if (device != Device::cpu && conv_algorithm() == ConvAlgorithm::automatic) {
        const ConvTimingKey key =
            timing_key(pass, device, channels_in, channels_out, taps.width, taps.height, g, in_width, in_height, batch);
        if (const std::optional<ConvMethod> timed = timed_conv_method(key)) return *timed;
        return time_conv_methods(key, gpu_candidates(taps.width, taps.height, g.stride),
                                 [&](ConvMethod m) {
                                     launch(m);
                                     written.synchronize();
                                 });
    }
    return conv_method(pass, device, channels_in, channels_out, taps.width, taps.height, g, in_width, in_height, batch);
}

}  // namespace

void set_conv_algorithm(ConvAlgorithm algorithm) { chosen_algorithm = algorithm; }
ConvAlgorithm conv_algorithm() { return chosen_algorithm; }

ConvAlgorithm parse_conv_algorithm(const std::string &name) {
    if (name == "auto") return ConvAlgorithm::automatic;
    if (name == "direct") return ConvAlgorithm::direct;
    if (name == "winograd") return ConvAlgorithm::winograd;
    if (name == "winograd4x4") return ConvAlgorithm::winograd4x4;
    if (name == "direct-staged") return ConvAlgorithm::direct_staged;
    if (name == "direct-large-tile") return ConvAlgorithm::direct_large_tile;
    throw Error("--conv-algorithm: unknown algorithm '" + name +
                "' (expected auto, direct, winograd, winograd4x4, direct-staged or direct-large-tile)");
}

void conv2d_forward(Tensor &input, Tensor &filter, Tensor *bias, const Conv2dGeometry &g, const Activation &a,
                    Tensor &output, Tensor *pre_activation, const RandomKey &key, Tensor *channel_slope) {
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
    if (pre_activation) require_shape(op, "pre_activation", *pre_activation, out_shape, input);
    if (bias) require_shape(op, "bias", *bias, {co}, input);
    require_shape(op, "filter", filter, filter.shape(), input);
    const KernelTable &kernels = kernel_table(input.device());
    const std::string shapes = "input " + input.shape_string() + ", filter " + filter.shape_string() + ", " + geometry_text(g);
    const TapWindow taps = useful_taps(input.device(), filter.dim(1), filter.dim(2), g, input.dim(1), input.dim(2));
    StridedView filter_taps(*filter.raw(), taps.x0, taps.width, 1, taps.y0, taps.height, 1);
    halide_buffer_t *weights = taps.crops(filter.dim(1), filter.dim(2)) ? filter_taps.raw() : filter.raw();
    halide_buffer_t *bias_buffer = bias ? bias->raw() : shared_zeros(co, input.device());
    halide_buffer_t *slope = slope_buffer(op, a, co, input.device(), channel_slope);
    const Conv2dGeometry gt = taps.geometry(g);
    // Every forward kernel comes with the pre-activation output and without it (*_output_only); the
    // two take the same arguments up to their last buffers.
    auto run = [&](auto with_pre, auto output_only, halide_buffer_t *out, halide_buffer_t *pre, auto... arguments) {
        int r = pre ? with_pre(arguments..., static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta, a.threshold,
                               a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step, key.batch_offset, slope,
                               out, pre)
                    : output_only(arguments..., static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta,
                                  a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step,
                                  key.batch_offset, slope, out);
        check_kernel(r, op, shapes);
    };
    halide_buffer_t *pre = pre_activation ? pre_activation->raw() : nullptr;
    auto launch = [&](ConvMethod method) {
        if (method == ConvMethod::winograd_4x4) {
            run(kernels.conv2d_winograd4x4_forward, kernels.conv2d_winograd4x4_forward_output_only, output.raw(), pre,
                input.raw(), weights, bias_buffer, gt.pad_x, gt.pad_y, gt.out_width);
            return;
        }
        if (method == ConvMethod::winograd_2x2) {
            run(kernels.conv2d_winograd_forward, kernels.conv2d_winograd_forward_output_only, output.raw(), pre,
                input.raw(), weights, bias_buffer, gt.pad_x, gt.pad_y, gt.out_width);
            return;
        }
        if (const DirectConvKernels *schedule = other_direct_schedule(kernels, method)) {
            run(schedule->forward, schedule->forward_output_only, output.raw(), pre, input.raw(), weights,
                bias_buffer, gt.stride, gt.pad_x, gt.pad_y);
            return;
        }
        // A 1x1 conv at stride 1 without padding is a matrix product over positions: the pointwise
        // kernel computes it without the direct kernel's per-image padded copies and partial sums.
        if (pointwise_applies(kernels.pointwise_conv2d_forward, taps, gt, a.kind,
                              {&input, &output, pre_activation ? pre_activation : &output})) {
            MatrixView in(*input.raw(), MatrixView::positions), w(*weights, MatrixView::filter_1x1);
            MatrixView out(*output.raw(), MatrixView::positions);
            MatrixView pre_view(pre ? *pre : *output.raw(), MatrixView::positions);
            // Outputs of one vector of channels take a tile of 1 vector x 14 positions (as the
            // direct forward's 1 x 12) where it is built: 2 x 7 computed 32 channels for a
            // classifier's 10. A tuned kernel runs at every shape.
            const bool tile_1x14 =
                kernels.pointwise_conv2d_forward_tile_1x14 && co <= kTile1x12.channels && !kPointwiseForwardTuned;
            run(tile_1x14 ? kernels.pointwise_conv2d_forward_tile_1x14 : kernels.pointwise_conv2d_forward,
                tile_1x14 ? kernels.pointwise_conv2d_forward_tile_1x14_output_only
                          : kernels.pointwise_conv2d_forward_output_only,
                out.raw(), pre ? pre_view.raw() : nullptr, in.raw(), w.raw(), bias_buffer);
            return;
        }
        halide_buffer_t *out = output.raw();
        const bool tile_1x12 = kernels.conv2d_forward_tile_1x12 && !kForwardTuned && co <= kTile1x12.channels;
        const bool tile_2x7 =
            !tile_1x12 && takes_tile_2x7(kernels.conv2d_forward_tile_2x7, kForwardTuned, co, out->dim[1].extent);
        auto with_pre = tile_1x12 ? kernels.conv2d_forward_tile_1x12 : tile_2x7 ? kernels.conv2d_forward_tile_2x7
                                                                                : kernels.conv2d_forward;
        auto output_only = tile_1x12 ? kernels.conv2d_forward_tile_1x12_output_only
                           : tile_2x7 ? kernels.conv2d_forward_tile_2x7_output_only
                                      : kernels.conv2d_forward_output_only;
        run(with_pre, output_only, out, pre, input.raw(), weights, bias_buffer, gt.stride, gt.pad_x, gt.pad_y);
    };
    launch(choose_method(ConvPass::forward, input.device(), filter, taps, gt, input.dim(1), input.dim(2), n, launch,
                         output));
}

void conv2d_backward_data(Tensor &output_grad, Tensor &filter, const Conv2dGeometry &g, Tensor &input_grad,
                          const Activation *input_activation, Tensor *input_saved, const RandomKey &key,
                          Tensor *channel_slope, DerivativeSource input_saved_source) {
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
    Tensor *saved_tensor = &input_grad;  // never read for identity
    const bool from_output = input_activation && input_saved_source == DerivativeSource::output;
    if (input_activation) {
        if (!input_saved) throw Error(std::string(op) + ": a fused activation derivative needs input_saved");
        require_derivative_source(op, a, input_saved_source);
        require_same(op, "input_saved", *input_saved, "input_grad", input_grad);
        saved_tensor = input_saved;
    }
    halide_buffer_t *saved = saved_tensor->raw();
    halide_buffer_t *slope = slope_buffer(op, a, ci, input_grad.device(), channel_slope);
    const std::string shapes =
        "output_grad " + output_grad.shape_string() + ", filter " + filter.shape_string() + ", " + geometry_text(g);
    const KernelTable &kernels = kernel_table(input_grad.device());
    // A direct method's kernel (direct, direct_staged or direct_large_tile).
    auto run = [&](ConvMethod method, halide_buffer_t *output_grad_view, halide_buffer_t *filter_view,
                   halide_buffer_t *saved_view, int stride, int pad_x, int pad_y, halide_buffer_t *input_grad_view) {
        const DirectConvKernels *schedule = other_direct_schedule(kernels, method);
        auto kernel = schedule ? schedule->backward_data
                      : takes_tile_2x7(kernels.conv2d_backward_data_tile_2x7, kBackwardDataTuned,
                                       input_grad_view->dim[0].extent, input_grad_view->dim[1].extent)
                          ? kernels.conv2d_backward_data_tile_2x7
                          : kernels.conv2d_backward_data;
        int r = kernel(output_grad_view, filter_view, saved_view, from_output, stride, pad_x, pad_y, static_cast<int>(a.kind),
                       a.negative_slope, a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, key.training,
                       key.seed, key.step, key.batch_offset, slope, input_grad_view);
        check_kernel(r, op, shapes);
    };
    const TapWindow taps =
        useful_taps(input_grad.device(), filter.dim(1), filter.dim(2), g, input_grad.dim(1), input_grad.dim(2));
    StridedView filter_taps(*filter.raw(), taps.x0, taps.width, 1, taps.y0, taps.height, 1);
    halide_buffer_t *weights = taps.crops(filter.dim(1), filter.dim(2)) ? filter_taps.raw() : filter.raw();
    const Conv2dGeometry gt = taps.geometry(g);
    // As the forward: the product with the filter transposed, the derivative applied as tiles are stored.
    if (pointwise_applies(kernels.pointwise_conv2d_backward_data, taps, gt, a.kind,
                          {&output_grad, saved_tensor, &input_grad})) {
        MatrixView dout(*output_grad.raw(), MatrixView::positions), w(*weights, MatrixView::filter_1x1);
        MatrixView saved_view(*saved, MatrixView::positions), din(*input_grad.raw(), MatrixView::positions);
        int r = kernels.pointwise_conv2d_backward_data(
            dout.raw(), w.raw(), saved_view.raw(), from_output, static_cast<int>(a.kind), a.negative_slope, a.alpha, a.beta,
            a.threshold, a.rrelu_lower, a.rrelu_upper, key.training, key.seed, key.step, key.batch_offset, slope,
            din.raw());
        check_kernel(r, op, shapes);
        return;
    }
    auto launch = [&](ConvMethod method) {
        if (!is_winograd(method)) {
            run(method, output_grad.raw(), weights, saved, gt.stride, gt.pad_x, gt.pad_y, input_grad.raw());
            return;
        }
        auto winograd = method == ConvMethod::winograd_4x4 ? kernels.conv2d_winograd4x4_backward_data
                                                           : kernels.conv2d_winograd_backward_data;
        int r = winograd(output_grad.raw(), weights, saved, from_output, gt.pad_x, gt.pad_y, static_cast<int>(a.kind),
                         a.negative_slope, a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, key.training,
                         key.seed, key.step, key.batch_offset, slope, input_grad.raw());
        check_kernel(r, op, shapes);
    };
    const ConvMethod method = choose_method(ConvPass::backward_data, input_grad.device(), filter, taps, gt,
                                            input_grad.dim(1), input_grad.dim(2), input_grad.dim(3), launch,
                                            input_grad);
    // At stride s, an input position x receives only the taps kx with x + pad_x - kx divisible by
    // s: one in s^2 of the taps a direct sum visits (and discards). Split by x mod s and y mod s,
    // each phase is a stride-1 backward-data over every s-th tap, written to every s-th position:
    // s^2 calls of the stride-1 kernel on strided views, none of them wasted work. On the CPU only
    // (a device buffer is not viewed this way), and not when rrelu's derivative is fused: its random
    // slopes are keyed by the element's coordinates, which a view renumbers.
    if (method != ConvMethod::direct || g.stride == 1 || input_grad.device() != Device::cpu ||
        a.kind == ActivationKind::rrelu) {
        launch(method);
        return;
    }
    const int s = gt.stride, kw = taps.width, kh = taps.height, w = input_grad.dim(1), h = input_grad.dim(2);
    for (int phase_y = 0; phase_y < std::min(s, h); phase_y++) {
        for (int phase_x = 0; phase_x < std::min(s, w); phase_x++) {
            // The first tap of this phase, the number of its taps, and the output row (column) its
            // first position reads, which is the stride-1 call's padding.
            const int kx0 = (phase_x + gt.pad_x) % s, ky0 = (phase_y + gt.pad_y) % s;
            const int taps_x = kx0 < kw ? (kw - kx0 + s - 1) / s : 0, taps_y = ky0 < kh ? (kh - ky0 + s - 1) / s : 0;
            const int count_x = (w - phase_x + s - 1) / s, count_y = (h - phase_y + s - 1) / s;
            StridedView grad_view(*input_grad.raw(), phase_x, count_x, s, phase_y, count_y, s);
            if (taps_x == 0 || taps_y == 0) {
                // No tap reaches these positions (a 1x1 kernel at stride 2).
                Halide::Runtime::Buffer<float>(*grad_view.raw()).fill(0.0f);
                continue;
            }
            StridedView saved_view(*saved, phase_x, count_x, s, phase_y, count_y, s);
            StridedView filter_view(*weights, kx0, taps_x, s, ky0, taps_y, s);
            run(ConvMethod::direct, output_grad.raw(), filter_view.raw(), saved_view.raw(), 1, (phase_x + gt.pad_x) / s,
                (phase_y + gt.pad_y) / s, grad_view.raw());
        }
    }
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
    // Without a bias gradient to write, the CPU kernels get one of no channels and skip its sum, a
    // pass over the whole output gradient; a GPU's get a scratch tensor (a buffer of no bytes has no
    // device allocation).
    Tensor scratch;
    halide_buffer_t no_channels;
    halide_dimension_t no_channels_dim{0, 0, 1, 0};
    halide_buffer_t *bias = nullptr;
    if (bias_grad) {
        require_shape(op, "bias_grad", *bias_grad, {co}, input);
        bias = bias_grad->raw();
    } else if (input.device() == Device::cpu) {
        scratch = Tensor({1});
        no_channels = *scratch.raw();
        no_channels.dim = &no_channels_dim;
        bias = &no_channels;
    } else {
        scratch = Tensor({co}, input.device());
        bias = scratch.raw();
    }
    const KernelTable &kernels = kernel_table(input.device());
    // Taps that meet no input have a zero gradient; the kernel computes the others'.
    const TapWindow taps = useful_taps(input.device(), filter_grad.dim(1), filter_grad.dim(2), g, input.dim(1), input.dim(2));
    StridedView filter_grad_taps(*filter_grad.raw(), taps.x0, taps.width, 1, taps.y0, taps.height, 1);
    halide_buffer_t *weights_grad = filter_grad.raw();
    if (taps.crops(filter_grad.dim(1), filter_grad.dim(2))) {
        filter_grad.fill(0.0f);
        weights_grad = filter_grad_taps.raw();
    }
    const Conv2dGeometry gt = taps.geometry(g);
    const std::string shapes =
        "output_grad " + output_grad.shape_string() + ", input " + input.shape_string() + ", " + geometry_text(g);
    // A sum over positions of products of columns: the pointwise kernel takes runs of positions
    // across images (the direct kernel's end with each image, 9 positions on 3x3) and finds the bias
    // gradient in the same product (one more input channel, of ones).
    if (pointwise_applies(kernels.pointwise_conv2d_backward_weights, taps, gt, ActivationKind::identity,
                          {&output_grad, &input})) {
        MatrixView dout(*output_grad.raw(), MatrixView::positions), in(*input.raw(), MatrixView::positions);
        MatrixView dw(*weights_grad, MatrixView::filter_1x1);
        const int positions = dout.raw()->dim[1].extent;
        int r = kernels.pointwise_conv2d_backward_weights(dout.raw(), in.raw(), std::min(cpu_threads(), positions),
                                                          dw.raw(), bias);
        check_kernel(r, op, shapes);
        return;
    }
    halide_buffer_t *dout = output_grad.raw(), *in = input.raw();
    const int partitions = std::min(cpu_threads(), in->dim[3].extent);
    auto launch = [&](ConvMethod method) {
        int r;
        if (!is_winograd(method)) {
            const DirectConvKernels *schedule = other_direct_schedule(kernels, method);
            auto direct = schedule ? schedule->backward_weights : kernels.conv2d_backward_weights;
            r = direct(dout, in, gt.stride, gt.pad_x, gt.pad_y, partitions, weights_grad, bias);
        } else {
            auto winograd = method == ConvMethod::winograd_4x4 ? kernels.conv2d_winograd4x4_backward_weights
                                                               : kernels.conv2d_winograd_backward_weights;
            r = winograd(dout, in, gt.pad_x, gt.pad_y, partitions, weights_grad, bias);
        }
        check_kernel(r, op, shapes);
    };
    launch(choose_method(ConvPass::backward_weights, input.device(), filter_grad, taps, gt, input.dim(1), input.dim(2),
                         input.dim(3), launch, filter_grad));
}

}  // namespace hnn
