#pragma once
// A network's memory and its passes: every layer's parameters, outputs and gradients as tensors, a
// forward pass and a backward pass that read top to bottom, each step a call of an AOT kernel.

#include "model.h"

#include "hnn/activation_ops.h"
#include "hnn/loss_ops.h"
#include "hnn/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hnn {

// One layer of the spec with its tensors. Outputs are (c, x, y, n) for every layer (a global
// average pool's is (c, 1, 1, n)).
struct Layer {
    LayerSpec spec;
    Shape3 in, out;
    Conv2dGeometry geometry;  // conv

    // Parameters and their gradients (conv: filter (co, kx, ky, ci), bias (co); a learnable
    // activation: prelu's a_c (co) or swish's beta (1)).
    Tensor filter, bias, activation_parameter;
    Tensor filter_grad, bias_grad, activation_parameter_grad;

    // For the current batch.
    Tensor output;          // after the activation
    // conv: before it, for the backward's activation derivative; not kept (undefined) where the
    // derivative reads the output instead (can_differentiate_from_output).
    Tensor pre_activation;
    Tensor output_grad;     // dL/d(output) as the layers above send it
    Tensor pre_activation_grad;
    Tensor dilated_output_grad;  // output_grad plus the dilated-backprop term, where one applies
    bool pre_activation_grad_ready = false;  // the layer above fused the derivative into its pass

    bool has_activation() const { return spec.activation.kind != ActivationKind::identity; }
    // A conv's activation derivative reads its output, so its forward keeps no pre-activation.
    bool derivative_from_output() const { return can_differentiate_from_output(spec.activation); }
    DerivativeSource derivative_source() const {
        return derivative_from_output() ? DerivativeSource::output : DerivativeSource::input;
    }
    // The tensor the derivative reads (conv): output or pre_activation.
    Tensor &derivative_saved() { return derivative_from_output() ? output : pre_activation; }
};

// A parameter as the optimizer and checkpoints see it.
struct Parameter {
    std::string name;  // "layer3.filter"
    Tensor *value;
    Tensor *grad;
};

// `--dilated-backprop RATE[:DECAY]`: the gradient at conv k+2's input, upsampled (nearest) to conv
// k's output, times rate / (1 + decay * epoch), is added to the gradient at conv k's output before
// conv k's activation derivative, for every conv k >= 2 (1-based) with a conv k+2 whose input has
// conv k's channels, as the CELU experiments (7->5, 6->4, 5->3, 4->2).
struct DilatedBackprop {
    float rate = 0;
    float decay = 0;
    bool enabled() const { return rate != 0; }
    float scale(int epoch) const { return rate / (1.0f + decay * static_cast<float>(epoch)); }
};
// "RATE" or "RATE:DECAY"; throws hnn::Error naming the text.
DilatedBackprop parse_dilated_backprop(const std::string &text);

enum class Init { he, glorot, normal };
struct InitSpec {
    Init kind = Init::he;
    float std = 0.05f;  // normal
};
// "he", "glorot" or "normal:STD".
InitSpec parse_init(const std::string &text);

class Network {
public:
    // Every tensor of the network lives on `device` for its whole life: parameters, activations,
    // gradients (and, through Optimizer, their state). Only the batches' images go in from the host.
    Network(const ModelSpec &model, const Shape3 &input, int classes, Device device = Device::cpu);

    // Draws every filter from `init` (he: N(0, 2/fan_in); glorot: U(+-sqrt(6/(fan_in+fan_out)));
    // normal: N(0, std^2)), zero biases, prelu slopes and swish betas from the activation.
    void initialize(const InitSpec &init, uint64_t seed);

    // Loss and accuracy of a batch (c, x, y, n) on the network's device. `key` drives rrelu's random
    // slopes (training) and must be the same for the backward. With for_backward false (evaluation)
    // the pass keeps nothing only the backward reads: every conv writes its output alone, and
    // backward() refuses to run until a forward for it.
    LossResult forward(Tensor &images, const std::vector<int32_t> &labels, const RandomKey &key,
                       bool for_backward = true);
    // Every parameter's gradient, from the last forward.
    void backward(Tensor &images, const RandomKey &key, const DilatedBackprop &dilated = {}, int epoch = 0);

    std::vector<Parameter> parameters();
    const std::vector<Layer> &layers() const { return layers_; }
    const ModelSpec &model() const { return model_; }
    int batch() const { return batch_; }
    Device device() const { return device_; }

private:
    void allocate_batch(int batch);
    void forward_layer(Layer &layer, Tensor &input, const RandomKey &key);
    void backward_layer(size_t index, Tensor &input, Tensor &output_grad, const RandomKey &key, bool fuse_into_below);
    bool dilated_applies(int conv) const;
    Tensor &gradient_at_output(size_t index, const DilatedBackprop &dilated, int epoch);
    Activation current_activation(const Layer &layer) const;

    ModelSpec model_;
    Shape3 input_;
    int classes_;
    Device device_;
    int batch_ = 0;
    bool backward_ready_ = false;  // the last forward kept what the backward reads
    std::vector<Layer> layers_;
    std::vector<int> conv_index_;     // per layer: its 0-based position among the convs, or -1
    std::vector<size_t> conv_layers_; // the convs' layer indices, in order
    Tensor logits_grad_;              // (classes, n)
};

}  // namespace hnn
