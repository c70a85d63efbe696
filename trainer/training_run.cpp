#include "training_run.h"

#include "data_parallel.h"
#include "divergence_guard.h"
#include "optimizer.h"
#include "output_paths.h"
#include "progress_bar.h"

#include "hnn/conv2d_ops.h"
#include "hnn/error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <sstream>
#include <unistd.h>

namespace hnn {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainOptions, model, model_file, width, activation, params, final_activation, bias,
                                   dropout, init, dataset, data, normalize, train_limit, test_limit, optimizer, lr, batch,
                                   momentum, nesterov, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                                   lr_schedule, dilated_backprop, epochs, seed)

nlohmann::json options_to_json(const TrainOptions &options) {
    return options;
}

namespace {

// nlohmann converts a JSON number to a field's type with a plain cast, which is undefined behaviour
// where the value does not fit (1e300 into a float or an int), and a checkpoint's configuration is
// as hostile as any file: every number is checked against the type of the field it fills first.
bool fits_float(const nlohmann::json &v) {
    return v.is_number() && std::fabs(v.get<double>()) <= std::numeric_limits<float>::max();
}

void check_option_numbers(const nlohmann::json &j, const std::string &origin) {
    if (!j.is_object()) return;  // get<TrainOptions>() reports it
    static const nlohmann::json defaults = TrainOptions{};
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto d = defaults.find(it.key());
        if (d == defaults.end() || !it->is_number()) continue;  // unknown fields are ignored, wrong types reported
        const nlohmann::json &v = *it;
        bool fits = true;
        if (d->is_number_unsigned()) {
            fits = v.is_number_unsigned();
        } else if (d->is_number_integer()) {
            fits = v.is_number_integer() && v.get<double>() >= std::numeric_limits<int>::min() &&
                   v.get<double>() <= std::numeric_limits<int>::max();
        } else if (d->is_number_float()) {
            fits = fits_float(v);
        }
        if (!fits) {
            throw Error(origin + ": the saved training option '" + it.key() + "' is " + v.dump() +
                        ", which does not fit its type");
        }
    }
}

std::vector<float> float_array(const nlohmann::json &j, const char *field) {
    const nlohmann::json &values = j.at(field);
    if (!values.is_array()) throw Error(std::string("'") + field + "' is not an array");
    for (const nlohmann::json &v : values) {
        if (!fits_float(v)) throw Error(std::string("'") + field + "' holds a value that is not a finite float");
    }
    return values.get<std::vector<float>>();
}

}  // namespace

TrainOptions options_from_json(const nlohmann::json &j, const std::string &origin) {
    check_option_numbers(j, origin);
    try {
        return j.get<TrainOptions>();
    } catch (const nlohmann::json::exception &e) {
        throw Error(origin + ": the saved training options are incomplete or malformed: " + e.what());
    }
}

nlohmann::json normalizer_to_json(const Normalizer &n) {
    return {{"mode", normalization_name(n.mode)}, {"scale", n.scale}, {"shift", n.shift}};
}

Normalizer normalizer_from_json(const nlohmann::json &j, const std::string &origin) {
    try {
        Normalizer n;
        n.mode = parse_normalization(j.at("mode").get<std::string>());
        n.scale = float_array(j, "scale");
        n.shift = float_array(j, "shift");
        if (n.scale.size() != n.shift.size() || n.scale.empty()) throw Error("scale and shift differ in length");
        return n;
    } catch (const std::exception &e) {
        throw Error(origin + ": field 'normalizer': " + e.what());
    }
}

EvalResult evaluate(Network &network, const Dataset &data, const Normalizer &normalizer, int batch, ProcessGroup *group) {
    std::vector<int> order(data.count());
    std::iota(order.begin(), order.end(), 0);
    // In a data-parallel run each rank evaluates its part of the images and the sums are added up.
    const Shard part = group ? shard_of(data.count(), group->rank(), group->size()) : Shard{0, data.count()};
    double sums[2] = {0, 0};  // loss, correct
    Tensor images;
    std::vector<int32_t> labels;
    for (int first = part.first; first < part.first + part.count; first += batch) {
        const int n = std::min(batch, part.first + part.count - first);
        if (!images.defined() || images.dim(3) != n) {
            images = Tensor({data.channels, data.width, data.height, n}, network.device());
        }
        load_batch(data, normalizer, order, first, n, images, labels);
        LossResult r = network.forward(images, labels, RandomKey{}, /*for_backward=*/false);
        sums[0] += static_cast<double>(r.loss) * n;
        sums[1] += r.correct;
    }
    if (group) group->sum(sums, 2);
    const double count = std::max(1, data.count());
    return {sums[0] / count, sums[1] / count};
}

