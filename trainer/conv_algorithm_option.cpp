#include "conv_algorithm_option.h"

namespace hnn {

void add_conv_algorithm_option(CLI::App *cmd, std::string &value) {
    cmd->add_option("--conv-algorithm", value,
                    "3x3 stride-1 convs: direct, winograd (F(2x2,3x3): 2.25x fewer multiply-adds), "
                    "winograd4x4 (F(4x4,3x3): 4x fewer, at about 6x F(2x2)'s rounding error) or auto "
                    "(winograd where it runs faster: at least 32 channels in and out, and from a batch of 32 any image, else 12x12 positions "
                    "(backward-weights 4x4); F(4x4), in AVX-512 code, where it saves 1.3x F(2x2)'s products and an eighth "
                    "of the batch holds 48 of its 4x4 tiles (96 where the sum runs over 256 channels or more; "
                    "backward-weights: 21x21 positions, or 13x13 from a batch of 64 over at most 128 channels), "
                    "in AVX2 code on 21x21 positions (backward-weights 13x13); on a GPU the fastest of the direct "
                    "schedules and, at 3x3 stride 1, both Winograd ones, timed on each pass's first call at each shape). "
                    "On a GPU every conv also takes direct-staged (the direct sum staged in shared memory) or direct-large-tile "
                    "(larger thread tiles: 4 x 8 positions, backward-weights 8 x 8 channels); on the CPU they are direct")
        ->check(CLI::IsMember({"auto", "direct", "winograd", "winograd4x4", "direct-staged", "direct-large-tile"}))
        ->capture_default_str();
}

}  // namespace hnn
