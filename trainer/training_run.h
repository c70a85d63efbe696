#pragma once
// A training run from its options to its log: data, network, optimizer, the epoch loop, evaluation,
// checkpoints and resumption. `hnn train` parses flags into TrainOptions and calls run_training.

#include "checkpoint_file.h"
#include "dataset.h"
#include "network.h"
#include "optimizer.h"
#include "process_group.h"
#include "training_log.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace hnn {

// Every flag of `hnn train`. The fields above `log` define the run and go into checkpoints.
struct TrainOptions {
    std::string model = "celu7";
    std::string model_file;  // instead of a preset
    int width = 0;           // 0: the preset's default
    std::string activation;  // "": the preset's (celu7: celu with alpha 2, allconv: elu, else relu)
    std::vector<std::string> params;
    bool final_activation = true;
    bool bias = false;
    bool dropout = false;  // allcnn-c
    std::string init = "he";

    std::string dataset = "mnist";
    std::string data;  // "": the dataset's default directory
    std::string normalize = "unit";
    int train_limit = 0, test_limit = 0;  // 0: all

    std::string optimizer = "adam";
    float lr = 2e-3f;
    int batch = 100;
    float momentum = 0.0f;
    bool nesterov = false;
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    float weight_decay = 0.0f;
    bool decoupled_weight_decay = false;
    std::string lr_schedule = "constant";
    std::string dilated_backprop;  // "": off
    int epochs = 10;
    uint64_t seed = 1;

    // Where results go; not part of the run's identity.
    std::string log, plot, checkpoint, resume;
    int threads = 0;  // 0: Halide's default (every core)
    std::string device = "auto";  // cpu, cuda, opencl or auto (CUDA when a GPU answers, else the CPU)
    std::string conv_algorithm = "auto";  // auto, direct or winograd (3x3 stride-1 convs on the CPU)
    bool progress = true;  // the progress bar, on a terminal
};

// Each preset's own activation when --activation is not given: the one its reference experiments
// used (celu7: CELU with alpha 2; allconv: ELU, the activation study's best; All-CNN-C: ReLU).
void resolve_default_activation(TrainOptions &o);

nlohmann::json options_to_json(const TrainOptions &options);
// Throws hnn::Error naming the field when `j` lacks one or holds the wrong type.
TrainOptions options_from_json(const nlohmann::json &j, const std::string &origin);

struct EvalResult {
    double loss = 0, accuracy = 0;
};
// Mean loss and accuracy over every image of `data`, in batches, rrelu in eval mode. With a group,
// each rank evaluates its part of the images and every rank returns the whole set's result.
EvalResult evaluate(Network &network, const Dataset &data, const Normalizer &normalizer, int batch,
                    ProcessGroup *group = nullptr);

// The configuration a checkpoint was written with: {"options", "model", "normalizer", ...}; throws
// hnn::Error naming the file when it is not valid JSON or lacks one of those.
nlohmann::json checkpoint_config(const Checkpoint &checkpoint, const std::string &path);

// Copies each named tensor out of the checkpoint; throws naming the file and the tensor when one is
// missing or has another shape.
void restore_tensors(const Checkpoint &checkpoint, const std::vector<StateTensor> &tensors, const std::string &path);

nlohmann::json normalizer_to_json(const Normalizer &normalizer);
Normalizer normalizer_from_json(const nlohmann::json &j, const std::string &origin);

// Runs the epochs, printing one line per epoch to `out`; returns the records of the epochs it ran.
// With options.resume, the run's options come from the checkpoint; options.epochs replaces the saved
// count only when `epochs_given` (the user passed --epochs).
std::vector<EpochRecord> run_training(const TrainOptions &options, std::ostream &out, bool epochs_given = true);

}  // namespace hnn