void resolve_default_activation(TrainOptions &o) {
    if (!o.activation.empty()) return;
    if (o.model_file.empty() && o.model == "celu7") {
        o.activation = "celu";
        o.params.insert(o.params.begin(), "celu.alpha=2");  // a later --param celu.alpha wins
    } else if (o.model_file.empty() && o.model == "allconv") {
        o.activation = "elu";
    } else {
        o.activation = "relu";
    }
}

nlohmann::json checkpoint_config(const Checkpoint &c, const std::string &path) {
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(c.config_json);
    } catch (const nlohmann::json::exception &e) {
        throw Error("checkpoint " + path + ": configuration is not valid JSON: " + e.what());
    }
    if (!config.contains("options") || !config.contains("model") || !config.contains("normalizer")) {
        throw Error("checkpoint " + path + ": configuration lacks 'options', 'model' or 'normalizer'");
    }
    return config;
}

void restore_tensors(const Checkpoint &c, const std::vector<StateTensor> &tensors, const std::string &path) {
    for (const StateTensor &s : tensors) {
        const CheckpointTensor *saved = c.find(s.name);
        if (!saved) throw Error("checkpoint " + path + ": tensor '" + s.name + "' is missing");
        if (saved->shape != s.tensor->shape()) {
            Tensor want(saved->shape);
            throw Error("checkpoint " + path + ": tensor '" + s.name + "' has shape " + want.shape_string() +
                        " but the network needs " + s.tensor->shape_string());
        }
        std::copy(saved->data.begin(), saved->data.end(), s.tensor->host());
        s.tensor->host_changed();
    }
}

