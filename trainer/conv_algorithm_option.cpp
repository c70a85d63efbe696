#include "conv_algorithm_option.h"

namespace hnn {

void add_conv_algorithm_option(CLI::App *cmd, std::string &value) {
    // auto's rule on the CPU is conv_method's (runtime/include/hnn/conv2d_ops.h; the README's
    // Benchmarks): the help says where it is rather than keeping a third copy of its thresholds.
    cmd->add_option("--conv-algorithm", value,
                    "3x3 stride-1 convs: direct, winograd (F(2x2,3x3): 2.25x fewer multiply-adds), winograd4x4 "
                    "(F(4x4,3x3): 4x fewer, at about 6x F(2x2)'s rounding error) or auto: on the CPU the one measured "
                    "faster for the layer's channels, image size and batch (README, Benchmarks), on a GPU the "
                    "fastest of the kernels that apply, timed on each pass's first call at each shape. On a GPU "
                    "every conv also takes direct-staged or direct-large-tile (two other schedules of the direct "
                    "sum); on the CPU they are direct")
        ->check(CLI::IsMember({"auto", "direct", "winograd", "winograd4x4", "direct-staged", "direct-large-tile"}))
        ->capture_default_str();
}

}  // namespace hnn
