#pragma once
// What a network is, before any memory exists: a list of layers (the presets of the reference
// experiments, or a JSON model file), with shapes checked against the input.

#include "hnn/activation.h"
#include "hnn/layer_geometry.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hnn {

enum class LayerKind { conv, avg_pool, max_pool, global_avg_pool, activation, dropout };

struct LayerSpec {
    LayerKind kind = LayerKind::conv;
    int out_channels = 0;  // conv
    int kernel = 1;        // conv and pools: kernel x kernel
    int stride = 1;        // conv and pools
    Padding padding;       // conv
    bool bias = false;     // conv
    float rate = 0.5f;     // dropout: the probability of zeroing an element while training
    // conv: applied in the conv's epilogue (identity: none); activation layer: the function.
    Activation activation = identity_activation();

    static Activation identity_activation() {
        Activation a;
        a.kind = ActivationKind::identity;
        return a;
    }
};

struct ModelSpec {
    std::string name;  // preset name or model file path
    std::vector<LayerSpec> layers;
};

struct Shape3 {
    int channels = 0, width = 0, height = 0;
};

// The options every preset takes (--width, --activation, --param, --no-final-activation, --bias).
struct PresetOptions {
    int width = 0;  // 0: the preset's default
    Activation activation;
    bool final_activation = true;
    bool bias = false;
    bool dropout = false;  // allcnn-c: dropout 0.2 on the input and 0.5 after each stride-2 conv
};

// "allconv", "allcnn-c", "celu7"; the input shape picks celu7's pool count (28x28: 4, 32x32: 5).
ModelSpec preset_model(const std::string &name, const PresetOptions &options, const Shape3 &input);
const std::vector<std::string> &preset_names();

// A JSON model file: {"layers": [{"type": "conv", "out_channels": 32, "kernel": 3, ...}, ...]}.
// Layer types and fields (defaults in brackets):
//   conv: out_channels, kernel, stride [1], padding ["same" | "valid" | P | "PXxPY"], bias [false],
//         activation [the --activation one; "none" for a bare conv]
//   avg_pool, max_pool: kernel [2], stride [kernel]
//   global_avg_pool
//   activation: name [the --activation one]
//   dropout: rate [0.5] (inverted dropout while training; the identity in evaluation)
// An activation named in the file takes its parameters from `params` ("celu.alpha=2", as --param);
// one given as an object spells them out. Errors name the file, the layer index and the field.
ModelSpec load_model_file(const std::string &path, const Activation &default_activation,
                          const std::vector<std::string> &params);
// The same from parsed JSON; `origin` names the source in errors.
ModelSpec model_from_json(const nlohmann::json &model, const std::string &origin, const Activation &default_activation,
                          const std::vector<std::string> &params = {});

// The activation `name` with every assignment of `params` that names it applied.
Activation make_activation(const std::string &name, const std::vector<std::string> &params);

// The layers as JSON in the model-file format, with every activation parameter spelled out, so that a
// checkpoint can rebuild exactly this network.
nlohmann::json model_to_json(const ModelSpec &model);

nlohmann::json activation_to_json(const Activation &activation);
Activation activation_from_json(const nlohmann::json &j, const std::string &context);

// Walks the layers from `input` and returns every layer's output shape (global_avg_pool's is
// (C, 1, 1)); throws hnn::Error naming the layer when a kernel does not fit or the network does not end
// in `classes` values per image.
std::vector<Shape3> layer_output_shapes(const ModelSpec &model, const Shape3 &input, int classes);

// "conv", "avg_pool", ...: the layer types of model files.
const char *layer_type_name(LayerKind kind);

// "conv 5x5 1->200 same celu" and so on, one line per layer with its output shape.
std::string describe_model(const ModelSpec &model, const Shape3 &input, int classes);

}  // namespace hnn
