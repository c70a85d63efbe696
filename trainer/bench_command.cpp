#include "bench_command.h"

#include "conv_algorithm_option.h"
#include "data_parallel_bench.h"
#include "kernel_bench.h"
#include "machine_limits.h"
#include "onednn_ops.h"
#include "process_group.h"
#include "pytorch_step.h"
#include "training_run.h"

#include "hnn/device.h"
#include "hnn/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace hnn {
namespace {

using nlohmann::json;

struct BenchOptions {
    TrainOptions model;  // the model fields (--model ... --no-final-activation), --dataset and --batch
    int repeats = 10, warmup = 3, threads = 0;
    std::vector<std::string> only;
    std::string onednn_layout = "nhwc";
    std::string conv_algorithm = "auto";
    std::string device = "cpu";
    uint64_t seed = 1;
    bool json = false;
    bool mpi = false;
    bool pytorch = false;
    std::string python = default_python();
    std::string torch_script = HNN_TORCH_SCRIPT;
};

// Everything the measurements need, resolved and checked before any of them starts.
struct BenchSetup {
    ModelSpec model;
    Activation activation;  // the run's --activation, for the header
    Shape3 input;
    int classes = 10;
    std::vector<Shape3> shapes;  // every layer's output
    std::vector<BenchOp> ops;
    Timing timing;
    int threads = 0;
    OnednnLayout layout = OnednnLayout::nhwc;
    Device device = Device::cpu;
};

struct BenchResult {
    MachineLimits machine;
    std::vector<OpMeasurement> ops;
    TrainStepTiming step;
    std::optional<PytorchStep> pytorch;
};

void check_options(const BenchOptions &o) {
    if (o.model.batch < 1) throw Error("--batch must be at least 1, got " + std::to_string(o.model.batch));
    if (o.repeats < 1) throw Error("--repeats must be at least 1, got " + std::to_string(o.repeats));
    if (o.warmup < 0) throw Error("--warmup must not be negative, got " + std::to_string(o.warmup));
    if (o.threads < 0) throw Error("--threads must not be negative, got " + std::to_string(o.threads));
    if (o.model.dropout && o.model.model != "allcnn-c") throw Error("--dropout is for --model allcnn-c");
    if (o.mpi && o.device != "cpu") throw Error("--mpi times CPU ranks; it takes no --device " + o.device);
    if (o.mpi && o.pytorch) throw Error("--pytorch compares one process's training step; it takes no --mpi");
}

BenchSetup resolve(BenchOptions o) {
    check_options(o);
    BenchSetup s;
    BenchModel m = resolve_bench_model(o.model);
    s.model = m.model;
    s.activation = m.activation;
    s.input = m.input;
    s.shapes = layer_output_shapes(s.model, s.input, s.classes);
    for (BenchOp &op : model_ops(s.model, s.input, s.classes, o.model.batch)) {
        if (o.only.empty() || std::find(o.only.begin(), o.only.end(), op.group()) != o.only.end()) s.ops.push_back(op);
    }
    s.timing = {o.warmup, o.repeats};
    s.threads = o.threads ? o.threads : cpu_threads();
    s.layout = o.onednn_layout == "any" ? OnednnLayout::any : OnednnLayout::nhwc;
    s.device = select_device(o.device);
    return s;
}

std::string activation_text(const Activation &a) {
    std::ostringstream t;
    t << activation_name(a.kind);
    switch (a.kind) {
    case ActivationKind::leaky_relu: t << " (negative_slope " << a.negative_slope << ")"; break;
    case ActivationKind::elu:
    case ActivationKind::celu: t << " (alpha " << a.alpha << ")"; break;
    case ActivationKind::softplus: t << " (beta " << a.beta << ", threshold " << a.threshold << ")"; break;
    case ActivationKind::swish: t << " (beta " << a.beta << ")"; break;
    case ActivationKind::rrelu: t << " (lower " << a.rrelu_lower << ", upper " << a.rrelu_upper << ")"; break;
    case ActivationKind::prelu: t << " (initial slope " << a.prelu_init << ")"; break;
    default: break;
    }
    return t.str();
}

// Achieved rate and the limit it is measured against: FMA peak for convs, copy bandwidth otherwise.
struct Throughput {
    double value = 0, percent = 0;
    const char *unit = "";
};

Throughput throughput(const BenchOp &op, double ms, const MachineLimits &m) {
    Throughput t;
    if (op.flops() > 0) {
        t.value = op.flops() / (ms * 1e6);
        t.percent = m.fma_peak_gflops > 0 ? 100 * t.value / m.fma_peak_gflops : 0;
        t.unit = "GFLOP/s";
    } else {
        t.value = op.bytes() / (ms * 1e6);
        t.percent = m.copy_bandwidth_gbs > 0 ? 100 * t.value / m.copy_bandwidth_gbs : 0;
        t.unit = "GB/s";
    }
    return t;
}

std::string layers_text(const std::vector<int> &layers) {
    std::string t;
    for (int l : layers) t += (t.empty() ? "" : ",") + std::to_string(l);
    return t;
}

// Sums over the ops oneDNN has, each counted once for every layer it stands for.
struct Totals {
    double hnn_ms = 0, onednn_ms = 0;
};

Totals totals(const std::vector<OpMeasurement> &ops) {
    Totals t;
    for (const OpMeasurement &m : ops) {
        if (!m.onednn_ms) continue;
        t.hnn_ms += m.hnn_ms * m.op.layers.size();
        t.onednn_ms += *m.onednn_ms * m.op.layers.size();
    }
    return t;
}

std::string format(const char *spec, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, spec, value);
    return buffer;
}