namespace {

// Everything a run is made of, built from its options (fresh or read back from a checkpoint).
struct Run {
    TrainOptions options;
    Device device = Device::cpu;
    DatasetSplit data;
    Normalizer normalizer;
    ModelSpec model;
    Shape3 input;
    std::unique_ptr<Network> network;
    std::unique_ptr<Optimizer> optimizer;
    LrSchedule lr_schedule;
    DilatedBackprop dilated;
    std::mt19937_64 shuffle_rng;
    int epochs_done = 0;
    // The processes training this network together (a group of one without mpirun), and the
    // per-step sum of their gradients when there are several.
    ProcessGroup *group = nullptr;
    std::unique_ptr<GradientSum> gradient_sum;
    bool root() const { return group->rank() == 0; }
};

ModelSpec build_model(const TrainOptions &o, const Shape3 &input) {
    const Activation activation = make_activation(o.activation, o.params);
    if (!o.model_file.empty()) return load_model_file(o.model_file, activation, o.params);
    PresetOptions p;
    p.width = o.width;
    p.activation = activation;
    p.final_activation = o.final_activation;
    p.bias = o.bias;
    p.dropout = o.dropout;
    if (o.dropout && o.model != "allcnn-c") throw Error("--dropout is for --model allcnn-c (model files have dropout layers)");
    return preset_model(o.model, p, input);
}

OptimizerConfig optimizer_config(const TrainOptions &o) {
    OptimizerConfig c;
    c.kind = parse_optimizer(o.optimizer);
    c.momentum = o.momentum;
    c.nesterov = o.nesterov;
    c.beta1 = o.beta1;
    c.beta2 = o.beta2;
    c.eps = o.eps;
    c.weight_decay = o.weight_decay;
    c.decoupled_weight_decay = o.decoupled_weight_decay;
    return c;
}

void check_options(const TrainOptions &o) {
    if (o.batch < 1) throw Error("--batch must be at least 1, got " + std::to_string(o.batch));
    if (o.epochs < 1) throw Error("--epochs must be at least 1, got " + std::to_string(o.epochs));
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw Error("--lr must be a positive number");
    if (o.train_limit < 0 || o.test_limit < 0) throw Error("--train-limit and --test-limit must not be negative");
    if (o.threads < 0) throw Error("--threads must not be negative");
}

// The data, the model and its shapes, the network and the optimizer, for a fresh run or a resumed one
// (whose saved model is used as saved: a model file may have changed since).
void build(Run &run, const nlohmann::json *saved_model) {
    const TrainOptions &o = run.options;
    check_options(o);
    run.data = load_dataset(o.dataset, o.data.empty() ? default_data_dir(o.dataset) : o.data);
    if (o.train_limit) run.data.train.truncate(o.train_limit);
    if (o.test_limit) run.data.test.truncate(o.test_limit);
    if (run.data.train.count() == 0) throw Error("the training set of " + o.dataset + " is empty");
    run.normalizer = Normalizer::fit(run.data.train, parse_normalization(o.normalize));
    run.input = {run.data.train.channels, run.data.train.width, run.data.train.height};
    run.model = saved_model ? model_from_json(*saved_model, "checkpoint model", make_activation(o.activation, o.params))
                            : build_model(o, run.input);
    run.network = std::make_unique<Network>(run.model, run.input, run.data.train.classes, run.device);
    run.network->initialize(parse_init(o.init), o.seed);
    run.optimizer = std::make_unique<Optimizer>(optimizer_config(o), run.network->parameters());
    run.lr_schedule = parse_lr_schedule(o.lr_schedule);
    if (!o.dilated_backprop.empty()) run.dilated = parse_dilated_backprop(o.dilated_backprop);
    run.shuffle_rng.seed(o.seed ^ 0x5DEECE66DULL);
}

nlohmann::json run_config(const Run &run) {
    return {{"options", options_to_json(run.options)},
            {"model", model_to_json(run.model)},
            {"input", {run.input.channels, run.input.width, run.input.height}},
            {"classes", run.data.train.classes},
            {"normalizer", normalizer_to_json(run.normalizer)}};
}

// Every tensor a run needs to continue: parameters, then optimizer state.
std::vector<StateTensor> saved_tensors(Run &run) {
    std::vector<StateTensor> tensors;
    for (Parameter &p : run.network->parameters()) tensors.push_back({p.name, p.value});
    for (StateTensor &s : run.optimizer->state()) tensors.push_back(s);
    return tensors;
}

void save_checkpoint(Run &run, const std::string &path) {
    Checkpoint c;
    c.epoch = run.epochs_done;
    c.step = run.optimizer->steps();
    c.config_json = run_config(run).dump();
    std::ostringstream rng;
    rng << run.shuffle_rng;
    c.rng_state = rng.str();
    for (StateTensor &s : saved_tensors(run)) {
        const float *p = s.tensor->host();
        c.tensors.push_back({s.name, s.tensor->shape(), std::vector<float>(p, p + s.tensor->size())});
    }
    write_checkpoint(path, c);
}

// A resumed run takes its options from the checkpoint; only where results go, the device, the thread
// count and a longer --epochs come from the command line.
Run resume_run(const TrainOptions &command_line, const Checkpoint &c, bool epochs_given, Device device) {
    const std::string &path = command_line.resume;
    const nlohmann::json config = checkpoint_config(c, path);
    Run run;
    run.options = options_from_json(config.at("options"), "checkpoint " + path);
    if (epochs_given) run.options.epochs = command_line.epochs;
    run.options.log = command_line.log;
    run.options.plot = command_line.plot;
    run.options.checkpoint = command_line.checkpoint.empty() ? path : command_line.checkpoint;
    run.options.resume = path;
    run.options.threads = command_line.threads;
    run.options.device = command_line.device;
    run.device = device;
    run.options.progress = command_line.progress;
    build(run, &config.at("model"));
    restore_tensors(c, saved_tensors(run), path);
    run.optimizer->set_steps(c.step);
    run.epochs_done = c.epoch;
    std::istringstream rng(c.rng_state);
    rng >> run.shuffle_rng;
    if (rng.fail()) throw Error("checkpoint " + path + ": the shuffling generator's state is malformed");
    return run;
}

// The error that stops a run whose loss, gradients or weights stopped being finite. It is thrown
// before the optimizer step (or the checkpoint) that would take the bad values in, so the last
// checkpoint on disk is the last good state.
// Every rank sees the same summed loss, gradients and weights, so every rank raises it at the same
// step; rank 0 reports it.
GroupError diverged(const Run &run, int epoch, int step, int steps, const std::string &what) {
    const TrainOptions &o = run.options;
    const long run_step = static_cast<long>(epoch) * steps + step + 1;
    std::string message = "training diverged at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) +
                          " of " + std::to_string(steps) + " (step " + std::to_string(run_step) + " of the run): " + what + ". ";
    if (o.checkpoint.empty()) {
        message += "No checkpoint was being written.";
    } else if (run.epochs_done > 0) {
        message += "The checkpoint " + o.checkpoint + " still holds epoch " + std::to_string(run.epochs_done) + ".";
    } else {
        message += "No checkpoint was written yet.";
    }
    return GroupError(message + " Try a smaller --lr.", run.root());
}

struct EpochTotals {
    double loss_sum = 0;
    long correct = 0;
    long images = 0;
    int steps = 0;
};

EpochTotals train_epoch(Run &run, int epoch) {
    const Dataset &train = run.data.train;
    const int batch = run.options.batch;
    std::vector<int> order(train.count());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), run.shuffle_rng);  // the same order on every rank
    const float lr = run.lr_schedule.lr_at(run.options.lr, epoch, run.options.epochs);
    const int steps = (train.count() + batch - 1) / batch;
    ProgressBar bar(steps, run.options.progress && run.root() && isatty(STDOUT_FILENO));
    EpochTotals totals;
    Tensor images;
    std::vector<int32_t> labels;
    for (int s = 0; s < steps; s++) {
        const int first = s * batch, n = std::min(batch, train.count() - first);
        // A data-parallel rank trains on its shard of the batch; a single process's shard is all of it.
        const Shard shard = shard_of(n, run.group->rank(), run.group->size());
        // rrelu's slopes and dropout's masks are keyed by the step and the image's place in the
        // batch, so the backward pass regenerates the forward's, and a shard draws what one process would.
        RandomKey key{true, static_cast<uint32_t>(run.options.seed), static_cast<int>(run.optimizer->steps())};
        key.batch_offset = shard.first;
        BatchTotals step;
        if (shard.count > 0) {
            if (!images.defined() || images.dim(3) != shard.count) {
                images = Tensor({train.channels, train.width, train.height, shard.count}, run.device);
            }
            load_batch(train, run.normalizer, order, first + shard.first, shard.count, images, labels);
            const LossResult r = run.network->forward(images, labels, key);
            run.network->backward(images, key, run.dilated, epoch);
            step = {static_cast<double>(r.loss) * shard.count, r.correct};
        }
        // Each rank's gradients become the whole batch's, the same on every rank.
        if (run.gradient_sum) step = run.gradient_sum->reduce(shard.count, n, step.loss_sum, step.correct);
        if (!std::isfinite(step.loss_sum)) {
            const std::string where = shard.count > 0 ? nonfinite_forward(*run.network) : "";
            throw diverged(run, epoch, s, steps,
                           "the loss is " + std::to_string(step.loss_sum / n) + (where.empty() ? "" : ", and " + where));
        }
        // On the CPU every step's gradients are checked before they reach the weights. A device run
        // checks them only through the next loss and the weights at each checkpoint: reading them
        // back every step would cost the transfers device-resident training avoids.
        if (run.device == Device::cpu) {
            const std::string bad = nonfinite_gradient(*run.network);
            if (!bad.empty()) throw diverged(run, epoch, s, steps, bad);
        }
        run.optimizer->step(lr);
        totals.loss_sum += step.loss_sum;
        totals.correct += step.correct;
        totals.images += n;
        bar.update(s + 1, totals.loss_sum / totals.images, static_cast<double>(totals.correct) / totals.images);
    }
    bar.finish();
    totals.steps = steps;
    return totals;
}

