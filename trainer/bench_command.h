#pragma once
#include "model.h"
#include "training_run.h"

#include <CLI/CLI.hpp>

namespace hnn {
// `hnn bench`: every kernel of a model's layers timed against oneDNN in the same run, this machine's
// FMA peak and copy bandwidth, and the whole training step in images/s.
void add_bench_command(CLI::App &app);

// The model flags of `hnn bench` (and `hnn tune`): --model, --model-file, --width, --activation,
// --param, --no-final-activation, --bias, --dropout, --dataset, --batch.
void add_bench_model_options(CLI::App *cmd, TrainOptions &m);

struct BenchModel {
    ModelSpec model;
    Activation activation;  // the run's --activation
    Shape3 input;
};

// The model those flags describe, with hnn train's preset defaults.
BenchModel resolve_bench_model(TrainOptions o);

// The image shape of each dataset the trainer reads; the bench only needs the shape, not the files.
Shape3 dataset_input_shape(const std::string &dataset);
}  // namespace hnn