// Four significant digits: small ops take microseconds, large ones seconds.
std::string ms_text(double ms) {
    return ms >= 1000 ? format("%.0f", ms) : format("%.4g", ms);
}

// Footnote numbers of oneDNN's remarks, one per distinct remark.
class Notes {
public:
    size_t number(const std::string &text) {
        for (size_t i = 0; i < texts_.size(); i++) {
            if (texts_[i] == text) return i + 1;
        }
        texts_.push_back(text);
        return texts_.size();
    }
    const std::vector<std::string> &texts() const { return texts_; }

private:
    std::vector<std::string> texts_;
};

void print_header(std::ostream &out, const BenchSetup &s, const BenchOptions &o, const MachineLimits &m) {
    out << "hnn bench: " << s.model.name << ", " << activation_text(s.activation) << ", input " << s.input.width << "x"
        << s.input.height << "x" << s.input.channels << " (" << o.model.dataset << "), batch " << o.model.batch << ", ";
    if (s.device != Device::cpu) {
        // No machine limits: the CPU's FMA peak says nothing about a GPU kernel.
        out << "hnn's kernels on " << device_name(s.device) << ", checked against oneDNN " << onednn_version()
            << " on the CPU (" << s.threads << " threads; its times are not measured), convs " << o.conv_algorithm;
        // auto times each pass's kernels on its first call there, before the timed runs.
        if (o.conv_algorithm == "auto") {
            out << " (the fastest of direct, direct-staged, direct-large-tile and at 3x3 stride 1 winograd and winograd4x4, "
                   "timed)";
        }
        out << "\n";
        out << "times: median of " << s.timing.repeats << " runs after " << s.timing.warmup
            << " warm-up runs, each until the device has finished\n\n";
        return;
    }
    out << s.threads << " threads (hnn and oneDNN " << onednn_version() << "), 3x3 convs " << o.conv_algorithm;
    if (o.conv_algorithm == "direct-staged" || o.conv_algorithm == "direct-large-tile") {
        out << " (a GPU schedule: the CPU runs its direct kernels)";
    }
    out << "\n";
    out << "machine: FMA peak " << format("%.1f", m.fma_peak_gflops) << " GFLOP/s (" << m.fma_isa << "), copy bandwidth "
        << format("%.1f", m.copy_bandwidth_gbs) << " GB/s (read + write), " << m.threads << " threads; hnn's kernels run "
        << cpu_isa_name(cpu_kernel_isa()) << " code\n";
    out << "times: median of " << s.timing.repeats << " runs after " << s.timing.warmup
        << " warm-up runs; ratio = oneDNN ms / hnn ms (> 1: hnn is faster); % limit: hnn's share of the FMA peak "
           "(convs) or copy bandwidth (over 100: the data stayed in cache)\n\n";
}

