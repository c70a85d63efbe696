#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn bench`: every kernel of a model's layers timed against oneDNN in the same run, this machine's
// FMA peak and copy bandwidth, and the whole training step in images/s.
void add_bench_command(CLI::App &app);
}
