#include "model.h"

#include "hnn/error.h"
#include "hnn/layer_geometry.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace hnn {
namespace {

using nlohmann::json;

LayerSpec conv(int out_channels, int kernel, const Activation &activation, bool bias, int stride = 1,
               Padding padding = Padding{}) {
    LayerSpec l;
    l.kind = LayerKind::conv;
    l.out_channels = out_channels;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.bias = bias;
    l.activation = activation;
    return l;
}

LayerSpec pool(LayerKind kind, int kernel, int stride) {
    LayerSpec l;
    l.kind = kind;
    l.kernel = kernel;
    l.stride = stride;
    return l;
}

LayerSpec dropout(float rate) {
    LayerSpec l;
    l.kind = LayerKind::dropout;
    l.rate = rate;
    return l;
}

LayerSpec global_avg_pool() {
    LayerSpec l;
    l.kind = LayerKind::global_avg_pool;
    return l;
}

// The last conv's activation is the one --no-final-activation removes.
void drop_final_activation(ModelSpec &m) {
    for (auto it = m.layers.rbegin(); it != m.layers.rend(); ++it) {
        if (it->kind == LayerKind::conv) {
            it->activation = LayerSpec::identity_activation();
            return;
        }
    }
}

// experiments.md section 1: the All-Conv net as the activation study ran it (pools, no dropout).
ModelSpec allconv(const PresetOptions &o) {
    const int w = o.width ? o.width : 96, w2 = 2 * w;
    const Activation &a = o.activation;
    ModelSpec m{"allconv", {}};
    m.layers = {conv(w, 3, a, o.bias),  conv(w, 3, a, o.bias),  conv(w2, 3, a, o.bias),
                pool(LayerKind::avg_pool, 2, 2),
                conv(w2, 3, a, o.bias), conv(w2, 3, a, o.bias), conv(w2, 3, a, o.bias),
                pool(LayerKind::avg_pool, 2, 2),
                conv(w2, 3, a, o.bias), conv(w2, 1, a, o.bias), conv(10, 1, a, o.bias),
                global_avg_pool()};
    return m;
}

// Springenberg et al., ICLR 2015, All-CNN-C: stride-2 convs (padded by 1, as their Caffe model) in
// place of the pools, a valid 3x3 conv, then 1x1 convs and a global mean; with dropout, the paper's
// 20% on the input and 50% after each stride-2 conv.
ModelSpec allcnn_c(const PresetOptions &o) {
    const int w = o.width ? o.width : 96, w2 = 2 * w;
    const Activation &a = o.activation;
    Padding one{Padding::explicit_, 1, 1}, valid{Padding::valid, 0, 0};
    ModelSpec m{"allcnn-c", {}};
    m.layers = {conv(w, 3, a, o.bias),     conv(w, 3, a, o.bias),     conv(w, 3, a, o.bias, 2, one),
                conv(w2, 3, a, o.bias),    conv(w2, 3, a, o.bias),    conv(w2, 3, a, o.bias, 2, one),
                conv(w2, 3, a, o.bias, 1, valid), conv(w2, 1, a, o.bias), conv(10, 1, a, o.bias),
                global_avg_pool()};
    if (o.dropout) {
        m.layers.insert(m.layers.begin() + 6, dropout(0.5f));
        m.layers.insert(m.layers.begin() + 3, dropout(0.5f));
        m.layers.insert(m.layers.begin(), dropout(0.2f));
    }
    return m;
}

// experiments.md section 2: seven convs with mean pooling before layers 3..7; the pool before layer 7
// only where layer 6's output is still larger than 1x1 (32x32 inputs: 5 pools, 28x28: 4).
ModelSpec celu7(const PresetOptions &o, const Shape3 &input) {
    const int w = o.width ? o.width : 200;
    const Activation &a = o.activation;
    ModelSpec m{"celu7", {}};
    m.layers = {conv(w, 5, a, o.bias), conv(w, 3, a, o.bias)};
    const int kernels[] = {1, 3, 1, 2};
    int size = std::min(input.width, input.height);
    for (int k : kernels) {
        m.layers.push_back(pool(LayerKind::avg_pool, 2, 2));
        size = pooled_size(size, 2, 2);
        m.layers.push_back(conv(w, k, a, o.bias));
    }
    if (size > 1) m.layers.push_back(pool(LayerKind::avg_pool, 2, 2));
    m.layers.push_back(conv(10, 1, a, o.bias));
    return m;
}

std::string padding_text(const Padding &p) {
    switch (p.mode) {
    case Padding::same: return "same";
    case Padding::valid: return "valid";
    case Padding::explicit_: return p.x == p.y ? std::to_string(p.x) : std::to_string(p.x) + "x" + std::to_string(p.y);
    }
    return "same";
}

// A value for an error message: scalars as written (long strings cut short), arrays and objects by
// their type only. A hostile value could be as long as the file, and nlohmann's dump() recurses once
// per nesting level: a deeply nested value in a message overflowed the stack.
std::string json_excerpt(const json &value) {
    if (value.is_array()) return "an array";
    if (value.is_object()) return "an object";
    std::string text = value.dump();
    constexpr size_t kMaxBytes = 40;
    if (text.size() <= kMaxBytes) return text;
    size_t cut = kMaxBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut--;  // whole UTF-8 characters
    return text.substr(0, cut) + "...";
}

// Reads fields of one layer object, naming the layer in every error and rejecting unknown fields.
class LayerReader {
public:
    LayerReader(const json &j, const std::string &where) : j_(j), where_(where) {}

