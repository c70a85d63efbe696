#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn eval`: test loss and accuracy of a checkpoint.
void add_eval_command(CLI::App &app);
}