std::string table_line(const char *spec, ...) __attribute__((format(printf, 1, 2)));
std::string table_line(const char *spec, ...) {
    char line[512];
    va_list args;
    va_start(args, spec);
    std::vsnprintf(line, sizeof line, spec, args);
    va_end(args);
    return line;
}

// The row marks of the conv kernels other than the default direct ones (by OpMeasurement::algorithm),
// with their footnotes, in the footnotes' order.
struct AlgorithmMark {
    const char *algorithm, *mark, *footnote;
};
constexpr AlgorithmMark kAlgorithmMarks[] = {
    {"winograd", "[w]",
     "Winograd F(2x2,3x3) (--conv-algorithm, or auto); its GFLOP/s and % limit count the direct sum's multiply-adds, "
     "2.25x those it computes"},
    {"winograd4x4", "[w4]",
     "Winograd F(4x4,3x3) (--conv-algorithm, or auto); its GFLOP/s and % limit count the direct sum's multiply-adds, "
     "4x those it computes"},
    {"direct-staged", "[s]",
     "the direct sum's staged GPU schedule, a block's sums in shared memory (--conv-algorithm direct-staged, or auto)"},
    {"direct-large-tile", "[lt]",
     "the direct sum's GPU schedule with larger thread tiles (4 x 8 positions; backward-weights 8 x 8 channels) "
     "(--conv-algorithm direct-large-tile, or auto)"},
    {"pointwise", "[p]",
     "a matrix product over positions (pointwise_conv2d_*): a 1x1 stride-1 conv without padding, or one where a "
     "single tap meets the image (its GFLOP/s count every tap)"}};

std::string row_text(const OpMeasurement &m, const MachineLimits &limits, Notes &notes) {
    std::string label = m.op.label();
    if (!m.onednn_computes.empty()) label += " [" + std::to_string(notes.number(m.onednn_computes)) + "]";
    for (const AlgorithmMark &a : kAlgorithmMarks) {
        if (m.algorithm == a.algorithm) label += a.mark;
    }
    const Throughput t = throughput(m.op, m.hnn_ms, limits);
    const std::string onednn = m.onednn_ms ? ms_text(*m.onednn_ms) : "n/a";
    const std::string ratio = m.onednn_ms ? format("%.2f", *m.onednn_ms / m.hnn_ms) : "n/a";
    std::string error = m.checked ? format("%.1e", m.max_rel_error) : "-";
    if (!m.agrees()) error += " MISMATCH";
    const std::string percent = limits.fma_peak_gflops > 0 ? format("%7.1f%%", t.percent) : "       -";
    return table_line("%-24s %-7s %-26s %10s %10s %7s %8.1f %-7s %s %9s", label.c_str(), layers_text(m.op.layers).c_str(),
                      m.op.shape_text().c_str(), ms_text(m.hnn_ms).c_str(), onednn.c_str(), ratio.c_str(), t.value,
                      t.unit, percent.c_str(), error.c_str());
}

