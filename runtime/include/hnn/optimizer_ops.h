#pragma once
// Optimizer updates in place on a parameter tensor (any shape) and its state tensors (same shape),
// as torch.optim defines them.

#include "hnn/tensor.h"

namespace hnn {

struct SgdOptions {
    float lr = 0.01f;
    float momentum = 0.0f;
    float dampening = 0.0f;
    float weight_decay = 0.0f;
    bool nesterov = false;
    bool decoupled_weight_decay = false;  // SGDW: decay the weight, not the gradient
};

void sgd_update(Tensor &param, Tensor &grad, Tensor &velocity, const SgdOptions &options);

struct AdamOptions {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;
    bool decoupled_weight_decay = false;  // AdamW
    bool amsgrad = false;                 // element-wise max of the second moment (Reddi et al.)
};

// step counts updates from 1 (the bias corrections are 1 - beta^step).
void adam_update(Tensor &param, Tensor &grad, Tensor &m, Tensor &v, Tensor &v_max, const AdamOptions &options, int step);

}  // namespace hnn
