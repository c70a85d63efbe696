#pragma once
// The measurements of `hnn bench`: each of hnn's kernels at the shapes of a model's layers, timed
// beside the same operation in oneDNN and checked against it; and the whole training step.

#include "model.h"
#include "onednn_ops.h"

#include "hnn/conv2d_ops.h"
#include "hnn/device.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hnn {

enum class BenchOpKind {
    conv_forward,           // with the layer's activation fused, as the trainer runs it
    conv_backward_data,     // the plain gradient (the trainer may fuse the activation derivative below)
    conv_backward_weights,  // filter and bias gradients
    activation_forward,
    activation_backward,
    pool_forward,
    pool_backward,
    dropout,  // hnn only: oneDNN has no dropout
};

// One kernel call at one shape, standing for every layer of the model with that call.
struct BenchOp {
    BenchOpKind kind = BenchOpKind::conv_forward;
    ConvProblem conv;              // conv ops
    PoolProblem pool;              // pool ops
    Activation activation;         // conv_forward's epilogue; the activation ops' function
    std::vector<int> shape;        // activation ops and dropout: (c, x, y, n)
    float rate = 0.5f;             // dropout
    std::vector<int> layers;       // the model's layers (0-based) this op stands for

    std::string name() const;      // stable, for JSON: "conv_forward", "avg_pool_backward", ...
    std::string label() const;     // for the table: "conv fwd+celu", "avg_pool bwd", ...
    std::string shape_text() const;
    std::string group() const;     // what --only selects: conv, pool or act
    double flops() const;          // convs: 2 N OH OW CO CI K K; 0 for memory-bound ops
    double bytes() const;          // memory-bound ops: bytes the kernel must read and write at least
    double tolerance() const;      // for |hnn - oneDNN| relative to the largest |oneDNN| value
};

// Every op of the model's layers for a batch, in layer order, identical ops merged.
std::vector<BenchOp> model_ops(const ModelSpec &model, const Shape3 &input, int classes, int batch);

// Which kernel runs a conv op on `device` under the current conv_algorithm() (not a conv op: direct).
ConvMethod conv_method_of(const BenchOp &op, Device device);
// Whether the direct method's conv op runs the pointwise kernels there (conv_runs_pointwise).
bool runs_pointwise(const BenchOp &op, Device device);

struct Timing {
    int warmup = 3, repeats = 10;
};

// The median, not the mean: a run that another process interrupted must not move it.
double median(std::vector<double> values);

// Median milliseconds of `repeats` calls after `warmup` untimed ones.
double median_ms(const std::function<void()> &call, const Timing &timing);

struct OpMeasurement {
    BenchOp op;
    double hnn_ms = 0;
    std::optional<double> onednn_ms;  // none where oneDNN lacks the operation
    std::string onednn_computes, onednn_implementation;
    bool checked = false;  // hnn's outputs compared with oneDNN's on the same inputs
    double max_abs_error = 0, max_rel_error = 0;
    double reference_max_abs = 0;  // the largest |oneDNN| value: a check of zeros against zeros proves nothing
    std::string algorithm;         // convs: conv_method_name ("direct", "winograd", ...) or "pointwise"; "" otherwise
    // Where auto timed the conv's methods on a GPU: each method's (conv_method_name) ms a launch.
    std::vector<std::pair<std::string, double>> auto_timed_ms;
    bool agrees() const { return !checked || max_rel_error <= op.tolerance(); }
};

// Runs hnn's kernel on `device` and oneDNN's primitive on the same random inputs, compares their
// outputs, then times each on its own (oneDNN only when `device` is the CPU: it has no GPU here).
OpMeasurement measure_op(const BenchOp &op, const Timing &timing, OnednnLayout layout, uint64_t seed,
                         Device device = Device::cpu);

struct TrainStepTiming {
    double step_ms = 0;  // median of whole steps
    double forward_ms = 0, backward_ms = 0, optimizer_ms = 0;  // medians of the parts
    double images_per_s = 0;
};

// The learning rate of the timed steps (time_train_step says why 0); PyTorch's step (--pytorch) runs
// at the same.
constexpr float kTrainStepLearningRate = 0.0f;

// A Network of the model on `device` with an Adam optimizer at the trainer's defaults, on random
// images and labels: forward, backward and optimizer step.
TrainStepTiming time_train_step(const ModelSpec &model, const Shape3 &input, int classes, int batch,
                                const Timing &timing, uint64_t seed, Device device = Device::cpu);

}  // namespace hnn