void print_table(std::ostream &out, const BenchSetup &s, const BenchOptions &o, const BenchResult &r) {
    print_header(out, s, o, r.machine);
    out << table_line("%-24s %-7s %-26s %10s %10s %7s %16s %8s %9s", "operation", "layers", "shape", "hnn ms",
                      "oneDNN ms", "ratio", "GFLOP/s or GB/s", "% limit", "max err")
        << "\n";
    Notes notes;
    for (const OpMeasurement &m : r.ops) out << row_text(m, r.machine, notes) << "\n";
    out << "\n";
    for (size_t i = 0; i < notes.texts().size(); i++) out << "[" << i + 1 << "] oneDNN: " << notes.texts()[i] << "\n";
    for (const AlgorithmMark &a : kAlgorithmMarks) {
        if (std::any_of(r.ops.begin(), r.ops.end(), [&](const OpMeasurement &m) { return m.algorithm == a.algorithm; })) {
            out << a.mark << " hnn: " << a.footnote << "\n";
        }
    }
    out << "max err: largest |hnn - oneDNN| over the outputs, relative to the largest |oneDNN| value\n";
    if (std::any_of(r.ops.begin(), r.ops.end(), [](const OpMeasurement &m) { return !m.auto_timed_ms.empty(); })) {
        out << "\nauto's timing on " << device_name(s.device) << ", ms a launch (* the method it chose):\n";
        for (const OpMeasurement &m : r.ops) {
            if (m.auto_timed_ms.empty()) continue;
            std::string times;
            for (const auto &[method, ms] : m.auto_timed_ms) {
                times += "  " + method + " " + ms_text(ms) + (method == m.algorithm ? "*" : "");
            }
            out << table_line("%-24s %-7s %-26s%s", m.op.label().c_str(), layers_text(m.op.layers).c_str(),
                              m.op.shape_text().c_str(), times.c_str())
                << "\n";
        }
    }
    const Totals t = totals(r.ops);
    if (t.hnn_ms > 0) {
        out << "ops oneDNN has, once per layer: hnn " << ms_text(t.hnn_ms) << " ms, oneDNN " << ms_text(t.onednn_ms)
            << " ms, ratio " << format("%.2f", t.onednn_ms / t.hnn_ms) << "\n";
    }
    out << "\ntraining step (forward, backward, Adam) on " << device_name(s.device) << ", batch " << o.model.batch << ": " << ms_text(r.step.step_ms)
        << " ms, " << format("%.1f", r.step.images_per_s) << " images/s (forward " << ms_text(r.step.forward_ms)
        << " ms, backward " << ms_text(r.step.backward_ms) << " ms, optimizer " << ms_text(r.step.optimizer_ms)
        << " ms)\n";
    if (r.pytorch) {
        for (const PytorchMode &m : r.pytorch->modes) {
            out << "PyTorch " << r.pytorch->version << " " << m.name << " on " << r.pytorch->device << ", the same step ("
                << r.pytorch->threads << " threads): " << ms_text(m.step_ms) << " ms, " << format("%.1f", m.images_per_s)
                << " images/s; hnn/PyTorch images/s " << format("%.2f", r.step.images_per_s / m.images_per_s) << "\n";
        }
    }
}

// "[12/41] conv bwd-data N=100 ..." on stderr while a long run goes on, only on a terminal.
class Progress {
public:
    Progress() : enabled_(isatty(STDERR_FILENO)) {}
    ~Progress() { clear(); }

    void show(const std::string &text) {
        if (!enabled_) return;
        std::fprintf(stderr, "\r\033[Khnn bench: %s", text.c_str());
        std::fflush(stderr);
    }
    void clear() {
        if (enabled_) std::fprintf(stderr, "\r\033[K");
    }

private:
    bool enabled_;
};

json op_json(const OpMeasurement &m, const MachineLimits &limits) {
    const Throughput t = throughput(m.op, m.hnn_ms, limits);
    json j{{"name", m.op.name()},
           {"label", m.op.label()},
           {"group", m.op.group()},
           {"shape", m.op.shape_text()},
           {"layers", m.op.layers},
           {"hnn_ms", m.hnn_ms},
           {"onednn_ms", nullptr},
           {"ratio", nullptr},
           {"flops", m.op.flops()},
           {"bytes", m.op.bytes()},
           {"throughput_unit", t.unit},
           {"hnn_throughput", t.value},
           {"percent_of_limit", t.percent},
           {"onednn_throughput", nullptr},
           {"onednn_percent_of_limit", nullptr},
           {"checked", m.checked},
           {"max_abs_error", m.max_abs_error},
           {"max_rel_error", m.max_rel_error},
           {"onednn_max_abs", m.reference_max_abs},
           {"tolerance", m.op.tolerance()},
           {"agrees", m.agrees()},
           {"onednn_computes", m.onednn_computes},
           {"onednn_implementation", m.onednn_implementation},
           {"algorithm", m.algorithm.empty() ? json(nullptr) : json(m.algorithm)},
           {"auto_timed_ms", nullptr}};
    for (const auto &[method, ms] : m.auto_timed_ms) j["auto_timed_ms"][method] = ms;
    if (m.onednn_ms) {
        const Throughput o = throughput(m.op, *m.onednn_ms, limits);
        j["onednn_ms"] = *m.onednn_ms;
        j["ratio"] = *m.onednn_ms / m.hnn_ms;
        j["onednn_throughput"] = o.value;
        j["onednn_percent_of_limit"] = o.percent;
    }
    if (m.op.activation.kind != ActivationKind::identity) j["activation"] = activation_to_json(m.op.activation);
    return j;
}

