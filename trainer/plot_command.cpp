#include "plot_command.h"

#include "training_log.h"

#include <cstdio>
#include <memory>

namespace hnn {
namespace {

struct Options {
    std::string log, out;
};

void run(const Options &o) {
    plot_training_log(o.log, o.out);
    std::fprintf(stderr, "wrote %s\n", o.out.c_str());
}

}  // namespace

void add_plot_command(CLI::App &app) {
    auto options = std::make_shared<Options>();
    CLI::App *cmd = app.add_subcommand("plot", "Draw a training log's accuracy and loss over epochs, train and test, "
                                               "in two panels (gnuplot)");
    // No CLI::ExistingFile check: reading the log reports a missing file as hnn::Error, like any bad log.
    cmd->add_option("log", options->log, "Training log written by hnn train --log (CSV)")->required();
    cmd->add_option("--out", options->out, "PNG file to write")->required();
    cmd->callback([options] { run(*options); });
}

}  // namespace hnn
