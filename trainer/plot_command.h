#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn plot LOG.csv --out FILE.png`: a training log's accuracy and loss over epochs, train and test,
// in two panels. Errors propagate as hnn::Error.
void add_plot_command(CLI::App &app);
}
