#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn activations`: every activation and its derivative sampled through the real AOT kernels.
void add_activations_command(CLI::App &app);
}
