// hnn: Halide-generated neural-network kernels and the trainer that drives them.

#include "activations_command.h"
#include "bench_command.h"
#include "eval_command.h"
#include "plot_command.h"
#include "train_command.h"
#include "tune_command.h"
#include "process_group.h"
#include "hnn/error.h"

#include <CLI/CLI.hpp>

#include <csignal>

int main(int argc, char **argv) {
    // Past a file-size limit (ulimit -f) the kernel would kill the process mid-write; ignored, the
    // write fails with EFBIG like on a full disk, and hnn reports it and cleans up.
    std::signal(SIGXFSZ, SIG_IGN);
    hnn::install_halide_handlers();
    CLI::App app{"hnn: neural-network kernels generated with Halide, compiled ahead of time"};
    app.require_subcommand(1);
    hnn::add_activations_command(app);
    hnn::add_train_command(app);
    hnn::add_eval_command(app);
    hnn::add_plot_command(app);
    hnn::add_bench_command(app);
    hnn::add_tune_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    } catch (const hnn::Error &e) {
        return hnn::report_error(e, true);
    } catch (const std::exception &e) {
        return hnn::report_error(e, false);
    }
    return 0;
}