// Ranks sharing a machine share its cores: without --threads (or HL_NUM_THREADS) each takes its
// share, or fewer when mpirun bound it to fewer.
void share_cores(const TrainOptions &o, const ProcessGroup &group) {
    if (o.threads > 0) {
        set_cpu_threads(o.threads);
    } else if (group.ranks_on_this_machine() > 1 && !std::getenv("HL_NUM_THREADS")) {
        set_cpu_threads(default_rank_threads(group));
    }
}

RunFingerprint fingerprint(Run &run) {
    auto data_text = [](const Dataset &d) {
        return std::to_string(d.count()) + " images, crc32 " + checksum(d.pixels.data(), d.pixels.size()) + "/" +
               checksum(d.labels.data(), d.labels.size() * sizeof(int32_t));
    };
    std::string state;
    for (StateTensor &t : saved_tensors(run)) state += checksum(t.tensor->host(), t.tensor->size() * sizeof(float));
    std::ostringstream rng;
    rng << run.shuffle_rng;
    const std::string config = run_config(run).dump();
    return {{"the run's configuration (options, model, normalization), crc32", checksum(config.data(), config.size())},
            {"the training set", data_text(run.data.train)},
            {"the test set", data_text(run.data.test)},
            {"the weights and optimizer state, crc32", checksum(state.data(), state.size())},
            {"the position (epochs done, steps, shuffle state crc32)",
             std::to_string(run.epochs_done) + ", " + std::to_string(run.optimizer->steps()) + ", " +
                 checksum(rng.str().data(), rng.str().size())}};
}

