#include "kernel_bench.h"

#include "network.h"
#include "optimizer.h"
#include "training_run.h"

#include "hnn/conv2d_ops.h"
#include "hnn/dropout_ops.h"
#include "hnn/error.h"
#include "hnn/pooling_ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <sstream>

namespace hnn {
namespace {

using Outputs = std::vector<std::vector<float>>;

const char *pool_name(LayerKind kind) {
    switch (kind) {
    case LayerKind::max_pool: return "max_pool";
    case LayerKind::global_avg_pool: return "global_avg_pool";
    default: return "avg_pool";
    }
}

double elements(const Shape3 &s, int batch) {
    return double(s.channels) * s.width * s.height * batch;
}

std::string dims_text(const Shape3 &s, int batch) {
    return "N=" + std::to_string(batch) + " " + std::to_string(s.width) + "x" + std::to_string(s.height) + "x" +
           std::to_string(s.channels);
}

// Everything that makes two ops different calls, for merging the identical ones.
std::string op_key(const BenchOp &op) {
    std::ostringstream key;
    key << op.name() << ' ' << op.shape_text() << ' ' << static_cast<int>(op.activation.kind) << ' '
        << op.activation.negative_slope << ' ' << op.activation.alpha << ' ' << op.activation.beta << ' '
        << op.activation.threshold << ' ' << op.conv.geometry.pad_x << ' ' << op.conv.geometry.pad_y << ' '
        << op.conv.bias << ' ' << op.rate;
    return key.str();
}

void add_op(std::vector<BenchOp> &ops, std::map<std::string, size_t> &seen, BenchOp op, int layer) {
    const std::string key = op_key(op);
    auto it = seen.find(key);
    if (it != seen.end()) {
        ops[it->second].layers.push_back(layer);
        return;
    }
    op.layers = {layer};
    seen[key] = ops.size();
    ops.push_back(std::move(op));
}

std::vector<int> tensor_shape(const Shape3 &s, int batch) {
    return {s.channels, s.width, s.height, batch};
}

}  // namespace

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string BenchOp::name() const {
    switch (kind) {
    case BenchOpKind::conv_forward: return "conv_forward";
    case BenchOpKind::conv_backward_data: return "conv_backward_data";
    case BenchOpKind::conv_backward_weights: return "conv_backward_weights";
    case BenchOpKind::activation_forward: return "activation_forward";
    case BenchOpKind::activation_backward: return "activation_backward";
    case BenchOpKind::pool_forward: return std::string(pool_name(pool.kind)) + "_forward";
    case BenchOpKind::pool_backward: return std::string(pool_name(pool.kind)) + "_backward";
    case BenchOpKind::dropout: return "dropout";
    }
    return "unknown";
}

std::string BenchOp::label() const {
    switch (kind) {
    case BenchOpKind::conv_forward:
        return activation.kind == ActivationKind::identity ? "conv fwd" : std::string("conv fwd+") + activation_name(activation.kind);
    case BenchOpKind::conv_backward_data: return "conv bwd-data";
    case BenchOpKind::conv_backward_weights: return "conv bwd-weights";
    case BenchOpKind::activation_forward: return std::string(activation_name(activation.kind)) + " fwd";
    case BenchOpKind::activation_backward: return std::string(activation_name(activation.kind)) + " bwd";
    case BenchOpKind::pool_forward: return std::string(pool_name(pool.kind)) + " fwd";
    case BenchOpKind::pool_backward: return std::string(pool_name(pool.kind)) + " bwd";
    case BenchOpKind::dropout: return "dropout";
    }
    return "unknown";
}

std::string BenchOp::group() const {
    switch (kind) {
    case BenchOpKind::conv_forward:
    case BenchOpKind::conv_backward_data:
    case BenchOpKind::conv_backward_weights: return "conv";
    case BenchOpKind::pool_forward:
    case BenchOpKind::pool_backward: return "pool";
    default: return "act";
    }
}

std::string BenchOp::shape_text() const {
    switch (kind) {
    case BenchOpKind::conv_forward:
    case BenchOpKind::conv_backward_data:
    case BenchOpKind::conv_backward_weights:
        return "N=" + std::to_string(conv.batch) + " " + std::to_string(conv.in.width) + "x" + std::to_string(conv.in.height) +
               " " + std::to_string(conv.in.channels) + "->" + std::to_string(conv.out_channels) + " k" +
               std::to_string(conv.kernel) + " s" + std::to_string(conv.geometry.stride);
    case BenchOpKind::pool_forward:
    case BenchOpKind::pool_backward:
        if (pool.kind == LayerKind::global_avg_pool) return dims_text(pool.in, pool.batch);
        return dims_text(pool.in, pool.batch) + " k" + std::to_string(pool.kernel) + " s" + std::to_string(pool.stride);
    case BenchOpKind::activation_forward:
    case BenchOpKind::activation_backward:
    case BenchOpKind::dropout: return dims_text({shape[0], shape[1], shape[2]}, shape[3]);
    }
    return "";
}

double BenchOp::flops() const {
    if (group() != "conv") return 0;
    const Conv2dGeometry &g = conv.geometry;
    return 2.0 * conv.batch * g.out_width * g.out_height * conv.out_channels * conv.in.channels * conv.kernel * conv.kernel;
}

double BenchOp::bytes() const {
    const double f = sizeof(float);
    switch (kind) {
    case BenchOpKind::activation_forward:
    case BenchOpKind::dropout: return 2 * f * elements({shape[0], shape[1], shape[2]}, shape[3]);
    case BenchOpKind::activation_backward: return 3 * f * elements({shape[0], shape[1], shape[2]}, shape[3]);
    case BenchOpKind::pool_forward: return f * (elements(pool.in, pool.batch) + elements(pool.out, pool.batch));
    case BenchOpKind::pool_backward: {
        // max: hnn reads the input again to find each window's argmax.
        const double in = elements(pool.in, pool.batch), out = elements(pool.out, pool.batch);
        return f * (pool.kind == LayerKind::max_pool ? 2 * in + out : in + out);
    }
    default: return 0;
    }
}

double BenchOp::tolerance() const {
    // A conv output sums thousands of products in an order each library picks.
    return group() == "conv" ? 1e-4 : 1e-5;
}

std::vector<BenchOp> model_ops(const ModelSpec &model, const Shape3 &input, int classes, int batch) {
    const std::vector<Shape3> outputs = layer_output_shapes(model, input, classes);
    std::vector<BenchOp> ops;
    std::map<std::string, size_t> seen;
    Shape3 in = input;
    for (size_t i = 0; i < model.layers.size(); i++) {
        const LayerSpec &l = model.layers[i];
        const Shape3 out = outputs[i];
        const int layer = static_cast<int>(i);
        BenchOp op;
        op.activation = l.activation;
        switch (l.kind) {
        case LayerKind::conv:
            op.conv = {batch, in, out.channels, l.kernel, conv2d_geometry(in.width, in.height, l.kernel, l.kernel, l.stride, l.padding), l.bias};
            for (BenchOpKind k : {BenchOpKind::conv_forward, BenchOpKind::conv_backward_data, BenchOpKind::conv_backward_weights}) {
                op.kind = k;
                add_op(ops, seen, op, layer);
            }
            if (l.activation.kind != ActivationKind::identity) {
                op.conv = {};  // the activation ops do not depend on the conv
                op.shape = tensor_shape(out, batch);
                for (BenchOpKind k : {BenchOpKind::activation_forward, BenchOpKind::activation_backward}) {
                    op.kind = k;
                    add_op(ops, seen, op, layer);
                }
            }
            break;
        case LayerKind::avg_pool:
        case LayerKind::max_pool:
        case LayerKind::global_avg_pool:
            op.activation = LayerSpec::identity_activation();
            op.pool = {l.kind, batch, in, out, l.kernel, l.stride};
            for (BenchOpKind k : {BenchOpKind::pool_forward, BenchOpKind::pool_backward}) {
                op.kind = k;
                add_op(ops, seen, op, layer);
            }
            break;
        case LayerKind::activation:
            op.shape = tensor_shape(out, batch);
            for (BenchOpKind k : {BenchOpKind::activation_forward, BenchOpKind::activation_backward}) {
                op.kind = k;
                add_op(ops, seen, op, layer);
            }
            break;
        case LayerKind::dropout:
            op.activation = LayerSpec::identity_activation();
            op.kind = BenchOpKind::dropout;
            op.shape = tensor_shape(out, batch);
            op.rate = l.rate;
            add_op(ops, seen, op, layer);
            break;
        }
        in = out;
    }
    return ops;
}

double median_ms(const std::function<void()> &call, const Timing &timing) {
    for (int i = 0; i < timing.warmup; i++) call();
    std::vector<double> ms;
    for (int i = 0; i < timing.repeats; i++) {
        const auto start = std::chrono::steady_clock::now();
        call();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    return median(ms);
}

namespace {

// hnn's side of one op. Its tensors are shared between the lambdas through pointers, not copied
// into them: a copy of a GPU tensor has its own device handle and dirty bits.
struct HnnCall {
    std::function<void()> run;
    std::function<void()> wait;  // until a device has finished what run queued
    std::function<Outputs()> outputs;
};

struct Case {
    HnnCall hnn;
    std::unique_ptr<OnednnOp> onednn;
};

using SharedTensor = std::shared_ptr<Tensor>;

// The tensors of one op on the device under test: random inputs (drawn on the host, so that every
// device gets the same numbers) and zeroed outputs.
class Inputs {
public:
    Inputs(uint64_t seed, Device device) : rng_(seed), device_(device) {}

    SharedTensor uniform(const std::vector<int> &shape, float lo, float hi) {
        auto t = std::make_shared<Tensor>(shape, device_);
        std::uniform_real_distribution<float> u(lo, hi);
        float *p = t->host();
        for (size_t i = 0; i < t->size(); i++) p[i] = u(rng_);
        t->host_changed();
        return t;
    }

    SharedTensor zeros(const std::vector<int> &shape) { return std::make_shared<Tensor>(shape, device_); }
    Device device() const { return device_; }

private:
    std::mt19937_64 rng_;
    Device device_;
};

std::vector<float> values(Tensor &t) {
    const float *p = t.host();
    return std::vector<float>(p, p + t.size());
}

// prelu's per-channel slopes at their initial value; null for every other activation.
SharedTensor slopes_for(const Activation &a, int channels, Device device) {
    if (a.kind != ActivationKind::prelu) return nullptr;
    auto slopes = std::make_shared<Tensor>(std::vector<int>{channels}, device);
    slopes->fill(a.prelu_init);
    return slopes;
}

// rrelu draws its slopes as in training; the other activations ignore the key.
RandomKey training_key(uint64_t seed) {
    return RandomKey{true, static_cast<uint32_t>(seed), 0};
}

std::vector<int> conv_output_shape(const ConvProblem &p) {
    return {p.out_channels, p.geometry.out_width, p.geometry.out_height, p.batch};
}

Case conv_forward_case(const BenchOp &op, Inputs &in, OnednnLayout layout, uint64_t seed) {
    const ConvProblem &p = op.conv;
    // Filters scaled to keep pre-activations near unit size, so both branches of an activation run.
    const float bound = std::sqrt(3.0f / float(p.in.channels * p.kernel * p.kernel));
    SharedTensor input = in.uniform(tensor_shape(p.in, p.batch), -1, 1);
    SharedTensor filter = in.uniform({p.out_channels, p.kernel, p.kernel, p.in.channels}, -bound, bound);
    SharedTensor bias = p.bias ? in.uniform({p.out_channels}, -0.1f, 0.1f) : nullptr;
    const Activation a = op.activation;
    // Where oneDNN cannot apply the activation, its bare conv is checked against the pre-activation.
    const bool fused = a.kind == ActivationKind::identity || !onednn_activation(a).empty();
    // As training runs it: the pre-activation is written where the derivative will read it.
    const bool keep_pre = !fused || !can_differentiate_from_output(a);
    SharedTensor output = in.zeros(conv_output_shape(p));
    SharedTensor pre = keep_pre ? in.zeros(conv_output_shape(p)) : nullptr;
    SharedTensor slopes = slopes_for(op.activation, p.out_channels, in.device());
    const RandomKey key = training_key(seed);
    Case c;
    c.hnn.run = [=] { conv2d_forward(*input, *filter, bias.get(), p.geometry, a, *output, pre.get(), key, slopes.get()); };
    c.hnn.wait = [=] { output->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{fused ? values(*output) : values(*pre)}; };
    c.onednn = onednn_conv_forward(p, a, input->host(), filter->host(), bias ? bias->host() : nullptr, layout);
    return c;
}

Case conv_backward_data_case(const BenchOp &op, Inputs &in, OnednnLayout layout) {
    const ConvProblem &p = op.conv;
    SharedTensor output_grad = in.uniform(conv_output_shape(p), -1, 1);
    SharedTensor filter = in.uniform({p.out_channels, p.kernel, p.kernel, p.in.channels}, -1, 1);
    SharedTensor input_grad = in.zeros(tensor_shape(p.in, p.batch));
    Case c;
    c.hnn.run = [=] { conv2d_backward_data(*output_grad, *filter, p.geometry, *input_grad); };
    c.hnn.wait = [=] { input_grad->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{values(*input_grad)}; };
    c.onednn = onednn_conv_backward_data(p, output_grad->host(), filter->host(), layout);
    return c;
}

Case conv_backward_weights_case(const BenchOp &op, Inputs &in, OnednnLayout layout) {
    const ConvProblem &p = op.conv;
    SharedTensor output_grad = in.uniform(conv_output_shape(p), -1, 1);
    SharedTensor input = in.uniform(tensor_shape(p.in, p.batch), -1, 1);
    SharedTensor filter_grad = in.zeros({p.out_channels, p.kernel, p.kernel, p.in.channels});
    // The bias gradient where the layer has a bias, as the trainer takes it (both sides).
    SharedTensor bias_grad = p.bias ? in.zeros({p.out_channels}) : nullptr;
    Case c;
    c.hnn.run = [=] { conv2d_backward_weights(*output_grad, *input, p.geometry, *filter_grad, bias_grad.get()); };
    c.hnn.wait = [=] { filter_grad->synchronize(); };
    c.hnn.outputs = [=] {
        Outputs o{values(*filter_grad)};
        if (bias_grad) o.push_back(values(*bias_grad));
        return o;
    };
    c.onednn = onednn_conv_backward_weights(p, output_grad->host(), input->host(), layout);
    return c;
}

Case activation_case(const BenchOp &op, Inputs &in, uint64_t seed) {
    // Wide enough for every activation's regions (softplus's linear part starts at 20 / beta).
    SharedTensor x = in.uniform(op.shape, -4, 4);
    SharedTensor dy = in.uniform(op.shape, -1, 1);
    SharedTensor result = in.zeros(op.shape);
    SharedTensor slopes = slopes_for(op.activation, op.shape[0], in.device());
    const Activation a = op.activation;
    const RandomKey key = training_key(seed);
    Case c;
    if (op.kind == BenchOpKind::activation_forward) {
        c.hnn.run = [=] { activation_forward(a, *x, *result, key, slopes.get()); };
        c.onednn = onednn_eltwise_forward(a, op.shape, x->host());
    } else if (can_differentiate_from_output(a) && !onednn_activation(a).empty()) {
        // As training runs it: f' read from the forward's output, by both libraries.
        SharedTensor y = in.zeros(op.shape);
        activation_forward(a, *x, *y, key, slopes.get());
        c.hnn.run = [=] { activation_backward(a, *y, *dy, *result, key, slopes.get(), DerivativeSource::output); };
        c.onednn = onednn_eltwise_backward(a, op.shape, x->host(), dy->host(), y->host());
    } else {
        c.hnn.run = [=] { activation_backward(a, *x, *dy, *result, key, slopes.get()); };
        c.onednn = onednn_eltwise_backward(a, op.shape, x->host(), dy->host());
    }
    c.hnn.wait = [=] { result->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{values(*result)}; };
    return c;
}

// global_avg_pool's kernels take (c, n) on the pooled side.
std::vector<int> pooled_shape(const PoolProblem &p) {
    if (p.kind == LayerKind::global_avg_pool) return {p.out.channels, p.batch};
    return tensor_shape(p.out, p.batch);
}

Case pool_forward_case(const BenchOp &op, Inputs &in) {
    const PoolProblem p = op.pool;
    SharedTensor input = in.uniform(tensor_shape(p.in, p.batch), -1, 1);
    SharedTensor output = in.zeros(pooled_shape(p));
    Case c;
    c.hnn.run = [=] {
        switch (p.kind) {
        case LayerKind::max_pool: max_pool_forward(*input, p.kernel, p.stride, *output); break;
        case LayerKind::global_avg_pool: global_avg_pool_forward(*input, *output); break;
        default: avg_pool_forward(*input, p.kernel, p.stride, *output); break;
        }
    };
    c.hnn.wait = [=] { output->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{values(*output)}; };
    c.onednn = onednn_pool_forward(p, input->host());
    return c;
}

Case pool_backward_case(const BenchOp &op, Inputs &in) {
    const PoolProblem p = op.pool;
    SharedTensor input = in.uniform(tensor_shape(p.in, p.batch), -1, 1);
    SharedTensor output_grad = in.uniform(pooled_shape(p), -1, 1);
    SharedTensor input_grad = in.zeros(tensor_shape(p.in, p.batch));
    Case c;
    c.hnn.run = [=] {
        switch (p.kind) {
        case LayerKind::max_pool: max_pool_backward(*input, *output_grad, p.kernel, p.stride, *input_grad); break;
        case LayerKind::global_avg_pool: global_avg_pool_backward(*output_grad, *input_grad); break;
        default: avg_pool_backward(*output_grad, p.kernel, p.stride, *input_grad); break;
        }
    };
    c.hnn.wait = [=] { input_grad->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{values(*input_grad)}; };
    c.onednn = onednn_pool_backward(p, input->host(), output_grad->host());
    return c;
}

Case dropout_case(const BenchOp &op, Inputs &in, uint64_t seed) {
    SharedTensor input = in.uniform(op.shape, -1, 1);
    SharedTensor output = in.zeros(op.shape);
    const float rate = op.rate;
    const RandomKey key = training_key(seed);
    Case c;
    c.hnn.run = [=] { dropout(*input, rate, key, *output); };
    c.hnn.wait = [=] { output->synchronize(); };
    c.hnn.outputs = [=] { return Outputs{values(*output)}; };
    return c;
}

Case make_case(const BenchOp &op, OnednnLayout layout, uint64_t seed, Device device) {
    Inputs in(seed, device);
    switch (op.kind) {
    case BenchOpKind::conv_forward: return conv_forward_case(op, in, layout, seed);
    case BenchOpKind::conv_backward_data: return conv_backward_data_case(op, in, layout);
    case BenchOpKind::conv_backward_weights: return conv_backward_weights_case(op, in, layout);
    case BenchOpKind::activation_forward:
    case BenchOpKind::activation_backward: return activation_case(op, in, seed);
    case BenchOpKind::pool_forward: return pool_forward_case(op, in);
    case BenchOpKind::pool_backward: return pool_backward_case(op, in);
    case BenchOpKind::dropout: return dropout_case(op, in, seed);
    }
    throw Error("hnn bench: unknown op");
}

// Largest |hnn - oneDNN| over every output, absolute and relative to the output's largest |oneDNN|.
void compare(const Outputs &hnn, const Outputs &onednn, OpMeasurement &m, const std::string &what) {
    if (hnn.size() != onednn.size()) throw Error(what + ": hnn and oneDNN give different numbers of outputs");
    for (size_t i = 0; i < hnn.size(); i++) {
        if (hnn[i].size() != onednn[i].size()) {
            throw Error(what + ": output " + std::to_string(i) + " has " + std::to_string(hnn[i].size()) +
                        " values from hnn but " + std::to_string(onednn[i].size()) + " from oneDNN");
        }
        double scale = 0, error = 0;
        for (size_t j = 0; j < hnn[i].size(); j++) {
            scale = std::max(scale, std::fabs(double(onednn[i][j])));
            const double d = std::fabs(double(hnn[i][j]) - double(onednn[i][j]));
            // A NaN must not pass as a zero difference.
            error = std::isnan(d) ? INFINITY : std::max(error, d);
        }
        m.max_abs_error = std::max(m.max_abs_error, error);
        m.reference_max_abs = std::max(m.reference_max_abs, scale);
        m.max_rel_error = std::max(m.max_rel_error, scale > 0 ? error / scale : error);
    }
    m.checked = true;
}

// A conv op's pass.
ConvPass conv_pass_of(const BenchOp &op) {
    return op.kind == BenchOpKind::conv_forward         ? ConvPass::forward
           : op.kind == BenchOpKind::conv_backward_data ? ConvPass::backward_data
                                                        : ConvPass::backward_weights;
}

}  // namespace

ConvMethod conv_method_of(const BenchOp &op, Device device) {
    if (op.group() != "conv") return ConvMethod::direct;
    const ConvProblem &p = op.conv;
    return conv_method(conv_pass_of(op), device, p.in.channels, p.out_channels, p.kernel, p.kernel, p.geometry,
                       p.in.width, p.in.height, p.batch);
}

bool runs_pointwise(const BenchOp &op, Device device) {
    if (op.group() != "conv" || conv_method_of(op, device) != ConvMethod::direct) return false;
    const ConvProblem &c = op.conv;
    // Backward-data is timed plain, without a fused derivative.
    const ActivationKind kind = op.kind == BenchOpKind::conv_forward ? op.activation.kind : ActivationKind::identity;
    return conv_runs_pointwise(device, c.kernel, c.kernel, c.geometry, c.in.width, c.in.height, kind);
}

OpMeasurement measure_op(const BenchOp &op, const Timing &timing, OnednnLayout layout, uint64_t seed, Device device) {
    OpMeasurement m;
    m.op = op;
    Case c = make_case(op, layout, seed, device);
    if (c.onednn) {
        m.onednn_computes = c.onednn->computes;
        m.onednn_implementation = c.onednn->implementation;
        c.hnn.run();
        c.onednn->run();
        compare(c.hnn.outputs(), c.onednn->outputs(), m, op.label() + " " + op.shape_text());
    }
    release_onednn_threads();  // so that they spin on no core hnn's kernels run on
    m.hnn_ms = median_ms([&] { c.hnn.run(); c.hnn.wait(); }, timing);
    // After the runs: on a GPU under auto, the first run of a conv timed its kernels and chose.
    if (op.group() == "conv") {
        m.algorithm = runs_pointwise(op, device) ? "pointwise" : conv_method_name(conv_method_of(op, device));
        const ConvProblem &p = op.conv;
        for (auto [method, seconds] : conv_method_seconds(conv_pass_of(op), device, p.in.channels, p.out_channels,
                                                          p.kernel, p.kernel, p.geometry, p.in.width, p.in.height,
                                                          p.batch)) {
            m.auto_timed_ms.push_back({conv_method_name(method), seconds * 1e3});
        }
    }
    // oneDNN runs on the CPU: beside a GPU kernel its time is no comparison, only its result is.
    if (c.onednn && device == Device::cpu) m.onednn_ms = median_ms([&] { c.onednn->run(); }, timing);
    return m;
}

TrainStepTiming time_train_step(const ModelSpec &model, const Shape3 &input, int classes, int batch,
                                const Timing &timing, uint64_t seed, Device device) {
    Network network(model, input, classes, device);
    network.initialize(InitSpec{}, seed);
    Optimizer optimizer(OptimizerConfig{}, network.parameters());  // Adam with the trainer's betas and eps
    // Every step trains on the same batch: at the trainer's learning rate the network learned its
    // random labels within a few steps and drove the activations where their gradients were
    // denormal, and steps 10-20 ran up to 2x slower than the first (denormal multiply-adds take
    // microcode assists). A learning rate of 0 (kTrainStepLearningRate) runs the same update kernel
    // over the same memory and leaves the weights where they started, so every timed step does the
    // same work.
    const float lr = kTrainStepLearningRate;
    // Normalized pixels ("unit") lie in [0, 1].
    const SharedTensor images = Inputs(seed, device).uniform({input.channels, input.width, input.height, batch}, 0, 1);
    // The forward returns the loss to the host, which waits for its kernels; the backward and the
    // update only queue theirs, so their times end when the device has finished them.
    Tensor &last_gradient = *network.parameters().front().grad;
    Tensor &last_weights = *network.parameters().front().value;
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<int32_t> labels(batch);
    for (int32_t &label : labels) label = static_cast<int32_t>(rng() % classes);

    using clock = std::chrono::steady_clock;
    auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::vector<double> step, forward, backward, update;
    release_onednn_threads();
    for (int i = 0; i < timing.warmup + timing.repeats; i++) {
        const RandomKey key{true, static_cast<uint32_t>(seed), i};
        const auto t0 = clock::now();
        network.forward(*images, labels, key);
        const auto t1 = clock::now();
        network.backward(*images, key);
        last_gradient.synchronize();
        const auto t2 = clock::now();
        optimizer.step(lr);
        last_weights.synchronize();
        const auto t3 = clock::now();
        if (i < timing.warmup) continue;
        step.push_back(ms(t0, t3));
        forward.push_back(ms(t0, t1));
        backward.push_back(ms(t1, t2));
        update.push_back(ms(t2, t3));
    }
    TrainStepTiming t;
    t.step_ms = median(step);
    t.forward_ms = median(forward);
    t.backward_ms = median(backward);
    t.optimizer_ms = median(update);
    t.images_per_s = batch / (t.step_ms / 1000);
    return t;
}

}  // namespace hnn
