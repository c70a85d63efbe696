#include "conv_algorithm_option.h"

namespace hnn {

void add_conv_algorithm_option(CLI::App *cmd, std::string &value) {
    cmd->add_option("--conv-algorithm", value,
                    "3x3 stride-1 convs on the CPU: direct, winograd (F(2x2,3x3): 2.25x fewer multiply-adds) or "
                    "auto (winograd where it runs faster: at least 32 channels in and out, and 12x12 positions "
                    "(7x7 from a batch of 64; backward-weights 4x4))")
        ->check(CLI::IsMember({"auto", "direct", "winograd"}))
        ->capture_default_str();
}

}  // namespace hnn
