#pragma once
// The optimizer of a training run: its state tensors beside each parameter, one update kernel call
// per parameter per step, and the learning-rate schedule over epochs.

#include "network.h"

#include "hnn/optimizer_ops.h"

#include <string>
#include <vector>

namespace hnn {

enum class OptimizerKind { sgd, adam, amsgrad };
OptimizerKind parse_optimizer(const std::string &name);
const char *optimizer_name(OptimizerKind kind);

struct OptimizerConfig {
    OptimizerKind kind = OptimizerKind::adam;
    float momentum = 0.0f;  // sgd
    bool nesterov = false;  // sgd
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam, amsgrad
    float weight_decay = 0.0f;
    bool decoupled_weight_decay = false;  // AdamW / SGDW
};

// A state tensor as checkpoints see it: "adam.m.layer3.filter".
struct StateTensor {
    std::string name;
    Tensor *tensor;
};

class Optimizer {
public:
    Optimizer(const OptimizerConfig &config, std::vector<Parameter> parameters);

    // One update of every parameter from its gradient; steps() counts them (Adam's bias correction).
    void step(float lr);
    long long steps() const { return steps_; }
    void set_steps(long long steps) { steps_ = steps; }

    std::vector<StateTensor> state();

private:
    struct Slot {
        Parameter parameter;
        Tensor first, second, second_max;  // sgd: velocity in `first`
    };
    OptimizerConfig config_;
    std::vector<Slot> slots_;
    long long steps_ = 0;
};

// `constant`, `step:EPOCHS:GAMMA` (times GAMMA every EPOCHS epochs) or `cosine` (from lr to 0 over the run).
struct LrSchedule {
    enum Kind { constant, step, cosine } kind = constant;
    int step_epochs = 1;
    float gamma = 1.0f;
    // The learning rate of 0-based `epoch` in a run of `total_epochs`.
    float lr_at(float base, int epoch, int total_epochs) const;
};
LrSchedule parse_lr_schedule(const std::string &text);

}  // namespace hnn
