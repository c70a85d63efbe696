#pragma once
// --conv-algorithm of hnn train and hnn bench: how 3x3 stride-1 convolutions run on the CPU.

#include <CLI/CLI.hpp>

#include <string>

namespace hnn {

void add_conv_algorithm_option(CLI::App *cmd, std::string &value);

}  // namespace hnn