// A rank that read other files than rank 0 would train another run in lockstep, silently.
void require_same_run(Run &run) {
    const RunFingerprint mine = fingerprint(run);
    const RunFingerprint rank0 = fingerprint_from_text(run.group->broadcast(fingerprint_to_text(mine)));
    const std::string difference = fingerprint_difference(mine, rank0);
    if (!difference.empty()) {
        throw Error("this rank's run differs from rank 0's: " + difference +
                    ". Every rank must read the same data, model file and checkpoint.");
    }
}

std::string describe_group(const Run &run) {
    const ProcessGroup &g = *run.group;
    if (g.size() == 1) return "";
    // Shards differ by one image at most: the first and last ranks hold the smallest and the largest.
    const int smallest = shard_of(run.options.batch, 0, g.size()).count;
    const int largest = shard_of(run.options.batch, g.size() - 1, g.size()).count;
    const std::string shards = std::to_string(smallest) + (largest != smallest ? "-" + std::to_string(largest) : "");
    const int threads = cpu_threads();
    std::string text = ", data-parallel over " + std::to_string(g.size()) + " ranks (" + g.library() + ", " + shards +
                       " images each, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads") + " per rank)";
    // Open MPI binds each of one or two ranks to a single core by default: on a larger machine that
    // leaves most cores idle.
    if (run.options.threads == 0 && available_cores() < core_share(g)) {
        text += "\nnote: mpirun bound this rank to " + std::to_string(available_cores()) + " of the " +
                std::to_string(core_share(g)) + " cores that are its share of the machine; `mpirun --bind-to none` "
                "(or --map-by slot:PE=" + std::to_string(core_share(g)) + ") lets it use them";
    }
    return text;
}

}  // namespace

