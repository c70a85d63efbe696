#include "network.h"

#include "hnn/conv2d_ops.h"
#include "hnn/dropout_ops.h"
#include "hnn/error.h"
#include "hnn/pooling_ops.h"
#include "hnn/resample_ops.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <random>

namespace hnn {
namespace {

float parse_number(const std::string &text, const std::string &what) {
    errno = 0;
    char *end = nullptr;
    float v = std::strtof(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
        throw Error(what + ": '" + text + "' is not a finite number");
    }
    return v;
}

// Each layer draws rrelu's slopes from its own stream: two layers of the same shape must not share them.
RandomKey layer_key(const RandomKey &key, size_t layer) {
    RandomKey k = key;
    k.seed = key.seed ^ static_cast<uint32_t>((layer + 1) * 0x9E3779B9u);
    return k;
}

Tensor activation_tensor(const Shape3 &s, int batch, Device device) {
    return Tensor({s.channels, s.width, s.height, batch}, device);
}

}  // namespace

DilatedBackprop parse_dilated_backprop(const std::string &text) {
    DilatedBackprop d;
    const size_t colon = text.find(':');
    d.rate = parse_number(text.substr(0, colon), "--dilated-backprop rate");
    if (colon != std::string::npos) d.decay = parse_number(text.substr(colon + 1), "--dilated-backprop decay");
    if (d.decay < 0) throw Error("--dilated-backprop '" + text + "': the decay must not be negative");
    return d;
}

InitSpec parse_init(const std::string &text) {
    InitSpec s;
    if (text == "he") return s;
    if (text == "glorot") {
        s.kind = Init::glorot;
        return s;
    }
    if (text.rfind("normal:", 0) == 0) {
        s.kind = Init::normal;
        s.std = parse_number(text.substr(7), "--init normal:STD");
        if (s.std <= 0) throw Error("--init '" + text + "': the standard deviation must be positive");
        return s;
    }
    throw Error("--init '" + text + "': expected he, glorot or normal:STD");
}

Network::Network(const ModelSpec &model, const Shape3 &input, int classes, Device device)
    : model_(model), input_(input), classes_(classes), device_(device) {
    const std::vector<Shape3> shapes = layer_output_shapes(model, input, classes);
    Shape3 in = input;
    for (size_t i = 0; i < model.layers.size(); i++) {
        Layer l;
        l.spec = model.layers[i];
        l.in = in;
        l.out = shapes[i];
        if (l.spec.kind == LayerKind::conv) {
            const int k = l.spec.kernel;
            l.geometry = conv2d_geometry(in.width, in.height, k, k, l.spec.stride, l.spec.padding);
            l.filter = Tensor({l.out.channels, k, k, in.channels}, device);
            l.filter_grad = Tensor({l.out.channels, k, k, in.channels}, device);
            if (l.spec.bias) {
                l.bias = Tensor({l.out.channels}, device);
                l.bias_grad = Tensor({l.out.channels}, device);
            }
        }
        if (l.spec.activation.kind == ActivationKind::prelu) {
            l.activation_parameter = Tensor({l.out.channels}, device);
            l.activation_parameter_grad = Tensor({l.out.channels}, device);
        } else if (l.spec.activation.kind == ActivationKind::swish) {
            l.activation_parameter = Tensor({1}, device);
            l.activation_parameter_grad = Tensor({1}, device);
        }
        conv_index_.push_back(l.spec.kind == LayerKind::conv ? static_cast<int>(conv_layers_.size()) : -1);
        if (l.spec.kind == LayerKind::conv) conv_layers_.push_back(i);
        layers_.push_back(std::move(l));
        in = shapes[i];
    }
}

void Network::initialize(const InitSpec &init, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (Layer &l : layers_) {
        if (l.spec.kind == LayerKind::conv) {
            const float fan_in = static_cast<float>(l.in.channels * l.spec.kernel * l.spec.kernel);
            const float fan_out = static_cast<float>(l.out.channels * l.spec.kernel * l.spec.kernel);
            float *w = l.filter.host();
            if (init.kind == Init::glorot) {
                const float a = std::sqrt(6.0f / (fan_in + fan_out));
                std::uniform_real_distribution<float> u(-a, a);
                for (size_t i = 0; i < l.filter.size(); i++) w[i] = u(rng);
            } else {
                std::normal_distribution<float> normal(0.0f, init.kind == Init::he ? std::sqrt(2.0f / fan_in) : init.std);
                for (size_t i = 0; i < l.filter.size(); i++) w[i] = normal(rng);
            }
            l.filter.host_changed();
            if (l.bias.defined()) l.bias.fill(0.0f);
        }
        if (l.spec.activation.kind == ActivationKind::prelu) l.activation_parameter.fill(l.spec.activation.prelu_init);
        if (l.spec.activation.kind == ActivationKind::swish) l.activation_parameter.fill(l.spec.activation.beta);
    }
}

std::vector<Parameter> Network::parameters() {
    std::vector<Parameter> p;
    for (size_t i = 0; i < layers_.size(); i++) {
        Layer &l = layers_[i];
        const std::string prefix = "layer" + std::to_string(i) + ".";
        if (l.filter.defined()) p.push_back({prefix + "filter", &l.filter, &l.filter_grad});
        if (l.bias.defined()) p.push_back({prefix + "bias", &l.bias, &l.bias_grad});
        if (l.activation_parameter.defined()) {
            p.push_back({prefix + activation_name(l.spec.activation.kind) + "_parameter", &l.activation_parameter,
                         &l.activation_parameter_grad});
        }
    }
    return p;
}

void Network::allocate_batch(int batch) {
    for (Layer &l : layers_) {
        l.output = activation_tensor(l.out, batch, device_);
        l.output_grad = activation_tensor(l.out, batch, device_);
        l.pre_activation = Tensor();
        l.pre_activation_grad = Tensor();
        l.dilated_output_grad = Tensor();
        if (l.spec.kind == LayerKind::conv) {
            if (!l.derivative_from_output()) l.pre_activation = activation_tensor(l.out, batch, device_);
            if (l.has_activation()) l.pre_activation_grad = activation_tensor(l.out, batch, device_);
        }
    }
    logits_grad_ = layers_.back().output_grad.reshaped({classes_, batch});
    batch_ = batch;
}

// swish's beta lives in a parameter tensor; the kernels take it as a scalar.
Activation Network::current_activation(const Layer &layer) const {
    Activation a = layer.spec.activation;
    if (a.kind == ActivationKind::swish) a.beta = layer.activation_parameter.host()[0];
    return a;
}

LossResult Network::forward(Tensor &images, const std::vector<int32_t> &labels, const RandomKey &key,
                            bool for_backward) {
    const std::vector<int> expected = {input_.channels, input_.width, input_.height, images.rank() == 4 ? images.dim(3) : 0};
    if (images.shape() != expected) {
        throw Error(model_.name + ": input batch " + images.shape_string() + " does not match the network's input " +
                    std::to_string(input_.width) + "x" + std::to_string(input_.height) + "x" + std::to_string(input_.channels));
    }
    if (images.dim(3) != batch_) allocate_batch(images.dim(3));
    backward_ready_ = false;  // until this pass has run through
    for (size_t i = 0; i < layers_.size(); i++) {
        Layer &l = layers_[i];
        Tensor &input = i == 0 ? images : layers_[i - 1].output;
        const RandomKey k = layer_key(key, i);
        const Activation a = current_activation(l);
        Tensor *slope = l.spec.activation.kind == ActivationKind::prelu ? &l.activation_parameter : nullptr;
        switch (l.spec.kind) {
        case LayerKind::conv:
            conv2d_forward(input, l.filter, l.bias.defined() ? &l.bias : nullptr, l.geometry, a, l.output,
                           for_backward && l.pre_activation.defined() ? &l.pre_activation : nullptr, k, slope);
            break;
        case LayerKind::avg_pool: avg_pool_forward(input, l.spec.kernel, l.spec.stride, l.output); break;
        case LayerKind::max_pool: max_pool_forward(input, l.spec.kernel, l.spec.stride, l.output); break;
        case LayerKind::global_avg_pool: {
            Tensor pooled = l.output.reshaped({l.out.channels, batch_});
            global_avg_pool_forward(input, pooled);
            break;
        }
        case LayerKind::activation: activation_forward(a, input, l.output, k, slope); break;
        case LayerKind::dropout: dropout(input, l.spec.rate, k, l.output); break;
        }
    }
    Tensor logits = layers_.back().output.reshaped({classes_, batch_});
    const LossResult result = softmax_cross_entropy(logits, labels, logits_grad_);
    backward_ready_ = for_backward;
    return result;
}

void Network::backward(Tensor &images, const RandomKey &key, const DilatedBackprop &dilated, int epoch) {
    if (batch_ == 0) throw Error(model_.name + ": backward before forward");
    if (!backward_ready_) {
        throw Error(model_.name + ": backward after a forward that kept nothing for it (an evaluation pass)");
    }
    for (size_t i = layers_.size(); i-- > 0;) {
        Tensor &input = i == 0 ? images : layers_[i - 1].output;
        Tensor &output_grad = gradient_at_output(i, dilated, epoch);
        // A conv below a conv or a pool takes its activation derivative into that layer's backward
        // pass (backward-data, the pool's backward), unless something needs the gradient
        // at its output itself: a learnable activation parameter, or dilated backprop (which adds to
        // some outputs' gradients and reads others').
        bool fuse = false;
        const LayerKind kind = layers_[i].spec.kind;
        const bool pool = kind == LayerKind::avg_pool || kind == LayerKind::max_pool;
        if (i > 0 && (kind == LayerKind::conv || pool) && !dilated.enabled()) {
            const Layer &below = layers_[i - 1];
            fuse = below.spec.kind == LayerKind::conv && below.has_activation() &&
                   !below.spec.activation.has_learnable_parameter();
        }
        backward_layer(i, input, output_grad, key, fuse);
    }
}

bool Network::dilated_applies(int conv) const {
    const int count = static_cast<int>(conv_layers_.size());
    if (conv < 1 || conv + 2 >= count) return false;
    return layers_[conv_layers_[conv]].out.channels == layers_[conv_layers_[conv + 1]].out.channels;
}

Tensor &Network::gradient_at_output(size_t index, const DilatedBackprop &dilated, int epoch) {
    Layer &l = layers_[index];
    const int j = conv_index_[index];
    if (!dilated.enabled() || j < 0 || !dilated_applies(j)) return l.output_grad;
    // The gradient at conv k+2's input is the one conv k+1's output received from above.
    Tensor &term = layers_[conv_layers_[j + 1]].output_grad;
    if (!l.dilated_output_grad.defined()) l.dilated_output_grad = activation_tensor(l.out, batch_, device_);
    upsample_nearest_add(l.output_grad, term, dilated.scale(epoch), l.dilated_output_grad);
    return l.dilated_output_grad;
}

void Network::backward_layer(size_t i, Tensor &input, Tensor &output_grad, const RandomKey &key, bool fuse) {
    Layer &l = layers_[i];
    Layer *below = i > 0 ? &layers_[i - 1] : nullptr;
    const RandomKey k = layer_key(key, i);
    const Activation a = current_activation(l);
    Tensor *slope = l.spec.activation.kind == ActivationKind::prelu ? &l.activation_parameter : nullptr;
    if (l.activation_parameter.defined()) {
        Tensor &x = l.spec.kind == LayerKind::conv ? l.pre_activation : input;
        activation_parameter_gradient(a, x, output_grad, l.activation_parameter_grad, k, slope);
    }
    switch (l.spec.kind) {
    case LayerKind::conv: {
        Tensor *grad = &output_grad;  // dL/d(pre-activation) once the activation is undone
        if (l.has_activation()) {
            if (!l.pre_activation_grad_ready) {
                activation_backward(a, l.derivative_saved(), output_grad, l.pre_activation_grad, k, slope,
                                    l.derivative_source());
            }
            grad = &l.pre_activation_grad;
        }
        l.pre_activation_grad_ready = false;
        conv2d_backward_weights(*grad, input, l.geometry, l.filter_grad, l.bias_grad.defined() ? &l.bias_grad : nullptr);
        if (!below) break;
        if (fuse) {
            const Activation below_activation = current_activation(*below);
            conv2d_backward_data(*grad, l.filter, l.geometry, below->pre_activation_grad, &below_activation,
                                 &below->derivative_saved(), layer_key(key, i - 1), nullptr, below->derivative_source());
            below->pre_activation_grad_ready = true;
        } else {
            conv2d_backward_data(*grad, l.filter, l.geometry, below->output_grad);
        }
        break;
    }
    case LayerKind::avg_pool:
        if (!below) break;
        if (fuse) {
            avg_pool_backward_activation(output_grad, l.spec.kernel, l.spec.stride, current_activation(*below),
                                         below->derivative_saved(), below->pre_activation_grad,
                                         layer_key(key, i - 1), nullptr, below->derivative_source());
            below->pre_activation_grad_ready = true;
        } else {
            avg_pool_backward(output_grad, l.spec.kernel, l.spec.stride, below->output_grad);
        }
        break;
    case LayerKind::max_pool:
        if (!below) break;
        if (fuse) {
            max_pool_backward_activation(input, output_grad, l.spec.kernel, l.spec.stride, current_activation(*below),
                                         below->derivative_saved(), below->pre_activation_grad,
                                         layer_key(key, i - 1), nullptr, below->derivative_source());
            below->pre_activation_grad_ready = true;
        } else {
            max_pool_backward(input, output_grad, l.spec.kernel, l.spec.stride, below->output_grad);
        }
        break;
    case LayerKind::global_avg_pool:
        if (below) {
            Tensor pooled_grad = output_grad.reshaped({l.out.channels, batch_});
            global_avg_pool_backward(pooled_grad, below->output_grad);
        }
        break;
    case LayerKind::activation:
        if (below) activation_backward(a, input, output_grad, below->output_grad, k, slope);
        break;
    case LayerKind::dropout:
        if (below) dropout(output_grad, l.spec.rate, k, below->output_grad);  // the forward's mask, regenerated
        break;
    }
}

}  // namespace hnn
