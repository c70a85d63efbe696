#pragma once
// PyTorch's time for the same training step, for `hnn bench --pytorch`: the network goes to
// scripts/torch_train_step.py as JSON with every conv's padding spelled out per side, so that the
// script builds exactly hnn's layers instead of keeping its own copy of the presets; it checks each
// layer's output shape against hnn's before timing.

#include "model.h"
#include "optimizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hnn {

// {"input": [c, w, h], "batch", "classes", "parameters" (how many floats hnn learns), "layers": [...]}: model_to_json's layers, each with its
// "output_shape" [c, w, h] and, for convs, "pad" {left, right, top, bottom} (zeros PyTorch adds
// before an unpadded conv: TensorFlow's 'same' puts the odd one at the bottom/right).
nlohmann::json pytorch_network_json(const ModelSpec &model, const Shape3 &input, int classes, int batch);

struct PytorchRequest {
    std::string python;  // the interpreter, with torch importable
    std::string script;  // torch_train_step.py
    std::string device;  // "cpu" or "cuda"
    int threads = 0;     // 0: PyTorch's default
    int warmup = 3, repeats = 10;
    float learning_rate = 0.0f;
    OptimizerConfig adam;  // its betas and eps; the kind is Adam whatever it says
    uint64_t seed = 1;     // of the weights, images and labels
};

struct PytorchMode {
    std::string name;  // "fp32", or "tf32" (cuDNN's default on a GPU)
    double step_ms = 0, images_per_s = 0;
};

struct PytorchStep {
    std::string script;   // the request's
    std::string version;  // torch.__version__
    std::string device;
    int threads = 0;
    std::vector<PytorchMode> modes;  // fp32 first
    nlohmann::json raw;              // the script's whole answer
};

// Checks that `python` runs and imports torch, before a long bench starts; throws hnn::Error saying
// how to get it otherwise.
void require_pytorch(const PytorchRequest &request);

// Runs the script on `network` (written to a temporary file) and reads its JSON answer. Throws
// hnn::Error naming the command when it fails or answers something else.
PytorchStep time_pytorch_step(const PytorchRequest &request, const nlohmann::json &network);

// The interpreter `--python` defaults to: Debian's, where python3-torch installs (a `python3` earlier
// on PATH may be another one, without torch).
std::string default_python();

}  // namespace hnn