std::vector<EpochRecord> run_training(const TrainOptions &command_line, std::ostream &out, bool epochs_given) {
    // mpirun's ranks form a group; a plain run is a group of one, and every step below is the same.
    ProcessGroup &group = process_group();
    const bool root = group.rank() == 0;
    std::ostringstream discarded;
    std::ostream &shown = root ? out : discarded;  // rank 0 alone prints, logs, plots and checkpoints
    Run run;
    on_every_rank(group, [&] {
        share_cores(command_line, group);
        set_conv_algorithm(parse_conv_algorithm(command_line.conv_algorithm));
        // Before anything is read: a missing GPU or an output that cannot be written fails the run at once.
        const Device device = select_device(command_line.device);
        if (root) {
            require_writable_output("--checkpoint", command_line.checkpoint);
            require_writable_output("--plot", command_line.plot);
            require_writable_output("--log", command_line.log);
        }
        if (!command_line.resume.empty()) {
            run = resume_run(command_line, read_checkpoint(command_line.resume), epochs_given, device);
        } else {
            run.options = command_line;
            run.device = device;
            resolve_default_activation(run.options);
            build(run, nullptr);
        }
        if (run.epochs_done >= run.options.epochs) {
            throw Error("checkpoint " + run.options.resume + " already holds " + std::to_string(run.epochs_done) +
                        " epochs; pass a larger --epochs to continue");
        }
    });
    run.group = &group;
    if (group.size() > 1) {
        on_every_rank(group, [&] { require_same_run(run); });
        run.gradient_sum = std::make_unique<GradientSum>(group, run.network->parameters());
    }
    // The plot is drawn from the log: --plot alone logs beside the picture.
    if (!run.options.plot.empty() && run.options.log.empty()) {
        const std::string &png = run.options.plot;
        const size_t dot = png.find_last_of('.'), slash = png.find_last_of('/');
        run.options.log = (dot != std::string::npos && (slash == std::string::npos || dot > slash) ? png.substr(0, dot) : png) + ".csv";
    }
    const TrainOptions &o = run.options;
    shown << describe_model(run.model, run.input, run.data.train.classes);
    shown << o.dataset << ": " << run.data.train.count() << " training and " << run.data.test.count() << " test images, "
          << optimizer_name(parse_optimizer(o.optimizer)) << " lr " << o.lr << ", batch " << o.batch << ", on "
          << device_name(run.device) << describe_group(run) << "\n";
    shown.flush();

    std::unique_ptr<TrainingLog> log;
    if (root && !o.log.empty()) {
        log = std::make_unique<TrainingLog>(o.resume.empty() ? TrainingLog::create(o.log, run_config(run))
                                                             : TrainingLog::resume(o.log, run_config(run), run.epochs_done));
    }
    std::vector<EpochRecord> records;
    for (int epoch = run.epochs_done; epoch < o.epochs; epoch++) {
        const auto start = std::chrono::steady_clock::now();
        const double allreduce_before = run.gradient_sum ? run.gradient_sum->allreduce_seconds() : 0;
        const EpochTotals t = train_epoch(run, epoch);
        const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const EvalResult test = evaluate(*run.network, run.data.test, run.normalizer, o.batch, &group);
        EpochRecord r;
        r.epoch = epoch + 1;
        r.train_loss = t.loss_sum / t.images;
        r.train_acc = static_cast<double>(t.correct) / t.images;
        r.test_loss = test.loss;
        r.test_acc = test.accuracy;
        r.images_per_s = t.images / std::max(train_seconds, 1e-9);
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // A device run's gradients are not checked every step: weights that stopped being finite must
        // not be saved over the last good checkpoint.
        if (!o.checkpoint.empty()) {
            const std::string bad = nonfinite_parameter(*run.network);
            if (!bad.empty()) throw diverged(run, epoch, t.steps - 1, t.steps, bad + " after the epoch's last step");
        }
        run.epochs_done = epoch + 1;
        // The log row first: a crash between the two leaves a checkpoint one epoch behind the log, and
        // resuming from it rewrites that row.
        if (log) log->append(r);
        if (root && !o.checkpoint.empty()) save_checkpoint(run, o.checkpoint);
        shown << format_epoch_line(r, o.epochs);
        if (run.gradient_sum) {
            const double allreduce = run.gradient_sum->allreduce_seconds() - allreduce_before;
            char text[96];
            std::snprintf(text, sizeof text, "  allreduce %.2f ms/step (%.0f%%)", 1e3 * allreduce / t.steps,
                          100 * allreduce / std::max(train_seconds, 1e-9));
            shown << text;
        }
        shown << "\n";
        shown.flush();
        records.push_back(r);
    }
    if (root && !o.plot.empty()) {
        plot_training_log(o.log, o.plot);
        shown << "wrote " << o.plot << "\n";
    }
    return records;
}

}  // namespace hnn
