#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn tune`: searches kernel schedules on this machine and writes the winners to schedules/tuned.
// The search runs in hnn-tune (next to this executable), which links libHalide; this command turns
// a model into the shapes of its tunable kernels and execs it.
void add_tune_command(CLI::App &app);
}