// The script's own answer (version, device, threads, modes), and hnn's images/s over each mode's.
json pytorch_json(const PytorchStep &p, const TrainStepTiming &step) {
    json j = p.raw;
    j["script"] = p.script;
    json speedup = json::object();
    for (const PytorchMode &m : p.modes) speedup[m.name] = step.images_per_s / m.images_per_s;
    j["train_speedup"] = speedup;
    return j;
}

json result_json(const BenchSetup &s, const BenchOptions &o, const BenchResult &r) {
    json shapes = json::array();
    for (const Shape3 &x : s.shapes) shapes.push_back({x.channels, x.width, x.height});
    json ops = json::array();
    for (const OpMeasurement &m : r.ops) ops.push_back(op_json(m, r.machine));
    const Totals t = totals(r.ops);
    return json{
        {"model", {{"name", s.model.name}, {"layers", model_to_json(s.model)["layers"]}, {"output_shapes", shapes}}},
        {"activation", activation_to_json(s.activation)},
        {"dataset", o.model.dataset},
        {"input", {s.input.channels, s.input.width, s.input.height}},
        {"batch", o.model.batch},
        {"threads", s.threads},
        {"device", device_name(s.device)},
        {"timing", {{"statistic", "median"}, {"repeats", s.timing.repeats}, {"warmup", s.timing.warmup}}},
        {"onednn", {{"version", onednn_version()}, {"activation_layout", o.onednn_layout}}},
        {"conv_algorithm", o.conv_algorithm},
        // Null on a GPU run: the CPU's limits are not the device's.
        {"machine", s.device != Device::cpu ? json(nullptr)
                                            : json{{"fma_peak_gflops", r.machine.fma_peak_gflops},
                                                   {"copy_bandwidth_gbs", r.machine.copy_bandwidth_gbs},
                                                   {"fma_isa", r.machine.fma_isa},
                                                   {"kernel_isa", cpu_isa_name(cpu_kernel_isa())},
                                                   {"threads", r.machine.threads}}},
        {"ratio_definition", "onednn_ms / hnn_ms (> 1: hnn is faster)"},
        {"operations", ops},
        {"totals", {{"hnn_ms", t.hnn_ms}, {"onednn_ms", t.onednn_ms}, {"ratio", t.hnn_ms > 0 ? json(t.onednn_ms / t.hnn_ms) : json(nullptr)}}},
        {"train_step",
         {{"step_ms", r.step.step_ms},
          {"forward_ms", r.step.forward_ms},
          {"backward_ms", r.step.backward_ms},
          {"optimizer_ms", r.step.optimizer_ms},
          {"images_per_s", r.step.images_per_s}}},
        {"train_images_per_s", r.step.images_per_s},
        {"pytorch", r.pytorch ? pytorch_json(*r.pytorch, r.step) : json(nullptr)},
        {"train_speedup_vs_pytorch",
         r.pytorch ? json(r.step.images_per_s / r.pytorch->modes.front().images_per_s) : json(nullptr)}};
}

// A bench that times a wrong computation misleads: disagreement fails the command, after the output.
void require_agreement(const std::vector<OpMeasurement> &ops) {
    std::string wrong;
    for (const OpMeasurement &m : ops) {
        if (m.agrees()) continue;
        wrong += "\n  " + m.op.label() + " " + m.op.shape_text() + ": max relative error " + format("%.2e", m.max_rel_error) +
                 " > " + format("%.0e", m.op.tolerance());
    }
    if (!wrong.empty()) throw Error("hnn and oneDNN disagree:" + wrong);
}

// The limit is the best the machine did: measured before and after the ops, so that a moment of
// load from elsewhere does not lower it.
MachineLimits best_limits(const MachineLimits &a, const MachineLimits &b) {
    MachineLimits best = a.fma_peak_gflops >= b.fma_peak_gflops ? a : b;
    best.copy_bandwidth_gbs = std::max(a.copy_bandwidth_gbs, b.copy_bandwidth_gbs);
    return best;
}

