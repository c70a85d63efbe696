#include "eval_command.h"

#include "checkpoint_file.h"
#include "training_run.h"

#include "hnn/error.h"

#include <cstdio>
#include <memory>

namespace hnn {
namespace {

struct EvalOptions {
    std::string checkpoint, dataset, data;
    int batch = 100;
    int test_limit = 0;
    std::string device = "auto";
};

void run(const EvalOptions &o) {
    const Device device = select_device(o.device);
    const Checkpoint c = read_checkpoint(o.checkpoint);
    const std::string origin = "checkpoint " + o.checkpoint;
    const nlohmann::json config = checkpoint_config(c, o.checkpoint);
    const TrainOptions saved = options_from_json(config.at("options"), origin);
    const std::string dataset = o.dataset.empty() ? saved.dataset : o.dataset;
    DatasetSplit data = load_dataset(dataset, o.data.empty() ? default_data_dir(dataset) : o.data);
    if (o.test_limit) data.test.truncate(o.test_limit);
    const Shape3 input{data.test.channels, data.test.width, data.test.height};
    const ModelSpec model = model_from_json(config.at("model"), origin + " model", make_activation(saved.activation, saved.params));
    Network network(model, input, data.test.classes, device);
    std::vector<StateTensor> parameters;
    for (Parameter &p : network.parameters()) parameters.push_back({p.name, p.value});
    restore_tensors(c, parameters, o.checkpoint);
    Normalizer normalizer = normalizer_from_json(config.at("normalizer"), origin);
    if (normalizer.scale.size() != static_cast<size_t>(input.channels)) {
        throw Error(origin + ": it normalizes " + std::to_string(normalizer.scale.size()) + " channels but " + dataset +
                    " images have " + std::to_string(input.channels));
    }
    const EvalResult r = evaluate(network, data.test, normalizer, o.batch);
    std::printf("test_loss %.4f\ntest_acc %.4f\n", r.loss, r.accuracy);
}

}  // namespace

void add_eval_command(CLI::App &app) {
    auto o = std::make_shared<EvalOptions>();
    CLI::App *cmd = app.add_subcommand("eval", "Test loss and accuracy of a checkpoint");
    cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written by hnn train")->required();
    cmd->add_option("--dataset", o->dataset, "mnist, fashion-mnist or cifar10 (default: the checkpoint's)");
    cmd->add_option("--data", o->data, "Directory of the dataset's files (default: the dataset's default)");
    cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str();
    cmd->add_option("--test-limit", o->test_limit, "Use only the first N test images");
    cmd->add_option("--device", o->device, "cpu, cuda, opencl, or auto (CUDA when a GPU answers, else the CPU)")
        ->capture_default_str();
    cmd->callback([o] {
        if (o->batch < 1) throw Error("--batch must be at least 1");
        run(*o);
    });
}

}  // namespace hnn
