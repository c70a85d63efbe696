#include "tune_command.h"

#include "bench_command.h"
#include "conv_algorithm_option.h"
#include "kernel_bench.h"

#include "hnn/error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <unistd.h>

namespace hnn {
namespace {

struct TuneOptions {
    std::string kernel;
    std::vector<std::string> shapes;
    TrainOptions model;
    bool model_given = false;
    std::string conv_algorithm = "auto";  // which kernels a model's 3x3 stride-1 layers run
    std::string budget, out, threads, repeats, warmup, seed, min_speedup;
    bool dry_run = false;
    std::string autoschedulers;
    std::vector<std::string> check_files;
    std::vector<std::string> argv;  // after `hnn tune`, as typed, for the files' header
};

// This process's arguments after "hnn tune" (/proc/self/cmdline), quoted where they need it.
std::vector<std::string> command_line_arguments() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    std::string a;
    while (std::getline(in, a, '\0')) args.push_back(a);
    auto tune = std::find(args.begin(), args.end(), "tune");
    std::vector<std::string> out;
    for (auto it = tune == args.end() ? args.end() : tune + 1; it != args.end(); ++it) {
        out.push_back(it->find_first_of(" \t'\"") == std::string::npos ? *it : "'" + *it + "'");
    }
    return out;
}

// The kernel each bench op runs on the CPU (the direct sum, a Winograd kernel or a pointwise one, as
// the runtime picks it), if it is tunable.
std::string tunable_kernel(const BenchOp &op) {
    std::string pass;
    switch (op.kind) {
    case BenchOpKind::conv_forward: pass = "forward"; break;
    case BenchOpKind::conv_backward_data: pass = "backward_data"; break;
    case BenchOpKind::conv_backward_weights: pass = "backward_weights"; break;
    default: return "";
    }
    switch (conv_method_of(op, Device::cpu)) {
    case ConvMethod::winograd_2x2: return "conv2d_winograd_" + pass;
    case ConvMethod::winograd_4x4: return "conv2d_winograd4x4_" + pass;
    case ConvMethod::direct:
    case ConvMethod::direct_staged:  // GPU schedules: the CPU runs the direct kernels
    case ConvMethod::direct_large_tile: break;
    }
    return (runs_pointwise(op, Device::cpu) ? "pointwise_conv2d_" : "conv2d_") + pass;
}

// hnn-tune's --shape text of a conv op. Backward-data is timed plain (identity), as hnn bench does.
// A pointwise op's is the 1x1 conv of the taps that meet the image: the same positions in and out.
std::string conv_spec(const BenchOp &op) {
    const ConvProblem &c = op.conv;
    std::string s = "ci=" + std::to_string(c.in.channels) + ",co=" + std::to_string(c.out_channels) +
                    ",w=" + std::to_string(c.in.width) + ",h=" + std::to_string(c.in.height) +
                    ",n=" + std::to_string(c.batch);
    if (runs_pointwise(op, Device::cpu)) {
        s += ",k=1";
    } else {
        s += ",k=" + std::to_string(c.kernel) + ",stride=" + std::to_string(c.geometry.stride) +
             ",pad_x=" + std::to_string(c.geometry.pad_x) + ",pad_y=" + std::to_string(c.geometry.pad_y) +
             ",ow=" + std::to_string(c.geometry.out_width) + ",oh=" + std::to_string(c.geometry.out_height);
    }
    if (op.kind == BenchOpKind::conv_forward) s += std::string(",act=") + activation_name(op.activation.kind);
    return s;
}

std::vector<std::string> model_shapes(const TuneOptions &o) {
    const BenchModel m = resolve_bench_model(o.model);
    set_conv_algorithm(parse_conv_algorithm(o.conv_algorithm));
    std::vector<std::string> shapes;
    std::set<std::string> seen;
    for (const BenchOp &op : model_ops(m.model, m.input, 10, o.model.batch)) {
        const std::string kernel = tunable_kernel(op);
        if (kernel.empty() || (!o.kernel.empty() && kernel != o.kernel)) continue;
        const std::string shape = kernel + ":" + conv_spec(op);
        if (seen.insert(shape).second) shapes.push_back(shape);
    }
    if (shapes.empty()) throw Error("the model has no layer that runs " + (o.kernel.empty() ? "a tunable kernel" : o.kernel));
    return shapes;
}

std::filesystem::path tuner_path() {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("hnn tune: cannot find this executable's directory (/proc/self/exe): " + ec.message());
    return self.parent_path() / "hnn-tune";
}

[[noreturn]] void run_tune(const TuneOptions &o) {
    if (o.model_given && !o.shapes.empty()) throw Error("hnn tune: give --shape or a model (--model/--model-file), not both");
    std::vector<std::string> args;
    const std::filesystem::path tuner = tuner_path();
    args.push_back(tuner.string());
    if (!o.check_files.empty()) {
        for (const std::string &f : o.check_files) args.insert(args.end(), {"--check", f});
    } else if (o.model_given) {
        for (const std::string &s : model_shapes(o)) args.insert(args.end(), {"--shape", s});
    } else {
        if (o.kernel.empty()) throw Error("hnn tune: name a kernel (hnn tune conv2d_forward --shape ...) or a model (--model)");
        args.push_back(o.kernel);
        for (const std::string &s : o.shapes) args.insert(args.end(), {"--shape", s});
    }
    auto pass = [&](const char *flag, const std::string &v) {
        if (!v.empty()) args.insert(args.end(), {flag, v});
    };
    pass("--budget", o.budget);
    pass("--out", o.out);
    pass("--threads", o.threads);
    pass("--repeats", o.repeats);
    pass("--warmup", o.warmup);
    pass("--seed", o.seed);
    pass("--min-speedup", o.min_speedup);
    pass("--autoschedulers", o.autoschedulers);
    if (o.dry_run) args.push_back("--dry-run");
    std::string command = "hnn tune";
    for (const std::string &a : o.argv) command += " " + a;
    args.insert(args.end(), {"--command", command});

    if (access(tuner.c_str(), X_OK) != 0) {
        throw Error("hnn tune needs the hnn-tune executable next to hnn, at " + tuner.string() +
                    " (build the hnn-tune target)");
    }
    std::vector<char *> argv;
    for (std::string &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    execv(tuner.c_str(), argv.data());
    throw Error("hnn tune: cannot run " + tuner.string() + ": " + std::strerror(errno));
}

}  // namespace

void add_tune_command(CLI::App &app) {
    auto o = std::make_shared<TuneOptions>();
    CLI::App *cmd = app.add_subcommand(
        "tune", "Search the schedules of the tunable kernels on this machine; write the winners to schedules/tuned");
    cmd->add_option("kernel", o->kernel,
                    "conv2d_forward, conv2d_backward_data, conv2d_backward_weights, the Winograd kernels "
                    "conv2d_winograd[4x4]_forward|backward_data|backward_weights, or the 1x1 kernels "
                    "pointwise_conv2d_forward|backward_data|backward_weights (with a model: only it)");
    cmd->add_option("--shape", o->shapes,
                    "ci=64,co=64,w=28,h=28,n=100,k=3[,stride=1][,pad=1|pad_x=..,pad_y=..][,ow=..,oh=..][,act=celu]; repeatable");
    add_bench_model_options(cmd, o->model);
    add_conv_algorithm_option(cmd, o->conv_algorithm);
    cmd->add_option("--budget", o->budget, "Seconds for the whole search (default 120)");
    cmd->add_option("--out", o->out, "Directory of the tuned files (default: the source tree's schedules/tuned)");
    cmd->add_option("--threads", o->threads, "Threads of the kernels (default: every core)");
    cmd->add_option("--repeats", o->repeats, "Timed runs per shape and candidate (default 5; the median counts)");
    cmd->add_option("--warmup", o->warmup, "Runs before them (default 1; the first checks the output)");
    cmd->add_option("--seed", o->seed, "Seed of the random inputs");
    cmd->add_option("--min-speedup", o->min_speedup, "Write a file only when the winner is this much faster (default 1.02)");
    cmd->add_flag("--dry-run", o->dry_run, "Search and report, write nothing");
    cmd->add_option("--autoschedulers", o->autoschedulers,
                    "Halide autoschedulers to compare, comma-separated: Mullapudi2016, Li2018, Adams2019 (default none)");
    cmd->add_option("--check", o->check_files,
                    "Instead of searching: run a tuned file's knobs on the shapes in its header and compare with the "
                    "default schedule (exit 1 on a mismatch)");
    cmd->callback([o, cmd] {
        o->model_given = cmd->count("--model") > 0 || cmd->count("--model-file") > 0;
        o->argv = command_line_arguments();
        run_tune(*o);
    });
}

}  // namespace hnn