// `mpirun -np N hnn bench --mpi`: one rank against N ranks training data-parallel, instead of the
// kernels against oneDNN.
void run_data_parallel_bench(const BenchOptions &o) {
    const BenchSetup s = resolve(o);
    ProcessGroup &group = process_group();
    const DataParallelTiming t =
        time_data_parallel(group, s.model, s.input, s.classes, o.model.batch, s.timing, o.seed, o.threads);
    if (group.rank() != 0) return;
    if (o.json) {
        nlohmann::json j = data_parallel_json(t);
        j["model"] = s.model.name;
        j["dataset"] = o.model.dataset;
        j["library"] = group.library();
        j["timing"] = {{"statistic", "median"}, {"repeats", s.timing.repeats}, {"warmup", s.timing.warmup}};
        std::cout << j.dump(2) << std::endl;
        return;
    }
    std::cout << s.model.name << " on " << o.model.dataset << " images, batch " << o.model.batch << ", over "
              << group.library() << " (median of " << s.timing.repeats << " steps)\n";
    print_data_parallel(std::cout, t);
    if (group.size() == 1) std::cout << "(one rank: start it as mpirun -np 2 hnn bench --mpi to measure two)\n";
}

void run_bench(const BenchOptions &o) {
    if (o.mpi) return run_data_parallel_bench(o);
    const BenchSetup s = resolve(o);
    set_cpu_threads(s.threads);
    set_onednn_threads(s.threads);
    set_conv_algorithm(parse_conv_algorithm(o.conv_algorithm));
    std::optional<PytorchRequest> pytorch;
    if (o.pytorch) {
        if (s.device == Device::opencl) throw Error("--pytorch compares on cpu or cuda: PyTorch has no OpenCL device");
        // The step time_train_step runs: Adam at the trainer's defaults, at its learning rate.
        pytorch = PytorchRequest{o.python, o.torch_script, s.device == Device::cuda ? "cuda" : "cpu", s.threads,
                                 s.timing.warmup, s.timing.repeats, kTrainStepLearningRate, OptimizerConfig{}, o.seed};
        require_pytorch(*pytorch);  // before the minutes of measurements, not after
    }
    BenchResult r;
    {
        Progress progress;
        const bool on_cpu = s.device == Device::cpu;
        MachineLimits before;
        if (on_cpu) {
            progress.show("measuring this machine's FMA peak and copy bandwidth");
            before = measure_machine_limits(s.threads);
        }
        for (size_t i = 0; i < s.ops.size(); i++) {
            const BenchOp &op = s.ops[i];
            progress.show("[" + std::to_string(i + 1) + "/" + std::to_string(s.ops.size()) + "] " + op.label() + " " + op.shape_text());
            r.ops.push_back(measure_op(op, s.timing, s.layout, o.seed + i, s.device));
        }
        progress.show("the training step");
        r.step = time_train_step(s.model, s.input, s.classes, o.model.batch, s.timing, o.seed, s.device);
        if (pytorch) {
            progress.show("PyTorch's training step");
            r.pytorch = time_pytorch_step(*pytorch, pytorch_network_json(s.model, s.input, s.classes, o.model.batch));
        }
        if (on_cpu) {
            progress.show("measuring this machine's FMA peak and copy bandwidth again");
            r.machine = best_limits(before, measure_machine_limits(s.threads));
        }
    }
    if (o.json) {
        std::cout << result_json(s, o, r).dump(2) << std::endl;
    } else {
        print_table(std::cout, s, o, r);
    }
    require_agreement(r.ops);
}

}  // namespace

BenchModel resolve_bench_model(TrainOptions o) {
    BenchModel m;
    resolve_default_activation(o);  // the same preset defaults as hnn train
    m.activation = make_activation(o.activation, o.params);
    m.input = dataset_input_shape(o.dataset);
    if (!o.model_file.empty()) {
        m.model = load_model_file(o.model_file, m.activation, o.params);
    } else {
        PresetOptions p;
        p.width = o.width;
        p.activation = m.activation;
        p.final_activation = o.final_activation;
        p.bias = o.bias;
        p.dropout = o.dropout;
        m.model = preset_model(o.model, p, m.input);
    }
    return m;
}