    int positive_int(const char *field, int fallback, bool required) {
        used_.insert(field);
        if (!j_.contains(field)) {
            if (required) throw Error(where_ + ": missing field '" + field + "'");
            return fallback;
        }
        const json &v = j_.at(field);
        if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 65536) {
            throw Error(where_ + ": field '" + field + "' must be an integer in 1..65536, got " + json_excerpt(v));
        }
        return v.get<int>();
    }
    bool boolean(const char *field, bool fallback) {
        used_.insert(field);
        if (!j_.contains(field)) return fallback;
        if (!j_.at(field).is_boolean()) throw Error(where_ + ": field '" + field + "' must be true or false");
        return j_.at(field).get<bool>();
    }
    const json *optional(const char *field) {
        used_.insert(field);
        return j_.contains(field) ? &j_.at(field) : nullptr;
    }
    void reject_unknown() {
        for (auto it = j_.begin(); it != j_.end(); ++it) {
            if (!used_.count(it.key())) throw Error(where_ + ": unknown field '" + it.key() + "'");
        }
    }

private:
    const json &j_;
    std::string where_;
    std::set<std::string> used_{"type"};
};

Activation layer_activation(const json *field, const Activation &fallback, const std::vector<std::string> &params,
                            const std::string &where) {
    if (field == nullptr) return fallback;
    if (field->is_string()) {
        const std::string name = field->get<std::string>();
        if (name == "none") return LayerSpec::identity_activation();
        try {
            return make_activation(name, params);
        } catch (const Error &e) {
            throw Error(where + ": field 'activation': " + e.what());
        }
    }
    if (field->is_object()) return activation_from_json(*field, where + ": field 'activation'");
    throw Error(where + ": field 'activation' must be an activation name or object, got " + json_excerpt(*field));
}

LayerSpec layer_from_json(const json &j, const std::string &where, const Activation &default_activation,
                          const std::vector<std::string> &params) {
    if (!j.is_object()) throw Error(where + ": expected an object, got " + json_excerpt(j));
    if (!j.contains("type") || !j.at("type").is_string()) throw Error(where + ": missing string field 'type'");
    const std::string type = j.at("type").get<std::string>();
    LayerReader r(j, where);
    LayerSpec l;
    if (type == "conv") {
        l.kind = LayerKind::conv;
        l.out_channels = r.positive_int("out_channels", 0, true);
        l.kernel = r.positive_int("kernel", 0, true);
        l.stride = r.positive_int("stride", 1, false);
        if (const json *p = r.optional("padding")) {
            if (!p->is_string() && !p->is_number_integer()) {
                throw Error(where + ": field 'padding' must be \"same\", \"valid\", P or \"PXxPY\"");
            }
            try {
                l.padding = parse_padding(p->is_string() ? p->get<std::string>() : std::to_string(p->get<long long>()));
            } catch (const Error &e) {
                throw Error(where + ": field 'padding': " + e.what());
            }
        }
        l.bias = r.boolean("bias", false);
        l.activation = layer_activation(r.optional("activation"), default_activation, params, where);
    } else if (type == "avg_pool" || type == "max_pool") {
        l.kind = type == "avg_pool" ? LayerKind::avg_pool : LayerKind::max_pool;
        l.kernel = r.positive_int("kernel", 2, false);
        l.stride = r.positive_int("stride", l.kernel, false);
    } else if (type == "global_avg_pool") {
        l.kind = LayerKind::global_avg_pool;
    } else if (type == "dropout") {
        l.kind = LayerKind::dropout;
        if (const json *rate = r.optional("rate")) {
            if (!rate->is_number() || rate->get<double>() < 0 || rate->get<double>() > 0.99) {
                throw Error(where + ": field 'rate' must be a number in [0, 0.99], got " + json_excerpt(*rate));
            }
            l.rate = rate->get<float>();
        }
    } else if (type == "activation") {
        l.kind = LayerKind::activation;
        l.activation = layer_activation(r.optional("name"), default_activation, params, where);
        if (l.activation.kind == ActivationKind::identity) throw Error(where + ": an activation layer needs a function");
    } else {
        throw Error(where + ": unknown layer type '" + type +
                    "' (expected conv, avg_pool, max_pool, global_avg_pool, activation or dropout)");
    }
    r.reject_unknown();
    return l;
}

