#include "activations_command.h"

#include "gnuplot.h"
#include "hnn/activation_ops.h"
#include "hnn/error.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>

namespace hnn {
namespace {

struct Options {
    std::string only;
    double from = -10, to = 10, step = 0.01;
    std::vector<std::string> params;
    std::string plot;
};

struct Curve {
    ActivationKind kind;
    std::vector<double> x;
    std::vector<float> f, df;
};

std::vector<ActivationKind> chosen_kinds(const std::string &only) {
    if (only.empty()) return all_activations();
    std::vector<ActivationKind> kinds;
    std::stringstream list(only);
    for (std::string name; std::getline(list, name, ',');) {
        if (name.empty()) continue;
        if (name == "identity") throw Error("--only: unknown activation 'identity'");
        kinds.push_back(parse_activation_kind(name));
    }
    if (kinds.empty()) throw Error("--only: no activation named");
    return kinds;
}

// f from the forward kernel, df from the backward kernel fed a gradient of ones; rrelu in eval
// mode, prelu with its initial slope.
Curve sample(const Activation &activation, const std::vector<double> &xs) {
    const int count = static_cast<int>(xs.size());
    Tensor x({1, count, 1, 1}), y({1, count, 1, 1}), dy({1, count, 1, 1}), dx({1, count, 1, 1});
    Tensor slope({1});
    slope.fill(activation.prelu_init);
    for (int i = 0; i < count; i++) x.host()[i] = static_cast<float>(xs[i]);
    x.host_changed();
    dy.fill(1.0f);
    activation_forward(activation, x, y, RandomKey{}, &slope);
    activation_backward(activation, x, dy, dx, RandomKey{}, &slope);
    Curve c{activation.kind, xs, {}, {}};
    c.f.assign(y.host(), y.host() + count);
    c.df.assign(dx.host(), dx.host() + count);
    return c;
}

void plot(const std::vector<Curve> &curves, const std::string &png) {
    char dir_template[] = "/tmp/hnn-activations-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) throw Error("cannot create a temporary folder for the plot data");
    const std::string dir = dir_template;
    std::ostringstream script;
    const int rows = static_cast<int>(curves.size());
    script << "set terminal pngcairo size 1000," << 260 * rows << " font 'sans,9'\n"
           << "set output " << gnuplot_quote(png) << "\n"
           << "set datafile separator ','\nset grid\nunset key\n"
           << "set multiplot layout " << rows << ",2\n";
    std::vector<std::string> files;
    for (const Curve &c : curves) {
        std::string file = dir + "/" + activation_name(c.kind) + ".csv";
        std::ofstream out(file);
        for (size_t i = 0; i < c.x.size(); i++) out << c.x[i] << ',' << c.f[i] << ',' << c.df[i] << '\n';
        if (!out) throw Error("cannot write plot data " + file);
        files.push_back(file);
        const std::string name = activation_name(c.kind);
        script << "set title " << gnuplot_quote(name + "(x)") << "\nplot " << gnuplot_quote(file)
               << " using 1:2 with lines lw 2 lc rgb '#1f77b4'\n"
               << "set title " << gnuplot_quote(name + "'(x)") << "\nplot " << gnuplot_quote(file)
               << " using 1:3 with lines lw 2 lc rgb '#d62728'\n";
    }
    script << "unset multiplot\n";
    try {
        run_gnuplot(script.str(), png);
    } catch (...) {
        for (const std::string &f : files) unlink(f.c_str());
        rmdir(dir.c_str());
        throw;
    }
    for (const std::string &f : files) unlink(f.c_str());
    rmdir(dir.c_str());
}

void run(const Options &o) {
    if (!std::isfinite(o.from) || !std::isfinite(o.to) || !(o.step > 0) || !std::isfinite(o.step)) {
        throw Error("--from/--to/--step: need finite bounds and a positive step");
    }
    if (o.to < o.from) throw Error("--to (" + std::to_string(o.to) + ") is below --from (" + std::to_string(o.from) + ")");
    const double count_d = std::floor((o.to - o.from) / o.step + 1e-9) + 1;
    if (count_d > 1e8) throw Error("--step: " + std::to_string(count_d) + " samples is too many (at most 1e8)");
    std::vector<double> xs(static_cast<size_t>(count_d));
    for (size_t i = 0; i < xs.size(); i++) xs[i] = o.from + static_cast<double>(i) * o.step;

    std::vector<Curve> curves;
    for (ActivationKind kind : chosen_kinds(o.only)) {
        Activation a;
        a.kind = kind;
        apply_activation_params(a, o.params);
        curves.push_back(sample(a, xs));
    }
    std::printf("activation,x,f,df\n");
    for (const Curve &c : curves) {
        const char *name = activation_name(c.kind);
        for (size_t i = 0; i < c.x.size(); i++) {
            std::printf("%s,%.10g,%.9g,%.9g\n", name, c.x[i], c.f[i], c.df[i]);
        }
    }
    std::fflush(stdout);
    if (!o.plot.empty()) {
        plot(curves, o.plot);
        std::fprintf(stderr, "wrote %s\n", o.plot.c_str());
    }
}

}  // namespace

void add_activations_command(CLI::App &app) {
    auto options = std::make_shared<Options>();
    CLI::App *cmd = app.add_subcommand("activations", "Print every activation f(x) and f'(x) as CSV (activation,x,f,df), "
                                                       "computed by the AOT kernels");
    cmd->add_option("--only", options->only, "Comma-separated activations to print (default: all)");
    cmd->add_option("--from", options->from, "First x")->capture_default_str();
    cmd->add_option("--to", options->to, "Last x")->capture_default_str();
    cmd->add_option("--step", options->step, "Spacing of the samples")->capture_default_str();
    cmd->add_option("--param", options->params, "Override a parameter, NAME.PARAM=VALUE (e.g. celu.alpha=2)");
    cmd->add_option("--plot", options->plot, "Also draw each function beside its derivative into this PNG");
    cmd->callback([options] { run(*options); });
}

}  // namespace hnn