Shape3 dataset_input_shape(const std::string &dataset) {
    if (dataset == "mnist" || dataset == "fashion-mnist") return {1, 28, 28};
    if (dataset == "cifar10") return {3, 32, 32};
    throw Error("unknown dataset '" + dataset + "' (expected mnist, fashion-mnist or cifar10)");
}

void add_bench_model_options(CLI::App *cmd, TrainOptions &m) {
    cmd->add_option("--model", m.model, "Preset: allconv, allcnn-c or celu7")->capture_default_str();
    cmd->add_option("--model-file", m.model_file, "A JSON model file instead of a preset");
    cmd->add_option("--width", m.width, "Channels of the preset's convs (default: allconv 96, allcnn-c 96, celu7 200)");
    cmd->add_option("--activation", m.activation,
                    "Activation after every conv (default as hnn train: celu7 celu with alpha 2, allconv elu, else relu)");
    cmd->add_option("--param", m.params, "Activation parameter, NAME.PARAM=VALUE (e.g. celu.alpha=2)");
    cmd->add_flag("!--no-final-activation", m.final_activation, "No activation after the last conv");
    cmd->add_flag("--bias", m.bias, "Convs with biases");
    cmd->add_flag("--dropout", m.dropout, "allcnn-c with the paper's dropout layers");
    cmd->add_option("--dataset", m.dataset, "Input shape of mnist, fashion-mnist (1x28x28) or cifar10 (3x32x32)")
        ->capture_default_str();
    cmd->add_option("--batch", m.batch, "Images per batch")->capture_default_str();
}

void add_bench_command(CLI::App &app) {
    auto o = std::make_shared<BenchOptions>();
    TrainOptions &m = o->model;
    CLI::App *cmd = app.add_subcommand(
        "bench", "Time every kernel of a model's layers against oneDNN, and the whole training step in images/s");
    add_bench_model_options(cmd, m);
    cmd->add_option("--repeats", o->repeats, "Timed runs of each operation (the median is reported)")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "Untimed runs before them")->capture_default_str();
    cmd->add_option("--threads", o->threads,
                    "Threads of hnn's kernels, oneDNN (overrides OMP_NUM_THREADS) and the machine limits "
                    "(default: HL_NUM_THREADS, else every core)");
    cmd->add_option("--only", o->only, "Only these operations: conv, pool, act (activations and dropout), comma-separated; the training step always runs")
        ->delimiter(',')
        ->check(CLI::IsMember({"conv", "pool", "act"}));
    cmd->add_option("--onednn-layout", o->onednn_layout,
                    "Activations of oneDNN's convs: nhwc (hnn's layout) or any (oneDNN's choice; reorders untimed)")
        ->check(CLI::IsMember({"nhwc", "any"}))
        ->capture_default_str();
    add_conv_algorithm_option(cmd, o->conv_algorithm);
    cmd->add_option("--device", o->device,
                    "Where hnn's kernels and the training step run: cpu, cuda, opencl or auto (CUDA when a GPU answers, "
                    "else the CPU). On a GPU oneDNN (CPU only) checks the results but is not timed")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of the random inputs and weights")->capture_default_str();
    cmd->add_flag("--json", o->json, "Print one JSON object instead of the table");
    cmd->add_flag("--pytorch", o->pytorch,
                  "Also time PyTorch's training step of the same network (loss, Adam, threads, device) in this run, "
                  "through scripts/torch_train_step.py");
    cmd->add_option("--python", o->python, "The Python interpreter of --pytorch, with torch importable")
        ->capture_default_str();
    // The default is the source tree's copy, which a binary carried to another machine cannot see.
    cmd->add_option("--torch-script", o->torch_script, "The script --pytorch runs (torch_train_step.py)")
        ->capture_default_str();
    cmd->add_flag("--mpi", o->mpi,
                  "Under mpirun -np N: the training step of one rank against N ranks data-parallel, and the "
                  "allreduce's time per step (instead of the kernels)");
    cmd->callback([o] { run_bench(*o); });
}

}  // namespace hnn