float json_float(const json &j, const char *field, float fallback, const std::string &context) {
    if (!j.contains(field)) return fallback;
    const json &value = j.at(field);
    // A double beyond float's range has no float value: converting it is undefined behaviour.
    if (!value.is_number() || !(std::fabs(value.get<double>()) <= std::numeric_limits<float>::max())) {
        throw Error(context + ": field '" + field + "' must be a finite float, got " + json_excerpt(value));
    }
    return value.get<float>();
}

}  // namespace

const char *layer_type_name(LayerKind kind) {
    switch (kind) {
    case LayerKind::conv: return "conv";
    case LayerKind::avg_pool: return "avg_pool";
    case LayerKind::max_pool: return "max_pool";
    case LayerKind::global_avg_pool: return "global_avg_pool";
    case LayerKind::activation: return "activation";
    case LayerKind::dropout: return "dropout";
    }
    return "unknown";
}

const std::vector<std::string> &preset_names() {
    static const std::vector<std::string> names = {"allconv", "allcnn-c", "celu7"};
    return names;
}

ModelSpec preset_model(const std::string &name, const PresetOptions &options, const Shape3 &input) {
    if (options.width < 0) throw Error("--width must be positive");
    ModelSpec m;
    if (name == "allconv") m = allconv(options);
    else if (name == "allcnn-c") m = allcnn_c(options);
    else if (name == "celu7") m = celu7(options, input);
    else throw Error("unknown model '" + name + "': expected allconv, allcnn-c or celu7 (or --model-file FILE)");
    if (!options.final_activation) drop_final_activation(m);
    return m;
}

json activation_to_json(const Activation &a) {
    return json{{"name", activation_name(a.kind)}, {"negative_slope", a.negative_slope}, {"alpha", a.alpha},
                {"beta", a.beta}, {"threshold", a.threshold}, {"rrelu_lower", a.rrelu_lower},
                {"rrelu_upper", a.rrelu_upper}, {"prelu_init", a.prelu_init}};
}

Activation activation_from_json(const json &j, const std::string &context) {
    if (!j.is_object() || !j.contains("name") || !j.at("name").is_string()) {
        throw Error(context + ": expected an object with a string 'name'");
    }
    Activation a;
    const std::string name = j.at("name").get<std::string>();
    try {
        a.kind = name == "none" ? ActivationKind::identity : parse_activation_kind(name);
    } catch (const Error &e) {
        throw Error(context + ": " + e.what());
    }
    a.negative_slope = json_float(j, "negative_slope", a.negative_slope, context);
    a.alpha = json_float(j, "alpha", a.alpha, context);
    a.beta = json_float(j, "beta", a.beta, context);
    a.threshold = json_float(j, "threshold", a.threshold, context);
    a.rrelu_lower = json_float(j, "rrelu_lower", a.rrelu_lower, context);
    a.rrelu_upper = json_float(j, "rrelu_upper", a.rrelu_upper, context);
    a.prelu_init = json_float(j, "prelu_init", a.prelu_init, context);
    // The same rules as --param: a celu with alpha 0 divides by zero in every step.
    if (std::string problem = activation_parameter_problem(a); !problem.empty()) throw Error(context + ": " + problem);
    return a;
}

json model_to_json(const ModelSpec &model) {
    json layers = json::array();
    for (const LayerSpec &l : model.layers) {
        json j{{"type", layer_type_name(l.kind)}};
        switch (l.kind) {
        case LayerKind::conv:
            j["out_channels"] = l.out_channels;
            j["kernel"] = l.kernel;
            j["stride"] = l.stride;
            j["padding"] = padding_text(l.padding);
            j["bias"] = l.bias;
            j["activation"] = activation_to_json(l.activation);
            break;
        case LayerKind::avg_pool:
        case LayerKind::max_pool:
            j["kernel"] = l.kernel;
            j["stride"] = l.stride;
            break;
        case LayerKind::global_avg_pool: break;
        case LayerKind::activation: j["name"] = activation_to_json(l.activation); break;
        case LayerKind::dropout: j["rate"] = l.rate; break;
        }
        layers.push_back(j);
    }
    return json{{"name", model.name}, {"layers", layers}};
}

