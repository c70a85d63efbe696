#pragma once
// --conv-algorithm auto on a GPU: which of a convolution pass's kernels runs fastest there depends
// on the GPU, the shape and the schedules' tiles, and no rule measured on one GPU carries to the
// next. So each pass of each shape is timed on its first call, as cuDNN's benchmark
// mode (PyTorch's torch.backends.cudnn.benchmark) times its algorithms, and the fastest is kept for
// the rest of the process.

#include "hnn/conv2d_ops.h"

#include <functional>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace hnn {

// One pass of one convolution shape on one device.
struct ConvTimingKey {
    ConvPass pass;
    Device device;
    int channels_in, channels_out, kernel_width, kernel_height;
    int stride, pad_x, pad_y, in_width, in_height, out_width, out_height, batch;

    auto tied() const {
        return std::tie(pass, device, channels_in, channels_out, kernel_width, kernel_height, stride, pad_x, pad_y,
                        in_width, in_height, out_width, out_height, batch);
    }
    bool operator<(const ConvTimingKey &o) const { return tied() < o.tied(); }
};

// What time_conv_methods measured for one key: each method's seconds a launch (a method whose
// launch failed is absent), and the one chosen.
struct ConvTiming {
    ConvMethod chosen;
    std::vector<std::pair<ConvMethod, double>> seconds;
};

// What time_conv_methods measured and chose for `key`, if it has timed it.
std::optional<ConvTiming> conv_timing(const ConvTimingKey &key);
std::optional<ConvMethod> timed_conv_method(const ConvTimingKey &key);

// Runs launch(m) for each candidate once untimed (a kernel's first launch loads its module), then
// kTimedConvRuns times timed, and records and returns the fastest (the earlier on a tie). launch
// runs the pass with m's kernels and waits for the device. A candidate after the first whose launch
// throws hnn::Error (say, a Winograd kernel's larger scratch memory not fitting) is left out; the
// first one's error propagates. `now` is the clock in seconds (tests pass their own).
constexpr int kTimedConvRuns = 2;
ConvMethod time_conv_methods(const ConvTimingKey &key, const std::vector<ConvMethod> &candidates,
                             const std::function<void(ConvMethod)> &launch,
                             const std::function<double()> &now = nullptr);

}  // namespace hnn