Activation make_activation(const std::string &name, const std::vector<std::string> &params) {
    Activation a;
    a.kind = parse_activation_kind(name);
    if (a.kind == ActivationKind::identity) throw Error("activation 'identity' is internal: use none or --no-final-activation");
    apply_activation_params(a, params);
    return a;
}

ModelSpec model_from_json(const json &model, const std::string &origin, const Activation &default_activation,
                          const std::vector<std::string> &params) {
    if (!model.is_object() || !model.contains("layers") || !model.at("layers").is_array()) {
        throw Error(origin + ": expected an object with an array 'layers'");
    }
    const json &layers = model.at("layers");
    if (layers.empty()) throw Error(origin + ": 'layers' is empty");
    ModelSpec m;
    m.name = model.contains("name") && model.at("name").is_string() ? model.at("name").get<std::string>() : origin;
    for (size_t i = 0; i < layers.size(); i++) {
        const std::string where = origin + ": layer " + std::to_string(i);
        m.layers.push_back(layer_from_json(layers[i], where, default_activation, params));
    }
    return m;
}

ModelSpec load_model_file(const std::string &path, const Activation &default_activation,
                          const std::vector<std::string> &params) {
    std::ifstream in(path);
    if (!in) throw Error("model file " + path + ": cannot open it");
    json j;
    try {
        in >> j;
    } catch (const json::exception &e) {
        throw Error("model file " + path + ": not valid JSON: " + e.what());
    }
    return model_from_json(j, "model file " + path, default_activation, params);
}

std::vector<Shape3> layer_output_shapes(const ModelSpec &model, const Shape3 &input, int classes) {
    std::vector<Shape3> shapes;
    Shape3 s = input;
    for (size_t i = 0; i < model.layers.size(); i++) {
        const LayerSpec &l = model.layers[i];
        const std::string where = model.name + ": layer " + std::to_string(i) + " (" + layer_type_name(l.kind) + ")";
        try {
            switch (l.kind) {
            case LayerKind::conv: {
                Conv2dGeometry g = conv2d_geometry(s.width, s.height, l.kernel, l.kernel, l.stride, l.padding);
                s = {l.out_channels, g.out_width, g.out_height};
                break;
            }
            case LayerKind::avg_pool:
            case LayerKind::max_pool:
                s = {s.channels, pooled_size(s.width, l.kernel, l.stride), pooled_size(s.height, l.kernel, l.stride)};
                break;
            case LayerKind::global_avg_pool: s = {s.channels, 1, 1}; break;
            case LayerKind::activation:
            case LayerKind::dropout: break;
            }
        } catch (const Error &e) {
            throw Error(where + " on a " + std::to_string(s.width) + "x" + std::to_string(s.height) + "x" +
                        std::to_string(s.channels) + " input: " + e.what());
        }
        shapes.push_back(s);
    }
    if (s.width != 1 || s.height != 1 || s.channels != classes) {
        throw Error(model.name + ": the network ends in " + std::to_string(s.width) + "x" + std::to_string(s.height) + "x" +
                    std::to_string(s.channels) + " values per image; it must end in 1x1x" + std::to_string(classes) +
                    " (one logit per class; add a global_avg_pool or a conv to " + std::to_string(classes) + " channels)");
    }
    return shapes;
}

std::string describe_model(const ModelSpec &model, const Shape3 &input, int classes) {
    const std::vector<Shape3> shapes = layer_output_shapes(model, input, classes);
    std::ostringstream out;
    out << model.name << ": input " << input.width << "x" << input.height << "x" << input.channels << "\n";
    Shape3 in = input;
    for (size_t i = 0; i < model.layers.size(); i++) {
        const LayerSpec &l = model.layers[i];
        std::ostringstream what;
        switch (l.kind) {
        case LayerKind::conv:
            what << "conv " << l.kernel << "x" << l.kernel << " " << in.channels << "->" << l.out_channels;
            if (l.stride != 1) what << " stride " << l.stride;
            what << " " << padding_text(l.padding) << (l.bias ? " +bias" : "");
            if (l.activation.kind != ActivationKind::identity) what << " " << activation_name(l.activation.kind);
            break;
        case LayerKind::avg_pool:
        case LayerKind::max_pool:
            what << layer_type_name(l.kind) << " " << l.kernel << "x" << l.kernel << " stride " << l.stride;
            break;
        case LayerKind::global_avg_pool: what << "global_avg_pool"; break;
        case LayerKind::activation: what << activation_name(l.activation.kind); break;
        case LayerKind::dropout: what << "dropout " << l.rate; break;
        }
        out << "  " << i << ": " << what.str() << " -> " << shapes[i].width << "x" << shapes[i].height << "x"
            << shapes[i].channels << "\n";
        in = shapes[i];
    }
    return out.str();
}

}  // namespace hnn
